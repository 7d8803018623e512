"""ApertureDB target storage for video tasks, through Label Studio's HTTP API (no broker: wake-ups run
inline on commit), against an ApertureDB holding a generated video with frames, clips and tracked boxes."""
import json

import pytest

from tests.fixtures.export import annotate, annotations_in, count, create_target, delete, update
from tests.video_export_helpers import (
    CHOICE,
    DATASET,
    SEEDED_FRAMES,
    TEXT,
    add_video,
    boxes_of,
    clips_of,
    frames_at,
    on_video,
    segments,
    track,
    video_project,
    video_task,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def inline(django_capture_on_commit_callbacks):
    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)
    return call


@pytest.fixture
def project(user):
    return video_project(user)


@pytest.fixture
def video(adb):
    return add_video(adb)


@pytest.fixture
def task(project, adb, video):
    return video_task(project, adb, video)


@pytest.fixture
def target(api, project, adb):
    return create_target(api, project, adb)


def predicted_boxes(adb, video):
    response, _ = adb.query([
        {"FindVideo": {"_ref": 1, "constraints": {"_uniqueid": ["==", video]}, "unique": True}},
        {"FindFrame": {"_ref": 2, "is_connected_to": {"ref": 1}}},
        {"FindBoundingBox": {"is_connected_to": {"ref": 2}, "coordinates": True,
                             "results": {"list": ["track_id", "ls_annotation_id"]}}}])
    return [b for b in response[2]["FindBoundingBox"]["entities"] if "ls_annotation_id" not in b]


def test_track_segments_and_classifications_become_typed_nodes_on_the_video(api, adb, video, task, target, inline):
    before = predicted_boxes(adb, video)
    aid = inline(annotate, api, task, [track(), segments(), CHOICE, TEXT])

    [entity] = annotations_in(adb, aid)
    assert json.loads(entity["result"])[0]["value"]["sequence"][1]["frame"] == 15
    assert "task_data_url" not in entity
    # The annotation is found from the video (annotation -> video), and the video's clips and frames too.
    [linked] = on_video(adb, video, "FindEntity", with_class="LS_annotation")
    assert linked["ls_annotation_id"] == aid

    boxes = boxes_of(adb, aid)
    # Label Studio frames count from 1, ApertureDB's from 0.
    assert [(b["ls_frame"], b["frame"]["_frame_number"]) for b in boxes] == [(1, 0), (15, 14), (30, 29)]
    assert [b["_coordinates"] for b in boxes] == [{"x": 32, "y": 48, "width": 80, "height": 30},
                                                  {"x": 128, "y": 48, "width": 80, "height": 30},
                                                  {"x": 224, "y": 48, "width": 80, "height": 30}]
    assert [b["enabled"] for b in boxes] == [True, True, False]  # interpolation flags kept
    assert {(b["track_id"], b["ls_region_id"], b["_label"]) for b in boxes} == {("Uq3nLjQ_XU", "Uq3nLjQ_XU", "car")}
    # Frames 0 and 29 existed (seeded) and are reused; frame 14 did not and was added on the video.
    assert boxes[0]["frame"]["dataset"].startswith(DATASET) and boxes[2]["frame"]["dataset"].startswith(DATASET)
    assert "dataset" not in boxes[1]["frame"]
    numbers = sorted(f["_frame_number"] for f in on_video(adb, video, "FindFrame"))
    assert numbers == sorted([*SEEDED_FRAMES, 14])

    clips = clips_of(adb, aid)
    assert [c["_frame_number_range"] for c in clips] == [{"start": 2, "stop": 4}, {"start": 19, "stop": 19}]
    assert {c["label"] for c in clips} == {"moving"} and {c["ls_region_id"] for c in clips} == {"tl_000001"}
    on_it = {c["_uniqueid"] for c in on_video(adb, video, "FindClip")}
    assert {c["_uniqueid"] for c in clips} <= on_it and len(on_it) == 3 + 2  # seeded clips stay

    classes = {c["ls_from_name"]: c for c in _entities(adb, "LS_classification", aid)}
    assert json.loads(classes["weather"]["labels"]) == ["sunny"] and classes["notes"]["text"] == "two cars"
    response, _ = adb.query([
        {"FindEntity": {"_ref": 1, "with_class": "LS_annotation", "constraints": {"ls_annotation_id": ["==", aid]}}},
        {"FindConnection": {"src": 1, "with_class": "LS_annotation_region", "results": {"count": True}}}])
    assert response[1]["FindConnection"]["count"] == 3 + 2 + 2
    assert predicted_boxes(adb, video) == before, "the seeded prediction boxes are never touched"
    assert target.links.get(annotation_key=aid).state == "exported"


