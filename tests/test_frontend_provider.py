"""The ApertureDB tile of Label Studio's storage wizard: what the injection relies on still exists.

``ls_aperturedb/static/ls_aperturedb/storage-provider.js`` adds the provider at runtime (see its
header). These tests fail when a Label Studio upgrade moves one of its anchors, before a user notices a
missing tile: the installed bundle and its source maps are read, and the page Label Studio serves is
checked for the script. The browser test of the whole flow drives the same wizard end to end.
"""
import json
import os
import re
import time
from functools import lru_cache

import pytest
from django.conf import settings

from ls_aperturedb import frontend
from ls_aperturedb.models import ApertureDBExportStorage, ApertureDBImportStorage

SCRIPT_PATH = os.path.join(frontend.STATIC_ROOT, frontend.PROVIDER_SCRIPT)
SCRIPT_URL = "/" + frontend.STATIC_URL + frontend.PROVIDER_SCRIPT


def bundle_dir():
    return os.path.realpath(settings.REACT_APP_ROOT)


def read_bundle(name):
    with open(os.path.join(bundle_dir(), name), encoding="utf-8") as f:
        return f.read()


@lru_cache(maxsize=1)
def original_sources():
    """{source path: original TSX/TS} from main.js.map (Label Studio ships its source maps)."""
    with open(os.path.join(bundle_dir(), "main.js.map"), encoding="utf-8") as f:
        source_map = json.load(f)
    return dict(zip(source_map["sources"], source_map["sourcesContent"]))


def source(suffix):
    matches = [text for path, text in original_sources().items() if path.endswith(suffix)]
    assert matches, f"{suffix} is gone from Label Studio's bundle: the storage wizard changed"
    return matches[0]


def script_text():
    """All the plugin's frontend scripts (hook, field table, widgets, steps), as one text."""
    texts = []
    for _, path in frontend.SCRIPTS:
        with open(os.path.join(frontend.STATIC_ROOT, path), encoding="utf-8") as f:
            texts.append(f.read())
    return "\n".join(texts)


# ---- (a) anchors in the installed bundle ----------------------------------------------------------

def test_bundle_has_the_webpack_chunk_global():
    # The script asks webpack for its require function through this global's push().
    runtime = read_bundle("runtime.js")
    assert "self.webpackChunklabelstudio=self.webpackChunklabelstudio||[]" in runtime
    assert ".push=" in runtime
    assert "(self.webpackChunklabelstudio=self.webpackChunklabelstudio||[]).push(" in read_bundle("main.js")
    assert '"webpackChunklabelstudio"' in script_text()


def test_bundle_has_a_jsx_runtime_module_the_script_finds():
    # Same test the script applies to module factories: ".jsxs=" and ".Fragment=" in one small module.
    candidates = [read_bundle(name) for name in ("vendor.js", "main.js")]
    pattern = re.compile(r"\w\.Fragment=\w+,\w\.jsx=\w+,\w\.jsxs=\w+")
    assert any(pattern.search(text) for text in candidates), "React's jsx runtime changed shape"


def test_wizard_gets_the_provider_map_as_a_prop():
    storage_set = source("pages/Settings/StorageSettings/StorageSet.jsx")
    assert "<StorageProviderForm" in storage_set and "providers={providers}" in storage_set
    form = source("blocks/StorageProviderForm/index.tsx")
    assert "Object.entries(providers).forEach" in form and "addProvider(name, config)" in form
    assert "storage?.type" in form, "edit mode no longer picks the provider from storage.type"
    grid = source("blocks/StorageProviderForm/components/provider-grid.tsx")
    assert "Object.entries(providers)" in grid and "storage-provider-${provider.name}" in grid
    # the minified bundle still passes it under that prop name
    assert "providers:" in read_bundle("main.js")


def test_provider_config_features_the_entry_uses():
    with open(SCRIPT_PATH, encoding="utf-8") as f:  # the field table (widgets use HTML input types too)
        used = set(re.findall(r'type: "(\w+)"', f.read()))
    assert used <= {"message", "text", "password", "textarea", "toggle", "hidden"}
    renderer = source("blocks/StorageProviderForm/components/field-renderer.tsx")
    for kind in used - {"message"}:
        assert f'case "{kind}"' in renderer, f"field type {kind} is no longer rendered"
    form = source("blocks/StorageProviderForm/components/provider-form.tsx")
    assert "visibleWhen" in form and 'field.type === "message"' in form
    hooks = source("blocks/StorageProviderForm/hooks/useStorageForm.ts")
    assert "field.accessKey" in hooks and "defaultValue" in source("blocks/StorageProviderForm/types/provider.ts")
    # zod classes are taken from the built-in providers' schemas: they must still have them
    s3 = source("pages/Settings/StorageSettings/providers/s3.ts")
    assert "z.string()" in s3 and "z.boolean()" in s3
    assert "coerce" in source("node_modules/zod/v3/types.js")


def test_preview_step_props_the_script_recognises():
    form = source("blocks/StorageProviderForm/index.tsx")
    step = re.search(r"<PreviewStep(.*?)/>", form, re.S)
    assert step, "the wizard no longer renders <PreviewStep>"
    for prop in ("formData=", "setFormState=", "type=", "filesPreview=", "formatSize="):
        assert prop in step.group(1), f"PreviewStep lost its {prop[:-1]} prop"


