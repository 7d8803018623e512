/*
 * ls-aperturedb: ApertureDB as a provider of Label Studio's Cloud Storage wizard.
 *
 * Label Studio (1.23) builds the wizard's provider grid from a map hard-coded in its bundle
 * (StorageSet passes it as the `providers` prop of StorageProviderForm, which copies it into its
 * provider registry). Nothing exports that map, so this script, loaded by the plugin's base.html
 * before Label Studio's own scripts:
 *
 *  1. after the bundle has run, asks webpack's chunk-loading global (`self.webpackChunklabelstudio`)
 *     for its `__webpack_require__`, finds React's jsx runtime among the bundle's modules and wraps
 *     its `jsx`/`jsxs`: the first element created with a `providers` prop shaped like the provider map
 *     gets an `aperturedb` entry (built with the bundle's own zod classes, taken from the S3/Redis
 *     schemas), so the tile, the form, "Edit" and the registry behave like a built-in provider;
 *  2. renders its own "Import settings & preview" step for ApertureDB (the generic one is about
 *     bucket prefixes and file-name filters), falling back to the generic step if anything differs;
 *  3. adapts the storage API's JSON fields for the forms, which only know strings: a storage of type
 *     `aperturedb` read through /api/storages/... gets `constraints` as JSON text (the server accepts
 *     both).
 *
 * Everything is guarded: if a future bundle changes, the page and the API keep working, one console
 * warning names what was not found, and tests/test_frontend_provider.py fails on the missing anchors.
 * `window.__LS_APERTUREDB__.status` tells a test what happened ("registered" once the tile exists).
 */
