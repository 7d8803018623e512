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


def test_unreachable_host_names_host_and_port_quickly(api, project, adb):
    port = _free_port()
    started = time.monotonic()
    response = api.post(f"{API}/validate", {"project": project.id, **_fields(adb, port=port)},
                        content_type="application/json")
    assert time.monotonic() - started < 6
    assert response.status_code == 400
    assert f"127.0.0.1:{port}" in response.json()["validation_errors"]["hostname"][0]


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
        assert "did not answer within 1s" in response.json()["validation_errors"]["hostname"][0]
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
