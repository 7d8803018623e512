/*
 * ls-aperturedb: the wizard steps and storage cards of an ApertureDB storage (see provider-hook.js for how
 * they replace Label Studio's own, by props).
 *   PreviewStep  the total count of matching images and the first page as thumbnails ApertureDB rendered,
 *                with the properties each task gets and the boxes/polygons each brings
 *   ReviewStep   "ApertureDB", the server (host:port or APERTUREDB_KEY), the constraints, the count
 *   Card         Label Studio's card, following a sync live: Label Studio's own cards (S3 included) show
 *                the status of the page load and ask for a reload; this one re-reads the storage every
 *                second while it is queued or in progress, so the running count and the end show up
 *   Summary      Label Studio's summary plus the server and, for a target, pending/failed exports
 */
(function () {
  "use strict";

  var ns = (window.__LS_APERTUREDB__ = window.__LS_APERTUREDB__ || {});
  var POLL_MS = 1000;

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  function server(d) {
    if (d.aperturedb_key || d.aperturedb_key_set) return "APERTUREDB_KEY";
    return (d.hostname || "?") + ":" + (d.port || 55555);
  }

  function running(storage) {
    return !!storage && (storage.status === "queued" || storage.status === "in_progress");
  }

  ns.makeSteps = function (kit) {
    var jsx = kit.jsx;
    var React = kit.React;

    function row(label, value, key, testid) {
      return jsx("div", { "data-testid": testid, children: [
        jsx("p", { className: "text-sm text-neutral-content-subtler", children: label }, "l"),
        jsx("p", { className: "font-medium break-all", children: value }, "v"),
      ] }, key);
    }

    function countText(preview, limit) {
      if (!preview) return "Load the preview to count them";
      if (preview.count === null || preview.count === undefined) return "the first " + preview.files.length + " listed";
      var text = plural(preview.count, "image matches", "images match");
      if (limit && preview.import_count < preview.count) text += "; the first " + preview.import_count + " are imported";
      return text;
    }

    function regionsText(file) {
      var parts = [plural(file.boxes || 0, "box", "boxes"), plural(file.polygons || 0, "polygon", "polygons")];
      return parts.join(" · ");
    }

    function thumbnail(file, i) {
      var props = file.properties || {};
      var names = Object.keys(props);
      return jsx("li", { className: "flex gap-tight p-tight border-b", "data-testid": "aperturedb-preview-item", children: [
        file.thumbnail
          ? jsx("img", { src: file.thumbnail, alt: "image " + file.key, className: "w-[72px] h-[72px] object-contain bg-neutral-surface",
            "data-testid": "aperturedb-thumbnail" }, "t")
          : jsx("div", { className: "w-[72px] h-[72px] text-xs flex items-center justify-center bg-neutral-surface",
            children: "no size property" }, "t"),
        jsx("div", { className: "text-xs space-y-0.5 min-w-0", children: [
          jsx("p", { className: "font-medium break-all", children: String(file.key) +
            (file.width ? "  (" + file.width + " × " + file.height + ")" : "") }, "k"),
          jsx("p", { "data-testid": "aperturedb-preview-regions", children: regionsText(file) }, "r"),
          names.length ? jsx("p", { className: "text-neutral-content-subtler break-all",
            children: names.map(function (n) { return n + ": " + JSON.stringify(props[n]); }).join(", ") }, "p") : null,
        ] }, "d"),
      ] }, i);
    }

    function settings(d) {
      return [
        row("Constraints", d.constraints ? String(d.constraints) : "all images", "c"),
        row("Boxes and polygons as predictions",
          d.include_regions === false ? "no" : "yes, model version " + (d.model_version || "aperturedb"), "r"),
        row("Annotations exported earlier", d.import_annotations === false ? "not imported" : "imported", "a"),
        row("Tasks whose image is gone", d.sync_deletions ? "removed (unless annotated)" : "kept", "s"),
        row("Images shown", (d.max_side ? "at most " + d.max_side + " px" : "full size") + ", " +
          ({ jpg: "as JPEG", png: "as PNG" }[d.image_format] || "as stored"), "m"),
        row("Limit", d.limit ? String(d.limit) + " images" : "none", "n"),
      ];
    }

    function PreviewStep(props) {
      var d = props.formData;
      var files = props.filesPreview;
      var preview = files ? ns.lastPreview : null;
      var list;
      if (files === null || files === undefined) {
        list = jsx("p", { className: "text-sm text-neutral-content-subtler p-base",
          children: 'Click "Load Preview" to see the images that match, as ApertureDB renders them.' });
      } else if (!files.length) {
        list = jsx("p", { className: "text-sm text-neutral-content-subtler p-base",
          children: "No images match these constraints." });
      } else {
        var shown = files.filter(function (f) { return f.key !== null; });
        list = jsx("div", { className: "flex flex-col h-full", children: [
          jsx("p", { className: "p-tight font-medium border-b", "data-testid": "aperturedb-preview-count",
            children: countText(preview, d.limit) + (preview && preview.count > shown.length
              ? " (the first " + shown.length + " shown)" : "") }, "n"),
          jsx("ul", { className: "overflow-auto flex-1", "data-testid": "aperturedb-preview-list",
            children: shown.map(thumbnail) }, "l"),
        ] });
      }
      return jsx("div", { className: "space-y-6", "data-testid": "aperturedb-preview-step", children: [
        jsx("div", { children: [
          jsx("h2", { className: "text-xl font-semibold", children: "Import settings & preview" }, "h"),
          jsx("p", { className: "text-muted-foreground",
            children: "One task per ApertureDB image that matches; change these in the connection step." }, "p"),
        ] }, "head"),
        jsx("div", { className: "grid grid-cols-1 md:grid-cols-2 gap-6", children: [
          jsx("div", { className: "grid grid-cols-1 gap-y-3 content-start", children: settings(d) }, "settings"),
          jsx("div", { className: "border rounded-md overflow-hidden h-[380px]", children: list }, "files"),
        ] }, "body"),
      ] });
    }

    function ReviewStep(props) {
      var d = props.formData;
      var preview = props.filesPreview ? ns.lastPreview : null;
      var tls = d.aperturedb_key ? "" : d.use_ssl === false ? " (plain TCP)" : " (TLS)";
      return jsx("div", { "data-testid": "aperturedb-review-step", children: [
        jsx("div", { className: "border-b pb-4 mb-6", children: [
          jsx("h2", { className: "text-2xl font-bold", children: "Ready to Connect" }, "h"),
          jsx("p", { className: "mt-1", children: "Review your connection details and confirm to start importing" }, "p"),
        ] }, "head"),
        jsx("div", { className: "grid grid-cols-2 gap-y-4 mb-8", children: [
          row("Provider", "ApertureDB", "p", "aperturedb-review-provider"),
          row("Server", server(d) + tls, "s", "aperturedb-review-server"),
          row("Constraints", d.constraints ? String(d.constraints) : "all images", "c", "aperturedb-review-constraints"),
          row("Images to import", countText(preview, d.limit), "n", "aperturedb-review-count"),
          row("Predictions", d.include_regions === false ? "none" : "boxes and polygons, model version " +
            (d.model_version || "aperturedb"), "r"),
          row("Images shown", (d.max_side ? "at most " + d.max_side + " px" : "full size") + ", " +
            ({ jpg: "as JPEG", png: "as PNG" }[d.image_format] || "as stored"), "m"),
        ] }, "rows"),
        jsx("div", { className: "bg-primary-background border border-primary-border-subtler rounded-small p-4 mb-8",
          children: [
            jsx("h3", { className: "text-lg font-semibold mb-2", children: "Import Process" }, "h"),
            jsx("p", { children: "Tasks are created in the background by a worker; the storage card shows the " +
              "sync's progress as it runs." }, "p"),
          ] }, "process"),
      ] });
    }

    function without(props, name) {
      var out = {};
      Object.keys(props).forEach(function (k) { if (k !== name) out[k] = props[k]; });
      return out;
    }

    function detailUrl(target, id) {
      return "/api/storages/" + (target === "export" ? "export/" : "") + "aperturedb/" + id;
    }

    function Card(props) {
      var pair = React.useState(props.storage);
      var storage = pair[0];
      var setStorage = pair[1];
      var id = props.storage.id;
      var target = props.target === "export" ? "export" : "import";
      React.useEffect(function () { setStorage(props.storage); }, [props.storage]);
      React.useEffect(function () {
        return ns.onStorageReply(function (event) {
          if ((event.kind === "sync" || event.kind === "detail") && event.id === id && event.target === target &&
              event.body && event.body.id === id) {
            setStorage(event.body);
          }
        });
      }, [id, target]);
      React.useEffect(function () {
        if (!running(storage)) return undefined;
        var timer = setTimeout(function () {
          window.fetch(detailUrl(target, id), { credentials: "same-origin" }).catch(function () {});
        }, POLL_MS);
        return function () { clearTimeout(timer); };
      }, [storage, id, target]);
      var inner = without(props, "adbInner");
      inner.storage = storage;
      // A new card when a sync starts or ends: Label Studio's keeps "synced" state that disables Sync.
      var phase = running(storage) ? "running" : storage.status + ":" + (storage.last_sync || "");
      return jsx(props.adbInner, inner, id + ":" + phase);
    }

    function Summary(props) {
      var s = props.storage;
      var details = [jsx("span", { children: "Server: " + server(s) }, "s")];
      if (running(s) && s.meta && typeof s.meta.images_seen === "number") {
        details.push(jsx("span", { children: "Running: " + plural(s.meta.images_seen, "image", "images") +
          " read, " + plural(s.meta.tasks_created || 0, "task", "tasks") + " created" }, "r"));
      }
      var exports = s.meta && s.meta.exports;
      if (exports) {
        details.push(jsx("span", { "data-testid": "aperturedb-export-counts", children: "Exports: " +
          exports.exported + " exported, " + exports.pending + " pending, " + exports.failed + " failed" +
          (exports.last_error ? " (last error: " + exports.last_error + ")" : "") }, "e"));
      }
      return jsx("div", { children: [
        jsx(props.adbInner, without(props, "adbInner"), "summary"),
        jsx("div", { className: "flex flex-col text-sm text-neutral-content-subtler mt-tight",
          "data-testid": "aperturedb-card-details", children: details }, "details"),
      ] });
    }

    return { PreviewStep: PreviewStep, ReviewStep: ReviewStep, Card: Card, Summary: Summary };
  };
})();