(function () {
  "use strict";

  var TYPE = "aperturedb";
  var CHUNK_GLOBAL = "webpackChunklabelstudio";
  var JSON_FIELDS = ["constraints"];
  var state = (window.__LS_APERTUREDB__ = { status: "loading", provider: null, error: null });
  var warned = false;

  function warn(what, error) {
    state.status = "failed";
    state.error = what;
    if (warned) return;
    warned = true;
    try {
      console.warn(
        "[ls-aperturedb] " + what + ": the ApertureDB tile is not added to the storage wizard " +
          "(the storage API and the rest of Label Studio are unaffected).",
        error || "",
      );
    } catch (ignored) {}
  }

  function guard(what, fn) {
    return function () {
      try {
        return fn.apply(this, arguments);
      } catch (error) {
        warn(what, error);
      }
    };
  }

  /* ---------- 3. JSON fields as text for the forms ---------- */

  function isStorageUrl(url) {
    try {
      return /^\/api\/storages(\/|$)/.test(new URL(url, location.href).pathname);
    } catch (ignored) {
      return false;
    }
  }

  function jsonFieldsAsText(item) {
    if (!item || typeof item !== "object" || item.type !== TYPE) return;
    JSON_FIELDS.forEach(function (name) {
      var value = item[name];
      if (value && typeof value === "object") {
        item[name] = Object.keys(value).length ? JSON.stringify(value) : "";
      }
    });
  }

  function installFetchAdapter() {
    var originalFetch = window.fetch;
    if (typeof originalFetch !== "function") return;
    window.fetch = function (input, init) {
      var promise = originalFetch.apply(this, arguments);
      var url = typeof input === "string" ? input : input && input.url;
      var method = ((init && init.method) || (input && input.method) || "GET").toUpperCase();
      if (!url || !isStorageUrl(url) || method === "DELETE") return promise;
      return promise.then(function (response) {
        var type = response.headers.get("content-type") || "";
        if (!response.ok || type.indexOf("application/json") === -1) return response;
        return response
          .clone()
          .json()
          .then(function (body) {
            var items = Array.isArray(body) ? body : [body];
            if (!items.some(function (item) { return item && item.type === TYPE; })) return response;
            items.forEach(jsonFieldsAsText);
            return new Response(JSON.stringify(body), {
              status: response.status,
              statusText: response.statusText,
              headers: response.headers,
            });
          })
          .catch(function () {
            return response;
          });
      });
    };
  }

  /* ---------- 1. the provider entry ---------- */

  function isProviderMap(value) {
    if (!value || typeof value !== "object" || Array.isArray(value)) return false;
    var configs = Object.keys(value).map(function (k) { return value[k]; });
    return (
      configs.length > 0 &&
      configs.every(function (c) {
        return c && typeof c.name === "string" && Array.isArray(c.fields) && Array.isArray(c.layout);
      })
    );
  }

  /** The bundle's zod classes, from the schemas of the built-in providers (instanceof checks need them). */
  function zodClasses(providers) {
    var found = {};
    function visit(schema, depth) {
      if (!schema || !schema._def || depth > 8) return;
      var name = schema._def.typeName;
      if (name && !found[name]) found[name] = schema.constructor;
      visit(schema._def.innerType, depth + 1);
      visit(schema._def.schema, depth + 1);
    }
    Object.keys(providers).forEach(function (key) {
      (providers[key].fields || []).forEach(function (field) {
        visit(field.schema, 0);
      });
    });
    ["ZodString", "ZodBoolean"].forEach(function (name) {
      if (!found[name] || typeof found[name].create !== "function") throw new Error("zod class " + name + " not found");
    });
    return found;
  }

  function isJsonObjectText(value) {
    if (value === null || value === undefined || String(value).trim() === "") return true;
    try {
      var parsed = JSON.parse(String(value));
      return !!parsed && typeof parsed === "object" && !Array.isArray(parsed);
    } catch (ignored) {
      return false;
    }
  }

  function buildProvider(providers, jsx) {
    var zod = zodClasses(providers);
    // coerce: edit mode hands numbers (port, limit) to text inputs
    var text = function () { return zod.ZodString.create({ coerce: true }); };
    var optionalText = function (value) { return text().optional().default(value || ""); };
    var toggle = function (value) { return zod.ZodBoolean.create().default(value); };
    var digits = function (message, required) {
      return text().refine(function (v) {
        return (!required && v.trim() === "") || /^\d+$/.test(v.trim());
      }, message);
    };
    var tls = function (value) { return value === true; };

    function Icon(props) {
      return jsx("svg", Object.assign({ viewBox: "0 0 32 32", fill: "none", "aria-hidden": "true" }, props, {
        children: [
          jsx("circle", { cx: 16, cy: 16, r: 13, stroke: "currentColor", strokeWidth: 2.2 }, "ring"),
          jsx("path", {
            d: "M16 3 L21 14 M29 16 L18 21 M16 29 L11 18 M3 16 L14 11",
            stroke: "currentColor", strokeWidth: 2.2, strokeLinecap: "round",
          }, "blades"),
          jsx("circle", { cx: 16, cy: 16, r: 3.2, fill: "currentColor" }, "core"),
        ],
      }));
    }

    var hint = jsx("p", {
      className: "text-sm text-neutral-content-subtler",
      children: "Give the host, port and a username with a password or an API token, " +
        "or paste one APERTUREDB_KEY instead. Secrets are stored encrypted and never shown again.",
    });

    return {
      name: TYPE,
      title: "ApertureDB",
      description: "Images (with their boxes and polygons as predictions) from ApertureDB; " +
        "annotations written back as ApertureDB nodes",
      icon: Icon,
      fields: [
        { name: "adb_hint", type: "message", content: hint },
        { name: "hostname", type: "text", label: "Host", placeholder: "aperturedb.example.com",
          description: "Host name or IP of the ApertureDB server", schema: optionalText("") },
        { name: "port", type: "text", label: "Port", placeholder: "55555",
          schema: digits("Port must be a number", true).default("55555") },
        { name: "username", type: "text", label: "Username", placeholder: "admin",
          autoComplete: "off", schema: optionalText("") },
        { name: "password", type: "password", label: "Password", accessKey: true,
          autoComplete: "new-password", schema: optionalText("") },
        { name: "token", type: "password", label: "API token (instead of a password)", accessKey: true,
          placeholder: "adbp_...", autoComplete: "new-password", schema: optionalText("") },
        { name: "aperturedb_key", type: "password", label: "APERTUREDB_KEY (instead of all of the above)",
          accessKey: true, autoComplete: "new-password", schema: optionalText("") },
        { name: "use_ssl", type: "toggle", label: "Use TLS", schema: toggle(true) },
        { name: "verify_hostname", type: "toggle", label: "Verify the server's host name",
          visibleWhen: { field: "use_ssl", value: tls }, schema: toggle(true) },
        { name: "ca_cert", type: "textarea", label: "CA certificate (PEM, optional)",
          placeholder: "-----BEGIN CERTIFICATE----- ...", visibleWhen: { field: "use_ssl", value: tls },
          schema: optionalText("") },
        { name: "constraints", type: "textarea", label: "Images to import: FindImage constraints (JSON)",
          placeholder: '{"dataset": ["==", "train"]}', target: "import",
          description: "Empty imports every image",
          schema: text().refine(isJsonObjectText, 'Must be a JSON object like {"dataset": ["==", "train"]}')
            .optional().default("") },
        { name: "include_regions", type: "toggle", label: "Import boxes and polygons as predictions",
          target: "import", schema: toggle(true) },
        { name: "import_annotations", type: "toggle", label: "Bring back annotations exported earlier",
          target: "import", schema: toggle(true) },
        { name: "model_version", type: "text", label: "Model version of the predictions", target: "import",
          placeholder: "aperturedb", schema: optionalText("aperturedb") },
        { name: "data_key", type: "text", label: "Image tag that receives the image", target: "import",
          placeholder: "first <Image> of the labeling config", schema: optionalText("") },
        { name: "sync_deletions", type: "toggle", label: "Remove unannotated tasks whose image is gone",
          target: "import", schema: toggle(false) },
        { name: "limit", type: "text", label: "Import at most (images)", placeholder: "no limit",
          target: "import", schema: digits("Limit must be a whole number", false).optional().default("") },
        // Images are media served by the plugin, never task JSON files.
        { name: "use_blob_urls", type: "hidden", target: "import", defaultValue: true,
          schema: toggle(true) },
      ],
      layout: [
        { fields: ["adb_hint"] },
        { fields: ["hostname", "port"] },
        { fields: ["username", "password"] },
        { fields: ["token"] },
        { fields: ["aperturedb_key"] },
        { fields: ["use_ssl", "verify_hostname"] },
        { fields: ["ca_cert"] },
        { fields: ["constraints"] },
        { fields: ["include_regions", "import_annotations"] },
        { fields: ["model_version", "data_key"] },
        { fields: ["sync_deletions", "limit"] },
      ],
    };
  }

  /** Put the entry into the map the wizard reads, right after Redis (the last standard provider). */
  function register(providers, jsx) {
    if (providers[TYPE]) return;
    var entry = state.provider || (state.provider = buildProvider(providers, jsx));
    var keys = Object.keys(providers);
    var at = keys.indexOf("redis") + 1 || keys.length;
    var ordered = keys.slice(0, at).concat([TYPE], keys.slice(at));
    var saved = {};
    keys.forEach(function (k) { saved[k] = providers[k]; delete providers[k]; });
    saved[TYPE] = entry;
    ordered.forEach(function (k) { providers[k] = saved[k]; });
    state.status = "registered";
  }

  /* ---------- 2. the import settings & preview step ---------- */

  function isPreviewStepProps(props) {
    return props && props.type === TYPE && "filesPreview" in props &&
      typeof props.formatSize === "function" && typeof props.setFormState === "function" &&
      props.formData && typeof props.formData === "object";
  }

  function makePreviewStep(jsx) {
    function row(label, value, key) {
      return jsx("div", { children: [
        jsx("p", { className: "text-sm text-neutral-content-subtler", children: label }, "l"),
        jsx("p", { className: "font-medium break-all", children: value }, "v"),
      ] }, key);
    }
    return function ApertureDBPreviewStep(props) {
      var d = props.formData;
      var files = props.filesPreview;
      var list;
      if (files === null || files === undefined) {
        list = jsx("p", { className: "text-sm text-neutral-content-subtler p-base",
          children: 'Click "Load Preview" to list the first images that match.' });
      } else if (!files.length) {
        list = jsx("p", { className: "text-sm text-neutral-content-subtler p-base",
          children: "No images match these constraints." });
      } else {
        list = jsx("ul", { className: "text-xs p-tight overflow-auto h-full", "data-testid": "aperturedb-preview-list",
          children: files.map(function (file, i) {
            return jsx("li", { className: "py-0.5 px-2 border-b",
              children: file.key === null ? "… preview limit reached …" : String(file.key) }, i);
          }) });
      }
      return jsx("div", { className: "space-y-6", "data-testid": "aperturedb-preview-step", children: [
        jsx("div", { children: [
          jsx("h2", { className: "text-xl font-semibold", children: "Import settings & preview" }, "h"),
          jsx("p", { className: "text-muted-foreground",
            children: "One task per ApertureDB image that matches; change these in the connection step." }, "p"),
        ] }, "head"),
        jsx("div", { className: "grid grid-cols-1 md:grid-cols-2 gap-6", children: [
          jsx("div", { className: "grid grid-cols-1 gap-y-3", children: [
            row("Constraints", d.constraints ? String(d.constraints) : "all images", "c"),
            row("Boxes and polygons as predictions",
              d.include_regions === false ? "no" : "yes, model version " + (d.model_version || "aperturedb"), "r"),
            row("Annotations exported earlier", d.import_annotations === false ? "not imported" : "imported", "a"),
            row("Tasks whose image is gone", d.sync_deletions ? "removed (unless annotated)" : "kept", "s"),
            row("Limit", d.limit ? String(d.limit) + " images" : "none", "n"),
          ] }, "settings"),
          jsx("div", { className: "border rounded-md overflow-hidden h-[340px]", children: list }, "files"),
        ] }, "body"),
      ] });
    };
  }

  /* ---------- the hook into the bundle ---------- */

  function webpackRequire() {
    var chunks = self[CHUNK_GLOBAL];
    if (!chunks || typeof chunks.push !== "function" || chunks.push === Array.prototype.push) {
      throw new Error("self." + CHUNK_GLOBAL + " (webpack chunk loading) not found");
    }
    var req = null;
    chunks.push([["ls-aperturedb-" + Date.now()], {}, function (r) { req = r; }]);
    if (!req || !req.m) throw new Error("webpack did not hand out its require function");
    return req;
  }

  /** React's jsx runtime module(s) of the bundle: an exports object with jsx, jsxs and Fragment. */
  function jsxRuntimes(req) {
    var runtimes = [];
    Object.keys(req.m).forEach(function (id) {
      var source;
      try {
        source = Function.prototype.toString.call(req.m[id]);
      } catch (ignored) {
        return;
      }
      if (!/\.jsxs\s*=/.test(source) || !/\.Fragment\s*=/.test(source) || source.length > 20000) return;
      var exports = req(id);
      if (exports && typeof exports.jsx === "function" && typeof exports.jsxs === "function" &&
          runtimes.indexOf(exports) === -1) {
        runtimes.push(exports);
      }
    });
    if (!runtimes.length) throw new Error("React's jsx runtime not found in the bundle");
    return runtimes;
  }

  function hook() {
    var req = webpackRequire();
    jsxRuntimes(req).forEach(function (runtime) {
      var jsx = runtime.jsx;
      var PreviewStep = null;
      ["jsx", "jsxs"].forEach(function (name) {
        var original = runtime[name];
        if (original.__lsAperturedb) return;
        var wrapped = function (type, props) {
          if (props && typeof props === "object") {
            try {
              if (props.providers && !props.providers[TYPE] && isProviderMap(props.providers)) {
                register(props.providers, jsx);
              } else if (isPreviewStepProps(props) && typeof type === "function") {
                PreviewStep = PreviewStep || makePreviewStep(jsx);
                return original.call(this, PreviewStep, props, arguments[2]);
              }
            } catch (error) {
              warn("could not add the ApertureDB provider", error);
            }
          }
          return original.apply(this, arguments);
        };
        wrapped.__lsAperturedb = true;
        runtime[name] = wrapped;
      });
    });
    if (state.status === "loading") state.status = "hooked";
  }

  guard("could not adapt storage API responses", installFetchAdapter)();
  var start = guard("could not hook into Label Studio's bundle", hook);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start, { once: true });
  } else {
    start();
  }
})();
