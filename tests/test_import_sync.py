"""Import sync through the HTTP API (inline, no broker): tasks, predictions, incrementality, tombstones,
deletions, annotations round trip."""
import json
import struct
import threading
import zlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.fixtures.labelstudio import make_project
from tests.source_helpers import API, add_image, create, sync

pytestmark = pytest.mark.django_db(transaction=True)

BOX = ("cat", {"x": 8, "y": 4, "width": 16, "height": 12}, {"confidence": 0.9})
POLY = ("dog", [[[0, 0], [32, 0], [32, 24]]], {"score": 0.7})
CUSTOM = """<View>
  <Image name="photo" value="$picture"/>
  <RectangleLabels name="boxes" toName="photo"><Label value="cat"/></RectangleLabels>
  <PolygonLabels name="outlines" toName="photo"><Label value="dog"/></PolygonLabels>
</View>"""
TWO_IMAGES = """<View>
  <Image name="left" value="$left_img"/>
  <Image name="right" value="$right_img"/>
  <RectangleLabels name="left_boxes" toName="left"><Label value="cat"/></RectangleLabels>
  <RectangleLabels name="right_boxes" toName="right"><Label value="cat"/></RectangleLabels>
  <PolygonLabels name="right_polys" toName="right"><Label value="dog"/></PolygonLabels>
</View>"""


def _tasks(project):
    return list(project.tasks.order_by("id"))


def test_images_become_tasks_with_predictions(api, project, adb):
    uids = [add_image(adb, {"split": "train", "width": 64, "height": 48}, boxes=[BOX], polygons=[POLY])
            for _ in range(3)]
    add_image(adb, {"split": "val"})
    storage = create(api, project, adb, constraints={"split": ["==", "train"]}, properties=["split"],
                     model_version="detector-7")
    result = sync(api, storage["id"])
    assert result["status"] == "completed", result
    assert result["last_sync_count"] == 3 and result["meta"]["tasks_created"] == 3
    tasks = _tasks(project)
    assert [t.data for t in tasks] == [{"image": f"aperturedb://{storage['id']}/{uid}", "split": "train"}
                                       for uid in sorted(uids, key=uids.index)] or \
        {t.data["image"] for t in tasks} == {f"aperturedb://{storage['id']}/{u}" for u in uids}
    prediction = tasks[0].predictions.get()
    assert prediction.model_version == "detector-7" and prediction.score == pytest.approx(0.8)
    box, poly = prediction.result
    assert (box["from_name"], box["to_name"], box["type"]) == ("label", "image", "rectanglelabels")
    assert box["value"]["x"] == 8 * 100.0 / 64 and box["value"]["height"] == 12 * 100.0 / 48
    assert (poly["from_name"], poly["type"]) == ("poly", "polygonlabels")
    assert tasks[0].total_predictions == 1 and all(t.inner_id for t in tasks)
    # Label Studio sees them: task API with the storage link, project counters, Data Manager columns
    project.refresh_from_db()
    assert project.summary.all_data_columns == {"image": 3, "split": 3}
    assert tasks[0].get_storage_filename() in uids
    dm = api.get(f"/api/tasks?project={project.id}&fields=all").json()
    assert {t["storage_filename"] for t in dm["tasks"]} == set(uids)


def test_custom_names_and_two_image_tags(api, user, adb):
    uid = add_image(adb, {"width": 64, "height": 48}, boxes=[BOX], polygons=[POLY])
    custom = make_project(user, CUSTOM, "custom")
    storage = create(api, custom, adb)
    sync(api, storage["id"])
    task = custom.tasks.get()
    assert task.data == {"picture": f"aperturedb://{storage['id']}/{uid}"}
    assert [(r["from_name"], r["to_name"]) for r in task.predictions.get().result] == \
        [("boxes", "photo"), ("outlines", "photo")]

    two = make_project(user, TWO_IMAGES, "two")
    storage = create(api, two, adb, data_key="right")
    sync(api, storage["id"])
    task = two.tasks.get()
    assert set(task.data) == {"right_img"}
    assert [(r["from_name"], r["to_name"]) for r in task.predictions.get().result] == \
        [("right_boxes", "right"), ("right_polys", "right")]


