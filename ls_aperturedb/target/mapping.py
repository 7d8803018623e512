"""Pure translation: one Label Studio annotation -> the ApertureDB commands that store it.

No database, no network: :class:`AnnotationRecord` is plain data gathered by the exporter, and the
functions here return command lists that the exporter runs (one annotation, or many concatenated into
one transaction during a sync). ``_ref`` numbers come from a shared counter so lists can be joined.

Data model (see the README). Every edge we write is an ``AddConnection`` with explicit ``src`` and
``dst`` ("src: Reference to the object that is the source of the connection", docs.aperturedata.io
commands/AddConnection.html); ``connect``, whose direction no source confirms, is not used. Boxes and
polygons also get ApertureDB's own edge to their image from ``image_ref`` (``_BoundingBoxToImage`` /
``_PolygonToImage``, src region -> dst image in the GetSchema reply of docs.aperturedata.io
query_language/Reference/db_commands/GetSchema):
    LS_annotation --LS_annotation_image--> _Image          (when the image lives in this instance)
    LS_annotation --LS_annotation_region--> region node    (BoundingBox, Polygon, LS_keypoint,
                                                            LS_classification, LS_brush, ...)
    region node --LS_region_prediction--> prediction BoundingBox/Polygon (never modified)
    LS_annotation_fence                                    (no edges; see ``fence``)

An annotation is identified by ``ls_annotation_uid`` (Label Studio's ``Annotation.unique_id``, which the
source storage gives back to a re-imported annotation), not by its id, so a round trip through the
source storage updates the same node. An upsert replaces the annotation's region nodes inside the same
transaction, so regions removed in Label Studio disappear and a repeated or retried export leaves
exactly one copy; the fence makes a write of an older version, or after a delete, abort.
"""
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

ANNOTATION_CLASS = "LS_annotation"
FENCE_CLASS = "LS_annotation_fence"
IDENTITY = "ls_annotation_uid"
# The Label Studio installation that wrote a node (ops/installation.py): every key below includes it,
# so installations sharing one ApertureDB never touch each other's nodes.
INSTALLATION = "ls_installation"
VERSION = "ls_version"
# The fence version of a deleted annotation: above every real version (microseconds since 1970 reach
# it in the year 2255) and exact as a double, whatever number type the server stores.
DELETED_VERSION = 2 ** 53 - 1
IMAGE_CONNECTION = "LS_annotation_image"
REGION_CONNECTION = "LS_annotation_region"
PREDICTION_CONNECTION = "LS_region_prediction"
KEYPOINT_CLASS = "LS_keypoint"
CLASSIFICATION_CLASS = "LS_classification"
BRUSH_CLASS = "LS_brush"
# Shapes of a task whose image is not in this instance: ApertureDB boxes and polygons need an image.
RECTANGLE_CLASS = "LS_rectangle"
POLYGON_CLASS = "LS_polygon"
REGION_ENTITY_CLASSES = (KEYPOINT_CLASS, CLASSIFICATION_CLASS, BRUSH_CLASS, RECTANGLE_CLASS, POLYGON_CLASS)

CLASSIFICATIONS = {"choices": "choices", "taxonomy": "taxonomy", "textarea": "text",
                   "rating": "rating", "number": "number", "datetime": "datetime"}
# Results that carry no node of their own; they survive in the annotation's ``result`` JSON.
IGNORED_TYPES = {"relation"}
# Region types that may have been accepted from an imported prediction box or polygon.
SHAPE_TYPES = {"rectanglelabels", "rectangle", "polygonlabels", "polygon"}
OPTIONAL_PROPERTIES = ("completed_by", "lead_time", "task_data_url")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class MalformedAnnotation(ValueError):
    """The annotation cannot be expressed in ApertureDB; retrying will not help."""


@dataclass(frozen=True)
class AnnotationRecord:
    """What the commands need to know about one annotation."""

    annotation_id: int
    uid: str  # the node's identity: Annotation.unique_id
    project_id: int
    task_id: int
    result: list
    created_at: datetime
    updated_at: datetime
    completed_by: str = ""
    lead_time: float = None
    was_cancelled: bool = False
    ground_truth: bool = False
    image_uniqueid: str = None  # the task's image, when it lives in the target instance
    task_data_url: str = None  # otherwise: where the image is
    # region id -> ("BoundingBox" | "Polygon", _uniqueid) of the imported prediction it was accepted from
    prediction_regions: dict = field(default_factory=dict)
    video: object = None  # video.VideoInfo: the task's video, when it lives in the target instance
    image_command: str = "FindImage"  # "FindFrame": the task's image is a video's key frame
    installation: str = ""  # the writing installation's identity (empty: unscoped, as before)


