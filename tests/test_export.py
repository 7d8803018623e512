"""ApertureDB target storage through Label Studio's HTTP API (no broker: wake-ups run inline on commit).

Region JSON is what Label Studio's editor writes (shapes from the Label Studio docs' JSON format page).
"""
import json

import numpy as np
import pytest

from tests.fixtures.export import (
    HEIGHT,
    WIDTH,
    annotate,
    annotations_in,
    count,
    create_target,
    delete,
    find,
    imported_tasks,
    regions_of,
    update,
)

pytestmark = pytest.mark.django_db


def _mask_rle():
    from label_studio_sdk.converter.brush import mask2rle

    mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    mask[100:200, 50:150] = 255
    return mask2rle(mask)


def image_region(rid, kind, value, from_name):
    return {"id": rid, "type": kind, "from_name": from_name, "to_name": "image", "origin": "manual",
            "original_width": WIDTH, "original_height": HEIGHT, "image_rotation": 0, "value": value}


def classification(rid, kind, from_name, value):
    return {"id": rid, "type": kind, "from_name": from_name, "to_name": "image", "origin": "manual",
            "value": value}


BOX = image_region("Dx_aB91ISN", "rectanglelabels",
                   {"x": 25.0, "y": 12.5, "width": 50.0, "height": 25.0, "rotation": 0,
                    "rectanglelabels": ["cat"]}, "label")
ROTATED = image_region("rot_box_01", "rectanglelabels",
                       {"x": 10.0, "y": 10.0, "width": 20.0, "height": 10.0, "rotation": 30.5,
                        "rectanglelabels": ["dog"]}, "label")
POLYGON = image_region("poly_00001", "polygonlabels",
                       {"points": [[10.0, 10.0], [50.0, 10.0], [50.0, 50.0], [10.0, 50.0]], "closed": True,
                        "polygonlabels": ["dog"]}, "poly")
KEYPOINT = image_region("kp_0000001", "keypointlabels",
                        {"x": 50.0, "y": 25.0, "width": 0.69, "keypointlabels": ["eye"]}, "kp")
BRUSH = image_region("brush_0001", "brushlabels", {"format": "rle", "rle": _mask_rle(), "brushlabels": ["cat"]},
                     "brush")
CLASSIFICATIONS = [
    classification("ch_0000001", "choices", "scene", {"choices": ["outdoor"]}),
    classification("tx_0000001", "taxonomy", "taxonomy", {"taxonomy": [["Animal", "Cat"]]}),
    classification("ta_0000001", "textarea", "caption", {"text": ["a cat on a mat", "second line"]}),
    classification("ra_0000001", "rating", "quality", {"rating": 4}),
    classification("nu_0000001", "number", "count", {"number": 3}),
    classification("dt_0000001", "datetime", "taken", {"datetime": "2021-05-11"}),
]
EVERYTHING = [BOX, ROTATED, POLYGON, KEYPOINT, BRUSH, *CLASSIFICATIONS]


@pytest.fixture
def inline(django_capture_on_commit_callbacks):
    """Run each API call's on-commit wake-ups (the export) before returning."""
    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)
    return call


@pytest.fixture
def task(full_project, adb):
    return imported_tasks(full_project, adb, 1)[0]


@pytest.fixture
def target(api, full_project, adb):
    return create_target(api, full_project, adb)


def _link(target, annotation_id):
    return target.links.get(annotation_key=annotation_id)


