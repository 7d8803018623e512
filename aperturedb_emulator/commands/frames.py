"""AddFrame, FindFrame, UpdateFrame, DeleteFrame, and the pixels of frames.

A frame is a position in its video (frame_number, time_offset or time_fraction, stored as given);
its pixels are decoded from the video when asked for ("the time parameter is converted to a frame
number by finding the latest frame that existed at the specified time": docs Reference/
video_commands/frame_commands/AddFrame) and returned as JPEG unless as_format says otherwise
(FindFrame: as_format "jpg" | "png", default "jpg"). Image operations apply to the frame image.
Sources: docs/emulator-evidence.md, "Video, clips, frames".
"""
from ..constraints import parse_properties
from ..errors import ParameterError, QueryError, STATUS_OK
from .. import video_codec
from .base import ADD_PARAMS, Command, DELETE_PARAMS, UPDATE_PARAMS
from .common import (apply_connect, bind_objects, conditional_existing, exists_response, find_with_blobs,
                     targets, update_objects)
from .images import apply_operations, check_operations, encode
from .positions import FRACTION, FRAME, TIME, check_point, check_range, one_of, within
from .videos import (FRAME_TO_VIDEO, MEDIA_FIND, delete_with_boxes, one_video, parent_video,
                     select_media, with_video_ref)

FRAME_CLASS = "_Frame"
POINT_KEYS = {"frame_number": FRAME, "time_offset": TIME, "time_fraction": FRACTION}
IN_RANGE = {"in_frame_number_range": FRAME, "in_time_offset_range": TIME,
            "in_time_fraction_range": FRACTION}
FRAME_FORMATS = ("jpg", "png")


def add_frame(txn, name, p):
    video = one_video(txn, name, p)
    key = one_of(name, p, list(POINT_KEYS), required=True)
    value = check_point(name, key, POINT_KEYS[key], p[key])
    props = parse_properties(p.get("properties", {}))
    # A frame without a label lists "_label": "None" (ClipsFrames.ipynb cell 11, recorded).
    props["_label"] = p.get("label", "None")
    existing = conditional_existing(txn, name, p, FRAME_CLASS)
    if existing:
        return exists_response(txn, p, existing)
    props["_" + key] = p[key] if key != "frame_number" else value
    o = txn.store.add_object(FRAME_CLASS, props)
    o.media = {"kind": POINT_KEYS[key], "value": value}
    txn.store.add_connection(FRAME_TO_VIDEO, o, video, {})
    apply_connect(txn, name, p, o)
    bind_objects(txn, p, [o])
    return {"status": STATUS_OK}


def frame_number(txn, name, frame, video=None):
    """(video, zero-based frame number) of a frame."""
    video = video or parent_video(txn.store, frame, FRAME_TO_VIDEO)
    if video is None:
        raise QueryError(f"{name}: frame {frame.uid} has no video")
    kind, value = frame.media["kind"], frame.media["value"]
    if kind == FRAME:
        return video, value
    pr = video_codec.probe(name, video.blob)
    seconds = value if kind == TIME else value * pr.duration_s
    return video, pr.frame_at_time(seconds)


def frame_images(txn, name, frames):
    """{frame oid: PIL image}, decoding each video once for all its frames."""
    by_video = {}
    for f in frames:
        video, n = frame_number(txn, name, f)
        by_video.setdefault(video.oid, (video, []))[1].append((f, n))
    out = {}
    for video, pairs in by_video.values():
        images = video_codec.decode_frames(name, video.blob, {n for _, n in pairs})
        for f, n in pairs:
            out[f.oid] = images[n]
    return out


def encode_frame(name, img, p, default="jpg"):
    fmt = p.get("as_format", default)
    if fmt not in FRAME_FORMATS:
        raise ParameterError(f"{name}: as_format must be one of jpg, png")
    return encode(apply_operations(name, img, p.get("operations")), fmt)


def frame_region_bytes(txn, name, frame, p):
    """The frame's pixels for a region on it (FindBoundingBox blobs), in the region's as_format
    (default jpg: the frame has no stored format of its own)."""
    img = frame_images(txn, name, [frame])[frame.oid]
    return encode_frame(name, img, p)


def _frame_filter(name, p):
    key = one_of(name, p, list(IN_RANGE), required=False)
    label = p.get("with_label")
    rng = None
    if key is not None:
        kind = IN_RANGE[key]
        rng = (kind,) + check_range(name, key, kind, p[key], need_both=False)
    if rng is None and label is None:
        return None

    def keep(o):
        if label is not None and o.props.get("_label") != label:
            return False
        if rng is None:
            return True
        return o.media["kind"] == rng[0] and within(o.media["value"], rng[1], rng[2])
    return keep


def _extras(p):
    flags = {"frame_numbers": "_frame_number", "time_offsets": "_time_offset",
             "time_fractions": "_time_fraction", "labels": "_label"}
    asked = [key for flag, key in flags.items() if p.get(flag)]

    def extras(o, e):
        for key in asked:
            if key in o.props:
                e[key] = o.props[key]
    return extras, bool(asked)


def find_frame(txn, name, p):
    q = with_video_ref(p, FRAME_TO_VIDEO)
    sel = select_media(txn, name, q, FRAME_CLASS, _frame_filter(name, p))
    extras, wants = _extras(p)

    def encoded_frames(ordered):
        images = frame_images(txn, name, ordered)
        return (encode_frame(name, images[f.oid], p) for f in ordered)
    return find_with_blobs(txn, name, q, sel, encoded_frames, extras, wants_extras=wants)


def delete_frame(txn, name, p):
    """DeleteFrame also deletes the boxes on the frame (as DeleteImage does; an assumption)."""
    items = targets(txn, name, p, FRAME_CLASS)
    for o in items:
        delete_with_boxes(txn.store, o)
    return {"status": STATUS_OK, "count": len(items)}


def _check_find(name, p):
    check_operations(name, p.get("operations", []))
    if "as_format" in p and p["as_format"] not in FRAME_FORMATS:
        raise ParameterError(f"{name}: as_format must be one of jpg, png")


COMMANDS = {
    "AddFrame": Command(add_frame, {**ADD_PARAMS, "video_ref": "int", "label": "str",
                                    "frame_number": "num", "time_offset": "str",
                                    "time_fraction": "num"}, required=("video_ref",)),
    "FindFrame": Command(find_frame, {**MEDIA_FIND, "labels": "bool", "operations": "list",
                                      "as_format": "str", "frame_numbers": "bool", "time_offsets": "bool",
                                      "time_fractions": "bool", **{k: "dict" for k in IN_RANGE}},
                         check=_check_find),
    "UpdateFrame": Command(lambda txn, name, p: update_objects(txn, name, p, FRAME_CLASS), dict(UPDATE_PARAMS)),
    "DeleteFrame": Command(delete_frame, dict(DELETE_PARAMS)),
}
