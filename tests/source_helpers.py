"""Helpers for the source-storage tests: seed ApertureDB through the SDK, drive the storage API."""
import base64
import io
import time
import uuid

from PIL import Image

API = "/api/storages/aperturedb"


def jpeg(width, height, shade=90):
    out = io.BytesIO()
    Image.new("RGB", (width, height), (shade, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def add_image(adb, properties=None, boxes=(), polygons=(), size=(64, 48), blob=None):
    """Add one image with its regions; return its ``_uniqueid``."""
    marker = uuid.uuid4().hex
    query = [{"AddImage": {"_ref": 1, "properties": {**(properties or {}), "test_marker": marker}}}]
    for label, rect, props in boxes:
        query.append({"AddBoundingBox": {"image_ref": 1, "label": label, "rectangle": rect, "properties": props}})
    for label, rings, props in polygons:
        query.append({"AddPolygon": {"image_ref": 1, "label": label, "polygons": rings, "properties": props}})
    adb.query(query, [blob or jpeg(*size)])
    response, _ = adb.query([{"FindImage": {"constraints": {"test_marker": ["==", marker]}, "uniqueids": True}}])
    return response[0]["FindImage"]["entities"][0]["_uniqueid"]


def create(api, project, adb, **fields):
    body = {"project": project.id, "title": "ApertureDB", **adb.storage_fields(), **fields}
    response = api.post(API, body, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def sync(api, storage_id):
    response = api.post(f"{API}/{storage_id}/sync", content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def wait_status(api, project, storage_id, statuses, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        listing = api.get(f"{API}?project={project.id}").json()
        storage = next(s for s in listing if s["id"] == storage_id)
        if storage["status"] in statuses:
            return storage
        time.sleep(0.2)
    raise AssertionError(f"storage stayed {storage['status']}: {storage}")


def resolve_url(task, uri):
    return f"/tasks/{task.id}/resolve/?fileuri={base64.urlsafe_b64encode(uri.encode()).decode()}"