def test_unknown_data_key(api, project, adb):
    add_image(adb)
    response = api.post(API, {"project": project.id, **adb.storage_fields(), "data_key": "nope"},
                        content_type="application/json")
    assert response.status_code == 400
    assert "no Image tag named 'nope'" in response.json()["validation_errors"]["data_key"][0]
    storage = create(api, project, adb)
    project.label_config = project.label_config.replace('name="image"', 'name="img"').replace(
        'toName="image"', 'toName="img"')
    project.save()
    from ls_aperturedb.models import ApertureDBImportStorage

    ApertureDBImportStorage.objects.filter(pk=storage["id"]).update(data_key="image")
    result = sync(api, storage["id"])
    assert result["status"] == "failed" and "no Image tag named 'image'" in result["traceback"]


def test_labels_not_in_config_and_invalid_predictions_are_reported(api, project, adb):
    add_image(adb, {"width": 64, "height": 48}, boxes=[("zebra", {"x": 1, "y": 1, "width": 5, "height": 5}, {})])
    add_image(adb, {"width": 10, "height": 10}, boxes=[("cat", {"x": 30, "y": 1, "width": 5, "height": 5}, {})])
    storage = create(api, project, adb)
    meta = sync(api, storage["id"])["meta"]
    assert meta["labels_not_in_config"] == {"zebra": 1}
    assert meta["invalid_predictions"] == 1 and "does not validate" in meta["problems"][0]
    assert project.tasks.count() == 2 and all(t.predictions.count() == 1 for t in project.tasks.all())


def test_image_size_from_header_when_no_property(api, project, adb):
    add_image(adb, {}, boxes=[BOX], size=(80, 40))
    storage = create(api, project, adb)
    meta = sync(api, storage["id"])["meta"]
    assert meta["sizes_from_header"] == 1
    box = project.tasks.get().predictions.get().result[0]
    assert (box["original_width"], box["original_height"]) == (80, 40)
    assert box["value"]["x"] == 8 * 100.0 / 80


def test_pages_mapped_ahead_count_only_what_is_created(api, project, adb):
    """The next page is fetched and mapped while one is written; if it holds known images after all,
    only its new images are mapped again and counted."""
    from tasks.models import Task

    from ls_aperturedb.models import ApertureDBImportStorageLink

    for _ in range(6):
        add_image(adb, {"width": 64, "height": 48}, boxes=[("zebra", {"x": 1, "y": 1, "width": 5, "height": 5}, {})])
    storage = create(api, project, adb, batch_size=2)
    assert sync(api, storage["id"])["meta"]["labels_not_in_config"] == {"zebra": 6}
    links = ApertureDBImportStorageLink.objects.filter(storage_id=storage["id"])
    uids = list(links.order_by("id").values_list("key", flat=True))  # in sync order
    gone = ApertureDBImportStorageLink.objects.filter(storage_id=storage["id"], key__in=[uids[0], uids[1], uids[3]])
    task_ids = list(gone.values_list("task_id", flat=True))
    gone.delete()
    Task.objects.filter(id__in=task_ids).delete()
    meta = sync(api, storage["id"])["meta"]  # page 1 new (no probing after it), page 2 fetched ahead: one known
    assert (meta["tasks_created"], meta["tasks_existed"], meta["labels_not_in_config"]) == (3, 3, {"zebra": 3})
    assert sorted(links.values_list("key", flat=True)) == sorted(uids) and project.tasks.count() == 6
    assert all(t.predictions.count() == 1 for t in project.tasks.all())


