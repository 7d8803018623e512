"""What ApertureData's object-detection workflow writes (``wf_od_confidence``, ``wf_od_model`` on its
boxes) becomes the prediction's score and model version by default; predictions can be read-only."""
import pytest

from tests.source_helpers import add_image, create, sync

pytestmark = pytest.mark.django_db(transaction=True)
RECT = {"x": 8, "y": 6, "width": 16, "height": 12}


def _predictions(project):
    from tasks.models import Prediction

    return list(Prediction.objects.filter(project=project).order_by("id"))


def test_workflow_properties_are_score_and_model_version(api, project, adb):
    add_image(adb, boxes=[("cat", RECT, {"wf_od_model": "fasterrcnn_resnet50_fpn", "wf_od_confidence": 0.8}),
                          ("dog", RECT, {"wf_od_model": "fasterrcnn_resnet50_fpn", "wf_od_confidence": 0.6})])
    storage = create(api, project, adb)
    done = sync(api, storage["id"])
    assert done["status"] == "completed", done
    [pred] = _predictions(project)
    assert pred.model_version == "fasterrcnn_resnet50_fpn"
    assert pred.score == pytest.approx(0.7)
    assert sorted(r["score"] for r in pred.result) == [0.6, 0.8]
    assert not any(r.get("readonly") for r in pred.result)


def test_read_only_predictions(api, project, adb):
    add_image(adb, boxes=[("cat", RECT, {"confidence": 0.9})])
    storage = create(api, project, adb, read_only_predictions=True, model_version="detector-v2")
    done = sync(api, storage["id"])
    assert done["status"] == "completed" and done["meta"]["invalid_predictions"] == 0, done
    [pred] = _predictions(project)
    assert pred.model_version == "detector-v2" and pred.score == pytest.approx(0.9)
    assert [r["readonly"] for r in pred.result] == [True]
    task = api.get(f"/api/tasks/{pred.task_id}").json()
    assert task["predictions"][0]["result"][0]["readonly"] is True
