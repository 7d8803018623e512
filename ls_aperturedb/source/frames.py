"""The ``frames`` kind: each ApertureDB key frame (``_Frame``) becomes an image task, for teams that label
key frames; its boxes become ``RectangleLabels`` predictions as an image's do.

Everything is the ``images`` kind with ``FindFrame`` in place of ``FindImage``: FindFrame takes the same
``constraints``, ``batch``, ``sort``, ``is_connected_to``, ``group_by_source``, ``results`` and ``blobs``,
and returns a frame's pixels as an encoded image, JPEG unless ``as_format`` says otherwise
(docs.aperturedata.io query_language/Reference/video_commands/frame_commands/FindFrame; recorded reply
with ``_frame_number`` in Cookbook notebooks/simple/ClipsFrames.ipynb). Boxes hang off a frame as off an
image (ApertureData's AddBoundingBox page: "reference to an existing image/frame"), found with
``is_connected_to`` and no connection class. Polygons are not asked for: no source shows one on a frame.
A frame has no size property, so its size is read from the header of its JPEG.
"""
from dataclasses import replace

from ls_aperturedb.source.images import ImageKind
from ls_aperturedb.source.query import ImageQuery

FRAME_COMMAND = "FindFrame"


def frame_query(storage):
    return replace(ImageQuery.for_storage(storage), command=FRAME_COMMAND, region_commands=("FindBoundingBox",))


class FrameKind(ImageKind):
    def make_query(self, storage):
        return frame_query(storage)


def fetch_frame(storage, uid):
    """The frame's pixels as ApertureDB encodes them (FindFrame ``blobs: true``: JPEG by default), or ``None``."""
    response, blobs = storage.get_pool().query([{FRAME_COMMAND: {
        "constraints": {"_uniqueid": ["==", uid]}, "blobs": True, "results": {"list": ["_uniqueid"]}}}])
    entities = response[0][FRAME_COMMAND].get("entities") or []
    if not entities or not blobs:
        return None
    return blobs[entities[0].get("_blob_index", 0)]
