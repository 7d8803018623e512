"""What the storage form shows, through the HTTP API the wizard calls: the preview (count, thumbnails
ApertureDB rendered, properties, regions), the property lists (GetSchema), which secrets are stored,
the target card's counts, and images shaped by ApertureDB before they reach Label Studio (with
annotations exported in the stored image's pixels)."""
import base64
import io

import pytest
from PIL import Image

from tests.fixtures.export import annotate, create_target, full_project, regions_of  # noqa: F401
from tests.source_helpers import API, add_image, create, jpeg, resolve_url, sync

pytestmark = pytest.mark.django_db(transaction=True)
BOX = ("cat", {"x": 10, "y": 10, "width": 20, "height": 10}, {"score": 0.9})
POLY = ("dog", [[[1, 1], [30, 1], [30, 20]]], {})


def _png(width, height):
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(out, format="PNG")
    return out.getvalue()


def test_preview_counts_every_match_and_shows_thumbnails_apertures_rendered(api, project, adb):
    for i in range(15):
        add_image(adb, {"dataset": "train", "width": 640, "height": 480, "camera": f"c{i}"},
                  boxes=[BOX, BOX] if i == 0 else [], polygons=[POLY] if i == 0 else [], size=(640, 480))
    add_image(adb, {"dataset": "test", "width": 64, "height": 48})
    body = {"project": project.id, **adb.storage_fields(), "constraints": {"dataset": ["==", "train"]},
            "properties": ["camera"], "limit": ""}
    reply = api.post(f"{API}/files", body, content_type="application/json").json()
    assert reply["count"] == 15 and reply["import_count"] == 15
    files = [f for f in reply["files"] if f["key"]]
    assert len(files) == 12 and reply["files"][-1]["key"] is None  # Label Studio's "more" marker
    first = files[0]
    assert (first["boxes"], first["polygons"], first["properties"]) == (2, 1, {"camera": "c0"})
    assert (first["width"], first["height"]) == (640, 480)
    assert first["thumbnail"].startswith("data:image/jpeg;base64,")
    thumb = Image.open(io.BytesIO(base64.b64decode(first["thumbnail"].split(",", 1)[1])))
    assert thumb.format == "JPEG" and thumb.size == (96, 72)  # scaled by ApertureDB, aspect kept
    capped = api.post(f"{API}/files", {**body, "limit": 5}, content_type="application/json").json()
    assert capped["count"] == 15 and capped["import_count"] == 5


def test_schema_lists_image_and_region_properties(api, project, adb):
    add_image(adb, {"dataset": "train", "width": 64, "height": 48},
              boxes=[("cat", {"x": 1, "y": 1, "width": 5, "height": 5}, {"confidence": 0.5, "model": "yolo"})])
    reply = api.post(f"{API}/schema", {"project": project.id, **adb.storage_fields()},
                     content_type="application/json")
    assert reply.status_code == 200, reply.content
    names = reply.json()
    assert {"dataset", "width", "height"} <= set(names["image_properties"])
    assert {"confidence", "model"} <= set(names["region_properties"])
    assert not any(n.startswith("_") for n in names["image_properties"] + names["region_properties"])


def test_the_api_says_which_secrets_are_stored(api, project, adb):
    if "aperturedb_key" in adb.storage_fields():
        pytest.skip("a key-configured ApertureDB stores a key, not a password")
    storage = create(api, project, adb)
    detail = api.get(f"{API}/{storage['id']}").json()
    assert (detail["password_set"], detail["token_set"], detail["aperturedb_key_set"]) == (True, False, False)
    assert "password" not in detail and "token" not in detail and "aperturedb_key" not in detail


def test_target_card_counts_come_in_the_fields_label_studios_card_reads(api, full_project, adb):  # noqa: F811
    from tests.fixtures.export import imported_tasks

    tasks = imported_tasks(full_project, adb, 2)
    target = create_target(api, full_project, adb)
    box = {"id": "b1", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
           "original_width": 640, "original_height": 480, "image_rotation": 0,
           "value": {"x": 10.0, "y": 10.0, "width": 20.0, "height": 20.0, "rotation": 0, "rectanglelabels": ["cat"]}}
    for task in tasks:
        annotate(api, task, [box])
    card = api.get(f"/api/storages/export/aperturedb/{target.id}").json()
    assert card["last_sync_count"] == 2  # "Annotations 2 (2 total)"
    assert card["meta"]["total_annotations"] == 2
    assert card["meta"]["exports"]["pending"] == 0 and card["meta"]["exports"]["failed"] == 0


@pytest.mark.parametrize("with_size_properties", [True, False])
def test_large_images_are_shaped_by_aperturedb(api, project, adb, with_size_properties):
    props = {"width": 3000, "height": 2000} if with_size_properties else {}
    add_image(adb, props, blob=_png(3000, 2000))
    storage = create(api, project, adb, max_side=512, image_format="jpg")
    assert sync(api, storage["id"])["status"] == "completed"
    task = project.tasks.get()
    response = api.get(resolve_url(task, task.data["image"]))
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    shown = Image.open(io.BytesIO(data))
    assert (shown.format, shown.size) == ("JPEG", (512, 341))


def test_png_as_stored_and_small_images_are_not_touched(api, project, adb):
    blob = _png(200, 100)
    add_image(adb, {"width": 200, "height": 100}, blob=blob)
    storage = create(api, project, adb, max_side=512)
    sync(api, storage["id"])
    task = project.tasks.get()
    assert b"".join(api.get(resolve_url(task, task.data["image"])).streaming_content) == blob


def test_annotations_on_shaped_images_are_exported_in_stored_pixels(api, full_project, adb):  # noqa: F811
    from tests.fixtures.export import add_images  # noqa: F401

    add_image(adb, {"width": 3000, "height": 2000}, blob=_png(3000, 2000))
    create(api, full_project, adb, max_side=600, image_format="jpg")
    from ls_aperturedb.models import ApertureDBImportStorage

    sync(api, ApertureDBImportStorage.objects.get(project=full_project).id)
    task = full_project.tasks.get()
    create_target(api, full_project, adb)
    # what Label Studio's editor writes for an image it was shown at 600 x 400
    box = {"id": "shaped01", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
           "original_width": 600, "original_height": 400, "image_rotation": 0,
           "value": {"x": 10.0, "y": 20.0, "width": 50.0, "height": 25.0, "rotation": 0, "rectanglelabels": ["cat"]}}
    annotation_id = annotate(api, task, [box])
    [node] = regions_of(adb, annotation_id)["BoundingBox"]
    assert node["_coordinates"] == {"x": 300, "y": 400, "width": 1500, "height": 500}
