"""Table tests of the pure translators: labeling config → image target, ApertureDB records → task data and predictions."""
import pytest
from label_studio_sdk.label_interface import LabelInterface

from ls_aperturedb.labeling_config import LabelingConfigProblem, image_target
from ls_aperturedb.source.mapping import Mapping, Report, annotation, check_prediction, image_size, parse_uri, prediction, task_data
from ls_aperturedb.source.query import ImageQuery, ImageRecord, parse_details, parse_listing

CUSTOM = """<View>
  <Image name="photo" value="$picture"/>
  <RectangleLabels name="boxes" toName="photo"><Label value="cat"/><Label value="dog"/></RectangleLabels>
  <PolygonLabels name="outlines" toName="photo"><Label value="cat"/></PolygonLabels>
</View>"""
TWO_IMAGES = """<View>
  <Image name="left" value="$left_img"/>
  <Image name="right" value="$right_img"/>
  <RectangleLabels name="left_boxes" toName="left"><Label value="cat"/></RectangleLabels>
  <RectangleLabels name="right_boxes" toName="right"><Label value="car"/></RectangleLabels>
  <PolygonLabels name="right_polys" toName="right"><Label value="car"/></PolygonLabels>
</View>"""


@pytest.mark.parametrize("config, tag, expected", [
    (CUSTOM, "", ("picture", "photo", "boxes", "outlines")),
    (TWO_IMAGES, "", ("left_img", "left", "left_boxes", None)),
    (TWO_IMAGES, "right", ("right_img", "right", "right_boxes", "right_polys")),
])
def test_image_target(config, tag, expected):
    target = image_target(config, tag)
    got = (target.data_key, target.to_name, target.rectangles and target.rectangles.name,
           target.polygons and target.polygons.name)
    assert got == expected


def test_unknown_image_tag_is_named():
    with pytest.raises(LabelingConfigProblem, match="no Image tag named 'nope'.*left, right"):
        image_target(TWO_IMAGES, "nope")


def test_config_without_image_tag_is_refused():
    text_only = "<View><Text name='t' value='$text'/><Choices name='c' toName='t'><Choice value='a'/></Choices></View>"
    with pytest.raises(LabelingConfigProblem, match="has no Image tag.*object tags found: Text"):
        image_target(text_only)


def _mapping(config=CUSTOM, tag="", **kw):
    return Mapping(7, image_target(config, tag), **kw)


def test_task_data_uri_and_properties():
    record = ImageRecord("12.0.3", {"split": "train", "index": 4, "width": 10, "height": 5})
    data = task_data(record, _mapping(properties=("split", "index", "missing")))
    assert data == {"picture": "aperturedb://7/12.0.3", "split": "train", "index": 4}
    assert parse_uri(data["picture"]) == (7, "12.0.3")
    assert parse_uri("s3://bucket/x") is None and parse_uri("aperturedb://x/1") is None


@pytest.mark.parametrize("props, kw, size", [
    ({"w": 30, "h": 20, "width": 1, "height": 1}, {"width_property": "w", "height_property": "h"}, (30, 20)),
    ({"width": 64, "height": 48, "adb_image_width": 1, "adb_image_height": 1}, {}, (64, 48)),
    ({"adb_image_width": 640, "adb_image_height": 480}, {}, (640, 480)),
    ({"width": "64", "height": 48}, {}, None),
    ({}, {}, None),
])
def test_image_size_precedence(props, kw, size):
    assert image_size(props, _mapping(**kw)) == size


def test_prediction_boxes_and_polygons_exact_percent():
    record = ImageRecord("1.0.1", {}, boxes=[
        {"_uniqueid": "2.0.1", "_label": "cat", "_coordinates": {"x": 7, "y": 3, "width": 21, "height": 11},
         "confidence": 0.8},
        {"_uniqueid": "3.0.1", "_label": "zebra", "_coordinates": {"x": 0, "y": 0, "width": 3, "height": 3},
         "score": 0.4}],
        polygons=[{"_uniqueid": "4.0.1", "_label": "cat", "_vertices": [[[1, 2], [30, 2], [15, 20]],
                                                                       [[0, 0], [3, 0], [3, 3]]]}])
    report = Report()
    pred = prediction(record, _mapping(model_version="yolo-v9"), (33, 21), report)
    assert pred["model_version"] == "yolo-v9"
    assert pred["score"] == pytest.approx(0.6)
    box, unknown, ring0, ring1 = pred["result"]
    assert box["from_name"] == "boxes" and box["to_name"] == "photo" and box["type"] == "rectanglelabels"
    assert (box["original_width"], box["original_height"]) == (33, 21)
    assert box["value"]["x"] == 7 * 100.0 / 33 and box["value"]["height"] == 11 * 100.0 / 21
    assert box["value"]["rectanglelabels"] == ["cat"] and box["score"] == 0.8
    assert unknown["value"]["rectanglelabels"] == ["zebra"]
    assert ring0["from_name"] == "outlines" and ring0["type"] == "polygonlabels"
    assert ring0["value"]["points"][2] == [15 * 100.0 / 33, 20 * 100.0 / 21]
    assert ring0["id"] != ring1["id"]
    assert report.labels_not_in_config == {"zebra": 1}
    # validated over the regions with known labels: valid
    assert check_prediction(LabelInterface(CUSTOM), pred, record, _mapping(), report)
    assert report.invalid_predictions == 0


def test_regions_without_a_control_are_counted_and_explained():
    record = ImageRecord("1.0.1", {}, polygons=[{"_uniqueid": "4.0.1", "_label": "cat",
                                                 "_vertices": [[[1, 2], [3, 2], [3, 4]]]}])
    report = Report()
    assert prediction(record, _mapping(TWO_IMAGES), (10, 10), report) is None
    assert report.regions_without_control == {"polygon": 1}
    assert "no PolygonLabels bound to Image left" in report.problems[0]