def test_every_region_type_becomes_a_typed_node(api, adb, task, target, inline, user):
    aid = inline(annotate, api, task, EVERYTHING, lead_time=12.5)

    [entity] = annotations_in(adb, aid)
    assert entity["ls_project_id"] == task.project_id and entity["ls_task_id"] == task.id
    assert entity["completed_by"] == user.email and entity["lead_time"] == 12.5
    assert entity["was_cancelled"] is False and entity["ground_truth"] is False
    assert set(entity["created_at"]) == {"_date"} and set(entity["updated_at"]) == {"_date"}
    assert json.loads(entity["result"]) == json.loads(json.dumps(EVERYTHING))
    assert "task_data_url" not in entity
    # Connected to its image: the annotation is found from the image.
    uid = task.io_storages_aperturedbimportstoragelink.key
    response, _ = adb.query([
        {"FindImage": {"_ref": 1, "constraints": {"_uniqueid": ["==", uid]}}},
        {"FindEntity": {"with_class": "LS_annotation", "is_connected_to": {"ref": 1, "connection_class":
                                                                          "LS_annotation_image"},
                        "results": {"list": ["ls_annotation_id"]}}}])
    assert response[1]["FindEntity"]["entities"] == [{"ls_annotation_id": aid}]
    # Every edge goes the way the README says: annotation -> image, annotation -> region.
    response, _ = adb.query([
        {"FindImage": {"_ref": 1, "constraints": {"_uniqueid": ["==", uid]}}},
        {"FindEntity": {"_ref": 2, "with_class": "LS_annotation", "constraints": {"ls_annotation_id": ["==", aid]}}},
        {"FindConnection": {"src": 2, "dst": 1, "with_class": "LS_annotation_image", "results": {"count": True}}},
        {"FindConnection": {"src": 1, "dst": 2, "results": {"count": True}}}])
    assert (response[2]["FindConnection"]["count"], response[3]["FindConnection"]["count"]) == (1, 0)

    regions = regions_of(adb, aid)
    boxes = {b["ls_region_id"]: b for b in regions["BoundingBox"]}
    assert boxes["Dx_aB91ISN"]["_coordinates"] == {"x": 160, "y": 60, "width": 320, "height": 120}
    assert boxes["Dx_aB91ISN"]["_label"] == "cat" and json.loads(boxes["Dx_aB91ISN"]["labels"]) == ["cat"]
    assert "rotation" not in boxes["Dx_aB91ISN"]
    assert boxes["rot_box_01"]["rotation"] == 30.5
    assert boxes["rot_box_01"]["_coordinates"] == {"x": 64, "y": 48, "width": 128, "height": 48}
    [poly] = regions["Polygon"]
    assert poly["_vertices"] == [[[64.0, 48.0], [320.0, 48.0], [320.0, 240.0], [64.0, 240.0]]]
    assert poly["_label"] == "dog" and poly["ls_from_name"] == "poly"
    [kp] = regions["LS_keypoint"]
    assert (kp["x"], kp["y"], json.loads(kp["labels"])) == (320.0, 120.0, ["eye"])
    [brush] = regions["LS_brush"]
    assert json.loads(brush["rle"]) == BRUSH["value"]["rle"] and brush["original_width"] == WIDTH
    from label_studio_sdk.converter.brush import decode_rle

    mask = decode_rle(json.loads(brush["rle"])).reshape(HEIGHT, WIDTH, 4)[:, :, 3]
    assert (mask[100:200, 50:150] == 255).all() and mask.sum() == 100 * 100 * 255
    by_control = {c["ls_from_name"]: c for c in regions["LS_classification"]}
    assert set(by_control) == {"scene", "taxonomy", "caption", "quality", "count", "taken"}
    assert json.loads(by_control["scene"]["labels"]) == ["outdoor"]
    assert json.loads(by_control["taxonomy"]["labels"]) == [["Animal", "Cat"]]
    assert by_control["caption"]["text"] == "a cat on a mat\nsecond line"
    assert by_control["quality"]["rating"] == 4 and by_control["count"]["number"] == 3
    assert by_control["taken"]["datetime"] == "2021-05-11"
    for nodes in regions.values():
        for node in nodes:
            assert node["ls_annotation_id"] == aid and node["ls_region_id"] and node["ls_from_name"]
    # Every region hangs off the annotation entity.
    response, _ = adb.query([
        {"FindEntity": {"_ref": 1, "with_class": "LS_annotation", "constraints": {"ls_annotation_id": ["==", aid]}}},
        {"FindConnection": {"src": 1, "with_class": "LS_annotation_region", "results": {"count": True}}}])
    assert response[1]["FindConnection"]["count"] == len(EVERYTHING)

    link = _link(target, aid)
    assert link.state == "exported" and link.exported_version == link.annotation.updated_at


