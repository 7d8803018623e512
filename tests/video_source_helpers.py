"""Helpers for the video tests: seed videos (generated at test time by the emulator's sample_media), configs."""
import uuid

from aperturedb_emulator.sample_media import video_commands

VIDEO_CONFIG = """<View>
  <Video name="video" value="$video" frameRate="{rate}"/>
  <Labels name="objects" toName="video"><Label value="car"/><Label value="person"/></Labels>
  <VideoRectangle name="box" toName="video"/>
  <TimelineLabels name="events" toName="video">
    <Label value="enter"/><Label value="crossing"/><Label value="exit"/>
  </TimelineLabels>
</View>"""
FRAME_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image"><Label value="car"/><Label value="person"/></RectangleLabels>
</View>"""
FPS, FRAMES, WIDTH, HEIGHT = 10, 30, 320, 240
KEYFRAMES = [0, 5, 10, 15, 20, 25, 29]  # video_commands' box_every=5 and the last frame


def dataset():
    """A dataset name of one test's own (a real ApertureDB is not wiped of videos between tests)."""
    return f"video-test-{uuid.uuid4().hex[:8]}"


def add_videos(adb, name, count, start=0, **kwargs):
    """Add ``count`` generated videos (two moving shapes, three labelled clips, tracked boxes every 5
    frames) with ``dataset == name``; return their ``_uniqueid`` in order of ``index``."""
    for i in range(start, start + count):
        options = {"fps": FPS, "frames": FRAMES, "width": WIDTH, "height": HEIGHT, **kwargs}
        query, blobs = video_commands(i, dataset=name, **options)
        adb.query(query, blobs)
    response, _ = adb.query([{"FindVideo": {"constraints": {"dataset": ["==", name]}, "uniqueids": True,
                                            "sort": {"key": "index", "order": "ascending"},
                                            "results": {"list": ["index"]}}}])
    return [e["_uniqueid"] for e in response[0]["FindVideo"]["entities"]]
