"""Table tests of the pure video mapping: ApertureDB video/clip/frame/box JSON -> Label Studio task data and
VideoRectangle / TimelineLabels predictions, and of the media-kind check of the labeling config."""
import pytest
from label_studio_sdk.label_interface import LabelInterface

from ls_aperturedb.labeling_config import MediaKindProblem, media_target, video_target
from ls_aperturedb.source.mapping import Report
from ls_aperturedb.source.video_mapping import (VideoMapping, VideoRecord, adb_frame, check_prediction, clip_range,
                                                frame_rate_problem, ls_frame, prediction, task_data)

CONFIG = """<View>
  <Video name="clip" value="$movie" frameRate="25"/>
  <Labels name="objects" toName="clip"><Label value="car"/><Label value="person"/></Labels>
  <VideoRectangle name="track" toName="clip"/>
  <TimelineLabels name="events" toName="clip"><Label value="overtake"/></TimelineLabels>
</View>"""
FROM_DATA = CONFIG.replace('frameRate="25"', 'frameRate="$fps"')
IMAGE = '<View><Image name="image" value="$image"/></View>'
# As FindVideo answers with results.list (Cookbook notebooks/simple/Videos.ipynb, recorded reply).
VIDEO = {"_fps": 25, "_frame_count": 100, "_duration_us": 4000000, "_frame_width": 320, "_frame_height": 240,
         "name": "street", "split": "train"}


def _mapping(config=CONFIG, **kw):
    return VideoMapping(7, video_target(config), "tracker-2", ("split",), **kw)


def _box(uid, x, label="car", **props):
    return {"_uniqueid": uid, "_label": label, "_coordinates": {"x": x, "y": 24, "width": 32, "height": 48}, **props}


def test_video_target_reads_the_video_tag_and_its_controls():
    target = video_target(CONFIG)
    assert (target.data_key, target.to_name, target.frame_rate, target.frame_rate_key) == ("movie", "clip", 25.0, "")
    assert target.rectangles.name == "track" and target.rectangles.labels == {"car", "person"}
    assert target.timeline.name == "events" and target.timeline.labels == {"overtake"}
    assert video_target(FROM_DATA).frame_rate is None and video_target(FROM_DATA).frame_rate_key == "fps"
    assert video_target('<View><Video name="v" value="$v"/></View>').frame_rate == 24.0  # Label Studio's default


@pytest.mark.parametrize("kind, config, needs", [
    ("videos", IMAGE, "has no Video tag"),
    ("images", CONFIG, "has no Image tag"),
    ("frames", CONFIG, "has no Image tag"),
])
def test_media_kind_mismatch_is_named(kind, config, needs):
    with pytest.raises(MediaKindProblem) as problem:
        media_target(config, kind)
    assert needs in str(problem.value) and kind in str(problem.value)


def test_task_data_holds_the_uri_the_chosen_properties_and_the_frame_rate_key():
    record = VideoRecord("v1", VIDEO)
    assert task_data(record, _mapping()) == {"movie": "aperturedb://7/v1", "split": "train"}
    assert task_data(record, _mapping(FROM_DATA)) == {"movie": "aperturedb://7/v1", "split": "train", "fps": 25}


@pytest.mark.parametrize("adb, ls", [(0, 1), (9, 10), (99, 100)])
def test_frame_numbers_are_one_based_in_label_studio(adb, ls):
    assert ls_frame(adb) == ls and adb_frame(ls) == adb


@pytest.mark.parametrize("clip, span", [
    ({"_frame_number_range": {"start": 10, "stop": 150}, "_range_start": 10, "_range_stop": 150, "_range_type": 1},
     (10, 150)),  # ClipsFrames.ipynb, recorded
    ({"_range_type": 1, "_range_start": 3, "_range_stop": 7}, (3, 7)),
    ({"_range_type": 3, "_range_start": 1000000, "_range_stop": 2000000}, (25, 50)),  # microseconds at 25 fps
    ({"_range_type": 2, "_range_start": 0.0, "_range_stop": 0.5}, (0, 50)),  # fractions of frames 0..99
    ({"label": "x"}, None),
])
def test_clip_ranges(clip, span):
    assert clip_range(clip, 25, 100) == span