def refs(start=1):
    """A ``_ref`` counter shared by the command lists of one transaction."""
    return itertools.count(start)


def key_constraints(uid, installation=""):
    return {IDENTITY: ["==", uid], **({INSTALLATION: ["==", installation]} if installation else {})}


def installation_mark(installation):
    """The property that names the writing installation on every node it writes."""
    return {INSTALLATION: installation} if installation else {}


def _project(project_id):
    """Fences carry the project too, so a cleanup finds the tombstones of deleted annotations."""
    return {"ls_project_id": project_id} if project_id is not None else {}


def version_of(updated_at):
    """The fence version of an annotation: its ``updated_at`` in whole microseconds since 1970."""
    return (updated_at - EPOCH) // timedelta(microseconds=1)


def fence(uid, version, counter, installation="", project_id=None):
    """Commands that abort the transaction unless ``version`` is newer than any written (or deleted).

    Every committed write leaves exactly two ``LS_annotation_fence`` nodes of its version (a delete:
    two of ``DELETED_VERSION``) and removes older ones. The first command is a conditional add of
    a node with ``version``:
    - no fence of this version or newer: the node is added (docs.aperturedata.io query_language/
      Reference/shared_command_parameters/if_not_found: "inserted into the database if and only if
      there is no other element of the same type that fulfills the specified constraints", with
      ``>=`` among the operators);
    - otherwise at least two nodes match, and a conditional add that finds several objects is an
      error that, with a ``_ref`` given, aborts the whole transaction and undoes its changes
      (aperturedata.io/docs/Return-Status.html: "2 Exists: A conditional add found a unique
      instance ... If not unique, an error(-1) is returned depending on absence/presence of _ref";
      there and in docs.aperturedata.io query_language/Overview/Responses: "if there is a local id
      provided in such a call, we treat it as an exception which causes the rest of the transaction
      to abort ... it undoes all the metadata changes"). tests/emulator/test_fence.py checks it.
    The exporter does not rely on the status code of that error: after any refused transaction it
    reads the fences back (``fences_of``) to tell "superseded" from a real failure.
    """
    key = key_constraints(uid, installation)
    node = {IDENTITY: uid, VERSION: version, **installation_mark(installation), **_project(project_id)}
    return [
        {"AddEntity": {"class": FENCE_CLASS, "_ref": next(counter), "properties": node,
                       "if_not_found": {**key, VERSION: [">=", version]}}},
        {"AddEntity": {"class": FENCE_CLASS, "properties": node}},
        {"DeleteEntity": {"with_class": FENCE_CLASS, "constraints": {**key, VERSION: ["<", version]}}},
    ]


def fences_of(uids, installation=""):
    """A read of the fence versions of ``uids`` (answer: FindEntity entities with uid and version)."""
    scope = {INSTALLATION: ["==", installation]} if installation else {}
    return [{"FindEntity": {"with_class": FENCE_CLASS, "constraints": {IDENTITY: ["in", list(uids)], **scope},
                            "results": {"list": [IDENTITY, VERSION]}}}]


def upsert(record, counter):
    """Commands that make ApertureDB hold exactly this version of the annotation, unless it holds a
    newer one or the annotation was deleted (then the transaction aborts, see ``fence``)."""
    regions = [_region(record, item, i) for i, item in enumerate(_result_items(record))]
    regions = [r for r in regions if r is not None]
    commands = fence(record.uid, version_of(record.updated_at), counter, record.installation, record.project_id)
    image = None
    if record.image_uniqueid:
        image = next(counter)
        commands.append({record.image_command: {"_ref": image, "unique": True,
                                                "constraints": {"_uniqueid": ["==", record.image_uniqueid]}}})
    video_commands, video_refs = _video.find_video(record, counter)
    commands += video_commands
    ann, old_edge = next(counter), next(counter)
    properties = _annotation_properties(record)
    commands += [
        {"AddEntity": {"class": ANNOTATION_CLASS, "_ref": ann, "properties": properties,
                       "if_not_found": key_constraints(record.uid, record.installation)}},
        {"UpdateEntity": {"ref": ann, "properties": properties,
                          "remove_props": [p for p in OPTIONAL_PROPERTIES if p not in properties]}},
        # DeleteConnection takes ref, with_class, constraints (docs connection_commands/DeleteConnection,
        # whose example finds the edges with FindConnection {src} first).
        {"FindConnection": {"_ref": old_edge, "with_class": IMAGE_CONNECTION, "src": ann}},
        {"DeleteConnection": {"ref": old_edge}},
        *_video.drop_edge(ann, counter),
        *_delete_regions(record.uid, record.installation),
    ]
    if image is not None:
        commands.append({"AddConnection": {"class": IMAGE_CONNECTION, "src": ann, "dst": image}})
    if video_refs is not None:
        commands.append(_video.video_edge(ann, video_refs))
    for region in regions:
        # Video regions get the video and its frames; other shapes never go on a video's frames.
        media = video_refs if getattr(region, "video", False) else (None if video_refs else image)
        if record.image_command != "FindImage" and not getattr(region, "on_frames", False):
            media = None  # only boxes are documented on frames (``video`` module); the rest stays entities
        commands += region(ann, media, counter)
    return commands


