"""Pure translation of an ApertureDB video, its clips and its boxes on frames into Label Studio task
data and one prediction (``TimelineLabels`` ranges and ``VideoRectangle`` tracks).

No database, no network: a :class:`VideoRecord` in, dicts out, and the sync's ``Report`` of what was not
a plain success. The export of video annotations uses the same frame arithmetic (:func:`ls_frame`,
:func:`adb_frame`), so a round trip lands on the same frames.

Frame numbers. ApertureDB numbers frames from 0 (docs: query_language/Reference/shared_command_parameters/
video_position, "zero-based frame number"; a clip's ``frame_number_range`` ``stop`` is inclusive).
Label Studio numbers them from 1 (web/libs/editor/src/tags/object/Video/Video.js ``fullFrameRange``
``{start: 1, end: length}``; VideoCanvas ``goToFrame(f)`` seeks to ``f / frameRate``), and
HumanSignal's own tracker backend writes ApertureDB-style frame index ``i`` as ``"frame": i + 1``,
``"time": (i + 1) * duration / frames_count`` (label-studio-ml-backend
examples/yolo/control_models/video_rectangle.py). So Label Studio frame = ApertureDB frame + 1, and a
keyframe's ``time`` is that Label Studio frame divided by the video's ``_fps``.

Region shapes are the SDK's (label_studio_sdk/label_interface/control_tags.py ``VideoRectangleValue``:
``framesCount``, ``duration``, ``sequence`` of ``{frame, time, x, y, width, height, rotation}`` in percent
of the frame, ``labels``; ``TimelineLabelsValue``: ``ranges`` of ``{start, end}``, ``timelinelabels``).
A track's last keyframe has ``enabled: false`` (the lifespan ends there), as that backend does.
"""
import math
from collections import defaultdict
from dataclasses import dataclass, field

from ls_aperturedb.labeling_config import VideoTarget
from ls_aperturedb.source import mapping as image_mapping
from ls_aperturedb.source.mapping import _region_id, _score, percent_box, validate_regions

# System properties of a video (Cookbook notebooks/simple/Videos.ipynb, recorded FindVideo reply).
VIDEO_PROPERTIES = ("_fps", "_frame_count", "_duration_us", "_frame_width", "_frame_height")
# A clip's range, as recorded in Cookbook notebooks/simple/ClipsFrames.ipynb (``_range_type`` 1 = frames)
# and on docs.aperturedata.io .../clip_commands/FindClip (3 = time offsets in microseconds).
RANGE_FRAMES, RANGE_FRACTION, RANGE_TIME = 1, 2, 3
RATE_TOLERANCE = 0.01  # frames per second: 29.97 and 30 differ, 30 and 30.0 do not


@dataclass
class VideoRecord:
    uid: str
    properties: dict  # user properties asked for, and the system properties above
    clips: list = field(default_factory=list)  # FindClip entities
    frames: list = field(default_factory=list)  # FindFrame entities, each with its "boxes" (FindBoundingBox entities)
    annotations: list = field(default_factory=list)  # LS_annotation entities exported for this project


@dataclass(frozen=True)
class VideoMapping:
    storage_id: int
    target: VideoTarget
    model_version: str = "aperturedb"
    properties: tuple = ()  # copied into task data
    clip_label_property: str = "label"
    track_property: str = "track_id"

    @classmethod
    def for_storage(cls, storage, target):
        return cls(storage.id, target, storage.model_version or "aperturedb", tuple(storage.properties or ()),
                   storage.clip_label_property or "label", storage.track_property or "track_id")


def ls_frame(frame_number):
    """Label Studio's frame (from 1) of ApertureDB's ``frame_number`` (from 0)."""
    return int(frame_number) + 1


