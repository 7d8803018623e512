"""Round trip: images → tasks with predictions → annotations exported to ApertureDB → the project
starts over (storage and tasks deleted in Label Studio, nodes kept in ApertureDB) → a new source
storage brings the annotations back, and only the original boxes come back as predictions (exported
region nodes are labels, not model output)."""
import json

from tests.fixtures.export import annotations_in, count, create_target
from tests.source_helpers import add_image, create, sync, wait_status


def test_exported_annotations_come_back_and_are_not_predictions(transactional_db, api, project, adb):
    from tasks.models import Task

    uid = add_image(adb, boxes=[("cat", {"x": 8, "y": 6, "width": 16, "height": 12}, {"confidence": 0.9})],
                    size=(64, 48))
    first = create(api, project, adb, title="first source")
    sync(api, first["id"])
    wait_status(api, project, first["id"], {"completed"})
    task = Task.objects.get(project=project)
    [prediction] = task.predictions.all()
    [box] = prediction.result

    create_target(api, project, adb, can_delete_objects=False)
    accepted = {**box, "value": {**box["value"], "x": box["value"]["x"] + 10}}
    accepted.pop("score", None)
    polygon = {"id": "c1", "from_name": "poly", "to_name": "image", "type": "polygonlabels",
                      "original_width": 64, "original_height": 48, "image_rotation": 0,
                      "value": {"points": [[10, 10], [50, 10], [30, 40]], "polygonlabels": ["dog"]}}
    response = api.post(f"/api/tasks/{task.id}/annotations",
                        data=json.dumps({"result": [accepted, polygon]}), content_type="application/json")
    assert response.status_code == 201, response.content
    annotation_id = response.json()["id"]
    assert [e["ls_annotation_id"] for e in annotations_in(adb, annotation_id)] == [annotation_id]

    assert api.delete(f"/api/storages/aperturedb/{first['id']}").status_code == 204
    assert api.delete(f"/api/tasks/{task.id}").status_code == 204
    assert annotations_in(adb, annotation_id), "deletes are off: ApertureDB keeps the annotation"

    second = create(api, project, adb, title="second source", import_annotations=True)
    sync(api, second["id"])
    status = wait_status(api, project, second["id"], {"completed", "failed"})
    assert status["status"] == "completed", status
    [new_task] = Task.objects.filter(project=project)
    assert new_task.io_storages_aperturedbimportstoragelink.key == uid

    [back] = new_task.annotations.all()
    assert [r["value"] for r in back.result] == [accepted["value"], polygon["value"]]
    [new_prediction] = new_task.predictions.all()
    assert [r["value"] for r in new_prediction.result] == [box["value"]], \
        "the exported annotation regions must not come back as predictions"


def test_round_trips_keep_one_node_per_annotation(transactional_db, api, project, adb):
    """Export → start over → import → target Sync, three times, editing the re-imported annotation
    each time: ApertureDB keeps one LS_annotation node (and one region node) for the one human
    annotation, and each edit lands on it. The node's identity is the annotation's ``unique_id``,
    which the re-imported annotation keeps."""
    from tasks.models import Annotation, Task

    add_image(adb, size=(64, 48))
    target = create_target(api, project, adb, can_delete_objects=False)
    source = create(api, project, adb, title="source 0")
    sync(api, source["id"])
    wait_status(api, project, source["id"], {"completed"})
    task = Task.objects.get(project=project)
    polygon = {"id": "p1", "from_name": "poly", "to_name": "image", "type": "polygonlabels",
               "original_width": 64, "original_height": 48, "image_rotation": 0,
               "value": {"points": [[10, 10], [50, 10], [30, 40]], "polygonlabels": ["dog"]}}
    response = api.post(f"/api/tasks/{task.id}/annotations", data=json.dumps({"result": [polygon]}),
                        content_type="application/json")
    assert response.status_code == 201, response.content
    identity = str(Annotation.objects.get(id=response.json()["id"]).unique_id)
    points = polygon["value"]["points"]

    for cycle in range(1, 4):
        assert api.delete(f"/api/storages/aperturedb/{source['id']}").status_code == 204
        assert api.delete(f"/api/tasks/{task.id}").status_code == 204
        source = create(api, project, adb, title=f"source {cycle}", import_annotations=True)
        sync(api, source["id"])
        assert wait_status(api, project, source["id"], {"completed", "failed"})["status"] == "completed"
        task = Task.objects.get(project=project)
        [back] = task.annotations.all()
        assert str(back.unique_id) == identity and back.result[0]["value"]["points"] == points

        response = api.post(f"/api/storages/export/aperturedb/{target.id}/sync")
        assert response.status_code == 200, response.content
        [node] = annotations_in(adb)
        assert (node["ls_annotation_uid"], node["ls_annotation_id"]) == (identity, back.id)

        points = [[x + cycle, y] for x, y in points]
        moved = {**polygon, "value": {**polygon["value"], "points": points}}
        response = api.patch(f"/api/annotations/{back.id}", data=json.dumps({"result": [moved]}),
                             content_type="application/json")
        assert response.status_code == 200, response.content
        [node] = annotations_in(adb)
        assert json.loads(node["result"])[0]["value"]["points"] == points
        assert count(adb, "FindPolygon") == 1