def test_query_labels_next_to_media(api, adb, task, target, inline):
    """The user story's query: boxes with a label, connected to images matching a constraint."""
    inline(annotate, api, task, [BOX])
    response, _ = adb.query([
        {"FindImage": {"_ref": 1, "constraints": {"export_test": ["==", 0]}}},
        {"FindBoundingBox": {"image_ref": 1, "with_label": "cat", "coordinates": True,
                             "constraints": {"ls_from_name": ["==", "label"]}}}])
    assert response[1]["FindBoundingBox"]["entities"] == [
        {"_coordinates": {"x": 160, "y": 60, "width": 320, "height": 120}}]


def test_update_removes_regions_that_no_longer_exist(api, adb, task, target, inline):
    aid = inline(annotate, api, task, EVERYTHING)
    moved = {**BOX, "value": {**BOX["value"], "x": 50.0}}
    inline(update, api, aid, [moved, CLASSIFICATIONS[0]])

    regions = regions_of(adb, aid)
    assert [b["ls_region_id"] for b in regions["BoundingBox"]] == ["Dx_aB91ISN"]
    assert regions["BoundingBox"][0]["_coordinates"]["x"] == 320
    assert [c["ls_from_name"] for c in regions["LS_classification"]] == ["scene"]
    assert not regions["Polygon"] and not regions["LS_keypoint"] and not regions["LS_brush"]
    [entity] = annotations_in(adb, aid)
    assert json.loads(entity["result"])[0]["value"]["x"] == 50.0


@pytest.mark.parametrize("can_delete", [True, False])
def test_delete(api, adb, full_project, task, inline, can_delete):
    target = create_target(api, full_project, adb, can_delete_objects=can_delete)
    keep = inline(annotate, api, task, [BOX])
    aid = inline(annotate, api, task, [ROTATED, POLYGON, KEYPOINT, *CLASSIFICATIONS])
    inline(delete, api, aid)

    if can_delete:
        assert annotations_in(adb, aid) == []
        assert not any(regions_of(adb, aid).values())
    else:
        assert len(annotations_in(adb, aid)) == 1
        assert len(regions_of(adb, aid)["LS_classification"]) == len(CLASSIFICATIONS)
    assert not target.links.filter(annotation_key=aid).exists()
    assert len(annotations_in(adb, keep)) == 1 and len(regions_of(adb, keep)["BoundingBox"]) == 1
    assert count(adb, "FindImage") == 1  # the image itself is never touched


def test_accepted_prediction_box_gets_an_edge_and_stays_untouched(api, adb, full_project, inline):
    """A region accepted from an imported prediction keeps the id the source storage gave it."""
    from ls_aperturedb.source.mapping import _region_id

    [task] = imported_tasks(full_project, adb, 1, boxes=1)
    target = create_target(api, full_project, adb)
    [prediction] = find(adb, "FindBoundingBox", coordinates=True)
    region = {**BOX, "id": _region_id(prediction["_uniqueid"])}
    aid = inline(annotate, api, task, [region, POLYGON])
    inline(update, api, aid, [{**region, "value": {**region["value"], "width": 10.0}}])

    response, _ = adb.query([
        {"FindBoundingBox": {"_ref": 1, "constraints": {"ls_annotation_id": ["==", aid]}}},
        {"FindBoundingBox": {"is_connected_to": {"ref": 1, "connection_class": "LS_region_prediction"},
                             "results": {"all_properties": True}, "coordinates": True}}])
    assert response[1]["FindBoundingBox"]["entities"] == [prediction]
    assert count(adb, "FindBoundingBox") == 2
    assert target.links.get(annotation_key=aid).state == "exported"


