"""Video round trip: a video with clips and tracked boxes → a task with TimelineLabels and VideoRectangle
predictions → an edited annotation exported to ApertureDB (boxes on frames, clips) → the project starts
over (storage and task deleted in Label Studio, nodes kept in ApertureDB) → a new source storage brings
the annotation back, and only the original clips and tracks come back as predictions."""
import json

from tests.fixtures.export import annotations_in, count, create_target
from tests.fixtures.labelstudio import make_project
from tests.source_helpers import create, sync, wait_status
from tests.video_export_helpers import boxes_of, clips_of, frames_at
from tests.video_source_helpers import FPS, VIDEO_CONFIG, add_videos, dataset


def _source(api, project, adb, name, title, **fields):
    storage = create(api, project, adb, title=title, media_kind="videos",
                     constraints={"dataset": ["==", name]}, **fields)
    sync(api, storage["id"])
    status = wait_status(api, project, storage["id"], {"completed", "failed", "completed_with_errors"})
    assert status["status"] == "completed", status
    return storage


def _edited(prediction):
    """What an annotator does: keep a predicted track but move a keyframe and add one at frame 13, keep a
    predicted segment, and draw a new one."""
    track = next(r for r in prediction.result if r["type"] == "videorectangle" and r["value"]["labels"] == ["car"])
    segment = next(r for r in prediction.result if r["type"] == "timelinelabels")
    sequence = [dict(kf) for kf in track["value"]["sequence"]]
    sequence[1]["x"] += 5
    sequence.insert(3, {**sequence[2], "frame": 13, "x": sequence[2]["x"] + 2, "time": 1.3})
    moved = {k: v for k, v in track.items() if k != "score"}
    moved["value"] = {**track["value"], "sequence": sequence}
    kept = {k: v for k, v in segment.items() if k != "score"}
    drawn = {"id": "new_range", "type": "timelinelabels", "from_name": "events", "to_name": "video",
             "origin": "manual", "value": {"ranges": [{"start": 4, "end": 7}], "timelinelabels": ["crossing"]}}
    return [moved, kept, drawn]


def test_exported_video_annotation_comes_back_and_is_not_a_prediction(transactional_db, api, user, adb):
    from tasks.models import Task

    name = dataset()
    [uid] = add_videos(adb, name, 1)
    project = make_project(user, VIDEO_CONFIG.format(rate=FPS), "Video round trip")
    first = _source(api, project, adb, name, "first source")
    task = Task.objects.get(project=project)
    prediction = task.predictions.get()

    create_target(api, project, adb, can_delete_objects=False)
    result = _edited(prediction)
    response = api.post(f"/api/tasks/{task.id}/annotations", data=json.dumps({"result": result}),
                        content_type="application/json")
    assert response.status_code == 201, response.content
    aid = response.json()["id"]
    # In ApertureDB: one box per keyframe of the edited track (frame 12 added), one clip per range.
    boxes = boxes_of(adb, aid)
    assert [b["frame"]["_frame_number"] for b in boxes] == [kf["frame"] - 1 for kf in result[0]["value"]["sequence"]]
    assert len(frames_at(adb, uid, 12)) == 1
    assert sorted(c["ls_region_id"] for c in clips_of(adb, aid)) == sorted([result[1]["id"], "new_range"])

    assert api.delete(f"/api/storages/aperturedb/{first['id']}").status_code == 204
    assert api.delete(f"/api/tasks/{task.id}").status_code == 204
    assert annotations_in(adb, aid), "deletes are off: ApertureDB keeps the annotation"

    _source(api, project, adb, name, "second source", import_annotations=True)
    [new_task] = Task.objects.filter(project=project)
    assert new_task.io_storages_aperturedbimportstoragelink.key == uid
    [back] = new_task.annotations.all()
    assert [r["value"] for r in back.result] == [r["value"] for r in result]
    assert str(back.unique_id) == annotations_in(adb, aid)[0]["ls_annotation_uid"]
    [new_prediction] = new_task.predictions.all()
    assert sorted(json.dumps(r["value"], sort_keys=True) for r in new_prediction.result) == \
        sorted(json.dumps(r["value"], sort_keys=True) for r in prediction.result), \
        "the exported boxes and clips must not come back as predictions"


def test_round_trip_then_edit_updates_the_same_nodes(transactional_db, api, user, adb):
    """Export → start over → import → edit the re-imported annotation: ApertureDB keeps one LS_annotation
    for it, and the edit replaces its boxes and clips."""
    from tasks.models import Task

    name = dataset()
    [uid] = add_videos(adb, name, 1)
    project = make_project(user, VIDEO_CONFIG.format(rate=FPS), "Video round trips")
    create_target(api, project, adb, can_delete_objects=False)
    source = _source(api, project, adb, name, "source 0")
    task = Task.objects.get(project=project)
    result = _edited(task.predictions.get())
    response = api.post(f"/api/tasks/{task.id}/annotations", data=json.dumps({"result": result}),
                        content_type="application/json")
    assert response.status_code == 201, response.content

    assert api.delete(f"/api/storages/aperturedb/{source['id']}").status_code == 204
    assert api.delete(f"/api/tasks/{task.id}").status_code == 204
    _source(api, project, adb, name, "source 1", import_annotations=True)
    [back] = Task.objects.get(project=project).annotations.all()
    edit = [result[0], {**result[2], "value": {**result[2]["value"], "ranges": [{"start": 9, "end": 11}]}}]
    response = api.patch(f"/api/annotations/{back.id}", data=json.dumps({"result": edit}),
                         content_type="application/json")
    assert response.status_code == 200, response.content

    [node] = annotations_in(adb)
    assert node["ls_annotation_id"] == back.id and json.loads(node["result"]) == edit
    assert [c["_frame_number_range"] for c in clips_of(adb, back.id)] == [{"start": 8, "stop": 10}]
    assert len(boxes_of(adb, back.id)) == len(result[0]["value"]["sequence"])
    assert count(adb, "FindClip", constraints={"ls_annotation_uid": ["==", node["ls_annotation_uid"]]}) == 1
    assert len(frames_at(adb, uid, 12)) == 1