def delete(uid, installation="", project_id=None):
    """Commands that remove the annotation entity and its region nodes (prediction nodes stay) and
    leave a tombstone fence, so a late write of any version aborts instead of re-creating it."""
    key = key_constraints(uid, installation)
    tombstone = {"AddEntity": {"class": FENCE_CLASS, "properties": {
        IDENTITY: uid, VERSION: DELETED_VERSION, **installation_mark(installation), **_project(project_id)}}}
    return [*_delete_regions(uid, installation),
            {"DeleteEntity": {"with_class": ANNOTATION_CLASS, "constraints": key}},
            {"DeleteEntity": {"with_class": FENCE_CLASS, "constraints": key}},
            tombstone, tombstone]


def _delete_regions(uid, installation=""):
    """Every region node of the annotation, whatever its type (prediction nodes carry no such key)."""
    key = key_constraints(uid, installation)
    return [{"DeleteBoundingBox": {"constraints": key}}, {"DeletePolygon": {"constraints": key}},
            *({"DeleteEntity": {"with_class": cls, "constraints": key}} for cls in REGION_ENTITY_CLASSES),
            *_video.delete_regions(key)]


def _annotation_properties(record):
    props = {
        IDENTITY: record.uid,
        "ls_annotation_id": record.annotation_id,
        "ls_project_id": record.project_id,
        "ls_task_id": record.task_id,
        "created_at": _date(record.created_at),
        "updated_at": _date(record.updated_at),
        "was_cancelled": bool(record.was_cancelled),
        "ground_truth": bool(record.ground_truth),
        "result": json.dumps(record.result, separators=(",", ":")),
        **installation_mark(record.installation),
    }
    if record.completed_by:
        props["completed_by"] = record.completed_by
    if record.lead_time is not None:
        props["lead_time"] = float(record.lead_time)
    if not record.image_uniqueid and not record.video and record.task_data_url:
        props["task_data_url"] = record.task_data_url
    return props


def _date(value):
    return {"_date": value.isoformat()}


def _result_items(record):
    if not isinstance(record.result, list):
        raise MalformedAnnotation("result must be a list of regions")
    return record.result


# ------------------------------------------------------------------ regions
def _region(record, item, index):
    """A function ``(ann_ref, image_ref, counter) -> commands`` for one result item, or None."""
    if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
        raise MalformedAnnotation(f"result[{index}] must be an object with a 'value' object")
    kind = item.get("type")
    if kind in IGNORED_TYPES:
        return None
    where = f"result[{index}] ({kind}, id {item.get('id')!r})"
    builder = BUILDERS.get(kind)
    if builder is None:
        raise MalformedAnnotation(f"{where}: unsupported region type {kind!r}")
    base = {
        "ls_region_id": str(item.get("id", "")),
        IDENTITY: record.uid,
        "ls_annotation_id": record.annotation_id,
        "ls_project_id": record.project_id,
        "ls_from_name": str(item.get("from_name", "")),
        "ls_to_name": str(item.get("to_name", "")),
        "ls_type": kind,
        **installation_mark(record.installation),
    }
    try:
        return builder(record, item, base)
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedAnnotation(f"{where}: {exc}") from None


def _size(item):
    width, height = item.get("original_width"), item.get("original_height")
    if not _number(width) or not _number(height) or width <= 0 or height <= 0:
        raise ValueError("original_width/original_height missing: pixel coordinates cannot be computed")
    return width, height


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _labels(value, key):
    labels = value.get(key, [])
    if not isinstance(labels, list):
        raise ValueError(f"value.{key} must be a list")
    return labels


def _region_edge(ann, region_ref):
    """LS_annotation -> region node, both ends explicit (see the module docstring)."""
    return {"AddConnection": {"class": REGION_CONNECTION, "src": ann, "dst": region_ref}}