def test_image_outside_this_instance_is_exported_without_edge(api, adb, full_project, inline):
    from tasks.models import Task

    target = create_target(api, full_project, adb)
    task = Task.objects.create(project=full_project, data={"image": "https://example.com/cat.jpg"})
    aid = inline(annotate, api, task, [BOX, POLYGON, KEYPOINT, CLASSIFICATIONS[0]])

    [entity] = annotations_in(adb, aid)
    assert entity["task_data_url"] == "https://example.com/cat.jpg"
    assert count(adb, "FindConnection", with_class="LS_annotation_image") == 0
    regions = regions_of(adb, aid)
    [rect] = regions["LS_rectangle"]
    assert (rect["x"], rect["y"], rect["width"], rect["height"]) == (160, 60, 320, 120)
    assert json.loads(regions["LS_polygon"][0]["points"])[1] == [320.0, 48.0]
    assert len(regions["LS_keypoint"]) == 1 and len(regions["LS_classification"]) == 1
    assert target.links.get(annotation_key=aid).state == "exported"


@pytest.mark.parametrize("bad, error", [
    ({**BOX, "type": "ellipselabels"}, "unsupported region type 'ellipselabels'"),
    ({k: v for k, v in BOX.items() if k != "original_width"}, "original_width/original_height missing"),
])
def test_malformed_result_is_recorded_and_others_still_export(api, adb, task, target, inline, bad, error):
    bad_id = inline(annotate, api, task, [bad])
    good_id = inline(annotate, api, task, [BOX])

    link = _link(target, bad_id)
    assert link.state == "failed" and error in link.last_error and link.attempts == 1
    assert annotations_in(adb, bad_id) == []
    assert _link(target, good_id).state == "exported" and len(annotations_in(adb, good_id)) == 1
    exports = api.get(f"/api/storages/export/aperturedb/{target.id}").json()["meta"]["exports"]
    assert exports["failed"] == 1 and exports["exported"] == 1 and error in exports["last_error"]


def test_sync_exports_bulk_imported_and_stale_annotations(api, adb, full_project, inline):
    """Bulk imports fire no signal; "Sync" exports whatever is not exported at its latest version."""
    from tasks.models import Annotation

    tasks = imported_tasks(full_project, adb, 3)
    Annotation.objects.bulk_create([Annotation(task=t, project=full_project, result=[BOX, POLYGON])
                                    for t in tasks for _ in range(2)])
    target = create_target(api, full_project, adb)  # Label Studio syncs a new target storage
    assert count(adb, "FindEntity", with_class="LS_annotation") == 6
    assert count(adb, "FindBoundingBox") == 6 and count(adb, "FindPolygon") == 6
    target.refresh_from_db()
    assert target.status == "completed" and target.last_sync_count == 6
    assert target.meta["exports"]["exported"] == 6

    # Changed behind the signals' back: the next Sync re-exports only that one.
    first = Annotation.objects.filter(project=full_project).first()
    Annotation.objects.filter(id=first.id).update(result=[BOX], updated_at=first.updated_at.replace(year=2100))
    response = inline(api.post, f"/api/storages/export/aperturedb/{target.id}/sync")
    assert response.status_code == 200, response.content
    target.refresh_from_db()
    assert target.last_sync_count == 1
    assert regions_of(adb, first.id)["Polygon"] == [] and count(adb, "FindEntity", with_class="LS_annotation") == 6


def test_duplicate_or_stale_wake_up_changes_nothing(api, adb, task, target, inline):
    from ls_aperturedb.target import exporter

    aid = inline(annotate, api, task, [BOX])
    before = find(adb, "FindBoundingBox")
    outcome = exporter.export_annotation(target, aid)
    assert outcome.exported == 0 and find(adb, "FindBoundingBox") == before


