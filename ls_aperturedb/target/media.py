"""What each annotation's task shows in the target instance: an image, a video, or nothing there.

``records`` turns Label Studio annotations into plain :class:`mapping.AnnotationRecord`s (the image or
video ``_uniqueid`` when it lives in the target instance); ``with_known_nodes`` then reads ApertureDB
once per batch, before the write, so the write transaction never refers to a missing node: images and
videos that are gone are dropped (their annotations are written without the edge), a video's frame
size and existing frames are filled in, and imported prediction boxes/polygons are found.
"""
import re
import uuid
from dataclasses import replace

from label_studio_sdk.label_interface import LabelInterface

from ls_aperturedb.models import ApertureDBImportStorage
from ls_aperturedb.ops.installation import current as current_installation
from ls_aperturedb.source.mapping import _region_id
from ls_aperturedb.target import mapping, video

URI = re.compile(r"^aperturedb://(\d+)/(.+)$")
TRACK_PROPERTY = "track_id"  # the source storage's default track property
RING = re.compile(r"_\d+$")
PREDICTION_PREFIX = _region_id("")  # every id source.mapping gives a prediction region starts so


def identity(unique_id, annotation_id):
    """An annotation's identity in ApertureDB: Label Studio's ``Annotation.unique_id``, which the
    source storage gives back to an annotation it re-imports (so a round trip updates the same node).
    An annotation without one (older rows) gets a name derived from its id."""
    return str(unique_id or uuid.uuid5(uuid.NAMESPACE_URL, f"ls-annotation:{annotation_id}"))


def video_keys(label_config):
    """Task data keys shown by the config's Video tags (``<Video value="$video"/>`` -> ``video``)."""
    try:
        interface = LabelInterface(label_config or "<View></View>")
    except Exception:  # a config Label Studio itself accepted; unparsable here means: no videos
        return (), True
    keys = [(tag.value or "").lstrip("$") for tag in interface.objects if tag.tag == "Video"]
    has_image = any(tag.tag == "Image" for tag in interface.objects)
    return tuple(k for k in keys if k), has_image


def records(storage, annotations):
    """Plain :class:`mapping.AnnotationRecord` for each annotation (media resolved per instance)."""
    if not annotations:
        return []
    resolver = _Resolver(storage.connection_config().instance, storage.project.label_config)
    data_keys = list(storage.project.data_types or {})
    installation = current_installation()
    out = []
    for annotation in annotations:
        task = annotation.task
        kind, uid = resolver.media(task)
        out.append(mapping.AnnotationRecord(
            annotation_id=annotation.id, uid=identity(annotation.unique_id, annotation.id),
            project_id=storage.project_id, task_id=task.id,
            result=annotation.result if annotation.result is not None else [],
            created_at=annotation.created_at, updated_at=annotation.updated_at,
            completed_by=getattr(annotation.completed_by, "email", "") or "",
            lead_time=annotation.lead_time, was_cancelled=annotation.was_cancelled,
            ground_truth=annotation.ground_truth, image_uniqueid=uid if kind == "image" else None,
            video=video.VideoInfo(uid) if kind == "video" else None,
            task_data_url=_data_url(task.data, data_keys), installation=installation))
    return out


class _Resolver:
    """The task's image or video ``_uniqueid`` when it lives in ``instance`` (import link or aperturedb:// URI).

    A value under a Video tag's key is a video; an import link is a video when the config shows
    videos and no image."""

    def __init__(self, instance, label_config):
        self.instance = instance
        self._instances = {}
        self.video_keys, has_image = video_keys(label_config)
        self.link_is_video = bool(self.video_keys) and not has_image

    def _same(self, import_storage_id):
        if import_storage_id not in self._instances:
            source = ApertureDBImportStorage.objects.filter(id=import_storage_id).first()
            try:
                self._instances[import_storage_id] = source is not None and \
                    source.connection_config().instance == self.instance
            except Exception:  # an unparsable key on the source storage: not ours to judge here
                self._instances[import_storage_id] = False
        return self._instances[import_storage_id]

    def _uri(self, value):
        match = URI.match(value) if isinstance(value, str) else None
        if match and self._same(int(match.group(1))):
            return match.group(2)
        return None

    def media(self, task):
        """("image" | "video", _uniqueid) or (None, None)."""
        data = task.data or {}
        for key in self.video_keys:
            uid = self._uri(data.get(key))
            if uid:
                return "video", uid
        link = getattr(task, "io_storages_aperturedbimportstoragelink", None)
        if link is not None and self._same(link.storage_id):
            return ("video" if self.link_is_video else "image"), link.key
        for key, value in data.items():
            uid = self._uri(value)
            if uid and key not in self.video_keys:
                return "image", uid
        return None, None


