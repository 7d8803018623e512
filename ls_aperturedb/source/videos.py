"""The ``videos`` kind: each ApertureDB video becomes a task; its labelled clips and its boxes on frames
become one prediction (``video_mapping``).

Listing, lookups and paging are the images' (``query.ImageQuery``) with ``FindVideo``, which takes the
same ``constraints``, ``batch``, ``sort``, ``limit``, ``offset`` and ``results``
(docs.aperturedata.io/commands/FindVideo.html). The details of a page are one transaction:

1. ``FindVideo {_ref: 1, constraints: {_uniqueid: in [...]}, results.list: [_uniqueid, _fps, _frame_count,
   _duration_us, _frame_width, _frame_height, ...chosen properties]}`` (system properties: Cookbook
   notebooks/simple/Videos.ipynb recorded reply; asked for by name as the workflows' embeddings-extraction
   ``videos.py`` does),
2. ``FindClip {is_connected_to: {ref: 1}, group_by_source: true, results.all_properties: true}``: the clips
   of each video with ``_frame_number_range`` / ``_range_*`` (ClipsFrames.ipynb recorded reply; FindClip
   reference page for ``is_connected_to`` and ``group_by_source``),
3. ``FindFrame {_ref: 2, is_connected_to: {ref: 1}, group_by_source: true, results.list: [_uniqueid,
   _frame_number]}`` (FindFrame reference page; ``_frame_number`` recorded in ClipsFrames.ipynb),
4. ``FindBoundingBox {is_connected_to: {ref: 2}, group_by_source: true, coordinates, labels, uniqueids}``:
   the boxes of each frame, keyed by the frame's ``_uniqueid``,
5. the project's exported ``LS_annotation`` entities connected to each video (no connection class named:
   whatever class the export writes).

No connection class of ApertureDB's own is named anywhere (docs/emulator-evidence.md lists them as unknown).
Clips and boxes carrying ``ls_annotation_id`` were written by the target storage: they come back inside
their annotation, never as predictions.
"""
import json
from dataclasses import dataclass

from ls_aperturedb.source import video_mapping
from ls_aperturedb.source.query import (ANNOTATION_CLASS, ANNOTATION_PROPERTIES, EXPORTED_REGION_MARKER, ORDER,
                                        SCORE_PROPERTIES, ImageQuery, _first, _groups, _predicted,
                                        annotation_constraints)

VIDEO_COMMAND = "FindVideo"


@dataclass(frozen=True)
class VideoQuery(ImageQuery):
    command: str = VIDEO_COMMAND
    track_property: str = "track_id"

    @classmethod
    def for_storage(cls, storage):
        wanted = [*storage.properties, *video_mapping.VIDEO_PROPERTIES]
        return cls(constraints=dict(storage.constraints or {}),
                   properties=tuple(dict.fromkeys(p for p in wanted if p and p != "_uniqueid")),
                   include_regions=storage.include_regions,
                   region_constraints=dict(storage.region_constraints or {}) or None,
                   annotations_of_project=storage.project_id if storage.import_annotations else None,
                   track_property=storage.track_property or "track_id")

    def details(self, offset=None, limit=None, uids=None):
        query = [{VIDEO_COMMAND: {"_ref": 1, "constraints": {"_uniqueid": ["in", list(uids)]}, "sort": ORDER,
                                  "results": {"list": ["_uniqueid", *self.properties]}}}]
        if self.include_regions:
            query.append({"FindClip": {"is_connected_to": {"ref": 1}, "group_by_source": True,
                                       "results": {"all_properties": True}}})
            query.append({"FindFrame": {"_ref": 2, "is_connected_to": {"ref": 1}, "group_by_source": True,
                                        "results": {"list": ["_uniqueid", "_frame_number"]}}})
            boxes = {"is_connected_to": {"ref": 2}, "group_by_source": True, "coordinates": True, "labels": True,
                     "uniqueids": True,
                     "results": {"list": [*SCORE_PROPERTIES, self.track_property, EXPORTED_REGION_MARKER]}}
            if self.region_constraints:
                boxes["constraints"] = self.region_constraints
            query.append({"FindBoundingBox": boxes})
        if self.annotations_of_project is not None:
            query.append({"FindEntity": {
                "with_class": ANNOTATION_CLASS, "group_by_source": True, "is_connected_to": {"ref": 1},
                "constraints": annotation_constraints(self.annotations_of_project),
                "results": {"list": list(ANNOTATION_PROPERTIES)}}})
        return query

    def blob(self, uid):
        return [{VIDEO_COMMAND: {"constraints": {"_uniqueid": ["==", uid]}, "blobs": True,
                                 "results": {"list": ["_uniqueid"]}}}]


def parse_details(response):
    """:class:`video_mapping.VideoRecord` per video, in FindVideo order, with its clips, its frames (each
    with its boxes) and its exported annotations."""
    clips = _predicted(_groups(response, "FindClip"))
    frames = _groups(response, "FindFrame")
    boxes = _predicted(_groups(response, "FindBoundingBox"))
    annotations = _groups(response, "FindEntity")
    records = []
    for entity in _first(response).get("entities") or []:
        uid = entity["_uniqueid"]
        props = {k: v for k, v in entity.items() if k != "_uniqueid"}
        its_frames = [{**frame, "boxes": boxes.get(frame.get("_uniqueid"), [])} for frame in frames.get(uid, [])]
        records.append(video_mapping.VideoRecord(uid, props, clips.get(uid, []), its_frames, annotations.get(uid, [])))
    return records


class VideoKind:
    def __init__(self, storage, target, interface):
        self.target, self.interface = target, interface
        self.mapping = video_mapping.VideoMapping.for_storage(storage, target)
        self.query = VideoQuery.for_storage(storage)
        self.model_version = self.mapping.model_version

    def records(self, pool, uids):
        return parse_details(pool.query(self.query.details(uids=uids))[0]) if uids else []

    def prepare(self, pool, records, report, extras=None):
        rows = []
        for record in records:
            pred = video_mapping.prediction(record, self.mapping, report)
            if pred is not None:
                video_mapping.check_prediction(self.interface, pred, record, self.mapping, report)
            data = video_mapping.task_data(record, self.mapping)
            if extras is not None:
                data.update(extras(record.uid))
            rows.append((record, data, json.dumps(data), pred and (json.dumps(pred["result"]), pred.get("score"))))
        return rows


def frame_rate_check(storage, target, sample=100):
    """Check connection: the first ``sample`` matching videos' ``_fps`` against the Video tag's frameRate;
    a message when some differ (their regions would be withheld by the sync), else ``None``."""
    if target.frame_rate is None:  # frameRate="$key": the sync writes each video's own rate
        return None
    select = {"limit": sample, "results": {"list": ["_uniqueid", "_fps"]}}
    if storage.constraints:
        select["constraints"] = storage.constraints
    response, _ = storage.get_pool().query([{VIDEO_COMMAND: select}])
    rates = [entity.get("_fps") for entity in _first(response).get("entities") or []]
    off = [rate for rate in rates if video_mapping.frame_rate_problem(rate, target)]
    if not off:
        return None
    return (f"{len(off)} of the first {len(rates)} matching videos would get no predictions: "
            f"{video_mapping.frame_rate_problem(off[0], target)}")
