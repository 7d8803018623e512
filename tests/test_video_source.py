"""Videos and key frames as tasks, through the HTTP API (inline sync) and a real Celery worker: predictions
from clips and boxes on frames, the media kind checked against the labeling config, the frame-rate check,
incremental sync, tombstones and sync_deletions."""
import pytest

from aperturedb_emulator.sample_media import SHAPES, clip_ranges, shape_box
from tests.fixtures.labelstudio import make_project
from tests.source_helpers import API, create, sync, wait_status
from tests.video_source_helpers import (FPS, FRAME_CONFIG, FRAMES, HEIGHT, KEYFRAMES, VIDEO_CONFIG, WIDTH, add_videos,
                                 dataset)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def video_project(user):
    return make_project(user, VIDEO_CONFIG.format(rate=FPS), "Video")


def _videos(api, project, adb, name, **fields):
    return create(api, project, adb, media_kind="videos", constraints={"dataset": ["==", name]}, **fields)


def test_videos_become_tasks_with_timeline_and_track_predictions(api, video_project, adb):
    name = dataset()
    uids = add_videos(adb, name, 2)
    storage = _videos(api, video_project, adb, name, properties=["name", "index"], model_version="tracker-1")
    result = sync(api, storage["id"])
    assert result["status"] == "completed", result
    assert result["meta"]["tasks_created"] == 2 and result["meta"]["predictions_created"] == 2
    assert result["meta"]["labels_not_in_config"] == {} and result["meta"]["invalid_predictions"] == 0
    tasks = list(video_project.tasks.order_by("id"))
    assert sorted(t.data["video"] for t in tasks) == sorted(f"aperturedb://{storage['id']}/{u}" for u in uids)
    task = next(t for t in tasks if t.data["video"].endswith(uids[0]))
    assert (task.data["name"], task.data["index"]) == (f"{name}-0", 0)

    prediction = task.predictions.get()
    assert prediction.model_version == "tracker-1" and prediction.score == pytest.approx(0.9)
    ranges = [r for r in prediction.result if r["type"] == "timelinelabels"]
    # ApertureDB frames are numbered from 0, Label Studio's from 1; the clips' stop frames are inclusive
    assert sorted((r["value"]["timelinelabels"][0], r["value"]["ranges"][0]["start"], r["value"]["ranges"][0]["end"])
                  for r in ranges) == sorted((label, start + 1, stop + 1) for label, start, stop in clip_ranges(FRAMES))
    assert {(r["from_name"], r["to_name"]) for r in ranges} == {("events", "video")}
    tracks = sorted((r for r in prediction.result if r["type"] == "videorectangle"), key=lambda r: r["value"]["labels"])
    assert [r["value"]["labels"] for r in tracks] == [["car"], ["person"]]  # one track per track_id
    for k, track in enumerate(tracks):
        value = track["value"]
        assert (track["from_name"], track["to_name"], value["framesCount"]) == ("box", "video", FRAMES)
        assert value["duration"] == pytest.approx(FRAMES / FPS)
        assert [kf["frame"] for kf in value["sequence"]] == [n + 1 for n in KEYFRAMES]
        x, y, w, h = shape_box(k, 10, width=WIDTH, height=HEIGHT, frames=FRAMES)
        keyframe = value["sequence"][2]  # ApertureDB frame 10
        assert (keyframe["x"], keyframe["y"]) == (x * 100 / WIDTH, y * 100 / HEIGHT)
        assert (keyframe["width"], keyframe["height"], keyframe["time"]) == (w * 100 / WIDTH, h * 100 / HEIGHT, 11 / FPS)
        assert value["sequence"][-1]["enabled"] is False and value["sequence"][0]["enabled"] is True
    assert SHAPES[0][0] == "car"
    # Label Studio serves the task with its prediction through its own API
    served = api.get(f"/api/tasks/{task.id}").json()
    assert served["data"]["video"].startswith(f"/tasks/{task.id}/resolve/?fileuri=")


def test_labels_missing_from_the_config_are_counted_not_dropped(api, user, adb):
    name = dataset()
    add_videos(adb, name, 1)
    config = VIDEO_CONFIG.format(rate=FPS).replace('<Label value="person"/>', "").replace('<Label value="exit"/>', "")
    project = make_project(user, config, "fewer labels")
    result = sync(api, _videos(api, project, adb, name)["id"])
    assert result["status"] == "completed", result
    assert result["meta"]["labels_not_in_config"] == {"person": 1, "exit": 1}
    kinds = sorted(r["type"] for r in project.tasks.get().predictions.get().result)
    assert kinds == ["timelinelabels"] * 3 + ["videorectangle"] * 2


@pytest.mark.parametrize("kind, config, missing", [
    ("videos", FRAME_CONFIG, "has no Video tag"),
    ("images", VIDEO_CONFIG.format(rate=FPS), "has no Image tag"),
    ("frames", VIDEO_CONFIG.format(rate=FPS), "has no Image tag"),
])
def test_media_kind_that_the_config_cannot_show_is_refused_by_name(api, user, adb, kind, config, missing):
    project = make_project(user, config, "mismatch")
    body = {"project": project.id, "title": "ApertureDB", "media_kind": kind, **adb.storage_fields()}
    for path in (API, f"{API}/validate"):
        response = api.post(path, body, content_type="application/json")
        assert response.status_code == 400, response.content
        message = response.json()["validation_errors"]["media_kind"][0] if "validation_errors" in response.json() \
            else response.json()["media_kind"][0]
        assert missing in message and repr(kind) in message