def _data_url(data, data_keys):
    data = data or {}
    for key in [*data_keys, *data]:
        if isinstance(data.get(key), str):
            return data[key]
    return None


def track_properties(storage):
    """The box properties the project's source storages group tracks by (``track_id`` unless set)."""
    names = ApertureDBImportStorage.objects.filter(project_id=storage.project_id).values_list("track_property",
                                                                                                 flat=True)
    return sorted({TRACK_PROPERTY, *(n for n in names if n)})


def with_known_nodes(query, jobs, track_properties=(TRACK_PROPERTY,)):
    """``jobs`` with their records checked against ApertureDB (one read-only ``query`` for the batch).

    Imported prediction regions carry ids made by ``source.mapping._region_id`` from the node's
    ``_uniqueid`` (polygon rings get a ``_<n>`` suffix); the same rule maps them back here.
    """
    images = sorted({job.record.image_uniqueid for job in jobs if job.record and job.record.image_uniqueid})
    # Only regions accepted from an imported prediction (ids made by ``_region_id``) need its node: the
    # other images' boxes are not read, so an image with thousands of annotations costs nothing here.
    sourced = sorted({job.record.image_uniqueid for job in jobs if job.record and job.record.image_uniqueid
                      and any(_accepted(item) for item in _items(job.record))})
    videos = _video_frames(jobs)
    if not images and not videos:
        return jobs
    commands = []
    if images:  # an image task's image, or a key frame shown as an image (a ``frames`` source storage)
        commands += [{"FindImage": {"constraints": {"_uniqueid": ["in", images]}, "uniqueids": True}},
                     {"FindFrame": {"constraints": {"_uniqueid": ["in", images]}, "uniqueids": True}}]
    if sourced:
        def linked(ref):
            return {"is_connected_to": {"ref": ref}, "group_by_source": True, "uniqueids": True,
                    "results": {"list": ["ls_annotation_id"]}}
        commands += [{"FindImage": {"_ref": 3, "constraints": {"_uniqueid": ["in", sourced]}}},
                     {"FindBoundingBox": linked(3)}, {"FindPolygon": linked(3)},
                     {"FindFrame": {"_ref": 6, "constraints": {"_uniqueid": ["in", sourced]}}},
                     {"FindBoundingBox": linked(6)}]
    tracks = sorted(set(track_properties))
    for uid, (low, high) in videos.items():
        ref = len(commands) + 1
        commands += [{"FindVideo": {"_ref": ref, "constraints": {"_uniqueid": ["==", uid]},
                                    "results": {"list": ["_uniqueid", "_frame_width", "_frame_height"]}}},
                     {"FindFrame": {"_ref": ref + 1, "is_connected_to": {"ref": ref}, "uniqueids": True,
                                    "in_frame_number_range": {"start": low, "stop": high},
                                    "results": {"all_properties": True}}},
                     # the video's clips and the boxes on those frames: predictions a region may come from
                     {"FindClip": {"is_connected_to": {"ref": ref}, "uniqueids": True,
                                   "results": {"list": ["ls_annotation_id"]}}},
                     {"FindBoundingBox": {"is_connected_to": {"ref": ref + 1}, "group_by_source": True,
                                          "uniqueids": True, "results": {"list": ["ls_annotation_id", *tracks]}}}]
    response, _ = query(commands)
    found, frames, predictions = set(), set(), {}
    if images:
        found = {e["_uniqueid"] for e in response[0]["FindImage"].get("entities") or []}
        frames = {e["_uniqueid"] for e in response[1]["FindFrame"].get("entities") or []} - found
    if sourced:
        for item, kind in zip(response[3:7], ("BoundingBox", "Polygon", None, "BoundingBox")):
            groups = (item[f"Find{kind}"].get("entities") or {}) if kind else {}
            for entity in (e for group in groups.values() for e in group):
                if "ls_annotation_id" not in entity:  # a region node of ours is not a prediction
                    predictions[_region_id(entity["_uniqueid"])] = (kind, entity["_uniqueid"])
    infos = _video_infos(response[(2 if images else 0) + (5 if sourced else 0):])
    out = []
    for job in jobs:
        record = job.record
        if record and record.image_uniqueid:
            if record.image_uniqueid in found:
                record = replace(record, prediction_regions=_sources(record, predictions))
            elif record.image_uniqueid in frames:
                record = replace(record, image_command="FindFrame", prediction_regions=_sources(record, predictions))
            else:
                record = replace(record, image_uniqueid=None)  # the image was deleted from ApertureDB
        if record and record.video:
            record = replace(record, video=infos.get(record.video.uniqueid))  # None: deleted from ApertureDB
        out.append(replace(job, record=record) if record is not job.record else job)
    return out