def adb_frame(frame):
    """ApertureDB's ``frame_number`` (from 0) of Label Studio's frame (from 1)."""
    return max(int(frame) - 1, 0)


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def frame_rate_problem(fps, target):
    """Why regions of a video at ``fps`` would be misaligned in the Video tag (``None`` when they are not).

    Label Studio places keyframes and ranges by the tag's ``frameRate``; a tag that reads it from the task
    data (``frameRate="$fps"``) gets the video's own ``_fps`` there (see :func:`task_data`)."""
    fps = _number(fps)
    if target.frame_rate is None:
        return None if fps and fps > 0 else (
            f"ApertureDB gives no frame rate (_fps) for the video, so the Video tag {target.to_name!r} "
            f"(frameRate=\"${target.frame_rate_key}\") cannot place its regions")
    if fps is None or fps <= 0:
        return None  # nothing to compare with: the tag's rate is the only one known
    if abs(fps - target.frame_rate) <= RATE_TOLERANCE:
        return None
    return (f"the Video tag {target.to_name!r} plays at frameRate {target.frame_rate:g} but ApertureDB has videos "
            f"at {fps:g} fps (_fps), so their clips and boxes would land on the wrong frames; set "
            f"frameRate=\"{fps:g}\" on the Video tag (or frameRate=\"$fps\", which the sync fills from each "
            f"video's _fps) in Settings → Labeling Interface")


def task_data(record, mapping):
    """``{video key: aperturedb://<storage>/<uid>, chosen properties..., frame-rate key: _fps}``."""
    target = mapping.target
    data = image_mapping.task_data(record, mapping)
    fps = _number(record.properties.get("_fps"))
    if target.frame_rate_key and fps and target.frame_rate_key != target.data_key:
        data[target.frame_rate_key] = fps
    return data


def clip_range(clip, fps, frame_count):
    """``(first, last)`` ApertureDB frame numbers (inclusive) of a clip, or ``None`` if unknown."""
    frames = clip.get("_frame_number_range")
    if isinstance(frames, dict) and _number(frames.get("start")) is not None and _number(frames.get("stop")) is not None:
        return int(frames["start"]), int(frames["stop"])
    kind, start, stop = clip.get("_range_type"), _number(clip.get("_range_start")), _number(clip.get("_range_stop"))
    if start is None or stop is None:
        return None
    if kind == RANGE_FRAMES:
        return int(start), int(stop)
    if kind == RANGE_TIME and fps:
        return int(round(start * fps / 1e6)), int(round(stop * fps / 1e6))
    if kind == RANGE_FRACTION and frame_count:
        last = max(int(frame_count) - 1, 0)
        return int(round(start * last)), int(round(stop * last))
    return None


def _timeline(record, mapping, report, fps, frame_count):
    control, target = mapping.target.timeline, mapping.target
    labelled = [c for c in record.clips if c.get(mapping.clip_label_property) not in (None, "")]
    if len(labelled) < len(record.clips):
        report.withheld[f"clips without a {mapping.clip_label_property!r} property"] += len(record.clips) - len(labelled)
    if labelled and control is None:
        report.regions_without_control["clip"] += len(labelled)
        report.explain(f"video {record.uid}: {len(labelled)} labelled clip(s) but no TimelineLabels bound to "
                       f"Video {target.to_name}")
        return [], []
    regions, scores = [], []
    for clip in labelled:
        span = clip_range(clip, fps, frame_count)
        if span is None:
            report.withheld["clips without a frame range"] += 1
            continue
        label = str(clip[mapping.clip_label_property])
        if label not in control.labels:
            report.labels_not_in_config[label] += 1
        region = {"id": _region_id(clip.get("_uniqueid")), "from_name": control.name, "to_name": target.to_name,
                  "type": "timelinelabels",
                  "value": {"ranges": [{"start": ls_frame(span[0]), "end": ls_frame(span[1])}],
                            "timelinelabels": [label]}}
        score = _score(clip)
        if score is not None:
            region["score"] = score
            scores.append(score)
        regions.append(region)
    return regions, scores


def _keyframe(frame_number, box, width, height, fps):
    frame = ls_frame(frame_number)
    return {"frame": frame, "enabled": True, "rotation": 0, "time": frame / fps,
            **percent_box(box["_coordinates"], width, height)}


