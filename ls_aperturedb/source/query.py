"""FindImage paging: the ApertureDB queries of one sync batch, and their replies as plain records.

A sync lists the matching images with ``listing``: one FindImage read in numbered batches through the
``batch`` parameter, which ApertureDB answers from one result set it computes once and keeps while it is
read (docs.aperturedata.io query_language/Reference/shared_command_parameters/batch: "The result is
computed once ... and re-used", kept 60 s after the last access). Images added or deleted meanwhile
therefore cannot shift the batches: none is skipped, none is listed twice (offset paging would shift).
The reading pattern is ApertureData's own: batch ids from 0 with one ``batch_size``, the reply's
``batch`` carrying ``total_elements`` and ``end`` (aperture-data/aperturedb-python
aperturedb/PyTorchDataset.py; aperture-data/workflows apps/sql-server/fdw/fdw/__init__.py, which
also says ``batch`` cannot be combined with ``group_by_source``, hence two queries per page).

``details`` then fetches the listed images that are new, with their boxes, polygons and earlier exported
annotations, in one transaction: the regions are found with ``is_connected_to`` the FindImage ``_ref``
and ``group_by_source``. ``lookup`` re-checks images one by one (``_uniqueid in [...]`` plus the
storage's constraints) before a sync deletes anything. ``ids`` (offset paging) only serves the wizard's
preview, which decides nothing.
"""
from dataclasses import dataclass, field

SIZE_PROPERTIES = ("width", "height", "adb_image_width", "adb_image_height")
# wf_od_*: what ApertureData's object-detection workflow writes on its boxes (aperture-data/workflows
# apps/object-detection/app/eval.py: properties wf_od_model and wf_od_confidence on AddBoundingBox).
SCORE_PROPERTIES = ("score", "confidence", "wf_od_confidence")
MODEL_PROPERTIES = ("wf_od_model",)
# Set on every region node the target storage writes: those are labels, never model predictions.
EXPORTED_REGION_MARKER = "ls_annotation_id"
ANNOTATION_CLASS = "LS_annotation"
ANNOTATION_CONNECTION = "LS_annotation_image"
ANNOTATION_PROPERTIES = ("ls_annotation_id", "ls_project_id", "ls_task_id", "completed_by", "created_at",
                         "updated_at", "lead_time", "was_cancelled", "ground_truth", "result",
                         "ls_annotation_uid")
ORDER = {"key": "_uniqueid", "order": "ascending"}
REGION_EXTRAS = (("FindBoundingBox", {"coordinates": True}), ("FindPolygon", {"vertices": True}))
UID_OPERATORS = {"==": lambda uid, v: uid == v, "!=": lambda uid, v: uid != v,
                 "in": lambda uid, v: uid in v, "not in": lambda uid, v: uid not in v}


@dataclass
class ImageRecord:
    uid: str
    properties: dict
    boxes: list = field(default_factory=list)
    polygons: list = field(default_factory=list)
    annotations: list = field(default_factory=list)