def test_clips_become_timeline_ranges_and_boxes_become_tracks():
    record = VideoRecord("v1", VIDEO, clips=[
        {"_uniqueid": "6.3.1", "_frame_number_range": {"start": 10, "stop": 20}, "label": "overtake", "score": 0.5},
        {"_uniqueid": "6.3.2", "_frame_number_range": {"start": 0, "stop": 5}},  # no label: not a prediction
    ], frames=[
        {"_frame_number": 20, "boxes": [_box("b2", 40, track_id=1, score=0.7)]},
        {"_frame_number": 0, "boxes": [_box("b1", 8, track_id=1, score=0.9), _box("b3", 100, label="person")]},
    ])
    report = Report()
    pred = prediction(record, _mapping(), report)
    ranges, track, single = pred["result"]
    assert ranges == {"id": "adb_6_3_1", "from_name": "events", "to_name": "clip", "type": "timelinelabels",
                      "value": {"ranges": [{"start": 11, "end": 21}], "timelinelabels": ["overtake"]}, "score": 0.5}
    assert (track["from_name"], track["to_name"], track["type"], track["id"]) == \
        ("track", "clip", "videorectangle", "adb_track_1")
    value = track["value"]
    assert (value["framesCount"], value["duration"], value["labels"]) == (100, 4.0, ["car"])
    assert [(k["frame"], k["time"], k["x"], k["enabled"]) for k in value["sequence"]] == \
        [(1, 1 / 25, 8 * 100 / 320, True), (21, 21 / 25, 40 * 100 / 320, False)]
    assert value["sequence"][0]["height"] == 48 * 100 / 240 and track["score"] == pytest.approx(0.8)
    assert single["id"] == "adb_b3" and [k["frame"] for k in single["value"]["sequence"]] == [1]
    assert single["value"]["labels"] == ["person"] and single["value"]["sequence"][0]["enabled"] is False
    assert pred["model_version"] == "tracker-2" and pred["score"] == pytest.approx((0.5 + 0.9 + 0.7) / 3)
    assert report.withheld == {"clips without a 'label' property": 1}
    assert check_prediction(LabelInterface(CONFIG), pred, record, _mapping(), report)
    assert report.invalid_predictions == 0


def test_labels_missing_from_the_config_are_counted_and_kept():
    record = VideoRecord("v1", VIDEO, clips=[{"_frame_number_range": {"start": 0, "stop": 1}, "label": "crash"}],
                         frames=[{"_frame_number": 3, "boxes": [_box("b", 1, label="bicycle")]}])
    report = Report()
    pred = prediction(record, _mapping(), report)
    assert len(pred["result"]) == 2
    assert report.labels_not_in_config == {"crash": 1, "bicycle": 1}


def test_track_property_name_is_configurable():
    frames = [{"_frame_number": n, "boxes": [_box(f"b{n}", n, object=5)]} for n in (0, 1, 2)]
    one = prediction(VideoRecord("v", VIDEO, frames=frames), _mapping(track_property="object"), Report())
    many = prediction(VideoRecord("v", VIDEO, frames=frames), _mapping(), Report())
    assert len(one["result"]) == 1 and len(one["result"][0]["value"]["sequence"]) == 3
    assert len(many["result"]) == 3


def test_frame_rate_mismatch_withholds_the_regions_and_says_why():
    record = VideoRecord("v1", {**VIDEO, "_fps": 30}, frames=[{"_frame_number": 0, "boxes": [_box("b", 1)]}])
    report = Report()
    assert prediction(record, _mapping(), report) is None
    assert report.withheld == {"videos whose frame rate differs from the Video tag's": 1}
    assert "frameRate 25" in report.errors[0] and "30 fps" in report.errors[0]
    # frameRate="$fps" follows each video's own rate
    assert prediction(record, _mapping(FROM_DATA), Report()) is not None
    assert frame_rate_problem(25.0, video_target(CONFIG)) is None


def test_regions_without_a_control_are_counted():
    config = '<View><Video name="clip" value="$movie" frameRate="25"/></View>'
    record = VideoRecord("v1", VIDEO, clips=[{"_frame_number_range": {"start": 0, "stop": 1}, "label": "a"}],
                         frames=[{"_frame_number": 3, "boxes": [_box("b", 1)]}])
    report = Report()
    assert prediction(record, _mapping(config), report) is None
    assert report.regions_without_control == {"clip": 1, "box on a frame": 1}
