"""The permission matrix: every route that reaches an ApertureDB storage, its secrets or its media, as
the owner, as a user of another organization and anonymously.

One table (``ROUTES``) holds every plugin route (source and target: list, create, create naming a
foreign storage's ``id``, detail GET/PATCH/PUT/DELETE, validate with and without ``id``, sync, form,
files preview) and every Label Studio route that reaches an ApertureDB storage or its media (resolve and
presign for tasks and projects, the aggregated storage lists, task and project APIs that show task
data). Each role walks the whole table against real storages on the emulator and checks the status,
that no response body holds a secret (password, token, APERTUREDB_KEY, or their encrypted forms) and,
with every logger at DEBUG for the whole walk, that no log record does either.
"""
import base64
import logging
import re
import uuid

import pytest
from django.db import connection
from django.test import Client

from tests.fixtures.export import create_target
from tests.fixtures.labelstudio import make_project, make_user, token_client
from tests.source_helpers import add_image, create, jpeg, sync

pytestmark = pytest.mark.django_db(transaction=True)

IMPORT, EXPORT = "/api/storages/aperturedb", "/api/storages/export/aperturedb"
OWNER, OTHER, ANONYMOUS = "owner", "other organization", "anonymous"
ROLES = (OWNER, OTHER, ANONYMOUS)
SECRET_COLUMNS = ("password", "token", "aperturedb_key")
NO_LOGIN = (401, 403)  # DRF: 401 for the API; Label Studio answers some of its own views with 403


def _b64(uri):
    return base64.urlsafe_b64encode(uri.encode()).decode()


# (name, method, path, body, {role: expected statuses}, extra check)
# ``path`` and ``body`` are formatted with the world (``w``) and the caller's own ids (``me``).
def _own_fields(w, me):
    return {"hostname": w.host, "port": w.port, "use_ssl": False, "username": me.login, "password": me.password}