def _errors(response):
    body = response.json()
    return body.get("validation_errors", body)


def test_frame_rate_mismatch_is_said_on_check_connection_and_in_the_sync_status(api, user, adb):
    name = dataset()
    add_videos(adb, name, 2)
    project = make_project(user, VIDEO_CONFIG.format(rate=24), "24 fps")
    body = {"project": project.id, "media_kind": "videos", "constraints": {"dataset": ["==", name]},
            **adb.storage_fields()}
    check = api.post(f"{API}/validate", body, content_type="application/json")
    assert check.status_code == 400, check.content
    assert "frameRate 24" in _errors(check)["media_kind"][0] and f"{FPS} fps" in _errors(check)["media_kind"][0]

    result = sync(api, _videos(api, project, adb, name)["id"])
    assert result["status"] == "completed_with_errors", result
    assert "frameRate 24" in result["traceback"] and f"at {FPS} fps" in result["traceback"]
    assert result["meta"]["tasks_created"] == 2 and result["meta"]["predictions_created"] == 0
    assert result["meta"]["not_imported"] == {"videos whose frame rate differs from the Video tag's": 2}

    # frameRate="$fps": each task carries its video's own rate, and the regions come
    follows = make_project(user, VIDEO_CONFIG.replace('"{rate}"', '"$fps"'), "follows the video")
    check = api.post(f"{API}/validate", {**body, "project": follows.id}, content_type="application/json")
    assert check.status_code == 200, check.content
    result = sync(api, _videos(api, follows, adb, name)["id"])
    assert result["status"] == "completed" and result["meta"]["predictions_created"] == 2, result
    assert {t.data["fps"] for t in follows.tasks.all()} == {FPS}


def test_resync_tombstones_and_deletions_as_for_images(api, video_project, adb):
    name = dataset()
    uids = add_videos(adb, name, 3)
    storage = _videos(api, video_project, adb, name, sync_deletions=True)
    assert sync(api, storage["id"])["meta"]["tasks_created"] == 3
    uids = add_videos(adb, name, 1, start=3)
    again = sync(api, storage["id"])
    assert (again["meta"]["tasks_created"], again["meta"]["tasks_existed"]) == (1, 3)

    deleted = video_project.tasks.get(data__video=f"aperturedb://{storage['id']}/{uids[0]}")
    assert api.delete(f"/api/tasks/{deleted.id}").status_code == 204
    gone = uids[1]
    adb.query([{"DeleteVideo": {"constraints": {"_uniqueid": ["==", gone]}}}])
    third = sync(api, storage["id"])
    assert third["status"] == "completed", third
    assert (third["meta"]["tasks_created"], third["meta"]["tombstones"], third["meta"]["tasks_deleted"]) == (0, 1, 1)
    assert sorted(t.data["video"].rsplit("/", 1)[1] for t in video_project.tasks.all()) == sorted(uids[2:])


def test_key_frames_become_image_tasks_with_their_boxes(api, user, adb):
    name = dataset()
    add_videos(adb, name, 1)
    project = make_project(user, FRAME_CONFIG, "key frames")
    storage = create(api, project, adb, media_kind="frames", constraints={"dataset": ["==", name]})
    result = sync(api, storage["id"])
    assert result["status"] == "completed", result
    assert result["meta"]["tasks_created"] == len(KEYFRAMES) and result["meta"]["predictions_created"] == len(KEYFRAMES)
    assert result["meta"]["sizes_from_header"] == len(KEYFRAMES)  # a frame's size is its JPEG's
    boxes = [task.predictions.get().result for task in project.tasks.all()]
    assert all(sorted(r["value"]["rectanglelabels"][0] for r in result_) == ["car", "person"] for result_ in boxes)
    assert {(r["original_width"], r["original_height"]) for result_ in boxes for r in result_} == {(WIDTH, HEIGHT)}
    task = project.tasks.first()
    url = api.get(f"/api/tasks/{task.id}").json()["data"]["image"]
    image = api.get(url)
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert b"".join(image.streaming_content)[:3] == b"\xff\xd8\xff"


@pytest.mark.worker
def test_video_sync_runs_on_the_worker_with_progress(api, video_project, adb, celery_worker):
    name = dataset()
    add_videos(adb, name, 4)
    storage = _videos(api, video_project, adb, name, batch_size=2)
    answer = api.post(f"{API}/{storage['id']}/sync", content_type="application/json")
    assert answer.status_code == 200 and answer.json()["status"] in ("queued", "in_progress")
    done = wait_status(api, video_project, storage["id"], {"completed", "completed_with_errors", "failed"})
    assert done["status"] == "completed", (done["traceback"], done["meta"])
    assert done["meta"]["tasks_created"] == 4 and done["meta"]["images_seen"] == 4
    assert video_project.tasks.count() == 4 and all(t.predictions.count() == 1 for t in video_project.tasks.all())
