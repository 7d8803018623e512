"""FindImage paging: the ApertureDB queries of one sync batch, and their replies as plain records.

A page is selected in a stable order (sorted by ``_uniqueid``, then offset/limit). ``details`` fetches a
page's images together with their boxes, polygons and earlier exported annotations in one transaction:
the regions are found with ``is_connected_to`` the FindImage ``_ref`` and ``group_by_source``, so a batch
is one round trip whatever its size. ``ids`` lists only the ``_uniqueid`` of a page: a re-sync uses it
to skip pages it already has without moving any region over the wire.
"""
from dataclasses import dataclass, field

SIZE_PROPERTIES = ("width", "height", "adb_image_width", "adb_image_height")
SCORE_PROPERTIES = ("score", "confidence")
# Set on every region node the target storage writes: those are labels, never model predictions.
EXPORTED_REGION_MARKER = "ls_annotation_id"
ANNOTATION_CLASS = "LS_annotation"
ANNOTATION_CONNECTION = "LS_annotation_image"
ANNOTATION_PROPERTIES = ("ls_annotation_id", "ls_project_id", "ls_task_id", "completed_by", "created_at",
                         "updated_at", "lead_time", "was_cancelled", "ground_truth", "result")
ORDER = {"key": "_uniqueid", "order": "ascending"}


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

    @classmethod
    def for_storage(cls, storage):
        wanted = [*storage.properties, storage.width_property, storage.height_property, *SIZE_PROPERTIES]
        return cls(constraints=dict(storage.constraints or {}),
                   properties=tuple(dict.fromkeys(p for p in wanted if p and p != "_uniqueid")),
                   include_regions=storage.include_regions,
                   region_constraints=dict(storage.region_constraints or {}) or None,
                   annotations_of_project=storage.project_id if storage.import_annotations else None)

    def _select(self, offset, limit):
        select = {"sort": ORDER, "offset": offset, "limit": limit}
        if self.constraints:
            select["constraints"] = self.constraints
        return select

    def ids(self, offset, limit):
        return [{"FindImage": {**self._select(offset, limit), "results": {"list": ["_uniqueid"]}}}]

    def details(self, offset=None, limit=None, uids=None):
        """One transaction: a page (``offset``/``limit``) or given images (``uids``) with what hangs off them."""
        select = {"constraints": {"_uniqueid": ["in", list(uids)]}, "sort": ORDER} if uids is not None \
            else self._select(offset, limit)
        query = [{"FindImage": {"_ref": 1, **select,
                                "results": {"list": ["_uniqueid", *self.properties]}}}]
        if self.include_regions:
            for command, extra in (("FindBoundingBox", {"coordinates": True}), ("FindPolygon", {"vertices": True})):
                body = {"is_connected_to": {"ref": 1}, "group_by_source": True, "labels": True,
                        "uniqueids": True, **extra,
                        "results": {"list": [*SCORE_PROPERTIES, EXPORTED_REGION_MARKER]}}
                if self.region_constraints:
                    body["constraints"] = self.region_constraints
                query.append({command: body})
        if self.annotations_of_project is not None:
            query.append({"FindEntity": {
                "with_class": ANNOTATION_CLASS, "group_by_source": True,
                "is_connected_to": {"ref": 1, "connection_class": ANNOTATION_CONNECTION},
                "constraints": {"ls_project_id": ["==", self.annotations_of_project]},
                "results": {"list": list(ANNOTATION_PROPERTIES)}}})
        return query

    def blob(self, uid):
        return [{"FindImage": {"constraints": {"_uniqueid": ["==", uid]}, "blobs": True,
                               "results": {"list": ["_uniqueid"]}}}]


def parse_ids(response):
    return [e["_uniqueid"] for e in response[0]["FindImage"].get("entities") or []]


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
    for entity in response[0]["FindImage"].get("entities") or []:
        uid = entity["_uniqueid"]
        props = {k: v for k, v in entity.items() if k != "_uniqueid"}
        records.append(ImageRecord(uid, props, boxes.get(uid, []), polygons.get(uid, []),
                                   annotations.get(uid, [])))
    return records
