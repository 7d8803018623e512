"""Pure translation of ApertureDB records into Label Studio task data, predictions and annotations.

No database, no network: records in, dicts out, and a :class:`Report` of everything that was not a
plain success (labels missing from the config, regions without a control, predictions that
``LabelInterface.validate_prediction`` rejects), so nothing is ever skipped silently.
"""
import io
import json
import re
import struct
import uuid
from collections import Counter
from dataclasses import dataclass, field

from ls_aperturedb.labeling_config import ImageTarget
from ls_aperturedb.source.query import MODEL_PROPERTIES, SCORE_PROPERTIES

URL_SCHEME = "aperturedb"
MAX_EXPLAINED = 20  # problems explained in meta (all are counted)
_NOT_ALNUM = re.compile(r"[^\w]|_")  # what str.isalnum() rejects


@dataclass(frozen=True)
class Mapping:
    storage_id: int
    target: ImageTarget
    model_version: str = "aperturedb"
    properties: tuple = ()  # copied into task data
    width_property: str = ""
    height_property: str = ""

    @classmethod
    def for_storage(cls, storage, target):
        return cls(storage.id, target, storage.model_version or "aperturedb", tuple(storage.properties or ()),
                   storage.width_property, storage.height_property)


@dataclass
class Report:
    """Counts and first explanations of what needs a user's attention; becomes the storage's meta."""

    labels_not_in_config: Counter = field(default_factory=Counter)
    regions_without_control: Counter = field(default_factory=Counter)
    invalid_predictions: int = 0
    problems: list = field(default_factory=list)
    sizes_from_header: int = 0
    # Regions (or whole predictions) deliberately not imported, by reason (e.g. a video whose frame rate
    # differs from the Video tag's), and the messages that make the sync "completed with errors".
    withheld: Counter = field(default_factory=Counter)
    errors: list = field(default_factory=list)

    def error(self, message):
        """A problem the user must fix (shown as the sync's error text); each message once."""
        if message not in self.errors and len(self.errors) < MAX_EXPLAINED:
            self.errors.append(message)

    def explain(self, message):
        if len(self.problems) < MAX_EXPLAINED:
            self.problems.append(message)

    def add(self, other):
        """Count in ``other`` (a report of later work), keeping the first explanations."""
        self.labels_not_in_config.update(other.labels_not_in_config)
        self.regions_without_control.update(other.regions_without_control)
        self.invalid_predictions += other.invalid_predictions
        self.sizes_from_header += other.sizes_from_header
        self.withheld.update(other.withheld)
        for message in other.problems:
            self.explain(message)
        for message in other.errors:
            self.error(message)

    def as_json(self):
        """All of it (``from_json`` reads it back): what a participant of a spread sync leaves in its range."""
        return {"labels_not_in_config": dict(self.labels_not_in_config),
                "regions_without_control": dict(self.regions_without_control),
                "invalid_predictions": self.invalid_predictions, "problems": list(self.problems),
                "sizes_from_header": self.sizes_from_header, "withheld": dict(self.withheld),
                "errors": list(self.errors)}

    @classmethod
    def from_json(cls, data):
        return cls(labels_not_in_config=Counter(data.get("labels_not_in_config") or {}),
                   regions_without_control=Counter(data.get("regions_without_control") or {}),
                   invalid_predictions=data.get("invalid_predictions", 0), problems=list(data.get("problems") or ()),
                   sizes_from_header=data.get("sizes_from_header", 0), withheld=Counter(data.get("withheld") or {}),
                   errors=list(data.get("errors") or ()))

    def as_meta(self):
        return {"labels_not_in_config": dict(self.labels_not_in_config),
                "regions_without_control": dict(self.regions_without_control),
                "invalid_predictions": self.invalid_predictions,
                "sizes_from_header": self.sizes_from_header,
                "problems": list(self.problems),
                **({"not_imported": dict(self.withheld)} if self.withheld else {})}


def uri(storage_id, uid):
    return f"{URL_SCHEME}://{storage_id}/{uid}"


def parse_uri(value):
    """``(storage_id, uid)`` of an ``aperturedb://<storage id>/<uid>`` URI, else ``None``."""
    prefix = f"{URL_SCHEME}://"
    if not isinstance(value, str) or not value.startswith(prefix):
        return None
    storage_id, _, uid = value[len(prefix):].partition("/")
    if not storage_id.isdigit() or not uid:
        return None
    return int(storage_id), uid