def test_resync_writes_nothing_and_adds_only_new(api, project, adb):
    for _ in range(5):
        add_image(adb, {"width": 64, "height": 48}, boxes=[BOX])
    storage = create(api, project, adb, batch_size=2)
    assert sync(api, storage["id"])["meta"]["tasks_created"] == 5
    with CaptureQueriesContext(connection) as queries:
        again = sync(api, storage["id"])
    assert again["meta"]["tasks_created"] == 0 and again["meta"]["tasks_existed"] == 5
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].lstrip().upper().startswith(("INSERT", "DELETE"))
              or (q["sql"].lstrip().upper().startswith("UPDATE") and "aperturedbimportstorage\"" not in q["sql"]
                  and "aperturedbimportstorage`" not in q["sql"])]
    assert not [w for w in writes if "tasks_" in w or "prediction" in w or "storagelink" in w], writes
    add_image(adb, {"width": 64, "height": 48})
    assert sync(api, storage["id"])["meta"]["tasks_created"] == 1
    assert project.tasks.count() == 6


def test_limit_caps_the_import(api, project, adb):
    for _ in range(5):
        add_image(adb)
    storage = create(api, project, adb, limit=3, batch_size=2)
    assert sync(api, storage["id"])["last_sync_count"] == 3
    assert sync(api, storage["id"])["last_sync_count"] == 0


def test_deleted_tasks_are_tombstoned(api, project, adb):
    for _ in range(3):
        add_image(adb)
    storage = create(api, project, adb)
    sync(api, storage["id"])
    first, second, _ = _tasks(project)
    assert api.delete(f"/api/tasks/{first.id}").status_code == 204
    response = api.post(f"/api/dm/actions?id=delete_tasks&project={project.id}",
                        {"selectedItems": {"all": False, "included": [second.id]}}, content_type="application/json")
    assert response.status_code == 200, response.content
    again = sync(api, storage["id"])
    assert again["meta"]["tombstones"] == 2 and again["meta"]["tasks_created"] == 0
    assert project.tasks.count() == 1


def test_sync_deletions_removes_only_unannotated(api, project, adb, user):
    uids = [add_image(adb, {"n": i}) for i in range(3)]
    storage = create(api, project, adb, sync_deletions=True)
    sync(api, storage["id"])
    annotated = project.tasks.get(data__image=f"aperturedb://{storage['id']}/{uids[1]}")
    response = api.post(f"/api/tasks/{annotated.id}/annotations", {"result": [], "lead_time": 1},
                        content_type="application/json")
    assert response.status_code == 201, response.content
    adb.query([{"DeleteImage": {"constraints": {"n": ["in", [0, 1]]}}}])
    project.summary.refresh_from_db()
    columns = project.summary.all_data_columns["image"]
    meta = sync(api, storage["id"])["meta"]
    assert meta["tasks_deleted"] == 1 and meta["deletions_kept_annotated"] == 1
    assert {t.data["image"].rsplit("/", 1)[1] for t in project.tasks.all()} == {uids[1], uids[2]}
    project.summary.refresh_from_db()
    assert project.summary.all_data_columns == {"image": columns - 1}


def test_exported_annotations_come_back_once(api, project, adb, user):
    from ls_aperturedb.ops import installation

    uid = add_image(adb, {"width": 64, "height": 48})
    result = [{"from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 64,
               "original_height": 48, "value": {"x": 1, "y": 1, "width": 10, "height": 10, "rotation": 0,
                                                "rectanglelabels": ["cat"]}}]
    for project_id, annotation_id in ((project.id, 987654), (project.id + 1000, 5)):
        adb.query([{"FindImage": {"_ref": 1, "constraints": {"_uniqueid": ["==", uid]}}},
                   {"AddEntity": {"_ref": 2, "class": "LS_annotation", "properties": {
                       "ls_annotation_id": annotation_id, "ls_project_id": project_id, "ls_task_id": 1,
                       "ls_installation": installation.current(), "completed_by": user.email, "result": json.dumps(result), "was_cancelled": False,
                       "ground_truth": False, "lead_time": 3.5,
                       "created_at": {"_date": "2024-05-01T10:00:00+00:00"}}}},
                   {"AddConnection": {"class": "LS_annotation_image", "src": 2, "dst": 1}}])
    storage = create(api, project, adb)
    meta = sync(api, storage["id"])["meta"]
    assert meta["annotations_imported"] == 1
    task = project.tasks.get()
    annotation = task.annotations.get()
    assert annotation.result == result and annotation.completed_by_id == user.id
    assert task.total_annotations == 1 and task.is_labeled
    assert sync(api, storage["id"])["meta"]["annotations_imported"] == 0
    assert task.annotations.count() == 1