def _video_frames(jobs):
    """{video _uniqueid: (lowest, highest) ApertureDB frame number its keyframes use} for the batch."""
    out = {}
    for job in jobs:
        record = job.record
        if not record or not record.video:
            continue
        numbers = [keyframe["frame"] - 1 for item in _items(record) if item.get("type") == "videorectangle"
                   for keyframe in (item.get("value") or {}).get("sequence") or []
                   if isinstance(keyframe, dict) and isinstance(keyframe.get("frame"), int) and keyframe["frame"] >= 1]
        low, high = out.get(record.video.uniqueid, (None, None))
        if numbers:
            low = min(numbers) if low is None else min(low, *numbers)
            high = max(numbers) if high is None else max(high, *numbers)
        out[record.video.uniqueid] = (low, high)
    return {uid: (low or 0, high if high is not None else 0) for uid, (low, high) in out.items()}


def _video_infos(replies):
    """VideoInfo per video found, from (FindVideo, FindFrame, FindClip, FindBoundingBox) reply groups."""
    infos = {}
    for find_video, find_frame, find_clip, find_box in zip(*(replies[i::4] for i in range(4))):
        entities = find_video["FindVideo"].get("entities") or []
        if not entities:
            continue
        entity = entities[0]
        frames, numbers = {}, {}
        for frame in sorted(find_frame["FindFrame"].get("entities") or [], key=lambda f: str(f.get("_uniqueid"))):
            number = frame.get("_frame_number")
            if isinstance(number, int):
                frames.setdefault(number, frame["_uniqueid"])
                numbers[frame["_uniqueid"]] = number
        clips = {_region_id(c["_uniqueid"]): c["_uniqueid"] for c in find_clip["FindClip"].get("entities") or []
                 if "ls_annotation_id" not in c}
        boxes = {}
        for frame_uid, group in (find_box["FindBoundingBox"].get("entities") or {}).items():
            for box in group:
                if "ls_annotation_id" in box or frame_uid not in numbers:
                    continue
                # as source.video_mapping names a predicted track: by its track property, else by the box
                track = next((box[k] for k in box if k not in ("_uniqueid", "ls_annotation_id")
                              and box[k] not in (None, "")), None)
                region = _region_id(f"track_{track}") if track is not None else _region_id(box["_uniqueid"])
                boxes.setdefault((region, numbers[frame_uid]), box["_uniqueid"])
        infos[entity["_uniqueid"]] = video.VideoInfo(entity["_uniqueid"], entity.get("_frame_width"),
                                                     entity.get("_frame_height"), frames, clips, boxes)
    return infos


def _sources(record, predictions):
    out = {}
    for item in _items(record):
        region = str(item.get("id"))
        source = predictions.get(region) or predictions.get(RING.sub("", region))
        if source is not None and item.get("type") in mapping.SHAPE_TYPES:
            out[region] = source
    return out


def _accepted(item):
    """A region that may have been accepted from an imported prediction box or polygon."""
    return item.get("type") in mapping.SHAPE_TYPES and str(item.get("id", "")).startswith(PREDICTION_PREFIX)


def _items(record):
    return [item for item in record.result if isinstance(item, dict)] if isinstance(record.result, list) else []