def task_data(record, mapping):
    data = {mapping.target.data_key: uri(mapping.storage_id, record.uid)}
    for name in mapping.properties:
        if name in record.properties and name != mapping.target.data_key:
            data[name] = record.properties[name]
    return data


def _positive(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def image_size(properties, mapping):
    """``(width, height)`` from the configured properties, ``width``/``height``, or ``adb_image_*``."""
    for w, h in ((mapping.width_property, mapping.height_property), ("width", "height"),
                 ("adb_image_width", "adb_image_height")):
        if w and h and _positive(properties.get(w)) and _positive(properties.get(h)):
            return properties[w], properties[h]
    return None


def header_size(blob):
    """Image size read from the encoded bytes' header; no pixel is decoded.

    ``Image.open`` reads only the header too, but then refuses an image over Pillow's decompression-bomb
    limit (``Image.MAX_IMAGE_PIXELS``; about 179 megapixels raise), a check meant for decoding, which
    never happens here. So the header is read by Pillow's format plugins directly, the way ``Image.open``
    tries them (``Image.ID`` order, each plugin's ``accept`` on the first bytes), without that check and
    without touching the process-wide limit (other threads decode images).
    """
    from PIL import Image, UnidentifiedImageError

    Image.init()
    prefix = blob[:16]
    for name in Image.ID:
        factory, accept = Image.OPEN[name]
        verdict = not accept or accept(prefix)
        if not verdict or isinstance(verdict, str):  # a str: a "maybe" Image.open only warns about
            continue
        try:
            with factory(io.BytesIO(blob), "") as image:
                return image.size
        except (SyntaxError, IndexError, TypeError, struct.error):  # what Image.open skips a plugin for
            continue
    raise UnidentifiedImageError("not an image format Pillow knows")


def _score(entity):
    for name in SCORE_PROPERTIES:
        value = entity.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def _region_model(record):
    """The model that made the record's regions when they all name the same one (``wf_od_model``)."""
    models = {str(e[name]) for e in (*record.boxes, *record.polygons) for name in MODEL_PROPERTIES
              if isinstance(e.get(name), str) and e[name]}
    return models.pop() if len(models) == 1 else None


def _region_id(uid, ring=None):
    base = "adb_" + _NOT_ALNUM.sub("_", str(uid))
    return base if ring is None else f"{base}_{ring}"


def percent_box(coordinates, width, height):
    """A box's pixel ``_coordinates`` as Label Studio's ``x, y, width, height`` (percent of the image)."""
    return {"x": coordinates["x"] * 100.0 / width, "y": coordinates["y"] * 100.0 / height,
            "width": coordinates["width"] * 100.0 / width, "height": coordinates["height"] * 100.0 / height}


def _labels(entity, control, report):
    label = entity.get("_label")
    if label is None or label == "":
        return []
    if label not in control.labels:
        report.labels_not_in_config[label] += 1
    return [label]


def prediction(record, mapping, size, report):
    """The record's boxes and polygons as one prediction (``None`` when it has no region)."""
    if not record.boxes and not record.polygons:
        return None
    target, (width, height) = mapping.target, size
    common = {"to_name": target.to_name, "original_width": width, "original_height": height,
              "image_rotation": 0}
    result, scores = [], []
    for kind, entities, control in (("box", record.boxes, target.rectangles),
                                    ("polygon", record.polygons, target.polygons)):
        if entities and control is None:
            report.regions_without_control[kind] += len(entities)
            report.explain(f"image {record.uid}: {len(entities)} {kind}(es) but no "
                           f"{'RectangleLabels' if kind == 'box' else 'PolygonLabels'} bound to "
                           f"Image {target.to_name}")
            continue
        for entity in entities:
            score = _score(entity)
            labels = _labels(entity, control, report)
            extra = {"score": score} if score is not None else {}
            if score is not None:
                scores.append(score)
            if kind == "box":
                value = {**percent_box(entity["_coordinates"], width, height), "rotation": 0,
                         "rectanglelabels": labels}
                result.append({"id": _region_id(entity.get("_uniqueid")), "from_name": control.name,
                               "type": "rectanglelabels", **common, "value": value, **extra})
                continue
            rings = entity["_vertices"]
            for n, ring in enumerate(rings):
                points = [[x * 100.0 / width, y * 100.0 / height] for x, y in ring]
                result.append({"id": _region_id(entity.get("_uniqueid"), n if len(rings) > 1 else None),
                               "from_name": control.name, "type": "polygonlabels", **common,
                               "value": {"points": points, "closed": True, "polygonlabels": labels}, **extra})
    if not result:
        return None
    pred = {"model_version": _region_model(record) or mapping.model_version, "result": result}
    if scores:
        pred["score"] = sum(scores) / len(scores)
    return pred


def check_prediction(interface, pred, record, mapping, report, cache=None):
    """Run ``validate_prediction`` over the regions whose labels the config knows; count failures.

    Regions with labels the config lacks are imported anyway and counted separately (see ``_labels``).
    With a ``cache`` (a dict kept for one sync), a region is validated once per :func:`_shape`: a
    sync of 100k images has only a handful of shapes, and validating every region costs as much as
    writing it. A prediction with a region of a new shape, a region that failed, or an unusual score
    goes through ``validate_prediction`` whole, so failures are counted and explained exactly as
    without the cache.
    """
    target = mapping.target
    known = {c.name: c.labels for c in (target.rectangles, target.polygons) if c is not None}
    checked = [r for r in pred["result"]
               if set(r["value"].get(r["type"], ())) <= known.get(r["from_name"], frozenset())]
    if not checked:
        return True
    if cache is not None and _cached_valid(interface, pred, checked, cache):
        return True
    return validate_regions(interface, pred, checked, report, f"image {record.uid}")


def validate_regions(interface, pred, regions, report, subject):
    """``validate_prediction`` over ``pred`` with only ``regions``; a failure is counted and explained."""
    errors = interface.validate_prediction({**pred, "result": regions}, return_errors=True)
    if errors:
        report.invalid_predictions += 1
        report.explain(f"{subject}: prediction does not validate: {'; '.join(map(str, errors))[:500]}")
        return False
    return True


def _cached_valid(interface, pred, regions, cache):
    """True when every region has a shape already found valid (validating new shapes on the way)."""
    score = pred.get("score")
    if score is not None and not (isinstance(score, (int, float)) and 0.0 <= score <= 1.0):
        return False
    for region in regions:
        shape = _shape(region)
        valid = cache.get(shape)
        if valid is None:
            valid = cache[shape] = not interface.validate_prediction({"result": [region]}, return_errors=True)
        if not valid:
            return False
    return True


def _shape(region):
    """What validation of a region can depend on. The SDK checks that a region has ``from_name``,
    ``to_name``, ``type`` and ``value``, and then only those: they are kept with their strings and
    structure, except that every finite number in [0, 100] inside ``value`` (percent coordinates,
    rotation) is reduced to its type; any other number stays as it is. Of the other keys
    (``original_width``, ``score``, ``id``...) only the names count."""
    return (region.get("from_name"), region.get("to_name"), region.get("type"), tuple(region),
            _value_shape(region.get("value")))


def _value_shape(value):
    kind = type(value)
    if kind is float or kind is int:
        return kind if 0 <= value <= 100 else value
    if kind is dict:
        return tuple([(k, _value_shape(v)) for k, v in value.items()])
    if kind is list:
        return ("[]", *[_value_shape(v) for v in value])
    return value

def annotation(entity):
    """An LS_annotation entity (written by the target storage) as annotation fields, or ``None``."""
    try:
        result = json.loads(entity.get("result") or "[]")
    except (TypeError, ValueError):
        return None
    if not isinstance(result, list):
        return None
    return {"ls_annotation_id": entity.get("ls_annotation_id"), "unique_id": _uuid(entity.get("ls_annotation_uid")),
            "result": result,
            "completed_by": entity.get("completed_by") or "",
            "was_cancelled": bool(entity.get("was_cancelled", False)),
            "ground_truth": bool(entity.get("ground_truth", False)),
            "lead_time": entity.get("lead_time"),
            "created_at": _date(entity.get("created_at")), "updated_at": _date(entity.get("updated_at"))}


def _uuid(value):
    """The exported annotation's identity (its Label Studio ``unique_id``), kept by the re-imported one."""
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def _date(value):
    if isinstance(value, dict):
        value = value.get("_date")
    return value if isinstance(value, str) else None