# ------------------------------------------------------------ races and paging (issue 8, items 7, 8, 13, 14)
def _uid_of(task):
    return task.data["image"].rsplit("/", 1)[1]


def _task_ids(project):
    return {_uid_of(t): t.id for t in project.tasks.all()}


def _in_another_thread(fn):
    """Run ``fn`` on its own thread (its own database connection, committed when it returns) and wait."""
    from django.db import connections

    outcome = {}

    def target():
        try:
            outcome["value"] = fn()
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    return outcome["value"]


def _before(monkeypatch, method, hook):
    """Run ``hook(*args)`` each time ``ImageQuery.<method>`` builds a query, before it does."""
    from ls_aperturedb.source.query import ImageQuery

    original = getattr(ImageQuery, method)

    def wrapped(self, *args):
        hook(*args)
        return original(self, *args)

    monkeypatch.setattr(ImageQuery, method, wrapped)


@pytest.mark.parametrize("saved", ["annotation", "draft"])
def test_sync_deletions_keeps_a_task_annotated_while_it_runs(api, project, adb, monkeypatch, saved):
    """A task whose image is gone gets an annotation (or a draft) after the sync chose what to delete and
    before it deletes: the deletion re-checks inside its transaction and keeps the task."""
    uids = [add_image(adb, {"n": i}) for i in range(3)]
    storage = create(api, project, adb, sync_deletions=True)
    sync(api, storage["id"])
    before = _task_ids(project)
    adb.query([{"DeleteImage": {"constraints": {"n": ["in", [0, 1]]}}}])
    path = "annotations" if saved == "annotation" else "drafts"

    def save_on_task_of_image_0(*_):  # the candidates (images 0 and 1) are chosen; ApertureDB is asked
        response = _in_another_thread(lambda: api.post(f"/api/tasks/{before[uids[0]]}/{path}",
                                                       {"result": [], "lead_time": 1},
                                                       content_type="application/json"))
        assert response.status_code == 201, response.content

    _before(monkeypatch, "lookup", save_on_task_of_image_0)
    meta = sync(api, storage["id"])["meta"]
    assert (meta["tasks_deleted"], meta["deletions_kept_annotated"]) == (1, 1)
    assert _task_ids(project) == {uids[0]: before[uids[0]], uids[2]: before[uids[2]]}


@pytest.mark.parametrize("deleted", [0, 3], ids=["listed-before", "listed-after"])
def test_image_deleted_between_pages_costs_no_other_task(api, project, adb, monkeypatch, deleted):
    """An image is deleted in ApertureDB between two pages of a sync: no other image is skipped (its task
    would be deleted) or listed twice, and the deleted image's task goes once ApertureDB confirms it is
    gone (this sync if its page was not listed yet, else the next)."""
    from ls_aperturedb.models import ApertureDBImportStorageLink

    uids = [add_image(adb, {"n": i}) for i in range(6)]
    storage = create(api, project, adb, sync_deletions=True, batch_size=2)
    sync(api, storage["id"])
    before = _task_ids(project)
    assert set(before) == set(uids)

    def delete_between_pages(batch_id, batch_size):
        if batch_id == 1:  # page 0 is listed (uids 0, 1), page 1 is not yet
            adb.query([{"DeleteImage": {"constraints": {"n": ["==", deleted]}}}])

    _before(monkeypatch, "listing", delete_between_pages)
    meta = sync(api, storage["id"])["meta"]
    others = {uid: task_id for uid, task_id in before.items() if uid != uids[deleted]}
    remaining = _task_ids(project)
    assert {uid: remaining[uid] for uid in others} == others  # same tasks, none re-created
    keys = list(ApertureDBImportStorageLink.objects.filter(storage_id=storage["id"]).values_list("key", flat=True))
    assert len(keys) == len(set(keys)) == len(remaining) and project.tasks.count() == len(remaining)
    assert meta["tasks_created"] == 0
    if uids[deleted] in remaining:  # listed before it was deleted: kept until a sync finds it gone
        assert meta["tasks_deleted"] == 0
        meta = sync(api, storage["id"])["meta"]
    assert meta["tasks_deleted"] == 1 and _task_ids(project) == others