def _entities(adb, cls, aid):
    response, _ = adb.query([{"FindEntity": {"with_class": cls, "constraints": {"ls_annotation_id": ["==", aid]},
                                             "results": {"all_properties": True}}}])
    return response[0]["FindEntity"].get("entities") or []


def test_a_track_is_reassembled_from_apertureDB_alone(api, adb, task, target, inline):
    original = track(frames=((2, 5.0), (9, 12.5), (21, 30.0), (28, 50.0)))
    original["value"]["sequence"][1]["enabled"] = False
    aid = inline(annotate, api, task, [original])

    rebuilt = [{"frame": b["ls_frame"], "enabled": b["enabled"], "time": b["time"]} for b in boxes_of(adb, aid)]
    assert rebuilt == [{k: kf[k] for k in ("frame", "enabled", "time")} for kf in original["value"]["sequence"]]


def test_update_removes_regions_that_no_longer_exist_and_reuses_frames(api, adb, video, task, target, inline):
    aid = inline(annotate, api, task, [track(), track("second", frames=((15, 0.0), (16, 5.0))), segments(), CHOICE])
    assert len(frames_at(adb, video, 14)) == 1, "two tracks on one new frame: one frame node"
    inline(update, api, aid, [track(frames=((15, 50.0), (17, 60.0))), segments(ranges=((7, 9),))])

    boxes = boxes_of(adb, aid)
    assert [(b["ls_frame"], b["_coordinates"]["x"]) for b in boxes] == [(15, 160), (17, 192)]
    assert [c["_frame_number_range"] for c in clips_of(adb, aid)] == [{"start": 6, "stop": 8}]
    assert _entities(adb, "LS_classification", aid) == []
    assert len(frames_at(adb, video, 14)) == 1, "the frame added earlier is found again, not added twice"
    assert len(on_video(adb, video, "FindEntity", with_class="LS_annotation")) == 1  # one video edge


def test_two_annotations_share_the_frames_they_add(api, adb, video, task, target, inline):
    first = inline(annotate, api, task, [track(frames=((13, 1.0),))])
    second = inline(annotate, api, task, [track("other", frames=((13, 2.0),))])
    [frame] = frames_at(adb, video, 12)
    assert [b["frame"]["_uniqueid"] for b in boxes_of(adb, first) + boxes_of(adb, second)] == [frame["_uniqueid"]] * 2


@pytest.mark.parametrize("can_delete", [True, False])
def test_delete(api, adb, project, video, task, inline, can_delete):
    create_target(api, project, adb, can_delete_objects=can_delete)
    aid = inline(annotate, api, task, [track(), segments()])
    inline(delete, api, aid)
    if can_delete:
        assert annotations_in(adb, aid) == [] and boxes_of(adb, aid) == [] and clips_of(adb, aid) == []
    else:
        assert len(boxes_of(adb, aid)) == 3 and len(clips_of(adb, aid)) == 2
    assert count(adb, "FindVideo", constraints={"_uniqueid": ["==", video]}) == 1
    assert len(on_video(adb, video, "FindClip")) == 3 + (0 if can_delete else 2)


def test_sync_writes_many_video_annotations_in_one_transaction(api, adb, project, video, inline):
    """A target Sync batches annotations; two of them add the same new frame in one transaction."""
    from tasks.models import Annotation

    tasks = [video_task(project, adb, video) for _ in range(3)]
    Annotation.objects.bulk_create([Annotation(task=t, project=project, result=[track(frames=((12, 1.0 + i),)),
                                                                                  segments()])
                                    for i, t in enumerate(tasks)])
    target = create_target(api, project, adb)
    target.refresh_from_db()
    assert target.status == "completed" and target.meta["exports"]["exported"] == 3
    assert len(frames_at(adb, video, 11)) == 1
    assert count(adb, "FindClip", constraints={"ls_project_id": ["==", project.id]}) == 6


def test_video_outside_this_instance_is_exported_as_entities(api, adb, project, target, inline):
    from tasks.models import Task

    task = Task.objects.create(project=project, data={"video": "https://example.com/clip.webm"})
    aid = inline(annotate, api, task, [track(), segments(), CHOICE])
    [entity] = annotations_in(adb, aid)
    assert entity["task_data_url"] == "https://example.com/clip.webm"
    keyframes = sorted(_entities(adb, "LS_video_keyframe", aid), key=lambda k: k["ls_frame"])
    assert [(k["ls_frame"], k["x"], k["enabled"]) for k in keyframes] == [(1, 10.0, True), (15, 40.0, True),
                                                                         (30, 70.0, False)]
    ranges = sorted(_entities(adb, "LS_timeline_range", aid), key=lambda r: r["ls_start"])
    assert [(r["ls_start"], r["ls_end"]) for r in ranges] == [(3, 5), (20, 20)]
    assert boxes_of(adb, aid) == [] and clips_of(adb, aid) == []
    assert target.links.get(annotation_key=aid).state == "exported"


