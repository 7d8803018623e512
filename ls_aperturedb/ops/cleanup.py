"""Cleanup: remove everything the target storages wrote to ApertureDB for one project.

Scope: nodes carrying the project's ``ls_project_id`` *and* this installation's ``ls_installation``
(ops/installation.py) — ``LS_annotation`` entities, their region nodes (boxes, polygons, clips and the
``LS_*`` region entities), the connections from them (``LS_annotation_image``, ``_region``, ``_video``,
``LS_region_prediction``), and the annotations' fences (found by the uids of those entities and of
the storages' outbox rows, so tombstones of deleted annotations go too). Images, videos and the
prediction nodes the source storage imported carry neither property and are never touched.
Connections are deleted explicitly before their nodes (``FindConnection`` + ``DeleteConnection {ref}``,
as the exporter does), not left to whatever a node deletion does to its edges.
"""
import logging
from dataclasses import dataclass, field

from ls_aperturedb.ops import installation
from ls_aperturedb.target import mapping, video

logger = logging.getLogger(__name__)
REGION_COMMANDS = ("BoundingBox", "Polygon", "Clip")
REGION_ENTITIES = (*mapping.REGION_ENTITY_CLASSES, video.KEYFRAME_CLASS, video.RANGE_CLASS)
ANNOTATION_EDGES = (mapping.IMAGE_CONNECTION, mapping.REGION_CONNECTION, video.VIDEO_CONNECTION)
FENCE_CHUNK = 500


class CleanupError(ValueError):
    """Nothing to clean with: no such project, or no ApertureDB target storage in it."""


@dataclass
class Report:
    storage_id: int
    project_id: int
    dry_run: bool
    counts: dict = field(default_factory=dict)

    def __str__(self):
        verb = "would remove" if self.dry_run else "removed"
        parts = ", ".join(f"{n} {name}" for name, n in self.counts.items())
        return f"target storage {self.storage_id} (project {self.project_id}): {verb} {parts or 'nothing'}"


def cleanup_project(project_id, dry_run=False, storage_id=None):
    """Clean every ApertureDB target storage of the project (or only ``storage_id``); one report each."""
    from ls_aperturedb.models import ApertureDBExportStorage

    storages = ApertureDBExportStorage.objects.filter(project_id=project_id).order_by("id")
    if storage_id is not None:
        storages = storages.filter(id=storage_id)
    storages = list(storages)
    if not storages:
        raise CleanupError(f"project {project_id} has no ApertureDB target storage"
                           + (f" with id {storage_id}" if storage_id is not None else "")
                           + "; cleanup needs one to reach ApertureDB")
    return [cleanup_storage(storage, dry_run=dry_run) for storage in storages]


def cleanup_storage(storage, dry_run=False, uids=None, keep_links=False):
    """Remove (or count) what ``storage`` may have written for its project; its outbox rows are dropped
    afterwards so a later Sync exports everything again. ``uids``: outbox identities known beforehand
    (the storage may be deleted already)."""
    pool = storage.get_pool()
    scope = {"ls_project_id": ["==", storage.project_id],
             installation.PROPERTY: ["==", installation.current()]}
    if uids is None:
        uids = set(storage.links.exclude(annotation_uid="").values_list("annotation_uid", flat=True))
    uids = set(uids) | _annotation_uids(pool, scope) | _fences_of_project(pool, scope)
    report = Report(storage.id, storage.project_id, dry_run)
    report.counts = _count(pool, scope, uids)
    if not dry_run:
        _delete(pool, scope, uids)
        if not keep_links:
            storage.links.all().delete()
        logger.info("%s", report)
    return report


def _annotation_uids(pool, scope):
    response, _ = pool.query([{"FindEntity": {"with_class": mapping.ANNOTATION_CLASS, "constraints": scope,
                                              "results": {"list": [mapping.IDENTITY]}}}])
    return {e[mapping.IDENTITY] for e in response[0]["FindEntity"].get("entities") or [] if e.get(mapping.IDENTITY)}


def _fence_scope(chunk):
    return {mapping.IDENTITY: ["in", chunk], installation.PROPERTY: ["==", installation.current()]}


