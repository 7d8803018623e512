"""Source storage through Label Studio's HTTP API: create, list, detail, validate, form, files, permissions,
secrets, SSRF, and every bad input answered with HTTP 400 naming the field."""
import socket
import time

import pytest
from django.db import connection

from tests.source_helpers import API, add_image, create

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_create_list_detail_never_return_secrets(api, project, adb, caplog):
    storage = create(api, project, adb, password=adb.password)
    assert storage["type"] == "aperturedb"
    listed = api.get(f"{API}?project={project.id}").json()
    detail = api.get(f"{API}/{storage['id']}").json()
    for body in (storage, listed[0], detail):
        assert not {"password", "token", "aperturedb_key"} & set(body)
    patched = api.patch(f"{API}/{storage['id']}", {"title": "renamed"}, content_type="application/json")
    assert patched.status_code == 200, patched.content
    assert "password" not in patched.json()
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM ls_aperturedb_aperturedbimportstorage")
        (stored,) = cursor.fetchone()
    assert stored.startswith("fernet:") and adb.password not in stored
    assert adb.password not in caplog.text or adb.password == "admin" and "admin@" not in caplog.text


def test_aggregated_storage_list_and_types(api, project, adb):
    storage = create(api, project, adb)
    types = {t["name"] for t in api.get("/api/storages/types").json()}
    assert "aperturedb" in types
    listed = api.get(f"/api/storages/?project={project.id}").json()
    assert any(s["id"] == storage["id"] and s["type"] == "aperturedb" for s in listed)


def test_validate_ok_and_files_preview(api, project, adb):
    uids = [add_image(adb, {"split": "train"}) for _ in range(3)]
    add_image(adb, {"split": "val"})
    body = {"project": project.id, **adb.storage_fields(), "constraints": {"split": ["==", "train"]}}
    assert api.post(f"{API}/validate", body, content_type="application/json").status_code == 200
    files = api.post(f"{API}/files", body, content_type="application/json")
    assert files.status_code == 200, files.content
    assert [f["key"] for f in files.json()["files"]] == sorted(uids) or \
        {f["key"] for f in files.json()["files"]} == set(uids)


def test_validate_existing_storage_uses_stored_secret(api, project, adb):
    storage = create(api, project, adb)
    response = api.post(f"{API}/validate", {"id": storage["id"], "project": project.id, "title": "x"},
                        content_type="application/json")
    assert response.status_code == 200, response.content


def _fields(adb, **override):
    return {**adb.storage_fields(), **override}


@pytest.mark.parametrize("override, field, text", [
    ({"constraints": {"split": ["~=", "x"]}}, "constraints", "unknown operator '~='"),
    ({"constraints": ["split"]}, "constraints", "JSON object"),
    ({"constraints": {"split": ["=="]}}, "constraints", "operator/value pairs"),
    ({"constraints": {"_uniqueid": [">", "1"]}}, "constraints", "unknown operator '>'"),
    ({"region_constraints": {"score": ["in", 3]}}, "region_constraints", "needs a list"),
    ({"properties": [1, 2]}, "properties", "list of image property names"),
    ({"password": "wrong"}, "password", "rejected the credentials"),
    ({"use_ssl": True}, "use_ssl", "refused TLS"),
    ({"hostname": ""}, "hostname", "hostname is required"),
    ({"ca_cert": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----", "use_ssl": True}, "ca_cert",
     "not a valid PEM"),
])
def test_bad_input_is_400_on_its_field(api, project, adb, override, field, text):
    for url in (API, f"{API}/validate"):
        response = api.post(url, {"project": project.id, "title": "x", **_fields(adb, **override)},
                            content_type="application/json")
        assert response.status_code == 400, response.content
        assert text in " ".join(response.json()["validation_errors"][field]), response.json()


def test_refused_port_is_400_on_port_quickly(api, project, adb):
    """Nothing listens on that port of a reachable host: the error is under Port, the field to change."""
    port = _free_port()
    started = time.monotonic()
    response = api.post(f"{API}/validate", {"project": project.id, **_fields(adb, port=port)},
                        content_type="application/json")
    assert time.monotonic() - started < 6
    assert response.status_code == 400
    assert f"127.0.0.1:{port}" in response.json()["validation_errors"]["port"][0]


def test_server_that_never_answers_is_400_within_the_timeout(api, project, adb, settings):
    import threading

    settings.APERTUREDB_CONNECT_TIMEOUT = "1"
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never says hello
    accepted = []
    threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True).start()
    try:
        started = time.monotonic()
        response = api.post(f"{API}/validate", {"project": project.id, "title": "x", **adb.storage_fields(),
                                                "port": silent.getsockname()[1]}, content_type="application/json")
        assert time.monotonic() - started < 5
        assert response.status_code == 400
        # a service that accepts and stays silent is on the wrong port: the error is under Port
        assert "did not answer as ApertureDB within 1s" in response.json()["validation_errors"]["port"][0]
    finally:
        silent.close()


