"""Table tests of the prediction score and model version taken from named ApertureDB properties."""
import pytest

from ls_aperturedb.source.query import ImageRecord
from ls_aperturedb.source.scoring import Scoring, scored

BOX = {"id": "adb_7_3_1", "type": "rectanglelabels", "value": {}, "score": 0.9}
RING0, RING1 = {"id": "adb_7_3_2_0", "type": "polygonlabels"}, {"id": "adb_7_3_2_1", "type": "polygonlabels"}
PRED = {"model_version": "aperturedb", "result": [BOX, RING0, RING1], "score": 0.9}


def record(image=None, box=None, polygon=None):
    return ImageRecord("7.3.0", dict(image or {}), [{"_uniqueid": "7.3.1", **(box or {})}],
                       [{"_uniqueid": "7.3.2", **(polygon or {})}])


@pytest.mark.parametrize("image,box,polygon,score,region_scores", [
    ({"uncertainty": 0.2}, {"uncertainty": 0.7}, {}, 0.2, [0.7, None, None]),  # the image's own value wins
    ({}, {"uncertainty": 0.7}, {"uncertainty": 0.4}, 0.4, [0.7, 0.4, 0.4]),  # else the least confident region
    ({}, {}, {}, 0.9, [0.9, None, None]),  # no such property: as before
    ({"uncertainty": True}, {}, {}, 0.9, [0.9, None, None]),  # not a number
])
def test_score_from_the_image_or_its_regions(image, box, polygon, score, region_scores):
    pred = scored(PRED, record(image, box, polygon), Scoring("uncertainty"), "aperturedb")
    assert pred["score"] == score
    assert [r.get("score") for r in pred["result"]] == region_scores


def test_an_image_without_regions_gets_a_prediction_holding_only_its_score():
    pred = scored(None, ImageRecord("7.3.0", {"uncertainty": 0.3, "model": "yolo-v8"}),
                  Scoring("uncertainty", "model"), "aperturedb")
    assert pred == {"model_version": "yolo-v8", "result": [], "score": 0.3}
    assert scored(None, ImageRecord("7.3.0", {}), Scoring("uncertainty"), "aperturedb") is None


def test_model_version_from_a_property_and_nothing_without_settings():
    assert scored(PRED, record({"model": "m-2"}), Scoring("", "model"), "x")["model_version"] == "m-2"
    assert scored(PRED, record({"model": "m-2"}), Scoring(), "x") is PRED
