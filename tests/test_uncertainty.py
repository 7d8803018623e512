"""Uncertainty order from ApertureDB through the HTTP API: a model's confidence stored on the image (or on
its boxes) becomes the prediction's score and its name the model_version, so Label Studio's "Uncertainty
sampling" serves the least confident image first."""
import pytest

from tests.source_helpers import add_image, create, sync

pytestmark = pytest.mark.django_db(transaction=True)
BOX = {"x": 2, "y": 2, "width": 10, "height": 8}


def test_uncertainty_sampling_serves_the_least_confident_image_first(api, project, adb):
    add_image(adb, {"name": "sure", "confidence_of_model": 0.9, "model": "yolo-v8", "width": 64, "height": 48})
    add_image(adb, {"name": "unsure", "confidence_of_model": 0.1, "model": "yolo-v8", "width": 64, "height": 48},
              boxes=[("cat", BOX, {"confidence_of_model": 0.95})])
    add_image(adb, {"name": "box decides", "model": "yolo-v8", "width": 64, "height": 48},
              boxes=[("cat", BOX, {"confidence_of_model": 0.4}), ("dog", BOX, {"confidence_of_model": 0.8})])
    storage = create(api, project, adb, properties=["name"], score_property="confidence_of_model",
                     model_version_property="model")
    sync(api, storage["id"])

    project.refresh_from_db()
    assert project.model_version == "yolo-v8"
    scores = {t.data["name"]: [(p.score, p.model_version, len(p.result)) for p in t.predictions.all()]
              for t in project.tasks.all()}
    assert scores == {"sure": [(0.9, "yolo-v8", 0)], "unsure": [(0.1, "yolo-v8", 1)],
                      "box decides": [(0.4, "yolo-v8", 2)]}

    project.sampling = project.UNCERTAINTY
    project.save(update_fields=["sampling"])
    served = api.get(f"/api/projects/{project.id}/next/").json()
    assert served["data"]["name"] == "unsure"