def test_review_step_field_renderer_and_cards_props_the_script_recognises():
    form = source("blocks/StorageProviderForm/index.tsx")
    assert "<ReviewStep formData={formData} filesPreview={filesPreview} formatSize={formatSize} />" in form
    provider_form = source("blocks/StorageProviderForm/components/provider-form.tsx")
    for prop in ("field={field as FieldDefinition}", "value={formData[field.name]}", "onChange={onChange}",
                 "error={errors[field.name]}", "formData={formData}"):
        assert prop in provider_form, f"FieldRenderer lost its {prop} prop"
    storage_set = source("pages/Settings/StorageSettings/StorageSet.jsx")
    assert "<StorageCard" in storage_set and "onEditStorage=" in storage_set and "rootClass=" in storage_set
    card = source("pages/Settings/StorageSettings/StorageCard.jsx")
    assert "<StorageSummary" in card and "storageTypes={storageTypes}" in card
    assert "setStorageData(storage)" in card, "the card no longer follows its storage prop"
    summary = source("pages/Settings/StorageSettings/StorageSummary.jsx")
    # the target card's counts come from these fields (the serializer fills them)
    assert "storage.last_sync_count" in summary and "storage.meta?.total_annotations" in summary
    # React's hooks are found as a small module defining useState, useEffect and createElement
    assert any(re.search(r"\w\.useState=function", read_bundle(name)) for name in ("vendor.js", "main.js"))


def test_api_calls_go_through_window_fetch():
    # The response adapter (constraints as JSON text for the forms) wraps window.fetch.
    proxy = source("libs/core/src/lib/api-proxy/index.ts")
    assert "await fetch(" in proxy and "rawResponse.text()" in proxy
    config = source("src/config/ApiConfig.js")
    for route in ('listStorages: "/storages/:target?"', 'storageFiles: "POST:/storages/:target?/:type/files"'):
        assert route in config


def test_script_fields_are_model_fields():
    names = set(re.findall(r'\{ name: "(\w+)", type: "(?!message)', script_text()))
    import_fields = {f.name for f in ApertureDBImportStorage._meta.concrete_fields}
    export_fields = {f.name for f in ApertureDBExportStorage._meta.concrete_fields}
    assert names and names <= import_fields, names - import_fields
    import_only = set(re.findall(r'\{ name: "(\w+)"(?:(?!\{ name:).)*?target: "import"', script_text(), re.S))
    assert names - import_only <= export_fields, (names - import_only) - export_fields
    expected = {"hostname", "port", "username", "password", "token", "aperturedb_key", "use_ssl",
                "verify_hostname", "ca_cert", "constraints", "include_regions", "model_version",
                "import_annotations", "sync_deletions", "limit", "data_key"}
    assert expected <= names, expected - names


def test_script_guards_everything():
    text = script_text()
    assert text.count("console.warn(") == 1, "one warning, from warn(), and nothing else"
    assert "try {" in text and 'guard("could not hook' in text


# ---- (b) Label Studio serves the script and its pages load it --------------------------------------

def test_script_is_served(client, db):
    response = client.get(SCRIPT_URL)
    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    assert b"__LS_APERTUREDB__" in b"".join(response.streaming_content)


def test_static_route_stays_inside_its_directory(client, db):
    assert client.get("/" + frontend.STATIC_URL + "../models.py").status_code in (400, 404)


def log_in(client, user):
    """A browser session: Label Studio keeps sessions in signed cookies and logs out any without last_login."""
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session["last_login"] = time.time()
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key


@pytest.mark.parametrize("page", ["/projects/", "/projects/{pk}/settings/storage", "/projects/{pk}/data"])
def test_pages_load_the_script_before_the_bundle(client, user, project, page):
    log_in(client, user)
    response = client.get(page.format(pk=project.pk))
    assert response.status_code == 200
    html = response.content.decode()
    tag = f'<script src="{SCRIPT_URL}?v={frontend.version()}" data-ls-aperturedb="provider"></script>'
    assert tag in html
    assert html.index(tag) < html.index("/react-app/runtime.js") < html.index("/react-app/main.js")


# ---- the backend-driven (legacy) form ---------------------------------------------------------------

def test_form_layout_fields_are_model_fields(api):
    for url, model in (("/api/storages/aperturedb/form", ApertureDBImportStorage),
                       ("/api/storages/export/aperturedb/form", ApertureDBExportStorage)):
        rows = api.get(url).json()
        names = {field["name"] for row in rows for field in row["fields"]}
        assert names <= {f.name for f in model._meta.concrete_fields}, names


def test_form_encoded_values_are_accepted(api, project, adb):
    """What the wizard and the legacy form send: numbers as text, JSON as text, empty limit."""
    fields = adb.storage_fields()
    body = {**fields, "port": str(fields.get("port", "")), "project": project.pk, "title": "form",
            "constraints": '{"dataset": ["==", "train"]}', "limit": "", "use_blob_urls": True,
            "prefix": "", "regex_filter": "", "recursive_scan": False}
    body = {k: v for k, v in body.items() if v is not None}
    response = api.post("/api/storages/aperturedb", body, content_type="application/json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["constraints"] == {"dataset": ["==", "train"]} and created["limit"] is None
    response = api.patch(f"/api/storages/aperturedb/{created['id']}", {"constraints": "{nope"},
                         content_type="application/json")
    assert response.status_code == 400 and "constraints" in response.json()["validation_errors"]
