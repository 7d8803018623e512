"""Pure translation of Label Studio's video regions into ApertureDB commands (``mapping`` does the rest).

What ApertureDB holds for a video annotation (see the README's data model):
    LS_annotation --LS_annotation_video--> _Video
    VideoRectangle: one ``_BoundingBox`` per keyframe, on the video's ``_Frame`` at that number
        (``AddBoundingBox {image_ref: <frame>}``: "reference to an existing image/frame ... allows
        ApertureData Platform to create a connection between the image or frame and the BoundingBox",
        aperturedata.io/docs/commands/AddBoundingBox.html). The frame is found, or added with
        ``AddFrame {video_ref, frame_number}`` (docs.aperturedata.io query_language/Reference/
        video_commands/frame_commands/AddFrame) when the video has none at that number.
    TimelineLabels: one ``_Clip`` per range, ``AddClip {video_ref, frame_number_range}``
        (Reference/video_commands/clip_commands/AddClip; "stop" is inclusive: Reference/
        shared_command_parameters/video_position).
    LS_annotation --LS_annotation_region--> each box and clip.

Label Studio numbers frames from 1 (its Video tag's ``fullFrameRange`` is ``{start: 1, end: length}``,
web/libs/editor/src/tags/object/Video/Video.js); ApertureDB's ``frame_number`` is zero-based
(video_position: "zero-based frame number"). So ApertureDB frame = Label Studio frame - 1.

Every keyframe box keeps the region's id (``ls_region_id``) and ``track_id`` (the same value), its Label
Studio frame, ``enabled`` (Label Studio's interpolation flag: off ends the track's lifespan there),
``time`` and ``rotation``, so the track can be rebuilt from ApertureDB alone. A video that is not in
this instance gets plain entities instead (``LS_video_keyframe``, ``LS_timeline_range``).
"""
import json
from dataclasses import dataclass, field

from ls_aperturedb.target import mapping

VIDEO_CONNECTION = "LS_annotation_video"
# A frame this plugin adds carries this key, so a conditional add finds it again instead of adding a twin.
FRAME_KEY = "ls_frame_key"
KEYFRAME_CLASS = "LS_video_keyframe"  # video not in this instance
RANGE_CLASS = "LS_timeline_range"  # video not in this instance
TRACK = "track_id"
VIDEO_TYPES = ("videorectangle", "timelinelabels")


@dataclass(frozen=True)
class VideoInfo:
    """The task's video in the target instance, as read just before the write."""

    uniqueid: str
    width: int = None  # _frame_width
    height: int = None  # _frame_height
    frames: dict = field(default_factory=dict)  # ApertureDB frame number -> _uniqueid of an existing frame
    # Imported predictions a region may have been accepted from (ids as ``source.video_mapping`` makes them):
    # region id -> clip _uniqueid; (region id, ApertureDB frame number) -> box _uniqueid
    predicted_clips: dict = field(default_factory=dict)
    predicted_boxes: dict = field(default_factory=dict)


class VideoRefs:
    """The video's ``_ref`` and one ``_ref`` per frame within one annotation's commands."""

    def __init__(self, info, video_ref):
        self.info, self.video = info, video_ref
        self._frames = {}

    def frame(self, number, counter):
        """(ref, commands): the frame at ``number``, found or added the first time it is asked for."""
        if number in self._frames:
            return self._frames[number], []
        ref = next(counter)
        self._frames[number] = ref
        existing = self.info.frames.get(number)
        if existing is not None:
            return ref, [{"FindFrame": {"_ref": ref, "constraints": {"_uniqueid": ["==", existing]},
                                        "unique": True}}]
        key = f"{self.info.uniqueid}#{number}"
        return ref, [{"AddFrame": {"_ref": ref, "video_ref": self.video, "frame_number": number,
                                   "properties": {FRAME_KEY: key},
                                   "if_not_found": {FRAME_KEY: ["==", key]}}}]


def find_video(record, counter):
    """(commands, VideoRefs or None): the video lookup and the annotation -> video edge, once per annotation."""
    info = record.video
    if info is None:
        return [], None
    ref = next(counter)
    return [{"FindVideo": {"_ref": ref, "constraints": {"_uniqueid": ["==", info.uniqueid]}, "unique": True}}], \
        VideoRefs(info, ref)


def drop_edge(ann, counter):
    """The annotation's video edge of the previous version (the edge is added again when the video is there)."""
    old = next(counter)
    return [{"FindConnection": {"_ref": old, "with_class": VIDEO_CONNECTION, "src": ann}},
            {"DeleteConnection": {"ref": old}}]


def video_edge(ann, refs):
    return {"AddConnection": {"class": VIDEO_CONNECTION, "src": ann, "dst": refs.video}}


