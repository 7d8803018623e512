"""Prediction score and model version from named ApertureDB properties, for uncertainty ordering.

Label Studio's "Uncertainty sampling" (Project settings > Annotation > Task sampling) serves first the task
whose prediction of the project's ``model_version`` has the lowest ``score`` (label_studio
projects/functions/next_task.py ``_try_uncertainty_sampling``: ``order_by('predictions__score')``). So a
model's confidence stored in ApertureDB, on the image or on its boxes and polygons, becomes that score:
the image's own value when it has one (its prediction exists even without regions), else the lowest
value among its regions (the least confident region decides). ``model_version_property`` names the
image property holding the model's name. Pure: records in, prediction dicts out.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Scoring:
    score_property: str = ""
    model_version_property: str = ""

    @classmethod
    def for_storage(cls, storage):
        return cls(getattr(storage, "score_property", "") or "", getattr(storage, "model_version_property", "") or "")

    @property
    def active(self):
        return bool(self.score_property or self.model_version_property)


def _number(value):
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def scored(pred, record, scoring, default_model_version):
    """``pred`` (or ``None``) with the score and model version the storage's properties give."""
    if not scoring.active:
        return pred
    props = record.properties
    image_score = _number(props.get(scoring.score_property)) if scoring.score_property else None
    version = props.get(scoring.model_version_property) if scoring.model_version_property else None
    if pred is None:
        if image_score is None:
            return None
        pred = {"model_version": default_model_version, "result": []}
    pred = {**pred}
    if scoring.score_property:
        regions = {r.get("_uniqueid"): _number(r.get(scoring.score_property))
                   for r in (*record.boxes, *record.polygons)}
        values = [v for v in regions.values() if v is not None]
        if image_score is not None:
            pred["score"] = image_score
        elif values:
            pred["score"] = min(values)
        if values:
            pred["result"] = [_region_score(region, regions) for region in pred["result"]]
    if isinstance(version, (str, int, float)) and not isinstance(version, bool) and str(version):
        pred["model_version"] = str(version)
    return pred


def _region_score(region, scores):
    """A region of ``pred['result']`` with its own node's value as ``score`` (region ids are the node's
    ``adb_<uid>``, with ``_<ring>`` for each ring of a polygon)."""
    from ls_aperturedb.source.mapping import _region_id

    by_id = {_region_id(uid): value for uid, value in scores.items() if value is not None}
    rid = region.get("id", "")
    value = by_id.get(rid, by_id.get(rid.rsplit("_", 1)[0]))
    return {**region, "score": value} if value is not None else region