def test_image_missing_from_the_listing_but_still_there_keeps_its_task(api, project, adb, monkeypatch):
    """No deletion on the evidence of the listing alone: an image that stopped matching while the
    listing was taken and matches again when the sync deletes is looked up, found, and kept."""
    uids = [add_image(adb, {"split": "train", "n": i}) for i in range(4)]
    storage = create(api, project, adb, sync_deletions=True, batch_size=2, constraints={"split": ["==", "train"]})
    sync(api, storage["id"])
    before = _task_ids(project)

    def set_split(value):
        adb.query([{"UpdateImage": {"constraints": {"n": ["==", 2]}, "properties": {"split": value}}}])

    _before(monkeypatch, "listing", lambda batch_id, size: batch_id == 0 and set_split("val"))
    _before(monkeypatch, "lookup", lambda uids: set_split("train"))
    meta = sync(api, storage["id"])["meta"]
    assert (meta["tasks_deleted"], meta["deletions_still_matching"]) == (0, 1)
    assert _task_ids(project) == before
    set_split("val")  # really no longer matching now: its unannotated task goes
    monkeypatch.undo()
    meta = sync(api, storage["id"])["meta"]
    assert meta["tasks_deleted"] == 1 and set(_task_ids(project)) == set(uids) - {uids[2]}


def big_png(width, height):
    """A valid 1-bit grayscale PNG of ``width`` × ``height`` pixels, all black: a few kB, since every
    row compresses to nearly nothing (the IDAT holds all rows)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row, packer = b"\0" * (1 + (width + 7) // 8), zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # bit depth 1, grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_image_over_the_decompression_bomb_limit_keeps_its_regions(api, project, adb, monkeypatch):
    """20000 × 20000 pixels (400 M, over twice Pillow's limit, where Image.open raises) and no size
    property: the size comes from the PNG header, and the box becomes a prediction."""
    from PIL import Image

    with monkeypatch.context() as emulator_accepts_it:  # the in-process emulator opens blobs with Pillow too
        emulator_accepts_it.setattr(Image, "MAX_IMAGE_PIXELS", None)
        add_image(adb, {}, boxes=[BOX], blob=big_png(20000, 20000))
    assert Image.MAX_IMAGE_PIXELS and 20000 * 20000 > 2 * Image.MAX_IMAGE_PIXELS
    storage = create(api, project, adb)
    result = sync(api, storage["id"])
    assert result["status"] == "completed" and result["meta"]["sizes_from_header"] == 1, result["meta"]
    box = project.tasks.get().predictions.get().result[0]
    assert (box["original_width"], box["original_height"]) == (20000, 20000)
    assert box["value"]["x"] == 8 * 100.0 / 20000 and box["value"]["height"] == 12 * 100.0 / 20000


def test_config_without_image_tag_fails_the_sync_by_name(api, project, adb):
    """Tasks under a key no tag shows would be useless: the sync fails and its status says why."""
    add_image(adb)
    storage = create(api, project, adb)
    project.label_config = ("<View><Text name='text' value='$text'/>"
                            "<Choices name='sentiment' toName='text'><Choice value='good'/></Choices></View>")
    project.save()
    result = sync(api, storage["id"])
    assert result["status"] == "failed" and project.tasks.count() == 0
    assert "has no Image tag" in result["traceback"] and "Text" in result["traceback"]