ROUTES = [
    # --- plugin: source storage
    ("import list", "get", "{IMPORT}?project={w.project_a}", None,
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, "lists_source_a"),
    ("import list (slash)", "get", "{IMPORT}/?project={w.project_a}", None,
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, None),
    ("import list, project=abc", "get", "{IMPORT}?project=abc", None, {OWNER: 404, OTHER: 404, ANONYMOUS: NO_LOGIN},
     None),
    ("import create in A's project", "post", "{IMPORT}",
     lambda w, me: {"project": w.project_a, "title": "new", **_own_fields(w, me)},
     {OWNER: 201, OTHER: 403, ANONYMOUS: NO_LOGIN}, None),
    ("import create naming a foreign id", "post", "{IMPORT}",
     lambda w, me: {"id": me.foreign_source, "project": me.project, "title": "borrow",
                    "hostname": w.host, "port": w.port, "use_ssl": False, "username": me.foreign_login},
     {OWNER: 400, OTHER: 400, ANONYMOUS: NO_LOGIN}, "rejected_without_password"),
    ("import detail GET", "get", "{IMPORT}/{w.source_a}", None, {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN},
     None),
    ("import detail PATCH", "patch", "{IMPORT}/{w.source_a}", lambda w, me: {"title": "patched"},
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, None),
    ("import detail PUT", "put", "{IMPORT}/{w.source_a}",
     lambda w, me: {"project": w.project_a, "title": "put", "hostname": w.host, "port": w.port,
                    "use_ssl": False, "username": w.login_a},
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, None),
    ("import validate", "post", "{IMPORT}/validate", lambda w, me: {"project": w.project_a, **_own_fields(w, me)},
     {OWNER: 200, OTHER: 403, ANONYMOUS: NO_LOGIN}, None),
    ("import validate with id", "post", "{IMPORT}/validate", lambda w, me: {"id": w.source_a, "project": w.project_a},
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, None),
    ("import validate, foreign id, own project", "post", "{IMPORT}/validate",
     lambda w, me: {"id": me.foreign_source, "project": me.project, "hostname": w.host, "port": w.port},
     {OWNER: 404, OTHER: 404, ANONYMOUS: NO_LOGIN}, None),
    ("import files", "post", "{IMPORT}/files", lambda w, me: {"project": w.project_a, **_own_fields(w, me)},
     {OWNER: 200, OTHER: 403, ANONYMOUS: NO_LOGIN}, None),
    ("import files with id", "post", "{IMPORT}/files", lambda w, me: {"id": w.source_a, "project": w.project_a},
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, "lists_the_image"),
    ("import schema", "post", "{IMPORT}/schema", lambda w, me: {"project": w.project_a, **_own_fields(w, me)},
     {OWNER: 200, OTHER: 403, ANONYMOUS: NO_LOGIN}, None),
    ("import schema with id", "post", "{IMPORT}/schema", lambda w, me: {"id": w.source_a, "project": w.project_a},
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, None),
    ("import sync", "post", "{IMPORT}/{w.source_a}/sync", None, {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN},
     None),
    ("import form", "get", "{IMPORT}/form", None, {OWNER: 200, OTHER: 200, ANONYMOUS: NO_LOGIN}, None),
    # --- plugin: target storage
    ("export list", "get", "{EXPORT}?project={w.project_a}", None, {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN},
     None),
    ("export list, project=abc", "get", "{EXPORT}?project=abc", None,
     {OWNER: 404, OTHER: 404, ANONYMOUS: NO_LOGIN}, None),
    ("export create in A's project", "post", "{EXPORT}",
     lambda w, me: {"project": w.project_a, "title": "new", **_own_fields(w, me)},
     {OWNER: 201, OTHER: 403, ANONYMOUS: NO_LOGIN}, None),
    ("export create naming a foreign id", "post", "{EXPORT}",
     lambda w, me: {"id": me.foreign_target, "project": me.project, "title": "borrow",
                    "hostname": w.host, "port": w.port, "use_ssl": False, "username": me.foreign_login},
     {OWNER: 400, OTHER: 400, ANONYMOUS: NO_LOGIN}, "rejected_without_password"),
    ("export detail GET", "get", "{EXPORT}/{w.target_a}", None, {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN},
     None),
    ("export detail PATCH", "patch", "{EXPORT}/{w.target_a}", lambda w, me: {"title": "patched"},
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, None),
    ("export detail PUT", "put", "{EXPORT}/{w.target_a}",
     lambda w, me: {"project": w.project_a, "title": "put", "hostname": w.host, "port": w.port,
                    "use_ssl": False, "username": ""},
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, None),
    ("export validate", "post", "{EXPORT}/validate", lambda w, me: {"project": w.project_a, **_own_fields(w, me)},
     {OWNER: 200, OTHER: 403, ANONYMOUS: NO_LOGIN}, None),
    ("export validate with id", "post", "{EXPORT}/validate",
     lambda w, me: {"id": w.target_a, "project": w.project_a},
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, None),
    ("export sync", "post", "{EXPORT}/{w.target_a}/sync", None, {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN},
     None),
    ("export form", "get", "{EXPORT}/form", None, {OWNER: 200, OTHER: 200, ANONYMOUS: NO_LOGIN}, None),
    # --- Label Studio: media of the storage (every route of io_storages/urls.py to the proxy)
    ("task resolve", "get", "/tasks/{w.task_a}/resolve/?fileuri={w.fileuri}", None,
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, "streams_the_image"),
    ("task presign", "get", "/tasks/{w.task_a}/presign/?fileuri={w.fileuri}", None,
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, "streams_the_image"),
    ("project resolve", "get", "/projects/{w.project_a}/resolve/?fileuri={w.fileuri}", None,
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, "streams_the_image"),
    ("project presign", "get", "/projects/{w.project_a}/presign/?fileuri={w.fileuri}", None,
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, "streams_the_image"),
    # --- Label Studio: aggregated storage lists (they call the plugin's list view)
    ("all import storages", "get", "/api/storages/?project={w.project_a}", None,
     {OWNER: 200, OTHER: 200, ANONYMOUS: NO_LOGIN}, "aperturedb_listed_to_owner_only"),
    ("all export storages", "get", "/api/storages/export?project={w.project_a}", None,
     {OWNER: 200, OTHER: 200, ANONYMOUS: NO_LOGIN}, "aperturedb_listed_to_owner_only"),
    ("storage types", "get", "/api/storages/types", None, {OWNER: 200, OTHER: 200, ANONYMOUS: NO_LOGIN}, None),
    # --- Label Studio: task and project APIs that show task data
    ("task", "get", "/api/tasks/{w.task_a}/", None, {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN},
     "media_links_refused_to_others"),
    # Label Studio's open-source edition serves these two to any signed-in user; the plugin mounts them
    # behind the organization boundary (api.OrganizationBoundaryMixin).
    ("task list", "get", "/api/tasks/?project={w.project_a}", None,
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, "media_links_refused_to_others"),
    ("task annotations", "get", "/api/tasks/{w.task_a}/annotations/", None,
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, None),
    ("project", "get", "/api/projects/{w.project_a}/", None, {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, None),
    ("project tasks", "get", "/api/projects/{w.project_a}/tasks/", None,
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, None),
    ("project next task", "get", "/api/projects/{w.project_a}/next/", None,
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, "media_links_refused_to_others"),
    ("project export", "get", "/api/projects/{w.project_a}/export?exportType=JSON", None,
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, None),
    # --- Data Manager action "Import similar from ApertureDB" (Label Studio's action routes run any action
    # for any signed-in user; the plugin's answers 404 outside the organization and takes only own storages)
    ("dm action import similar", "post", "/api/dm/actions?id=import_similar_from_aperturedb&project={w.project_a}",
     lambda w, me: {"selectedItems": {"all": True}, "storage": w.source_a, "k": 1},
     {OWNER: 400, OTHER: 404, ANONYMOUS: NO_LOGIN}, None),  # owner: 400, source A names no descriptor set
    ("dm action import similar, foreign storage", "post",
     "/api/dm/actions?id=import_similar_from_aperturedb&project={me.project}",
     lambda w, me: {"selectedItems": {"all": True}, "storage": me.foreign_source, "k": 1},
     {OWNER: 400, OTHER: 400, ANONYMOUS: NO_LOGIN}, None),
    ("dm action form", "get", "/api/dm/actions/import_similar_from_aperturedb/form/?project={w.project_a}", None,
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, "action_form_lists_storages_to_owner_only"),
    # Label Studio's own actions went through for any signed-in user (selection empty: deletes nothing).
    ("dm built-in action", "post", "/api/dm/actions?id=delete_tasks&project={w.project_a}",
     lambda w, me: {"selectedItems": {"all": False, "included": []}},
     {OWNER: 200, OTHER: 404, ANONYMOUS: NO_LOGIN}, None),
    # --- deletes last: the rows above need the storages
    ("import detail DELETE", "delete", "{IMPORT}/{w.source_a}", None, {OWNER: 204, OTHER: 404, ANONYMOUS: NO_LOGIN},
     None),
    ("export detail DELETE", "delete", "{EXPORT}/{w.target_a}", None, {OWNER: 204, OTHER: 404, ANONYMOUS: NO_LOGIN},
     None),
]


class World:
    """Organization A (the owner's) and B (the other user's), each with ApertureDB storages whose
    secrets are unique strings, and A's synced task with its image."""


class Caller:
    """The ids a role calls with: its own project and login, and the other organization's storage."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def _secret(label):
    return f"{label}-{uuid.uuid4().hex}"


@pytest.fixture
def world(adb, emulator_only):
    from aperturedb.Configuration import Configuration

    w = World()
    w.host, w.port = adb.host, adb.port
    w.owner, w.other = make_user("matrix-owner@example.com"), make_user("matrix-other@example.com")
    w.owner_api, w.other_api = token_client(w.owner), token_client(w.other)
    project_a, project_b = make_project(w.owner), make_project(w.other)
    w.project_a, w.project_b = project_a.id, project_b.id

    w.login_a, w.password_a = "matrix-org-a", _secret("pw-a")
    w.login_b, w.password_b = "matrix-org-b", _secret("pw-b")
    key_login, key_password = "matrix-org-a-key", _secret("pw-a-key")
    for login, password in ((w.login_a, w.password_a), (w.login_b, w.password_b), (key_login, key_password)):
        emulator_only.add_user(login, password)
    w.token_a = emulator_only.create_token(w.login_a)
    w.key_a = Configuration.create_aperturedb_key(w.host, w.port, None, False, False, None, key_login, key_password)
    w.secrets = {w.password_a: "A's password", w.password_b: "B's password", w.token_a: "A's token",
                 w.key_a: "A's APERTUREDB_KEY", key_password: "the password inside A's APERTUREDB_KEY"}

    fields_a = {"hostname": w.host, "port": w.port, "use_ssl": False}
    w.blob = jpeg(40, 30, shade=11)
    add_image(adb, {"width": 40, "height": 30}, blob=w.blob)
    w.source_a = create(w.owner_api, project_a, adb, **fields_a, username=w.login_a, password=w.password_a)["id"]
    w.target_a = create_target(w.owner_api, project_a, adb, **fields_a, username="", password="",
                               token=w.token_a).id
    create(w.owner_api, project_a, adb, title="by key", hostname="", username="", password="",
           aperturedb_key=w.key_a)
    w.source_b = create(w.other_api, project_b, adb, **fields_a, username=w.login_b, password=w.password_b)["id"]
    w.target_b = create_target(w.other_api, project_b, adb, **fields_a, username=w.login_b,
                               password=w.password_b).id
    sync(w.owner_api, w.source_a)
    task = project_a.tasks.get()
    w.task_a, w.fileuri = task.id, _b64(task.data["image"])
    w.callers = {
        OWNER: Caller(project=w.project_a, login=w.login_a, password=w.password_a, foreign_source=w.source_b,
                      foreign_target=w.target_b, foreign_login=w.login_b),
        OTHER: Caller(project=w.project_b, login=w.login_b, password=w.password_b, foreign_source=w.source_a,
                      foreign_target=w.target_a, foreign_login=w.login_a),
        ANONYMOUS: Caller(project=w.project_a, login=w.login_a, password="", foreign_source=w.source_b,
                          foreign_target=w.target_b, foreign_login=w.login_b),
    }
    return w


def stored_ciphertexts():
    """The secrets as stored (Fernet tokens): their encrypted forms."""
    found = set()
    with connection.cursor() as cursor:
        for table in ("ls_aperturedb_aperturedbimportstorage", "ls_aperturedb_aperturedbexportstorage"):
            cursor.execute(f"SELECT {', '.join(SECRET_COLUMNS)} FROM {table}")
            found.update(value for row in cursor.fetchall() for value in row if value)
    return found


def body_of(response):
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content


# Extra checks of what a response says (beyond the status), by name.
def lists_source_a(w, role, response, content, client):
    if role == OWNER:
        assert any(s["id"] == w.source_a for s in response.json())


def rejected_without_password(w, role, response, content, client):
    if role != ANONYMOUS:
        assert "password" in response.json()["validation_errors"], response.json()


def lists_the_image(w, role, response, content, client):
    if role == OWNER:
        assert len([f for f in response.json()["files"] if f["key"]]) == 1


def streams_the_image(w, role, response, content, client):
    assert (content == w.blob) == (role == OWNER)


def aperturedb_listed_to_owner_only(w, role, response, content, client):
    if role != ANONYMOUS:
        listed = [s for s in response.json() if s.get("type") == "aperturedb"]
        assert bool(listed) == (role == OWNER), listed


def media_links_refused_to_others(w, role, response, content, client):
    """The media links in the task data stream the image to the owner only."""
    links = set(re.findall(r'/tasks/\d+/resolve/\?fileuri=[A-Za-z0-9_=-]+', content.decode()))
    if response.status_code != 200:
        return
    assert links, content[:300]
    for link in links:
        media = client.get(link)
        assert (media.status_code, body_of(media) == w.blob) == ((200, True) if role == OWNER else (404, False))


def action_form_lists_storages_to_owner_only(w, role, response, content, client):
    if role == OWNER:  # the others get 404
        options = [o["value"] for form in response.json() for f in form["fields"] for o in f.get("options", [])]
        assert str(w.source_a) in options, options


CHECKS = {f.__name__: f for f in (lists_source_a, rejected_without_password, lists_the_image, streams_the_image,
                                  aperturedb_listed_to_owner_only, media_links_refused_to_others,
                                  action_form_lists_storages_to_owner_only)}


class EveryRecord(logging.Handler):
    """Keeps every record, formatted with its traceback, whichever logger emits it."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records, self.lines = [], []
        self.formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def emit(self, record):
        self.records.append(record)
        try:
            line = self.format(record)
        except Exception:  # a record whose arguments do not fit its message: keep both as they are
            line = repr(record.msg)
        self.lines.append(line + " " + str(record.__dict__))


@pytest.fixture
def every_log_record(caplog):
    """Every logger at DEBUG (caplog restores the levels), recorded by one handler on the root logger and
    on each logger that does not propagate to it, from before the world is built to the end of the test."""
    caplog.set_level(logging.DEBUG)
    handler = EveryRecord()
    attached = [logging.getLogger()]
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)
            if not logger.propagate:
                attached.append(logger)
    for logger in attached:
        logger.addHandler(handler)
    yield handler
    for logger in attached:
        logger.removeHandler(handler)


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(every_log_record, world, role):
    w, me = world, world.callers[role]
    client = {OWNER: w.owner_api, OTHER: w.other_api}.get(role)
    if client is None:
        client = Client()
    ciphertexts = stored_ciphertexts()
    assert len(ciphertexts) == 5  # A: password, token, key; B: two passwords
    wrong, bodies = [], []
    for name, method, path, body, expected, check in ROUTES:
        url = path.format(w=w, me=me, IMPORT=IMPORT, EXPORT=EXPORT)
        data = body(w, me) if body else None
        kwargs = {"content_type": "application/json"} if method != "get" else {}
        response = getattr(client, method)(url, data, **kwargs) if data is not None else \
            getattr(client, method)(url, **kwargs)
        content = body_of(response)
        bodies.append((name, content))
        ciphertexts |= stored_ciphertexts()
        allowed = expected[role] if isinstance(expected[role], tuple) else (expected[role],)
        if response.status_code not in allowed:
            wrong.append(f"{name}: {method.upper()} {url} -> {response.status_code}, expected {expected[role]}: "
                         f"{content[:200]!r}")
            continue
        if check:
            try:
                CHECKS[check](w, role, response, content, client)
            except Exception as exc:
                wrong.append(f"{name}: {check} failed: {exc!r}")
    assert not wrong, "\n".join(wrong)

    secrets = {**w.secrets, **{c: "a stored (encrypted) secret" for c in ciphertexts}}
    for name, content in bodies:
        text = content.decode("utf-8", "replace")
        leaked = [label for secret, label in secrets.items() if secret in text]
        assert not leaked, f"{name}: the response holds {leaked}"
    records = every_log_record.records
    assert records  # the walk was logged at all (Label Studio logs each 4xx)
    if role == OWNER:  # DEBUG records are captured too (the resolve proxy logs each stream at DEBUG)
        assert any(r.levelno == logging.DEBUG and "proxy_api" in r.name for r in records), {r.name for r in records}
    log_text = "\n".join(every_log_record.lines)
    leaked = [label for secret, label in secrets.items() if secret in log_text]
    assert not leaked, f"a log record holds {leaked}"