def test_bad_aperturedb_key(api, project, adb):
    response = api.post(f"{API}/validate", {"project": project.id, "aperturedb_key": "garbage"},
                        content_type="application/json")
    assert response.status_code == 400
    assert "not a valid APERTUREDB_KEY" in response.json()["validation_errors"]["aperturedb_key"][0]


def test_sync_of_a_storage_whose_server_went_away_is_400(api, project, adb):
    storage = create(api, project, adb)
    from ls_aperturedb.models import ApertureDBImportStorage

    ApertureDBImportStorage.objects.filter(pk=storage["id"]).update(port=_free_port())
    response = api.post(f"{API}/{storage['id']}/sync", content_type="application/json")
    assert response.status_code == 400
    assert "cannot reach ApertureDB" in str(response.json())


def test_ssrf_loopback_refused_without_the_allowance(api, project, adb, settings):
    settings.APERTUREDB_ALLOWED_HOSTS = ""
    response = api.post(f"{API}/validate", {"project": project.id, **adb.storage_fields()},
                        content_type="application/json")
    assert response.status_code == 400
    message = response.json()["validation_errors"]["hostname"][0]
    assert "SSRF protection" in message and "LS_APERTUREDB_ALLOWED_HOSTS" in message


def test_allowance_does_not_open_other_storages(api, project, adb):
    """LS_APERTUREDB_ALLOWED_HOSTS allows 127.0.0.1 here; Label Studio's own check still refuses it."""
    from core.utils.exceptions import SsrfBlockedUrlError
    from core.utils.io import validate_ip

    with pytest.raises(SsrfBlockedUrlError):
        validate_ip("127.0.0.1")
    response = api.post("/api/storages/redis/validate", {"project": project.id, "host": "127.0.0.1", "port": 6379},
                        content_type="application/json")
    assert response.status_code in (400, 403), response.content


def test_other_organization_cannot_see_or_touch(api, other_api, project, adb):
    storage = create(api, project, adb)
    sid = storage["id"]
    assert other_api.get(f"{API}/{sid}").status_code in (403, 404)
    assert other_api.get(f"{API}?project={project.id}").status_code in (403, 404)
    assert other_api.post(f"{API}/{sid}/sync", content_type="application/json").status_code in (403, 404)
    assert other_api.patch(f"{API}/{sid}", {"title": "x"}, content_type="application/json").status_code in (403, 404)
    assert other_api.delete(f"{API}/{sid}").status_code in (403, 404)
    create_other = other_api.post(API, {"project": project.id, **adb.storage_fields()}, content_type="application/json")
    assert create_other.status_code in (400, 403, 404)


def test_anonymous_gets_nothing(client, project, adb):
    assert client.get(f"{API}?project={project.id}").status_code in (401, 403)
    assert client.post(API, {"project": project.id}, content_type="application/json").status_code in (401, 403)


# --- Stored secrets stay with the stored server (issue 8, item 1) -------------------------------------

EXPORT_API = "/api/storages/export/aperturedb"
A_USER, A_PASSWORD = "org-a-reader", "org-a-Pa55-never-leaves-its-host"


class CredentialRecorder:
    """Organization B's own ApertureDB (the emulator, user ``b-user``/``b-pass``) that keeps every
    ``Authenticate`` it receives: the proof of which credentials reached B's host."""

    def __init__(self):
        from aperturedb_emulator.server import EmulatorServer

        self.server = EmulatorServer(host="127.0.0.1", port=0, username="b-user", password="b-pass").start()
        self.received = []
        authenticate = self.server.auth.authenticate
        self.server.auth.authenticate = lambda params: (self.received.append(params), authenticate(params))[1]
        self.port = self.server.port

    def saw(self, secret):
        return any(secret in str(params) for params in self.received)


@pytest.fixture
def recorder():
    rec = CredentialRecorder()
    yield rec
    rec.server.stop()


@pytest.fixture
def a_storages(api, project, adb, emulator_only):
    """Organization A's source and target storages, logged in with a password only A knows."""
    from tests.fixtures.export import create_target

    emulator_only.add_user(A_USER, A_PASSWORD)
    source = create(api, project, adb, username=A_USER, password=A_PASSWORD)
    target = create_target(api, project, adb, username=A_USER, password=A_PASSWORD)
    return {API: source["id"], EXPORT_API: target.id}


