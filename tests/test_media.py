"""Images stream from ApertureDB through Label Studio's resolve proxy: bytes, type, ETag, Range,
permissions, and the per-process connection pool."""
import hashlib

import pytest

from ls_aperturedb.client.pool import get_pool
from tests.source_helpers import add_image, create, jpeg, resolve_url, sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def synced(api, project, adb):
    blob = jpeg(40, 30, shade=7)
    uid = add_image(adb, {"width": 40, "height": 30}, blob=blob)
    storage = create(api, project, adb)
    sync(api, storage["id"])
    task = project.tasks.get()
    return task, task.data["image"], blob, storage


def _body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_task_api_rewrites_uri_to_the_proxy(api, synced):
    task, uri, _, _ = synced
    data = api.get(f"/api/tasks/{task.id}").json()["data"]
    assert data["image"].startswith(f"/tasks/{task.id}/resolve/?fileuri=")


def test_bytes_type_etag_and_cache(api, synced):
    task, uri, blob, _ = synced
    response = api.get(resolve_url(task, uri))
    assert response.status_code == 200
    assert _body(response) == blob
    assert response["Content-Type"] == "image/jpeg"
    assert hashlib.sha256(blob).hexdigest() in response["ETag"]
    again = api.get(resolve_url(task, uri), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    project_level = api.get(f"/projects/{task.project_id}/resolve/?fileuri=" + resolve_url(task, uri).split("=", 1)[1])
    assert project_level.status_code == 200 and _body(project_level) == blob


@pytest.mark.parametrize("header, status, span", [
    ("bytes=0-9", 206, (0, 9)),
    ("bytes=10-", 206, (10, None)),
    ("bytes=5-99999999", 206, (5, None)),  # clamped to the end of the image
])
def test_range(api, synced, header, status, span):
    task, uri, blob, _ = synced
    response = api.get(resolve_url(task, uri), HTTP_RANGE=header)
    assert response.status_code == status
    start, end = span
    expected = blob[start:] if end is None else blob[start:end + 1]
    assert _body(response) == expected
    assert response["Content-Range"].endswith(f"/{len(blob)}")


def test_other_organization_and_anonymous_get_no_bytes(client, other_api, synced):
    task, uri, blob, _ = synced
    assert other_api.get(resolve_url(task, uri)).status_code in (403, 404)
    anonymous = client.get(resolve_url(task, uri))
    assert anonymous.status_code in (302, 401, 403)
    assert blob not in _body(anonymous)


def test_image_gone_is_404(api, adb, synced):
    task, uri, _, _ = synced
    adb.query([{"DeleteImage": {}}])
    assert api.get(resolve_url(task, uri)).status_code == 404


def test_connections_are_pooled(api, synced):
    task, uri, _, storage = synced
    from ls_aperturedb.models import ApertureDBImportStorage

    pool = get_pool(ApertureDBImportStorage.objects.get(pk=storage["id"]).connection_config())
    before = len(pool._idle.queue)  # the sync's (its read-ahead threads use a few at once)
    for _ in range(5):
        assert api.get(resolve_url(task, uri)).status_code == 200
    assert len(pool._idle.queue) == max(before, 1)  # an authenticated connector reused, not one per image