def test_the_owners_storages_are_untouched_by_others(world):
    """Nothing the other organization or an anonymous caller sends changes A's storages."""
    from ls_aperturedb.models import ApertureDBExportStorage, ApertureDBImportStorage

    w = world
    before = {(s.id, s.title, s.project_id, s.port, s.username, s.password, s.token)
              for s in (*ApertureDBImportStorage.objects.all(), *ApertureDBExportStorage.objects.all())}
    for client in (w.other_api, Client()):
        for url, payload in ((f"{IMPORT}/{w.source_a}", {"title": "hijacked", "project": w.project_b}),
                             (f"{EXPORT}/{w.target_a}", {"title": "hijacked", "project": w.project_b})):
            client.patch(url, payload, content_type="application/json")
            client.put(url, payload, content_type="application/json")
            client.post(f"{url}/sync", content_type="application/json")
            client.delete(url)
    after = {(s.id, s.title, s.project_id, s.port, s.username, s.password, s.token)
             for s in (*ApertureDBImportStorage.objects.all(), *ApertureDBExportStorage.objects.all())}
    assert after == before


def test_every_label_studio_route_to_the_resolve_proxy_is_guarded():
    """Every URL Label Studio routes to its resolve proxy (resolve, and the /presign/ alias, for tasks and
    projects) resolves to the plugin's organization-scoped view: a route Label Studio adds later fails here."""
    from django.urls import URLPattern, URLResolver, get_resolver, resolve
    from io_storages.proxy_api import ResolveStorageUriAPIMixin

    from ls_aperturedb.api import OrganizationScopedResolveMixin

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern).lstrip("^"))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.callback

    proxy_routes = [route for route, callback in walk(get_resolver().url_patterns)
                    if issubclass(getattr(callback, "view_class", object), ResolveStorageUriAPIMixin)]
    assert {"tasks/<int:task_id>/presign/", "projects/<int:project_id>/presign/",
            "tasks/<int:task_id>/resolve/", "projects/<int:project_id>/resolve/"} <= set(proxy_routes)
    for route in proxy_routes:
        path = "/" + route.replace("<int:task_id>", "1").replace("<int:project_id>", "1")
        view = resolve(path).func.view_class
        assert issubclass(view, OrganizationScopedResolveMixin), f"{path} reaches {view.__name__} unguarded"