def test_apertureDB_down_leaves_row_pending_then_reconcile_exports(api, adb, task, target, inline, settings):
    from ls_aperturedb.target import exporter

    target.port = 1  # nothing listens there
    target.save(update_fields=["port"])
    aid = inline(annotate, api, task, [BOX])
    link = _link(target, aid)
    assert link.state == "pending" and "unreachable" in link.last_error and link.attempts >= 1

    target.port = adb.port
    target.save(update_fields=["port"])
    settings.APERTUREDB_EXPORT_RETRY_SECONDS = 0
    exporter.reconcile()
    assert _link(target, aid).state == "exported" and len(annotations_in(adb, aid)) == 1


# ------------------------------------------------------------------ a stalled worker (issue: late writer)
# Worker A is the export of one API request, paused by ``stalled_writer`` right before its ApertureDB
# write; meanwhile worker B (the export of the next request) claims the row, because A's lease has run
# out (lease 0), writes, and settles it. Then A writes: ApertureDB must not take it.
def _box(x, rid="late_box"):
    return {**BOX, "id": rid, "value": {**BOX["value"], "x": x}}


def _second_client(api):
    """Another client of the same user (a request of its own, in worker A's thread)."""
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=api.defaults["HTTP_AUTHORIZATION"])


@pytest.mark.django_db(transaction=True)
def test_stalled_writer_cannot_overwrite_a_newer_version(api, adb, full_project, settings, stalled_writer):
    from tasks.models import Annotation

    settings.APERTUREDB_EXPORT_LEASE_SECONDS = 0
    [task] = imported_tasks(full_project, adb, 1)
    target = create_target(api, full_project, adb)
    stalled_writer.start(annotate, _second_client(api), task, [_box(10.0)])
    aid = Annotation.objects.get(task=task).id
    update(api, aid, [_box(60.0)])  # worker B exports the newer version and settles the row
    assert target.links.get().state == "exported"

    stalled_writer.release()  # worker A's old version arrives late
    [entity] = annotations_in(adb, aid)
    assert json.loads(entity["result"])[0]["value"]["x"] == 60.0
    [box] = regions_of(adb, aid)["BoundingBox"]
    assert box["_coordinates"]["x"] == 384
    link = target.links.get()
    assert link.state == "exported" and link.exported_version == Annotation.objects.get(id=aid).updated_at


@pytest.mark.django_db(transaction=True)
def test_stalled_sync_batch_neither_overwrites_nor_resurrects(api, adb, full_project, settings, stalled_writer):
    """Worker A is a target Sync (many annotations per transaction). While it is stalled, one of its
    annotations is saved again and exported, another is deleted (and removed from ApertureDB). A's
    late batch must leave both alone and still write the third."""
    from tasks.models import Annotation

    settings.APERTUREDB_EXPORT_LEASE_SECONDS = 0
    tasks = imported_tasks(full_project, adb, 3)
    target = create_target(api, full_project, adb, can_delete_objects=True)
    Annotation.objects.bulk_create([Annotation(task=t, project=full_project, result=[_box(10.0), POLYGON])
                                    for t in tasks])  # no signal: only a Sync exports them
    edited, deleted, untouched = Annotation.objects.filter(project=full_project).order_by("id")
    stalled_writer.start(_second_client(api).post, f"/api/storages/export/aperturedb/{target.id}/sync")
    update(api, edited.id, [_box(60.0)])
    delete(api, deleted.id)
    assert target.links.get(annotation_key=edited.id).state == "exported"
    assert not target.links.filter(annotation_key=deleted.id).exists()

    assert stalled_writer.release().status_code == 200
    nodes = {e["ls_annotation_id"]: json.loads(e["result"]) for e in annotations_in(adb)}
    assert set(nodes) == {edited.id, untouched.id}
    assert [r["value"]["x"] for r in nodes[edited.id]] == [60.0]
    assert len(nodes[untouched.id]) == 2
    assert not any(regions_of(adb, deleted.id).values())
    assert len(regions_of(adb, edited.id)["BoundingBox"]) == 1 and not regions_of(adb, edited.id)["Polygon"]
    assert set(target.links.values_list("state", flat=True)) == {"exported"}