@dataclass(frozen=True)
class ImageQuery:
    """Everything a sync asks ApertureDB, from the storage's settings."""

    constraints: dict
    properties: tuple = ()  # image properties wanted in task data or for the size
    include_regions: bool = True
    region_constraints: dict = None
    annotations_of_project: int = None  # bring back LS_annotation entities of this project
    region_properties: tuple = ()  # region properties wanted besides the score ones (source/scoring.py)
    command: str = "FindImage"  # FindFrame when key frames are the tasks (source/frames.py)
    region_commands: tuple = ("FindBoundingBox", "FindPolygon")

    @classmethod
    def for_storage(cls, storage):
        wanted = [*storage.properties, storage.width_property, storage.height_property, *SIZE_PROPERTIES,
                  *_scoring_properties(storage)]  # source/scoring.py: the image's score and model version
        return cls(constraints=dict(storage.constraints or {}),
                   properties=tuple(dict.fromkeys(p for p in wanted if p and p != "_uniqueid")),
                   include_regions=storage.include_regions,
                   region_constraints=dict(storage.region_constraints or {}) or None,
                   annotations_of_project=storage.project_id if storage.import_annotations else None,
                   region_properties=tuple(p for p in (getattr(storage, "score_property", ""),)
                                           if p and p not in SCORE_PROPERTIES))

    def _select(self, offset, limit):
        select = {"sort": ORDER, "offset": offset, "limit": limit}
        if self.constraints:
            select["constraints"] = self.constraints
        return select

    def ids(self, offset, limit):
        return [{self.command: {**self._select(offset, limit), "results": {"list": ["_uniqueid"]}}}]

    def listing(self, batch_id, batch_size):
        """Batch ``batch_id`` of the matching images' ``_uniqueid`` (same query for every batch but the id)."""
        select = {"sort": ORDER, "batch": {"batch_id": batch_id, "batch_size": batch_size},
                  "results": {"list": ["_uniqueid"]}}
        if self.constraints:
            select["constraints"] = self.constraints
        return [{self.command: select}]

    def lookup(self, uids):
        """Which of ``uids`` exist and match the constraints. ApertureDB takes one condition list per
        property, so a ``_uniqueid`` condition of the storage's own is checked by :func:`uid_matches`."""
        constraints = {k: v for k, v in self.constraints.items() if k != "_uniqueid"}
        constraints["_uniqueid"] = ["in", list(uids)]
        return [{self.command: {"constraints": constraints, "results": {"list": ["_uniqueid"]}}}]

    def uid_matches(self, uid):
        """``uid`` against the storage's own ``_uniqueid`` condition (``==``, ``!=``, ``in``, ``not in``:
        the operators ApertureDB takes on ``_uniqueid``), which :meth:`lookup` cannot send."""
        condition = self.constraints.get("_uniqueid")
        if not condition:
            return True
        for op, value in zip(condition[::2], condition[1::2]):
            if not UID_OPERATORS[op](uid, value):
                return False
        return True

    def details(self, offset=None, limit=None, uids=None):
        """One transaction: a page (``offset``/``limit``) or given images (``uids``) with what hangs off them."""
        select = {"constraints": {"_uniqueid": ["in", list(uids)]}, "sort": ORDER} if uids is not None \
            else self._select(offset, limit)
        query = [{self.command: {"_ref": 1, **select,
                                "results": {"list": ["_uniqueid", *self.properties]}}}]
        if self.include_regions:
            for command, extra in REGION_EXTRAS:
                if command not in self.region_commands:
                    continue
                body = {"is_connected_to": {"ref": 1}, "group_by_source": True, "labels": True,
                        "uniqueids": True, **extra,
                        "results": {"list": [*SCORE_PROPERTIES, *MODEL_PROPERTIES, *self.region_properties,
                                             EXPORTED_REGION_MARKER]}}
                if self.region_constraints:
                    body["constraints"] = self.region_constraints
                query.append({command: body})
        if self.annotations_of_project is not None:
            query.append({"FindEntity": {
                "with_class": ANNOTATION_CLASS, "group_by_source": True,
                "is_connected_to": {"ref": 1, "connection_class": ANNOTATION_CONNECTION},
                "constraints": annotation_constraints(self.annotations_of_project),
                "results": {"list": list(ANNOTATION_PROPERTIES)}}})
        return query

    def blob(self, uid):
        return [{self.command: {"constraints": {"_uniqueid": ["==", uid]}, "blobs": True,
                               "results": {"list": ["_uniqueid"]}}}]


def annotation_constraints(project_id):
    """The LS_annotation entities this installation exported for the project (ops/installation.py:
    another Label Studio on the same ApertureDB has projects with the same ids)."""
    from ls_aperturedb.ops.installation import PROPERTY, current

    return {"ls_project_id": ["==", project_id], PROPERTY: ["==", current()]}


def _first(response):
    """The reply of the query's first command (FindImage, FindFrame or FindVideo)."""
    return next(iter(response[0].values()))


def _scoring_properties(storage):
    """``(score property, model version property)`` named on the storage, empty ones left out."""
    return tuple(p for p in (getattr(storage, "score_property", ""), getattr(storage, "model_version_property", ""))
                 if p)


def parse_ids(response):
    return [e["_uniqueid"] for e in _first(response).get("entities") or []]


@dataclass(frozen=True)
class ListingBatch:
    uids: list
    total: int  # images in the result set ApertureDB keeps for the listing
    end: int  # position after this batch in that result set


def parse_listing(response, batch_id, batch_size):
    reply = _first(response)
    info = reply.get("batch") or {}
    total = info.get("total_elements", reply.get("returned", 0))
    return ListingBatch(parse_ids(response), total, info.get("end", min((batch_id + 1) * batch_size, total)))


def _groups(response, command):
    for item in response[1:]:
        if command in item:
            entities = item[command].get("entities")
            return entities if isinstance(entities, dict) else {}
    return {}


def _predicted(groups):
    """Drop the regions of exported annotations; they come back inside their annotation instead."""
    return {uid: [r for r in regions if EXPORTED_REGION_MARKER not in r] for uid, regions in groups.items()}


def parse_details(response):
    """Records in FindImage order; regions and annotations attached by source image."""
    boxes, polygons = _predicted(_groups(response, "FindBoundingBox")), _predicted(_groups(response, "FindPolygon"))
    annotations = _groups(response, "FindEntity")
    records = []
    for entity in _first(response).get("entities") or []:
        uid = entity["_uniqueid"]
        props = {k: v for k, v in entity.items() if k != "_uniqueid"}
        records.append(ImageRecord(uid, props, boxes.get(uid, []), polygons.get(uid, []),
                                   annotations.get(uid, [])))
    return records
