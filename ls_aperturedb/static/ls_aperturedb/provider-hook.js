/*
 * ls-aperturedb: the hook into Label Studio's bundle (loaded before storage-provider.js, which holds the
 * ApertureDB field table, and provider-widgets.js / provider-steps.js, which render the custom parts).
 *
 * Label Studio (1.23) builds the wizard's provider grid from a map hard-coded in its bundle (StorageSet
 * passes it as the `providers` prop of StorageProviderForm). Nothing exports that map, so after the
 * bundle has run this script asks webpack's chunk-loading global (`self.webpackChunklabelstudio`) for
 * its `__webpack_require__`, finds React's jsx runtime and React's hooks among the bundle's modules, and
 * wraps `jsx`/`jsxs`. Elements are recognised by their props, never by minified names:
 *   - a `providers` map            -> gets the `aperturedb` entry (built by storage-provider.js);
 *   - FieldRenderer of a field with `adbWidget` -> that widget (multi-line text, JSON, property lists);
 *   - PreviewStep / ReviewStep of an ApertureDB storage -> ours (count, thumbnails, server, constraints);
 *   - StorageCard / StorageSummary of an ApertureDB storage -> a card that follows a sync live.
 * It also adapts the storage API's JSON for the forms (JSON fields as text; a stored secret as dots, only
 * when stored, and dots never sent back) and records the last preview reply and sync replies.
 *
 * Everything is guarded: if a future bundle changes, the page and the API keep working, one console
 * warning names what was not found, and tests/test_frontend_provider.py fails on the missing anchors.
 * `window.__LS_APERTUREDB__.status` tells a test what happened ("registered" once the tile exists).
 */