def test_invalid_prediction_counted_and_explained():
    record = ImageRecord("9.0.9", {}, boxes=[
        {"_uniqueid": "2.0.1", "_label": "cat", "_coordinates": {"x": 150, "y": 0, "width": 80, "height": 5}}])
    report = Report()
    pred = prediction(record, _mapping(), (100, 10), report)  # the box starts outside the image
    assert pred is not None
    assert not check_prediction(LabelInterface(CUSTOM), pred, record, _mapping(), report)
    assert report.invalid_predictions == 1 and "image 9.0.9" in report.problems[0]


@pytest.mark.parametrize("box, score, valid, shapes", [
    ({"x": 10, "y": 5, "width": 20, "height": 5}, 0.5, True, 1),
    ({"x": 150, "y": 0, "width": 80, "height": 5}, 0.5, False, 3),  # outside the image: x kept in the shape
    ({"x": 10, "y": 5, "width": 20, "height": 5}, 3.0, False, 0),  # score above 1: validated whole
])
def test_shape_cache_agrees_with_validate_prediction(box, score, valid, shapes):
    """Validated once per region shape, counted and explained like validate_prediction on each."""
    interface, cache, cached, plain = LabelInterface(CUSTOM), {}, Report(), Report()
    for n in range(3):
        shifted = {**box, "x": box["x"] + n}  # same shape, other coordinates
        record = ImageRecord(f"9.0.{n}", {}, boxes=[{"_uniqueid": f"2.0.{n}", "_label": "cat", "_coordinates": shifted,
                                                     "confidence": score}])
        pred = prediction(record, _mapping(), (100, 100), Report())
        assert check_prediction(interface, pred, record, _mapping(), cached, cache) is valid
        assert check_prediction(interface, pred, record, _mapping(), plain) is valid
    assert cached.invalid_predictions == plain.invalid_predictions == (0 if valid else 3)
    assert cached.problems == plain.problems
    assert len(cache) == shapes


def test_annotation_entity():
    got = annotation({"ls_annotation_id": 5, "result": '[{"type": "choices"}]', "completed_by": "a@b.c",
                      "created_at": {"_date": "2024-01-01T00:00:00+00:00"}, "was_cancelled": False})
    assert got["result"] == [{"type": "choices"}] and got["created_at"] == "2024-01-01T00:00:00+00:00"
    assert annotation({"result": "not json"}) is None


def test_details_query_one_transaction_and_parse():
    q = ImageQuery(constraints={"split": ["==", "train"]}, properties=("split",), annotations_of_project=3)
    commands = q.details(0, 100)
    assert [next(iter(c)) for c in commands] == ["FindImage", "FindBoundingBox", "FindPolygon", "FindEntity"]
    assert commands[0]["FindImage"]["sort"] == {"key": "_uniqueid", "order": "ascending"}
    assert all(c[next(iter(c))].get("group_by_source") for c in commands[1:])
    response = [{"FindImage": {"status": 0, "returned": 2, "entities": [{"_uniqueid": "a", "split": "x"},
                                                                          {"_uniqueid": "b"}]}},
                {"FindBoundingBox": {"status": 0, "returned": 1, "entities": {"b": [{"_label": "cat"}]}}},
                {"FindPolygon": {"status": 0, "returned": 0}},
                {"FindEntity": {"status": 0, "returned": 0}}]
    a, b = parse_details(response)
    assert (a.uid, a.properties, a.boxes) == ("a", {"split": "x"}, [])
    assert b.boxes == [{"_label": "cat"}]


def test_listing_is_one_query_in_numbered_batches():
    """Every batch sends the same FindImage but for batch_id (ApertureDB re-uses the result it keeps),
    and the reply's batch object says where the listing stands."""
    q = ImageQuery(constraints={"split": ["==", "train"]})
    first, later = q.listing(0, 2), q.listing(1, 2)
    assert first[0]["FindImage"].pop("batch") == {"batch_id": 0, "batch_size": 2}
    assert later[0]["FindImage"].pop("batch") == {"batch_id": 1, "batch_size": 2}
    assert first == later and first[0]["FindImage"]["sort"] == {"key": "_uniqueid", "order": "ascending"}
    reply = [{"FindImage": {"status": 0, "returned": 2, "entities": [{"_uniqueid": "c"}, {"_uniqueid": "d"}],
                            "batch": {"batch_id": 1, "total_elements": 5, "end": 4}}}]
    batch = parse_listing(reply, 1, 2)
    assert (batch.uids, batch.total, batch.end) == (["c", "d"], 5, 4)


@pytest.mark.parametrize("condition, kept", [
    (None, {"a", "b", "c"}),
    (["==", "b"], {"b"}),
    (["!=", "b"], {"a", "c"}),
    (["in", ["a", "c"]], {"a", "c"}),
    (["not in", ["a"]], {"b", "c"}),
])
def test_lookup_rechecks_ids_with_the_storage_constraints(condition, kept):
    """A deletion candidate is looked up by _uniqueid with the storage's other constraints; ApertureDB
    takes one condition list per property, so the storage's own _uniqueid condition is applied here."""
    constraints = {"split": ["==", "train"], **({"_uniqueid": condition} if condition else {})}
    q = ImageQuery(constraints=constraints)
    (command,) = q.lookup(["a", "b", "c"])
    assert command["FindImage"]["constraints"] == {"split": ["==", "train"], "_uniqueid": ["in", ["a", "b", "c"]]}
    assert {uid for uid in "abc" if q.uid_matches(uid)} == kept