def _prediction_link(record, item, region_ref, counter):
    """An edge from our region node to the imported prediction box it was accepted from."""
    source = record.prediction_regions.get(str(item.get("id")))
    if source is None:
        return []
    kind, uniqueid = source
    ref = next(counter)
    return [{f"Find{kind}": {"_ref": ref, "constraints": {"_uniqueid": ["==", uniqueid]}, "unique": True}},
            {"AddConnection": {"class": PREDICTION_CONNECTION, "src": region_ref, "dst": ref}}]


def _rectangle(record, item, base):
    value = item["value"]
    width, height = _size(item)
    x, y, w, h = (float(value[k]) for k in ("x", "y", "width", "height"))
    rect = {"x": round(x * width / 100), "y": round(y * height / 100),
            "width": max(1, round(w * width / 100)), "height": max(1, round(h * height / 100))}
    labels = _labels(value, "rectanglelabels")
    props = {**base, "labels": json.dumps(labels)}
    if value.get("rotation"):
        props["rotation"] = float(value["rotation"])

    def build(ann, image, counter):
        ref = next(counter)
        if image is None:
            return [{"AddEntity": {"class": RECTANGLE_CLASS, "_ref": ref, "properties": {**props, **rect}}},
                    _region_edge(ann, ref)]
        return [{"AddBoundingBox": {"_ref": ref, "image_ref": image, "rectangle": rect,
                                    "label": ",".join(map(str, labels)), "properties": props}},
                _region_edge(ann, ref), *_prediction_link(record, item, ref, counter)]
    build.on_frames = True
    return build


def _polygon(record, item, base):
    value = item["value"]
    width, height = _size(item)
    points = [[round(float(px) * width / 100, 2), round(float(py) * height / 100, 2)]
              for px, py in value["points"]]
    if len(points) < 3:
        raise ValueError(f"a polygon needs at least 3 points, got {len(points)}")
    labels = _labels(value, "polygonlabels")
    props = {**base, "labels": json.dumps(labels)}

    def build(ann, image, counter):
        ref = next(counter)
        if image is None:
            return [{"AddEntity": {"class": POLYGON_CLASS, "_ref": ref,
                                   "properties": {**props, "points": json.dumps(points)}}},
                    _region_edge(ann, ref)]
        return [{"AddPolygon": {"_ref": ref, "image_ref": image, "polygons": [points],
                                "label": ",".join(map(str, labels)), "properties": props}},
                _region_edge(ann, ref), *_prediction_link(record, item, ref, counter)]
    return build


def _entity(cls, props):
    def build(ann, image, counter):
        ref = next(counter)
        return [{"AddEntity": {"class": cls, "_ref": ref, "properties": props}}, _region_edge(ann, ref)]
    return build


def _keypoint(record, item, base):
    value = item["value"]
    width, height = _size(item)
    return _entity(KEYPOINT_CLASS, {
        **base, "labels": json.dumps(_labels(value, "keypointlabels")),
        "x": round(float(value["x"]) * width / 100, 2), "y": round(float(value["y"]) * height / 100, 2)})


def _brush(record, item, base):
    value = item["value"]
    width, height = _size(item)
    if value.get("format", "rle") != "rle" or not isinstance(value.get("rle"), list):
        raise ValueError("brush value must carry an 'rle' list (format 'rle')")
    return _entity(BRUSH_CLASS, {
        **base, "labels": json.dumps(_labels(value, "brushlabels")), "format": "rle",
        "rle": json.dumps(value["rle"], separators=(",", ":")), "original_width": width,
        "original_height": height})


def _classification(record, item, base):
    kind = item["type"]
    value = item["value"]
    key = CLASSIFICATIONS[kind]
    if key not in value:
        raise ValueError(f"value.{key} missing")
    data = value[key]
    props = {**base, "value": json.dumps(data)}
    if kind in ("choices", "taxonomy"):
        props["labels"] = json.dumps(_labels(value, key))
    elif kind == "textarea":
        props["text"] = "\n".join(map(str, _labels(value, key)))
    elif kind in ("rating", "number"):
        if not _number(data):
            raise ValueError(f"value.{key} must be a number")
        props[key] = data
    else:
        props["datetime"] = str(data)
    return _entity(CLASSIFICATION_CLASS, props)


BUILDERS = {
    "rectanglelabels": _rectangle, "rectangle": _rectangle,
    "polygonlabels": _polygon, "polygon": _polygon,
    "keypointlabels": _keypoint, "keypoint": _keypoint,
    "brushlabels": _brush, "brush": _brush,
    **{kind: _classification for kind in CLASSIFICATIONS},
}

# Video regions (VideoRectangle, TimelineLabels) register their builders into BUILDERS.
from ls_aperturedb.target import video as _video  # noqa: E402  (imports this module)
