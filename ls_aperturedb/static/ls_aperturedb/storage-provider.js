/*
 * ls-aperturedb: the ApertureDB entry of Label Studio's Cloud Storage wizard — its field table.
 *
 * provider-hook.js puts this entry into the wizard (see its header); provider-widgets.js renders the
 * fields that name an `adbWidget` (multi-line text, JSON with line/column errors, property lists from
 * GetSchema, choices); provider-steps.js renders the preview, the review step and the storage cards.
 *
 * To add a field: add one entry to ROWS (a new row, or next to a related field). An entry is a Label
 * Studio field definition ({name, type, label, schema, ...}; `target: "import"` for source-only fields)
 * and may name an `adbWidget`. tests/test_frontend_provider.py checks every name is a model field.
 */
(function () {
  "use strict";

  var ns = (window.__LS_APERTUREDB__ = window.__LS_APERTUREDB__ || {});

  function isJsonObjectText(value) {
    if (value === null || value === undefined || String(value).trim() === "") return true;
    try {
      var parsed = JSON.parse(String(value));
      return !!parsed && typeof parsed === "object" && !Array.isArray(parsed);
    } catch (ignored) {
      return false;
    }
  }

  ns.buildProvider = function (kit) {
    var jsx = kit.jsx;
    var zod = kit.zod;
    // coerce: edit mode hands numbers (port, limit) to text inputs
    var text = function () { return zod.ZodString.create({ coerce: true }); };
    var optionalText = function (value) { return text().optional().default(value || ""); };
    var toggle = function (value) { return zod.ZodBoolean.create().default(value); };
    var digits = function (message, required) {
      return text().refine(function (v) {
        return (!required && v.trim() === "") || /^\d+$/.test(v.trim());
      }, message);
    };
    var jsonObject = function () {
      return text().refine(isJsonObjectText, function (value) {
        var problem = ns.jsonProblem ? ns.jsonProblem(value) : null;
        return { message: problem || 'Must be a JSON object like {"dataset": ["==", "train"]}' };
      }).optional().default("");
    };
    var tls = function (value) { return value === true; };
    var isVideos = function (value) { return value === "videos"; };
    var isMode = function (mode) { return function (value) { return (value || "all") === mode; }; };

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

    var ROWS = [
      [{ name: "adb_hint", type: "message", content: hint }],
      [{ name: "hostname", type: "text", label: "Host", placeholder: "aperturedb.example.com",
         description: "Host name or IP of the ApertureDB server", schema: optionalText("") },
       { name: "port", type: "text", label: "Port", placeholder: "55555",
         schema: digits("Port must be a number", true).refine(function (v) {
           return Number(v) >= 1 && Number(v) <= 65535;
         }, "Port must be between 1 and 65535").default("55555") }],
      [{ name: "username", type: "text", label: "Username", placeholder: "admin",
         autoComplete: "off", schema: optionalText("") },
       { name: "password", type: "password", label: "Password", adbSecret: true,
         autoComplete: "new-password", schema: optionalText("") }],
      [{ name: "token", type: "password", label: "API token (instead of a password)", adbSecret: true,
         placeholder: "adbp_...", autoComplete: "new-password", schema: optionalText("") }],
      [{ name: "aperturedb_key", type: "password", label: "APERTUREDB_KEY (instead of all of the above)",
         adbSecret: true, autoComplete: "new-password", schema: optionalText("") }],
      [{ name: "use_ssl", type: "toggle", label: "Use TLS", schema: toggle(true),
         description: "ApertureDB speaks TLS by default (paste the CA of a self-signed certificate below); " +
           "the emulator of `make demo` speaks plain TCP: switch this off for it." },
       { name: "verify_hostname", type: "toggle", label: "Verify the server's host name",
         visibleWhen: { field: "use_ssl", value: tls }, schema: toggle(true) }],
      [{ name: "ca_cert", type: "textarea", adbWidget: "textarea", label: "CA certificate (PEM, optional)",
         placeholder: "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----", rows: 5,
         visibleWhen: { field: "use_ssl", value: tls }, schema: optionalText("") }],
      // What becomes a task (source/kinds.py): images, videos (clips and tracked boxes as predictions), key frames.
      [{ name: "media_kind", type: "text", adbWidget: "choice", label: "What becomes a task", target: "import",
         adbChoices: [["images", "images (FindImage)"], ["videos", "videos (FindVideo), clips and tracks as predictions"],
                      ["frames", "key frames, shown as images (FindFrame)"]], schema: optionalText("images"),
         description: "Videos need a <Video> tag in the labeling config, images and frames an <Image> tag" }],
      [{ name: "clip_label_property", type: "text", label: "Clip property holding the timeline label", target: "import",
         placeholder: "label", visibleWhen: { field: "media_kind", value: isVideos }, schema: optionalText("label") },
       { name: "track_property", type: "text", label: "Box property naming the track", target: "import",
         placeholder: "track_id", visibleWhen: { field: "media_kind", value: isVideos },
         schema: optionalText("track_id") }],
      [{ name: "constraints", type: "textarea", adbWidget: "json", rows: 4,
         label: "Images to import: FindImage constraints (JSON)", target: "import",
         placeholder: '{"dataset": ["==", "train"],\n "width": [">=", 512]}',
         description: "Empty imports every image", schema: jsonObject() }],
      [{ name: "properties", type: "text", adbWidget: "properties", label: "Image properties copied into task data",
         target: "import", description: "From this ApertureDB's schema (GetSchema)", schema: optionalText("") }],
      [{ name: "width_property", type: "text", adbWidget: "property", adbSchema: "image_properties",
         label: "Width property", placeholder: "width, else adb_image_width", target: "import",
         schema: optionalText("") },
       { name: "height_property", type: "text", adbWidget: "property", adbSchema: "image_properties",
         label: "Height property", placeholder: "height, else adb_image_height", target: "import",
         schema: optionalText("") }],
      [{ name: "score_property", type: "text", adbWidget: "property", adbSchema: ["region_properties", "image_properties"],
         label: "Score property", placeholder: "score, confidence, wf_od_confidence", target: "import",
         schema: optionalText("") },
       { name: "model_version_property", type: "text", adbWidget: "property", adbSchema: ["region_properties"],
         label: "Model version property", placeholder: "wf_od_model, else the model version", target: "import",
         schema: optionalText("") }],
      [{ name: "include_regions", type: "toggle", label: "Import boxes and polygons as predictions",
         target: "import", schema: toggle(true) },
       { name: "import_annotations", type: "toggle", label: "Bring back annotations exported earlier",
         target: "import", schema: toggle(true) }],
      [{ name: "model_version", type: "text", label: "Model version of the predictions", target: "import",
         placeholder: "aperturedb", schema: optionalText("aperturedb") },
       { name: "data_key", type: "text", label: "Image tag that receives the image", target: "import",
         placeholder: "first <Image> of the labeling config", schema: optionalText("") }],
      [{ name: "max_side", type: "text", label: "Shown at most (pixels, longest side)", target: "import",
         placeholder: "as stored", description: "ApertureDB scales larger images down; regions stay in " +
           "the stored image's pixels", schema: digits("A whole number of pixels", false).optional().default("") },
       { name: "image_format", type: "text", adbWidget: "choice", label: "Shown as", target: "import",
         adbChoices: [["", "as stored"], ["jpg", "JPEG"], ["png", "PNG"]], schema: optionalText("") }],
      [{ name: "sync_deletions", type: "toggle", label: "Remove unannotated tasks whose image is gone",
         target: "import", schema: toggle(false) },
       { name: "limit", type: "text", label: "Import at most (images)", placeholder: "no limit",
         target: "import", schema: digits("Limit must be a whole number", false).optional().default("") }],
      // Which of the matching images (source/selection.py): all, similar to examples, or a stable sample.
      [{ name: "selection", type: "text", adbWidget: "choice", label: "Which images", target: "import",
         adbChoices: [["all", "all matching images"], ["similar", "similar to examples (descriptor k-NN)"],
                      ["sample", "a stable random sample"]], schema: optionalText("all") }],
      [{ name: "similar_set", type: "text", label: "Descriptor set", target: "import", placeholder: "image_embeddings",
         visibleWhen: { field: "selection", value: isMode("similar") }, schema: optionalText("") },
       { name: "similar_k", type: "text", label: "Nearest new images per example (k)", target: "import",
         placeholder: "10", visibleWhen: { field: "selection", value: isMode("similar") },
         schema: digits("k must be a whole number", false).optional().default("10") }],
      [{ name: "similar_images", type: "text", label: "Example image ids (JSON list)", target: "import",
         placeholder: '["7.3.157380"]', visibleWhen: { field: "selection", value: isMode("similar") },
         schema: optionalText("[]") },
       { name: "similar_tasks", type: "text", label: "Example tasks of this project (JSON list of ids)",
         target: "import", placeholder: "[12, 15]", visibleWhen: { field: "selection", value: isMode("similar") },
         schema: optionalText("[]") }],
      [{ name: "distance_field", type: "text", label: "Task data field for the distance", target: "import",
         placeholder: "distance", visibleWhen: { field: "selection", value: isMode("similar") },
         schema: optionalText("distance") }],
      [{ name: "sample_fraction", type: "text", label: "Sample fraction (0-1]", target: "import", placeholder: "0.1",
         visibleWhen: { field: "selection", value: isMode("sample") }, schema: optionalText("") },
       { name: "sample_count", type: "text", label: "or sample count", target: "import",
         visibleWhen: { field: "selection", value: isMode("sample") },
         schema: digits("A whole number of images", false).optional().default("") },
       { name: "sample_seed", type: "text", label: "Seed", target: "import", placeholder: "0",
         visibleWhen: { field: "selection", value: isMode("sample") },
         schema: digits("The seed is a whole number", false).optional().default("0") }],
      // Operations (ls_aperturedb/ops/): read-only predictions, schedule, sync events (cleanup on delete:
      // the API and the legacy form).
      [{ name: "read_only_predictions", type: "toggle", label: "Read-only predictions", target: "import",
         schema: toggle(false) }],
      [{ name: "sync_interval", type: "text", label: "Sync every (seconds)", placeholder: "no schedule",
         description: "Celery beat starts a sync this often (at least 10 s); skipped while one runs",
         schema: digits("A whole number of seconds", false).optional().default("") }],
      [{ name: "webhook_url", type: "text", label: "Sync event webhook URL", placeholder: "https://...",
         description: "Receives a signed POST when a sync finishes", schema: optionalText("") },
       { name: "webhook_secret", type: "password", label: "Webhook signing secret", adbSecret: true,
         autoComplete: "new-password", schema: optionalText("") }],
    ];
    var HIDDEN = [
      // Images are media served by the plugin, never task JSON files.
      { name: "use_blob_urls", type: "hidden", target: "import", defaultValue: true, schema: toggle(true) },
    ];

    var fields = [];
    ROWS.forEach(function (row) { fields.push.apply(fields, row); });
    return {
      name: ns.TYPE,
      title: "ApertureDB",
      description: "Images (with their boxes and polygons as predictions) from ApertureDB; " +
        "annotations written back as ApertureDB nodes",
      icon: Icon,
      fields: fields.concat(HIDDEN),
      layout: ROWS.map(function (row) {
        return { fields: row.map(function (field) { return field.name; }) };
      }),
    };
  };
})();