def _fences_of_project(pool, scope):
    """Fences tagged with the project (tombstones of deleted annotations included)."""
    response, _ = pool.query([{"FindEntity": {"with_class": mapping.FENCE_CLASS, "constraints": scope,
                                              "results": {"list": [mapping.IDENTITY]}}}])
    return {e[mapping.IDENTITY] for e in response[0]["FindEntity"].get("entities") or [] if e.get(mapping.IDENTITY)}


def _chunks(uids):
    uids = sorted(uids)
    return [uids[i:i + FENCE_CHUNK] for i in range(0, len(uids), FENCE_CHUNK)]


def _count(pool, scope, uids):
    count = {"results": {"count": True}}
    query = [{"FindEntity": {"_ref": 1, "with_class": mapping.ANNOTATION_CLASS, "constraints": scope, **count}}]
    names = ["annotations"]
    for n, command in enumerate(REGION_COMMANDS):
        query.append({f"Find{command}": {"_ref": 2 + n, "constraints": scope, **count}})
        names.append(f"{command.lower()} regions")
    query.append({"FindEntity": {"with_class": REGION_ENTITIES[0], "constraints": scope, **count}})
    names.append("region entities")
    for cls in REGION_ENTITIES[1:]:
        query.append({"FindEntity": {"with_class": cls, "constraints": scope, **count}})
        names.append("region entities")
    for edge in ANNOTATION_EDGES:
        query.append({"FindConnection": {"with_class": edge, "src": 1, **count}})
        names.append("connections")
    for n in range(2):  # boxes and polygons accepted from a prediction: their edge to it
        query.append({"FindConnection": {"with_class": mapping.PREDICTION_CONNECTION, "src": 2 + n, **count}})
        names.append("connections")
    response, _ = pool.query(query)
    counts = {}
    for name, item in zip(names, response):
        reply = next(iter(item.values()))
        counts[name] = counts.get(name, 0) + (reply.get("count") or reply.get("returned") or 0)
    fences = 0
    for chunk in _chunks(uids):
        reply, _ = pool.query([{"FindEntity": {"with_class": mapping.FENCE_CLASS, "constraints": _fence_scope(chunk),
                                               **count}}])
        fences += reply[0]["FindEntity"].get("count") or 0
    counts["fences"] = fences
    return counts


def _delete(pool, scope, uids):
    """One transaction for the nodes and their connections, then the fences in chunks."""
    query = [{"FindEntity": {"_ref": 1, "with_class": mapping.ANNOTATION_CLASS, "constraints": scope}}]
    ref = 2
    for command in ("BoundingBox", "Polygon"):
        query.append({f"Find{command}": {"_ref": ref, "constraints": scope}})
        query += [{"FindConnection": {"_ref": ref + 1, "with_class": mapping.PREDICTION_CONNECTION, "src": ref}},
                  {"DeleteConnection": {"ref": ref + 1}}]
        ref += 2
    for edge in ANNOTATION_EDGES:
        query += [{"FindConnection": {"_ref": ref, "with_class": edge, "src": 1}}, {"DeleteConnection": {"ref": ref}}]
        ref += 1
    query += [{f"Delete{command}": {"constraints": scope}} for command in REGION_COMMANDS]
    query += [{"DeleteEntity": {"with_class": cls, "constraints": scope}} for cls in REGION_ENTITIES]
    query.append({"DeleteEntity": {"with_class": mapping.ANNOTATION_CLASS, "constraints": scope}})
    pool.query(query)
    for chunk in _chunks(uids):
        pool.query([{"DeleteEntity": {"with_class": mapping.FENCE_CLASS, "constraints": _fence_scope(chunk)}}])


def cleanup_after_delete(storage):
    """Called while ``storage`` is being deleted (``pre_delete``): its outbox identities are read now,
    the nodes removed after the deletion commits; a failure is logged (the deletion stands)."""
    from django.db import transaction

    uids = set(storage.links.exclude(annotation_uid="").values_list("annotation_uid", flat=True))
    storage_id, project_id = storage.id, storage.project_id

    def run():
        try:
            report = cleanup_storage(storage, uids=uids, keep_links=True)
            logger.info("cleanup on delete: %s", report)
        except Exception as exc:
            logger.warning("cleanup on delete of target storage %s (project %s) failed: %s",
                           storage_id, project_id, exc)
    transaction.on_commit(run)
