/*
 * ls-aperturedb: the form fields Label Studio's wizard has no widget for (its "textarea" is one line, its
 * select takes one value). A field of storage-provider.js that names an `adbWidget` is rendered by the
 * widget of that name with the props Label Studio's FieldRenderer gets (field, value, onChange, error).
 *   textarea    multi-line text (CA certificate)
 *   json        multi-line JSON object, checked as the user types (line and column of the error)
 *   properties  several image property names, offered from this ApertureDB's GetSchema
 *   property    one property name, offered from GetSchema (`adbSchema`: image_properties and/or
 *               region_properties, the names of boxes and polygons)
 *   choice      one of `adbChoices` [[value, label], ...]
 */
(function () {
  "use strict";

  var ns = (window.__LS_APERTUREDB__ = window.__LS_APERTUREDB__ || {});

  /** The offset and reason of the first JSON syntax error in `text` (browsers word and place theirs
   *  differently, some without a position), or null when it parses. */
  function syntaxError(text) {
    var i = 0;
    function fail(what) { throw { at: i, reason: what }; }
    function space() { while (i < text.length && " \t\r\n".indexOf(text[i]) !== -1) i++; }
    function literal(word) {
      if (text.slice(i, i + word.length) !== word) fail("unexpected " + (text[i] ? "'" + text[i] + "'" : "end"));
      i += word.length;
    }
    function string() {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\") i++;
        else if (text[i] === "\n") fail("line break inside a string");
        i++;
      }
      if (i >= text.length) fail("unterminated string");
      i++;
    }
    function number() {
      var m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
      if (!m) fail("unexpected '" + text[i] + "'");
      i += m[0].length;
    }
    function items(close, item) {
      i++;
      space();
      if (text[i] === close) { i++; return; }
      for (;;) {
        item();
        space();
        if (text[i] === ",") { i++; space(); continue; }
        if (text[i] === close) { i++; return; }
        fail("expected ',' or '" + close + "'" + (text[i] ? ", found '" + text[i] + "'" : " before the end"));
      }
    }
    function value() {
      space();
      var c = text[i];
      if (c === "{") {
        items("}", function () {
          if (text[i] !== '"') fail("expected a property name in double quotes");
          string();
          space();
          if (text[i] !== ":") fail("expected ':' after the property name");
          i++;
          value();
        });
      } else if (c === "[") items("]", value);
      else if (c === '"') string();
      else if (c === "t") literal("true");
      else if (c === "f") literal("false");
      else if (c === "n") literal("null");
      else if (c === "-" || (c >= "0" && c <= "9")) number();
      else fail(c === undefined ? "unexpected end" : "unexpected '" + c + "'");
    }
    try {
      value();
      space();
      if (i < text.length) fail("unexpected '" + text[i] + "' after the end");
      return null;
    } catch (error) {
      if (error && typeof error.at === "number") return error;
      throw error;
    }
  }

  /** Where and why `text` is not a JSON object: "line 2, column 5: ..." (null when it is one, or empty). */
  ns.jsonProblem = function (text) {
    text = text === null || text === undefined ? "" : String(text);
    if (!text.trim()) return null;
    var error = syntaxError(text);
    if (error) {
      var before = text.slice(0, error.at).split("\n");
      return "line " + before.length + ", column " + (before[before.length - 1].length + 1) + ": " + error.reason;
    }
    var parsed = JSON.parse(text);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      return 'line 1, column 1: must be a JSON object like {"dataset": ["==", "train"]}';
    }
    return null;
  };

  /* The property names GetSchema lists, shared by every property widget of the open form. */
  var schema = { data: null, loading: false, error: null, listeners: [] };

  function notify() {
    schema.listeners.slice().forEach(function (fn) { fn(Object.assign({}, schema)); });
  }

  function loadSchema(formData) {
    var body = {};
    Object.keys(formData || {}).forEach(function (k) { body[k] = formData[k]; });
    schema.loading = true;
    schema.error = null;
    notify();
    var csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1];
    return window.fetch("/api/storages/aperturedb/schema", {  // through the adapter: dots are not sent
      method: "POST", credentials: "same-origin",
      headers: Object.assign({ "Content-Type": "application/json" }, csrf ? { "X-CSRFToken": csrf } : {}),
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (reply) {
        if (!response.ok) {
          var errors = reply && reply.validation_errors;
          var first = errors && Object.keys(errors)[0];
          throw new Error(first ? first + ": " + [].concat(errors[first]).join(" ") : "ApertureDB did not answer");
        }
        schema.data = reply;
      });
    }).catch(function (error) {
      schema.error = String(error && error.message || error);
    }).then(function () {
      schema.loading = false;
      notify();
    });
  }

  ns.makeWidgets = function (kit) {
    var jsx = kit.jsx;
    var React = kit.React;

    function useSchema() {
      var pair = React.useState(Object.assign({}, schema));
      React.useEffect(function () {
        schema.listeners.push(pair[1]);
        return function () {
          schema.listeners = schema.listeners.filter(function (f) { return f !== pair[1]; });
        };
      }, []);
      return pair[0];
    }

    function frame(props, control, problem, extra) {
      var field = props.field;
      var error = problem || props.error;
      return jsx("div", { className: "flex flex-col gap-tight", "data-testid": "adb-field-" + field.name, children: [
        jsx("label", { htmlFor: "adb-" + field.name, className: "text-sm font-medium", children: field.label }, "l"),
        control,
        extra || null,
        field.description ? jsx("p", { className: "text-xs text-neutral-content-subtler",
          children: field.description }, "d") : null,
        error ? jsx("p", { className: "text-sm text-negative-content", "data-testid": "adb-error-" + field.name,
          children: error }, "e") : null,
      ] });
    }

    var inputClass = "w-full rounded-smaller border border-neutral-border bg-neutral-surface px-tight py-tighter " +
      "font-mono text-sm";

    function area(props) {
      var field = props.field;
      return jsx("textarea", {
        id: "adb-" + field.name, name: field.name, rows: field.rows || 4, spellCheck: false,
        className: inputClass, placeholder: field.placeholder || "", value: props.value || "",
        onChange: function (e) { props.onChange(field.name, e.target.value); },
        onBlur: function (e) { if (props.onBlur) props.onBlur(field.name, e.target.value); },
      }, "i");
    }

    function Textarea(props) {
      return frame(props, area(props));
    }

    function JsonTextarea(props) {
      return frame(props, area(props), ns.jsonProblem(props.value));
    }

    function schemaButton(props, state) {
      return jsx("button", {
        type: "button", className: "self-start text-sm underline text-primary-content",
        "data-testid": "adb-load-schema", disabled: state.loading,
        onClick: function () { loadSchema(props.formData); },
        children: state.loading ? "Asking ApertureDB…" : state.data ? "Reload from ApertureDB" : "List from ApertureDB",
      }, "b");
    }

    function listValue(value) {
      if (Array.isArray(value)) return value;
      try {
        var parsed = JSON.parse(value || "[]");
        return Array.isArray(parsed) ? parsed : [];
      } catch (ignored) {
        return [];
      }
    }

    function Properties(props) {
      var state = useSchema();
      var chosen = listValue(props.value);
      var offered = (state.data && state.data.image_properties) || [];
      var names = offered.concat(chosen.filter(function (n) { return offered.indexOf(n) === -1; }));
      var toggleName = function (name) {
        var next = chosen.indexOf(name) === -1 ? chosen.concat([name]) : chosen.filter(function (n) { return n !== name; });
        props.onChange(props.field.name, next.length ? JSON.stringify(next) : "");
      };
      var list = jsx("div", { className: "flex flex-wrap gap-tight", role: "group", "aria-label": props.field.label,
        children: names.length ? names.map(function (name) {
          var on = chosen.indexOf(name) !== -1;
          return jsx("label", { className: "flex items-center gap-tighter text-sm border rounded-smaller px-tight py-tightest",
            children: [
              jsx("input", { type: "checkbox", name: "adb-property", value: name, checked: on,
                onChange: function () { toggleName(name); } }, "c"),
              jsx("span", { children: name }, "n"),
            ] }, name);
        }) : jsx("span", { className: "text-sm text-neutral-content-subtler",
          children: state.data ? "ApertureDB lists no image properties" : "none chosen" }, "none"),
      }, "list");
      return frame(props, list, state.error, schemaButton(props, state));
    }

    function Property(props) {
      var state = useSchema();
      var offered = [];
      [].concat(props.field.adbSchema || "image_properties").forEach(function (key) {
        ((state.data && state.data[key]) || []).forEach(function (n) { if (offered.indexOf(n) === -1) offered.push(n); });
      });
      var value = props.value || "";
      var names = value && offered.indexOf(value) === -1 ? offered.concat([value]) : offered;
      var select = jsx("select", {
        id: "adb-" + props.field.name, name: props.field.name, className: inputClass, value: value,
        onChange: function (e) { props.onChange(props.field.name, e.target.value); },
        children: [jsx("option", { value: "", children: props.field.placeholder || "default" }, "")].concat(
          names.map(function (name) { return jsx("option", { value: name, children: name }, name); })),
      }, "s");
      return frame(props, select, null);
    }

    function Choice(props) {
      var select = jsx("select", {
        id: "adb-" + props.field.name, name: props.field.name, className: inputClass, value: props.value || "",
        onChange: function (e) { props.onChange(props.field.name, e.target.value); },
        children: (props.field.adbChoices || []).map(function (pair) {
          return jsx("option", { value: pair[0], children: pair[1] }, pair[0]);
        }),
      }, "s");
      return frame(props, select, null);
    }

    return { textarea: Textarea, json: JsonTextarea, properties: Properties, property: Property, choice: Choice };
  };
})();