def delete_regions(key):
    """Clips and fallback entities of an annotation (its boxes go with the image boxes)."""
    return [{"DeleteClip": {"constraints": key}},
            *({"DeleteEntity": {"with_class": cls, "constraints": key}} for cls in (KEYFRAME_CLASS, RANGE_CLASS))]


def _prediction_link(kind, uniqueid, region_ref, counter):
    """Our box or clip -> the imported prediction it was accepted from (``mapping``'s LS_region_prediction)."""
    if uniqueid is None:
        return []
    ref = next(counter)
    return [{f"Find{kind}": {"_ref": ref, "constraints": {"_uniqueid": ["==", uniqueid]}, "unique": True}},
            {"AddConnection": {"class": mapping.PREDICTION_CONNECTION, "src": region_ref, "dst": ref}}]


def _video_builder(build):
    build.video = True  # mapping.upsert hands it the VideoRefs instead of an image ref
    return build


def _frame_of(keyframe, index):
    frame = keyframe.get("frame")
    if not isinstance(frame, int) or isinstance(frame, bool) or frame < 1:
        raise ValueError(f"value.sequence[{index}].frame must be a frame number from 1, got {frame!r}")
    return frame


def _rectangle(record, item, base):
    value = item["value"]
    sequence = value.get("sequence")
    if not isinstance(sequence, list) or not sequence:
        raise ValueError("value.sequence must be a non-empty list of keyframes")
    labels = mapping._labels(value, "labels")
    keyframes = []
    for i, keyframe in enumerate(sequence):
        if not isinstance(keyframe, dict):
            raise ValueError(f"value.sequence[{i}] must be an object")
        frame = _frame_of(keyframe, i)
        box = [float(keyframe[k]) for k in ("x", "y", "width", "height")]
        props = {**base, TRACK: base["ls_region_id"], "labels": json.dumps(labels), "ls_frame": frame,
                 "enabled": bool(keyframe.get("enabled", True))}
        for extra in ("time", "rotation"):
            if mapping._number(keyframe.get(extra)):
                props[extra] = float(keyframe[extra])
        keyframes.append((frame, box, props))

    def build(ann, refs, counter):
        commands = []
        for frame, (x, y, w, h), props in keyframes:
            ref = next(counter)
            if refs is None:
                commands += [{"AddEntity": {"class": KEYFRAME_CLASS, "_ref": ref, "properties": {
                    **props, "x": x, "y": y, "width": w, "height": h}}}, mapping._region_edge(ann, ref)]
                continue
            width, height = refs.info.width, refs.info.height
            if not mapping._number(width) or not mapping._number(height):
                raise mapping.MalformedAnnotation("the video has no _frame_width/_frame_height in ApertureDB")
            rect = {"x": round(x * width / 100), "y": round(y * height / 100),
                    "width": max(1, round(w * width / 100)), "height": max(1, round(h * height / 100))}
            frame_ref, find = refs.frame(frame - 1, counter)
            source = refs.info.predicted_boxes.get((props["ls_region_id"], frame - 1))
            commands += [*find, {"AddBoundingBox": {"_ref": ref, "image_ref": frame_ref, "rectangle": rect,
                                                    "label": ",".join(map(str, labels)), "properties": props}},
                         mapping._region_edge(ann, ref), *_prediction_link("BoundingBox", source, ref, counter)]
        return commands
    return _video_builder(build)


def _ranges(value):
    ranges = value.get("ranges")
    if not isinstance(ranges, list) or not ranges:
        raise ValueError("value.ranges must be a non-empty list of {start, end}")
    out = []
    for i, span in enumerate(ranges):
        start, end = (span.get(k) if isinstance(span, dict) else None for k in ("start", "end"))
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in (start, end)) or end < start:
            raise ValueError(f"value.ranges[{i}] must have frame numbers 1 <= start <= end, got {span!r}")
        out.append((start, end))
    return out


def _timeline(record, item, base):
    value = item["value"]
    labels = mapping._labels(value, "timelinelabels")
    ranges = _ranges(value)
    props = {**base, "labels": json.dumps(labels), "label": ",".join(map(str, labels))}

    def build(ann, refs, counter):
        commands = []
        for start, end in ranges:
            ref = next(counter)
            span = {"ls_start": start, "ls_end": end}
            if refs is None:
                commands.append({"AddEntity": {"class": RANGE_CLASS, "_ref": ref, "properties": {**props, **span}}})
            else:
                commands.append({"AddClip": {"_ref": ref, "video_ref": refs.video,
                                             "frame_number_range": {"start": start - 1, "stop": end - 1},
                                             "properties": {**props, **span}}})
                commands += _prediction_link("Clip", refs.info.predicted_clips.get(props["ls_region_id"]), ref,
                                             counter)
            commands.append(mapping._region_edge(ann, ref))
        return commands
    return _video_builder(build)


BUILDERS = {"videorectangle": _rectangle, "timelinelabels": _timeline}
mapping.BUILDERS.update(BUILDERS)