def _at(recorder, **fields):
    return {"hostname": "127.0.0.1", "port": recorder.port, "use_ssl": False, **fields}


@pytest.mark.parametrize("url", [API, EXPORT_API])
@pytest.mark.parametrize("endpoint", ["create", "validate"])
def test_foreign_id_never_sends_its_secret_to_the_callers_host(other_api, other_project, a_storages, recorder,
                                                               url, endpoint):
    """B names A's storage by id and points it at B's own server: B's server never gets A's password;
    a create ignores the id, validate answers 404 for a storage B may not change."""
    body = {"id": a_storages[url], "project": other_project.id, "title": "mine", **_at(recorder)}
    response = other_api.post(url if endpoint == "create" else f"{url}/validate", body,
                              content_type="application/json")
    assert not recorder.saw(A_PASSWORD), recorder.received
    assert not recorder.saw(A_USER), recorder.received
    assert response.status_code == (400 if endpoint == "create" else 404), response.content
    assert A_PASSWORD not in response.content.decode()


@pytest.mark.parametrize("url", [API, EXPORT_API])
def test_create_ignores_a_client_id_even_of_an_own_storage(api, project, a_storages, recorder, url):
    """A create is a new storage: its secret comes from the request, never from the storage ``id`` names."""
    response = api.post(url, {"id": a_storages[url], "project": project.id, "title": "copy",
                              **_at(recorder, username=A_USER)}, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "password" in response.json()["validation_errors"]
    assert not recorder.saw(A_PASSWORD)


@pytest.mark.parametrize("url", [API, EXPORT_API])
@pytest.mark.parametrize("change", [{"port": None}, {"username": "b-user"}, {"use_ssl": True},
                                    {"verify_hostname": True, "ca_cert": "x"}])
def test_changing_the_server_asks_for_the_password_again(api, project, a_storages, recorder, url, change):
    """PATCH and validate-with-id that move a storage to another host, port, user or TLS setting must
    carry the password: the stored one is refused (400 on ``password``) and never sent anywhere."""
    from ls_aperturedb.models import ApertureDBExportStorage, ApertureDBImportStorage

    model = ApertureDBImportStorage if url == API else ApertureDBExportStorage
    sid = a_storages[url]
    before = model.objects.get(pk=sid)
    body = {key: (recorder.port if key == "port" else value) for key, value in change.items()}
    if "port" not in body:
        body["port"] = before.port  # same server, only the login or its protection changes
    for response in (api.patch(f"{url}/{sid}", body, content_type="application/json"),
                     api.post(f"{url}/validate", {"id": sid, "project": project.id, **body},
                              content_type="application/json")):
        assert response.status_code == 400, response.content
        message = " ".join(response.json()["validation_errors"]["password"])
        assert "enter the password again" in message and "only ever sent to the server it was saved for" in message
    assert not recorder.saw(A_PASSWORD)
    after = model.objects.get(pk=sid)
    assert (after.port, after.username, after.use_ssl, after.password) == \
        (before.port, before.username, before.use_ssl, A_PASSWORD)


def test_moving_to_another_server_with_its_own_secret(api, project, a_storages, recorder):
    """Re-entering the secret moves the storage; a stored secret that was not re-sent is dropped, so a
    later sync or media request cannot send it to the new server either."""
    from ls_aperturedb.models import ApertureDBImportStorage

    sid = a_storages[API]
    moved = api.patch(f"{API}/{sid}", {"port": recorder.port, "username": "b-user", "password": "b-pass"},
                      content_type="application/json")
    assert moved.status_code == 200, moved.content
    assert ApertureDBImportStorage.objects.get(pk=sid).password == "b-pass"
    assert not recorder.saw(A_PASSWORD) and recorder.saw("b-pass")
    token = recorder.server.create_token("b-user")
    switched = api.patch(f"{API}/{sid}", {"username": "", "token": token}, content_type="application/json")
    assert switched.status_code == 200, switched.content
    stored = ApertureDBImportStorage.objects.get(pk=sid)
    assert (stored.token, stored.password) == (token, "")  # the login changed: the old password is gone


def test_same_server_keeps_using_the_stored_secret(api, project, a_storages):
    """Editing other fields, or validating as saved, needs no secret re-entered."""
    from ls_aperturedb.models import ApertureDBImportStorage

    sid = a_storages[API]
    renamed = api.patch(f"{API}/{sid}", {"title": "renamed", "hostname": "127.0.0.1"},
                        content_type="application/json")
    assert renamed.status_code == 200, renamed.content
    assert ApertureDBImportStorage.objects.get(pk=sid).password == A_PASSWORD
    response = api.post(f"{API}/validate", {"id": sid, "project": project.id, "title": "x"},
                        content_type="application/json")
    assert response.status_code == 200, response.content


# --- Moving a storage into another organization's project (item 3) -----------------------------------

@pytest.mark.parametrize("url", [API, EXPORT_API])
def test_storage_cannot_be_moved_into_another_organizations_project(api, project, other_user, other_project,
                                                                    a_storages, url):
    from tasks.models import Annotation, Task

    from ls_aperturedb.models import ApertureDBExportStorage, ApertureDBExportStorageLink, ApertureDBImportStorage

    sid = a_storages[url]
    for response in (
        api.patch(f"{url}/{sid}", {"project": other_project.id}, content_type="application/json"),
        api.put(f"{url}/{sid}", {"project": other_project.id, "title": "moved", "port": 55555},
                content_type="application/json"),
        api.post(f"{url}/validate", {"id": sid, "project": other_project.id}, content_type="application/json"),
    ):
        assert response.status_code == 403, response.content
    model = ApertureDBImportStorage if url == API else ApertureDBExportStorage
    assert model.objects.get(pk=sid).project_id == project.id
    # The other organization's annotations never reach A's target.
    task = Task.objects.create(project=other_project, data={"image": "https://example.com/x.jpg"})
    annotation = Annotation.objects.create(task=task, project=other_project, completed_by=other_user, result=[])
    assert not ApertureDBExportStorageLink.objects.filter(annotation=annotation).exists()


# --- Hostname and port are checked before any socket (items 11, 12) -----------------------------------

@pytest.mark.parametrize("hostname, text", [
    ("a" * 64 + ".example.com", "at most 63 characters"),
    (".".join(["abcdefghi"] * 26), "at most 253 characters"),
    ("adb..example.com", "empty label"),
    ("http://adb.example.com", "not a valid host name part"),
    ("adb host", "not a valid host name part"),
    ("-adb.example.com", "not a valid host name part"),
])
@pytest.mark.parametrize("url", [API, EXPORT_API])
def test_invalid_hostname_is_400_on_hostname(api, project, adb, url, hostname, text):
    for endpoint in (url, f"{url}/validate"):
        response = api.post(endpoint, {"project": project.id, **_fields(adb, hostname=hostname)},
                            content_type="application/json")
        assert response.status_code == 400, response.content
        assert text in " ".join(response.json()["validation_errors"]["hostname"]), response.json()


@pytest.mark.parametrize("port", [0, 70000, -1, 65536])
@pytest.mark.parametrize("url", [API, EXPORT_API])
def test_out_of_range_port_is_400_on_port_with_the_range(api, project, adb, a_storages, url, port):
    for response in (
        api.post(url, {"project": project.id, **_fields(adb, port=port)}, content_type="application/json"),
        api.post(f"{url}/validate", {"project": project.id, **_fields(adb, port=port)},
                 content_type="application/json"),
        api.patch(f"{url}/{a_storages[url]}", {"port": port}, content_type="application/json"),
    ):
        assert response.status_code == 400, response.content
        errors = response.json()["validation_errors"]
        assert "hostname" not in errors
        assert "between 1 and 65535" in " ".join(errors["port"])


def test_key_with_an_out_of_range_port_is_400_on_the_key(api, project, adb):
    from aperturedb.Configuration import Configuration

    key = Configuration.create_aperturedb_key("127.0.0.1", 70000, None, False, False, None, "admin", "admin")
    response = api.post(f"{API}/validate", {"project": project.id, "aperturedb_key": key},
                        content_type="application/json")
    assert response.status_code == 400, response.content
    assert "between 1 and 65535" in response.json()["validation_errors"]["aperturedb_key"][0]


@pytest.mark.parametrize("ours, label_studios", [(f"{API}?project=abc", "/api/storages/s3/?project=abc"),
                                                 (f"{EXPORT_API}?project=abc", "/api/storages/export/s3?project=abc"),
                                                 (f"{API}?project=", "/api/storages/s3/?project="),
                                                 (f"{API}?project=999999", "/api/storages/s3/?project=999999")])
def test_bad_project_query_answers_like_label_studios_own_storages(api, ours, label_studios):
    expected = api.get(label_studios).status_code
    assert expected in (400, 404)
    assert api.get(ours).status_code == expected
