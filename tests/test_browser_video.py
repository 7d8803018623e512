"""A video task in headless Chromium (Debian's, never a downloaded browser): a generated WebM video in
ApertureDB with labelled clips and tracked boxes, synced by a real worker into a "Video" project; the
labeling page plays the video through the resolve proxy and shows the predicted tracks and timeline
segments; the annotator moves the car's box on the first frame and submits; the worker writes the
annotation back and ApertureDB holds the moved box on frame 0 and the clips (checked with the SDK).

Screenshots go to ``build/screenshots/`` (or ``LS_APERTUREDB_SCREENSHOTS``).
"""
import json

import pytest

from aperturedb_emulator.sample_media import clip_ranges, shape_box
from tests.fixtures.export import create_target
from tests.fixtures.labelstudio import make_project
from tests.source_helpers import create, sync
from tests.test_browser_flow import page, shot, wait_for  # noqa: F401  (page is a fixture)
from tests.video_export_helpers import boxes_of, clips_of
from tests.video_source_helpers import FPS, FRAMES, HEIGHT, VIDEO_CONFIG, WIDTH, add_videos, dataset

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def _regions_listed(page):
    """Label names shown next to regions in the labeling page's region list (outliner)."""
    return page.evaluate("() => document.body.innerText")


def test_video_task_shows_predictions_and_the_edit_reaches_apertureDB(live_server, celery_worker, adb, user, api,
                                                                     page):  # noqa: F811
    name = dataset()
    add_videos(adb, name, 1)
    project = make_project(user, VIDEO_CONFIG.format(rate=FPS), "Video")
    source = create(api, project, adb, title="Videos", media_kind="videos", constraints={"dataset": ["==", name]})
    sync(api, source["id"])
    task = wait_for(lambda: project.tasks.first(), what="the video task synced by the worker")
    prediction = wait_for(lambda: task.predictions.first(), what="the prediction")
    create_target(api, project, adb, can_delete_objects=True)
    car = next(r for r in prediction.result if r["type"] == "videorectangle" and r["value"]["labels"] == ["car"])
    base = live_server.url

    page.goto(f"{base}/user/login/")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", "pytest-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/user/login" not in url)

    # The task: the video plays from ApertureDB (through the resolve proxy, with Range requests).
    page.goto(f"{base}/projects/{project.id}/data?task={task.id}")
    page.wait_for_selector("video", state="attached")  # Label Studio draws its frames on a canvas
    wait_for(lambda: page.evaluate("() => { const v = document.querySelector('video');"
                                   " return v && v.readyState >= 2 && v.videoWidth; }") == WIDTH,
             what="the video decoded in the browser")
    page.wait_for_timeout(1500)
    shot(page, "video-01-task-with-predictions")
    # The predicted tracks and the timeline segments are listed (region list and timeline).
    text = _regions_listed(page)
    for label in ("car", "person", *(label for label, _, _ in clip_ranges(FRAMES))):
        assert label in text, f"{label!r} not shown on the labeling page"

    # Move the car's box on the first frame by dragging its centre, then submit.
    stage = page.locator(".konvajs-content").first
    stage.wait_for()
    area = stage.bounding_box()
    x, y, w, h = shape_box(0, 0, width=WIDTH, height=HEIGHT, frames=FRAMES)
    # The frame is drawn centred on the stage, at its own size when it fits (as in the screenshot).
    scale = min(1, area["width"] / WIDTH, area["height"] / HEIGHT)
    left, top = area["x"] + (area["width"] - WIDTH * scale) / 2, area["y"] + (area["height"] - HEIGHT * scale) / 2
    cx, cy = left + (x + w / 2) * scale, top + (y + h / 2) * scale
    page.mouse.click(cx, cy)
    page.wait_for_timeout(300)
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + WIDTH * scale * 0.15, cy, steps=10)
    page.mouse.up()
    page.wait_for_timeout(500)
    shot(page, "video-02-box-moved")
    page.get_by_role("button", name="Submit").click()
    annotation = wait_for(lambda: task.annotations.first(), what="the submitted annotation")
    moved = next(r for r in annotation.result if r["id"] == car["id"])
    first = moved["value"]["sequence"][0]
    assert first["frame"] == 1 and first["x"] > car["value"]["sequence"][0]["x"] + 5, "the box did not move"

    # The worker writes it back: the car's box on frame 0 is where the annotator put it; the clips are there.
    boxes = wait_for(lambda: [b for b in boxes_of(adb, annotation.id) if b["track_id"] == car["id"]] or None,
                     timeout=30, what="the annotation's boxes in ApertureDB")
    shot(page, "video-03-submitted")
    on_first = next(b for b in boxes if b["ls_frame"] == 1)
    assert on_first["frame"]["_frame_number"] == 0
    assert on_first["_coordinates"]["x"] == round(first["x"] * WIDTH / 100) > x
    assert len(boxes) == len(moved["value"]["sequence"])
    clips = clips_of(adb, annotation.id)
    assert sorted(c["label"] for c in clips) == sorted(label for label, _, _ in clip_ranges(FRAMES))
    response, _ = adb.query([{"FindEntity": {"with_class": "LS_annotation", "results": {"list": ["result"]},
                                             "constraints": {"ls_annotation_id": ["==", annotation.id]}}}])
    assert json.loads(response[0]["FindEntity"]["entities"][0]["result"]) == annotation.result