def _tracks(record, mapping, report, fps, frame_count, duration):
    """Boxes on frames as VideoRectangle regions: one per value of the track property, else one per box."""
    control, target = mapping.target.rectangles, mapping.target
    boxes = [(frame.get("_frame_number"), box) for frame in record.frames for box in frame.get("boxes") or ()]
    if not boxes:
        return [], []
    if control is None:
        report.regions_without_control["box on a frame"] += len(boxes)
        report.explain(f"video {record.uid}: {len(boxes)} box(es) on its frames but no VideoRectangle bound to "
                       f"Video {target.to_name}")
        return [], []
    width, height = _number(record.properties.get("_frame_width")), _number(record.properties.get("_frame_height"))
    if not width or not height:
        report.withheld["boxes on frames of a video without _frame_width/_frame_height"] += len(boxes)
        return [], []
    groups = defaultdict(list)
    for n, (frame_number, box) in enumerate(boxes):
        if _number(frame_number) is None or not isinstance(box.get("_coordinates"), dict):
            report.withheld["boxes without a frame number or coordinates"] += 1
            continue
        track = box.get(mapping.track_property)
        key = ("track", str(track)) if track not in (None, "") else ("box", box.get("_uniqueid", n))
        groups[key].append((int(frame_number), box))
    regions, scores = [], []
    for (kind, name), members in groups.items():
        members.sort(key=lambda item: item[0])
        sequence = [_keyframe(number, box, width, height, fps) for number, box in members]
        sequence[-1]["enabled"] = False
        labels = list(dict.fromkeys(str(b["_label"]) for _, b in members if b.get("_label") not in (None, "")))
        for label in labels:
            if label not in control.labels:
                report.labels_not_in_config[label] += 1
        region_id = (_region_id(f"track_{name}") if kind == "track" else _region_id(members[0][1].get("_uniqueid")))
        value = {"framesCount": int(frame_count) if frame_count else sequence[-1]["frame"],
                 "duration": duration, "sequence": sequence, "labels": labels}
        region = {"id": region_id, "from_name": control.name, "to_name": target.to_name, "type": "videorectangle",
                  "value": value}
        box_scores = [s for s in (_score(b) for _, b in members) if s is not None]
        if box_scores:
            region["score"] = sum(box_scores) / len(box_scores)
            scores.extend(box_scores)
        regions.append(region)
    return regions, scores


def prediction(record, mapping, report):
    """The video's labelled clips and boxes on frames as one prediction (``None`` when there is none, or
    when its frame rate does not match the Video tag's: then the report says so)."""
    if not record.clips and not any(frame.get("boxes") for frame in record.frames):
        return None
    props = record.properties
    fps = _number(props.get("_fps"))
    problem = frame_rate_problem(fps, mapping.target)
    if problem is not None:
        report.withheld["videos whose frame rate differs from the Video tag's"] += 1
        report.error(f"Regions of videos at {f'{fps:g}' if fps else 'an unknown'} fps were not imported as predictions: {problem}; then delete "
                     f"those tasks and sync again")
        return None
    rate = fps or mapping.target.frame_rate
    frame_count = _number(props.get("_frame_count"))
    duration_us = _number(props.get("_duration_us"))
    duration = duration_us / 1e6 if duration_us else (frame_count / rate if frame_count else 0.0)
    ranges, range_scores = _timeline(record, mapping, report, rate, frame_count)
    tracks, track_scores = _tracks(record, mapping, report, rate, frame_count, duration)
    result = ranges + tracks
    if not result:
        return None
    pred = {"model_version": mapping.model_version, "result": result}
    scores = range_scores + track_scores
    if scores:
        pred["score"] = sum(scores) / len(scores)
    return pred


def check_prediction(interface, pred, record, mapping, report):
    """``validate_prediction`` over the regions whose labels the config knows; failures are counted."""
    known = {c.name: c.labels for c in (mapping.target.rectangles, mapping.target.timeline) if c is not None}
    attr = {"videorectangle": "labels", "timelinelabels": "timelinelabels"}
    checked = [r for r in pred["result"] if set(r["value"].get(attr[r["type"]], ())) <= known.get(r["from_name"], set())]
    if not checked:
        return True
    return validate_regions(interface, pred, checked, report, f"video {record.uid}")