def test_video_deleted_from_apertureDB_still_exports_the_annotation(api, adb, video, task, target, inline):
    adb.query([{"DeleteVideo": {"constraints": {"_uniqueid": ["==", video]}}}])
    aid = inline(annotate, api, task, [track(), segments()])
    assert len(annotations_in(adb, aid)) == 1
    assert len(_entities(adb, "LS_video_keyframe", aid)) == 3 and len(_entities(adb, "LS_timeline_range", aid)) == 2
    assert target.links.get(annotation_key=aid).state == "exported"


@pytest.mark.parametrize("bad, error", [
    ({**track(), "value": {**track()["value"], "sequence": []}}, "value.sequence must be a non-empty list"),
    (segments(ranges=((9, 2),)), "value.ranges[0] must have frame numbers 1 <= start <= end"),
])
def test_malformed_video_region_is_recorded_and_others_still_export(api, adb, task, target, inline, bad, error):
    bad_id = inline(annotate, api, task, [bad])
    good_id = inline(annotate, api, task, [track()])
    link = target.links.get(annotation_key=bad_id)
    assert link.state == "failed" and error in link.last_error
    assert annotations_in(adb, bad_id) == [] and len(boxes_of(adb, good_id)) == 3


@pytest.mark.django_db(transaction=True)
def test_stalled_writer_cannot_overwrite_a_newer_video_version(api, adb, project, video, settings, stalled_writer):
    """Worker A stalls before writing version 1; worker B writes version 2; A's late write must lose."""
    from django.test import Client
    from tasks.models import Annotation

    settings.APERTUREDB_EXPORT_LEASE_SECONDS = 0
    task = video_task(project, adb, video)
    target = create_target(api, project, adb)
    stalled_writer.start(annotate, Client(HTTP_AUTHORIZATION=api.defaults["HTTP_AUTHORIZATION"]), task,
                         [track(frames=((3, 10.0),)), segments(ranges=((1, 2),))])
    aid = Annotation.objects.get(task=task).id
    update(api, aid, [track(frames=((4, 60.0),))])
    assert target.links.get().state == "exported"

    stalled_writer.release()
    assert [(b["ls_frame"], b["_coordinates"]["x"]) for b in boxes_of(adb, aid)] == [(4, 192)]
    assert clips_of(adb, aid) == []
    assert frames_at(adb, video, 2) == [], "the late write added nothing, not even its frame"
    assert target.links.get().state == "exported"


def test_accepted_prediction_track_and_clip_get_edges_and_stay_untouched(api, adb, video, task, target, inline):
    """Regions accepted from the video's predictions keep the ids the source storage gave them (a track
    by its ``track_id``, a segment by its clip): each keyframe box on a frame where the predicted track has
    a box, and each clip, gets an edge to that prediction, which is left as it was."""
    from ls_aperturedb.source.mapping import _region_id

    [enter] = [c for c in on_video(adb, video, "FindClip") if c["label"] == "enter"]
    before = predicted_boxes(adb, video)
    accepted = track(_region_id("track_v0-t0"), frames=((1, 2.0), (6, 20.0), (8, 30.0)))
    aid = inline(annotate, api, task, [accepted, segments(_region_id(enter["_uniqueid"]), ((1, 12),), "enter")])

    response, _ = adb.query([
        {"FindBoundingBox": {"_ref": 1, "constraints": {"ls_annotation_id": ["==", aid]}}},
        {"FindBoundingBox": {"is_connected_to": {"ref": 1, "connection_class": "LS_region_prediction"},
                             "uniqueids": True, "results": {"list": ["track_id", "ls_annotation_id"]}}},
        {"FindClip": {"_ref": 2, "constraints": {"ls_annotation_id": ["==", aid]}}},
        {"FindClip": {"is_connected_to": {"ref": 2, "connection_class": "LS_region_prediction"},
                      "uniqueids": True, "results": {"all_properties": True}}}])
    linked = response[1]["FindBoundingBox"]["entities"]
    # Label Studio frames 1 and 6 are ApertureDB frames 0 and 5, where the predicted track has boxes; 8 is not
    assert [b.get("track_id") for b in linked] == ["v0-t0", "v0-t0"] and not any("ls_annotation_id" in b for b in linked)
    assert response[3]["FindClip"]["entities"] == [enter]
    assert predicted_boxes(adb, video) == before
