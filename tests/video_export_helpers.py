"""Video export test helpers: a project with a Video config, videos made at test time and added to
ApertureDB with seeded frames, clips and tracked boxes, tasks as the source storage makes them, and
Label Studio's video region JSON (shapes from web/libs/editor/src/regions/VideoRectangleRegion.js and
TimelineRegion.js)."""
import uuid

from aperturedb_emulator.sample_media import video_commands

VIDEO_CONFIG = """<View>
  <Video name="video" value="$video" frameRate="10"/>
  <VideoRectangle name="box" toName="video"/>
  <Labels name="videoLabels" toName="video"><Label value="car"/><Label value="person"/></Labels>
  <TimelineLabels name="events" toName="video">
    <Label value="enter"/><Label value="crossing"/><Label value="exit"/><Label value="moving"/>
  </TimelineLabels>
  <Choices name="weather" toName="video"><Choice value="sunny"/><Choice value="rain"/></Choices>
  <TextArea name="notes" toName="video"/>
</View>"""
WIDTH, HEIGHT, FRAMES, FPS = 320, 240, 30, 10
DATASET = "export-test"
SEEDED_FRAMES = (0, 5, 10, 15, 20, 25, 29)  # video_commands(box_every=5): every 5th frame and the last


def keyframe(frame, x, enabled=True, **extra):
    return {"frame": frame, "enabled": enabled, "rotation": 0, "x": x, "y": 20.0, "width": 25.0,
            "height": 12.5, "time": (frame - 1) / FPS, **extra}


def track(rid="Uq3nLjQ_XU", frames=((1, 10.0), (15, 40.0), (30, 70.0)), labels=("car",)):
    sequence = [keyframe(f, x) for f, x in frames]
    sequence[-1]["enabled"] = False  # the track ends at its last keyframe
    return {"id": rid, "type": "videorectangle", "from_name": "box", "to_name": "video", "origin": "manual",
            "value": {"framesCount": FRAMES, "duration": FRAMES / FPS, "labels": list(labels),
                      "sequence": sequence}}


def segments(rid="tl_000001", ranges=((3, 5), (20, 20)), label="moving"):
    return {"id": rid, "type": "timelinelabels", "from_name": "events", "to_name": "video", "origin": "manual",
            "value": {"ranges": [{"start": s, "end": e} for s, e in ranges], "timelinelabels": [label]}}


CHOICE = {"id": "ch_video", "type": "choices", "from_name": "weather", "to_name": "video", "origin": "manual",
          "value": {"choices": ["sunny"]}}
TEXT = {"id": "ta_video", "type": "textarea", "from_name": "notes", "to_name": "video", "origin": "manual",
        "value": {"text": ["two cars"]}}


def video_project(user, title="video project"):
    from tests.fixtures.labelstudio import make_project

    return make_project(user, label_config=VIDEO_CONFIG, title=title)


def add_video(adb, i=0):
    """One generated WebM video with clips, frames every 5 frames and two tracked boxes; its _uniqueid.
    Its dataset (also on its seeded frames) is a name of its own: a real ApertureDB keeps videos between tests."""
    name = f"{DATASET}-{uuid.uuid4().hex[:8]}"
    query, blobs = video_commands(i, dataset=name, fps=FPS, width=WIDTH, height=HEIGHT, frames=FRAMES)
    response, _ = adb.query(query, blobs)
    assert isinstance(response, list), response
    response, _ = adb.query([{"FindVideo": {"constraints": {"index": ["==", i], "dataset": ["==", name]},
                                            "results": {"list": ["_uniqueid"]}, "unique": True}}])
    return response[0]["FindVideo"]["entities"][0]["_uniqueid"]


def video_task(project, adb, uid, source=None):
    """A task as a video source storage makes it: ``aperturedb://`` data and an import link."""
    from tasks.models import Task

    from ls_aperturedb.models import ApertureDBImportStorageLink
    from tests.fixtures.export import source_storage

    source = source or source_storage(project, adb)
    task = Task.objects.create(project=project, data={"video": f"aperturedb://{source.id}/{uid}"})
    ApertureDBImportStorageLink.objects.create(task=task, key=uid, storage=source)
    return task


def on_video(adb, uid, command, **params):
    """Entities of ``command`` connected to the video (all properties, unique ids)."""
    response, _ = adb.query([
        {"FindVideo": {"_ref": 1, "constraints": {"_uniqueid": ["==", uid]}, "unique": True}},
        {command: {"is_connected_to": {"ref": 1}, "uniqueids": True, "results": {"all_properties": True},
                   **params}}])
    return response[1][command].get("entities") or []


def boxes_of(adb, annotation_id):
    """The annotation's boxes, each with the frame number it is on."""
    response, _ = adb.query([{"FindBoundingBox": {
        "constraints": {"ls_annotation_id": ["==", annotation_id]}, "coordinates": True, "labels": True,
        "uniqueids": True, "results": {"all_properties": True}}}])
    boxes = response[0]["FindBoundingBox"].get("entities") or []
    for box in boxes:
        response, _ = adb.query([
            {"FindBoundingBox": {"_ref": 1, "constraints": {"_uniqueid": ["==", box["_uniqueid"]]}}},
            {"FindFrame": {"is_connected_to": {"ref": 1}, "uniqueids": True, "results": {"all_properties": True}}}])
        [frame] = response[1]["FindFrame"]["entities"]
        box["frame"] = frame
    return sorted(boxes, key=lambda b: (b["track_id"], b["ls_frame"]))


def clips_of(adb, annotation_id):
    response, _ = adb.query([{"FindClip": {"constraints": {"ls_annotation_id": ["==", annotation_id]},
                                           "uniqueids": True, "results": {"all_properties": True}}}])
    return sorted(response[0]["FindClip"].get("entities") or [], key=lambda c: c["ls_start"])


def frames_at(adb, uid, number):
    return [f for f in on_video(adb, uid, "FindFrame") if f["_frame_number"] == number]
