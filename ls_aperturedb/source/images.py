"""The ``images`` kind: ApertureDB images become tasks, their boxes and polygons predictions.

The listing and fetch queries are ``query.ImageQuery``; the pure translation is ``mapping``. What needs
ApertureDB beyond one query per page is the size of an image without size properties: its header is
read from the stored bytes (``mapping.header_size``).
"""
import json

from ls_aperturedb.source.mapping import Mapping, check_prediction, header_size, image_size, prediction, task_data
from ls_aperturedb.source.query import ImageQuery, parse_details
from ls_aperturedb.source.scoring import Scoring, scored


class ImageKind:
    """Images (``FindImage``) as tasks; ``frames.FrameKind`` is the same with ``FindFrame``."""

    def __init__(self, storage, target, interface):
        self.target, self.interface = target, interface
        self.mapping = Mapping.for_storage(storage, target)
        self.query = self.make_query(storage)
        self.model_version = self.mapping.model_version
        self.scoring = Scoring.for_storage(storage)  # score / model version from named properties
        self.read_only = bool(getattr(storage, "read_only_predictions", False))
        self.shapes = {}  # region shape -> valid (see mapping.check_prediction)

    def make_query(self, storage):
        return ImageQuery.for_storage(storage)

    def records(self, pool, uids):
        return parse_details(pool.query(self.query.details(uids=uids))[0]) if uids else []

    def sizes(self, pool, records, report):
        """``{uid: (width, height)}`` from the size properties, else from the stored bytes' header."""
        sizes = {r.uid: image_size(r.properties, self.mapping) for r in records}
        missing = [uid for uid, size in sizes.items() if size is None]
        for uid in missing:  # rare for images: no size property; read the header
            response, blobs = pool.query(self.query.blob(uid))
            entities = next(iter(response[0].values())).get("entities") or []
            if entities and blobs:
                try:
                    sizes[uid] = header_size(blobs[entities[0].get("_blob_index", 0)])
                    report.sizes_from_header += 1
                except Exception as exc:  # undecodable header: the task is still created
                    report.explain(f"image {uid}: size unknown ({exc}); its regions were not imported")
        return sizes

    def prepare(self, pool, records, report, extras=None):
        needs_size = [r for r in records if r.boxes or r.polygons]
        sizes = self.sizes(pool, needs_size, report) if needs_size else {}
        rows = []
        for record in records:
            size = sizes.get(record.uid)
            pred = prediction(record, self.mapping, size, report) if size else None
            pred = scored(pred, record, self.scoring, self.model_version)
            if pred is not None and self.read_only:  # Label Studio's region flag: shown, not editable
                pred = {**pred, "result": [{**region, "readonly": True} for region in pred["result"]]}
            if pred is not None:
                check_prediction(self.interface, pred, record, self.mapping, report, self.shapes)
            data = task_data(record, self.mapping)
            if extras is not None:
                data.update(extras(record.uid))
            rows.append((record, data, json.dumps(data), pred and (json.dumps(pred["result"]), pred.get("score"),
                                                                   pred.get("model_version") or self.model_version)))
        return rows