(function () {
  "use strict";

  var TYPE = "aperturedb";
  var CHUNK_GLOBAL = "webpackChunklabelstudio";
  var JSON_FIELDS = ["constraints", "properties"];
  var SECRETS = ["password", "token", "aperturedb_key"];
  var DOTS = "••••••••••••••••";
  var ns = (window.__LS_APERTUREDB__ = window.__LS_APERTUREDB__ || {});
  ns.status = "loading";
  ns.provider = null;
  ns.error = null;
  ns.TYPE = TYPE;
  ns.lastPreview = null;
  var listeners = [];
  var warned = false;

  function warn(what, error) {
    ns.status = "failed";
    ns.error = what;
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
  ns.warn = warn;

  function guard(what, fn) {
    return function () {
      try {
        return fn.apply(this, arguments);
      } catch (error) {
        warn(what, error);
      }
    };
  }

  /** Subscribe to storage replies the page receives: fn({kind: "sync"|"detail"|"preview", target, id, body}). */
  ns.onStorageReply = function (fn) {
    listeners.push(fn);
    return function () {
      listeners = listeners.filter(function (f) { return f !== fn; });
    };
  };

  function publish(event) {
    listeners.slice().forEach(function (fn) {
      try { fn(event); } catch (ignored) {}
    });
  }

  /* ---------- the storage API as the forms want it ---------- */

  function storagePath(url) {
    try {
      var path = new URL(url, location.href).pathname;
      return /^\/api\/storages(\/|$)/.test(path) ? path : null;
    } catch (ignored) {
      return null;
    }
  }

  function adaptForForm(item) {
    if (!item || typeof item !== "object" || item.type !== TYPE) return;
    JSON_FIELDS.forEach(function (name) {
      var value = item[name];
      if (value && typeof value === "object") {
        item[name] = Object.keys(value).length ? JSON.stringify(value) : "";
      }
    });
    SECRETS.forEach(function (name) {
      if ((name + "_set") in item) item[name] = item[name + "_set"] ? DOTS : "";
    });
  }

  /** A request body to an ApertureDB storage route without the dots standing for a stored secret, nor
   *  an empty secret field (both mean "keep the stored one", as Label Studio's access-key fields do). */
  function withoutDots(body) {
    if (typeof body !== "string") return body;
    try {
      var data = JSON.parse(body);
      if (!data || typeof data !== "object" || Array.isArray(data)) return body;
      SECRETS.forEach(function (name) { if (data[name] === DOTS || data[name] === "") delete data[name]; });
      return JSON.stringify(data);
    } catch (ignored) {
      return body;
    }
  }

  function classify(path, method) {
    var m = /^\/api\/storages\/(export\/)?aperturedb\/(\d+)(\/sync)?\/?$/.exec(path);
    if (m) return { kind: m[3] ? "sync" : "detail", target: m[1] ? "export" : "import", id: Number(m[2]) };
    if (method === "POST" && /^\/api\/storages\/aperturedb\/files\/?$/.test(path)) return { kind: "preview" };
    return null;
  }

  function installFetchAdapter() {
    var originalFetch = window.fetch;
    if (typeof originalFetch !== "function") return;
    ns.rawFetch = originalFetch.bind(window);
    window.fetch = function (input, init) {
      var url = typeof input === "string" ? input : input && input.url;
      var path = url && storagePath(url);
      var method = ((init && init.method) || (input && input.method) || "GET").toUpperCase();
      if (path && /aperturedb/.test(path) && init && init.body) {
        init = Object.assign({}, init, { body: withoutDots(init.body) });
      }
      var promise = originalFetch.call(this, input, init);
      if (!path || method === "DELETE") return promise;
      var event = classify(path, method);
      return promise.then(function (response) {
        var type = response.headers.get("content-type") || "";
        if (!response.ok || type.indexOf("application/json") === -1) return response;
        return response
          .clone()
          .json()
          .then(function (body) {
            if (event && event.kind === "preview") {
              ns.lastPreview = body;
              publish(Object.assign({ body: body }, event));
              return response;
            }
            var items = Array.isArray(body) ? body : [body];
            if (!items.some(function (item) { return item && item.type === TYPE; })) return response;
            items.forEach(adaptForForm);
            if (event) publish(Object.assign({ body: JSON.parse(JSON.stringify(body)) }, event));
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

  /* ---------- the provider map ---------- */

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

  /** Put the entry into the map the wizard reads, right after Redis (the last standard provider). */
  function register(providers, kit) {
    if (providers[TYPE]) return;
    if (typeof ns.buildProvider !== "function") throw new Error("storage-provider.js did not load");
    kit.zod = kit.zod || zodClasses(providers);
    var entry = ns.provider || (ns.provider = ns.buildProvider(kit));
    var keys = Object.keys(providers);
    var at = keys.indexOf("redis") + 1 || keys.length;
    var ordered = keys.slice(0, at).concat([TYPE], keys.slice(at));
    var saved = {};
    keys.forEach(function (k) { saved[k] = providers[k]; delete providers[k]; });
    saved[TYPE] = entry;
    ordered.forEach(function (k) { providers[k] = saved[k]; });
    ns.status = "registered";
  }

  /* ---------- which element is which (by props) ---------- */

  function isOurs(storage) {
    return !!storage && typeof storage === "object" && storage.type === TYPE;
  }

  /** The custom component for an element, or null (then the bundle's own renders). */
  function replacement(type, props, kit) {
    var field = props.field;
    if (field && typeof field === "object" && field.adbWidget && typeof props.onChange === "function") {
      return kit.widgets && kit.widgets[field.adbWidget];
    }
    var steps = kit.steps;
    if (!steps) return null;
    if (props.formData && typeof props.formatSize === "function" && "filesPreview" in props) {
      if (props.type === TYPE && typeof props.setFormState === "function") return steps.PreviewStep;
      if (props.formData.provider === TYPE && !("setFormState" in props)) return steps.ReviewStep;
      return null;
    }
    if (isOurs(props.storage) && props.rootClass && typeof props.onEditStorage === "function") return steps.Card;
    if (isOurs(props.storage) && "storageTypes" in props && !("onEditStorage" in props)) return steps.Summary;
    return null;
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

  function moduleSource(req, id) {
    try {
      return Function.prototype.toString.call(req.m[id]);
    } catch (ignored) {
      return "";
    }
  }

  /** React's jsx runtime module(s) of the bundle: an exports object with jsx, jsxs and Fragment. */
  function jsxRuntimes(req) {
    var runtimes = [];
    Object.keys(req.m).forEach(function (id) {
      var source = moduleSource(req, id);
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

  /** React itself (its hooks), found the same way: the small module defining useState and useEffect. */
  function react(req) {
    var found = null;
    Object.keys(req.m).some(function (id) {
      var source = moduleSource(req, id);
      if (source.length > 40000 || !/\.useState\s*=/.test(source) || !/\.useEffect\s*=/.test(source) ||
          !/\.createElement\s*=/.test(source)) return false;
      var exports = req(id);
      if (exports && typeof exports.useState === "function" && typeof exports.useEffect === "function") {
        found = exports;
      }
      return !!found;
    });
    return found;
  }

  function hook() {
    var req = webpackRequire();
    var React = react(req);
    jsxRuntimes(req).forEach(function (runtime) {
      var rawJsx = runtime.jsx;
      var kit = { jsx: rawJsx, React: React, ns: ns, TYPE: TYPE, DOTS: DOTS };
      if (React) {
        if (typeof ns.makeWidgets === "function") kit.widgets = ns.makeWidgets(kit);
        if (typeof ns.makeSteps === "function") kit.steps = ns.makeSteps(kit);
      }
      ["jsx", "jsxs"].forEach(function (name) {
        var original = runtime[name];
        if (original.__lsAperturedb) return;
        var wrapped = function (type, props) {
          if (props && typeof props === "object") {
            try {
              if (props.providers && !props.providers[TYPE] && isProviderMap(props.providers)) {
                register(props.providers, kit);
              } else if (typeof type === "function") {
                var Custom = replacement(type, props, kit);
                if (Custom) {
                  return original.call(this, Custom, Object.assign({}, props, { adbInner: type }), arguments[2]);
                }
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
    if (ns.status === "loading") ns.status = "hooked";
  }

  guard("could not adapt storage API responses", installFetchAdapter)();
  var start = guard("could not hook into Label Studio's bundle", hook);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start, { once: true });
  } else {
    start();
  }
})();
