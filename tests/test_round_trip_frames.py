"""Key frames as image tasks (a ``frames`` source storage): an annotation's boxes go back onto the frame,
the annotation is connected to the frame, an accepted prediction box gets its edge, and the annotation
comes back on a round trip (not as a prediction)."""
import json

from tests.fixtures.export import annotations_in, create_target
from tests.fixtures.labelstudio import make_project
from tests.source_helpers import create, sync, wait_status
from tests.video_source_helpers import FRAME_CONFIG, add_videos, dataset

FRAME_AND_POLYGON_CONFIG = FRAME_CONFIG.replace(
    "</View>", '<PolygonLabels name="poly" toName="image"><Label value="car"/></PolygonLabels>\n</View>')


def _frames_source(api, project, adb, name, title, **fields):
    storage = create(api, project, adb, title=title, media_kind="frames", constraints={"dataset": ["==", name]},
                     **fields)
    sync(api, storage["id"])
    status = wait_status(api, project, storage["id"], {"completed", "failed", "completed_with_errors"})
    assert status["status"] == "completed", status
    return storage


def test_frame_task_annotation_goes_onto_the_frame_and_comes_back(transactional_db, api, user, adb):
    from tasks.models import Task

    name = dataset()
    add_videos(adb, name, 1)
    project = make_project(user, FRAME_AND_POLYGON_CONFIG, "Key frames")
    first = _frames_source(api, project, adb, name, "frames")
    task = Task.objects.filter(project=project).order_by("id").first()
    frame = task.io_storages_aperturedbimportstoragelink.key
    prediction = task.predictions.get()
    box = next(r for r in prediction.result if r["type"] == "rectanglelabels")

    create_target(api, project, adb, can_delete_objects=False)
    moved = {k: v for k, v in box.items() if k != "score"}
    moved["value"] = {**box["value"], "x": box["value"]["x"] + 3}
    polygon = {"id": "fp1", "type": "polygonlabels", "from_name": "poly", "to_name": "image",
               "original_width": box["original_width"], "original_height": box["original_height"],
               "image_rotation": 0, "value": {"points": [[10, 10], [40, 10], [25, 30]], "polygonlabels": ["car"]}}
    response = api.post(f"/api/tasks/{task.id}/annotations", data=json.dumps({"result": [moved, polygon]}),
                        content_type="application/json")
    assert response.status_code == 201, response.content
    aid = response.json()["id"]

    response, _ = adb.query([
        {"FindFrame": {"_ref": 1, "constraints": {"_uniqueid": ["==", frame]}, "unique": True}},
        {"FindBoundingBox": {"_ref": 2, "is_connected_to": {"ref": 1}, "coordinates": True, "uniqueids": True,
                             "constraints": {"ls_annotation_id": ["==", aid]},
                             "results": {"list": ["ls_region_id"]}}},
        {"FindEntity": {"with_class": "LS_annotation", "is_connected_to": {"ref": 1},
                        "results": {"list": ["ls_annotation_id"]}}},
        {"FindBoundingBox": {"is_connected_to": {"ref": 2}, "uniqueids": True, "results": {"list": ["track_id"]}}}])
    [ours] = response[1]["FindBoundingBox"]["entities"]
    assert ours["ls_region_id"] == box["id"]
    assert ours["_coordinates"]["x"] == round(moved["value"]["x"] * box["original_width"] / 100)
    assert response[2]["FindEntity"]["entities"] == [{"ls_annotation_id": aid}]
    [source_box] = response[3]["FindBoundingBox"]["entities"]  # the accepted prediction, left as it was
    assert source_box["track_id"].startswith("v0-t")
    response, _ = adb.query([{"FindEntity": {"with_class": "LS_polygon", "results": {"list": ["ls_region_id"]},
                                             "constraints": {"ls_annotation_id": ["==", aid]}}}])
    assert response[0]["FindEntity"]["entities"] == [{"ls_region_id": "fp1"}]  # no polygon on a frame

    assert api.delete(f"/api/storages/aperturedb/{first['id']}").status_code == 204
    Task.objects.filter(project=project).delete()
    _frames_source(api, project, adb, name, "frames again", import_annotations=True)
    back_task = Task.objects.get(project=project, io_storages_aperturedbimportstoragelink__key=frame)
    [back] = back_task.annotations.all()
    assert [r["value"] for r in back.result] == [moved["value"], polygon["value"]]
    assert [r["value"] for r in back_task.predictions.get().result if r["type"] == "rectanglelabels"] == \
        [r["value"] for r in prediction.result if r["type"] == "rectanglelabels"]
    assert len(annotations_in(adb, aid)) == 1
