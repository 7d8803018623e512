"""Write-back: drain the outbox (``ApertureDBExportStorageLink`` rows) into ApertureDB.

The outbox row is the record of what must be written; Celery messages only say "look now".
A worker *claims* rows (a lease token in a short database transaction: ``claims``), builds the commands from the
annotation as it is *now*, writes each annotation in one ApertureDB transaction (many annotations
per transaction during a Sync), then releases the rows in a second short transaction. No database
lock is held while ApertureDB is called, so saves never wait on it. A row saved again meanwhile
gets a newer ``wanted_version`` and stays pending; the claimant exports it again before it stops,
so the last version always wins and a duplicated wake-up finds nothing to do.

The lease alone cannot stop a worker that stalls past it (a stuck socket, a pause) from writing an
old version after another worker wrote a newer one, or after a delete. So ApertureDB checks it too:
every write carries a fence (``mapping.fence``) that aborts its transaction when ApertureDB already
holds that annotation at the same or a newer version, or a tombstone of its deletion. A refused
transaction is then read back (``_refused``): jobs found superseded are settled, not failed.
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, Q
from django.utils import timezone
from tasks.models import Annotation

from ls_aperturedb import conf
from ls_aperturedb.client.connection import QueryError
from ls_aperturedb.ops import installation
from ls_aperturedb.ops.sync_events import sync_finished
from ls_aperturedb.models import ApertureDBExportStorage, ApertureDBExportStorageLink
from ls_aperturedb.target import mapping, media, stored_size
from ls_aperturedb.target.claims import claim, release
from ls_aperturedb.target.media import identity

logger = logging.getLogger(__name__)
Link = ApertureDBExportStorageLink
State = Link.State
MAX_ROUNDS = 20


class Unavailable(Exception):
    """ApertureDB could not be reached; the rows stay pending and are retried."""


@dataclass
class Outcome:
    exported: int = 0
    deleted: int = 0
    failed: int = 0
    superseded: int = 0  # ApertureDB already held this version or a newer one (a late or repeated write)
    unavailable: str = ""

    def add(self, other):
        self.exported += other.exported
        self.deleted += other.deleted
        self.failed += other.failed
        self.superseded += other.superseded
        self.unavailable = other.unavailable or self.unavailable


# ------------------------------------------------------------------ outbox writes (request side)
def queue_annotation(annotation):
    """Mark the annotation pending for every ApertureDB target of its project; return the storage ids.

    One statement per target storage (an upsert), in the caller's transaction.
    """
    storage_ids = list(ApertureDBExportStorage.objects.filter(project_id=annotation.project_id)
                       .values_list("id", flat=True))
    if not storage_ids:
        return []
    now = timezone.now()
    Link.objects.bulk_create(
        [Link(storage_id=sid, annotation=annotation, annotation_key=annotation.id, state=State.PENDING,
              annotation_uid=identity(annotation.unique_id, annotation.id), wanted_version=annotation.updated_at,
              updated_at=now)
         for sid in storage_ids],
        update_conflicts=True, unique_fields=["storage", "annotation_key"],
        update_fields=["annotation", "annotation_uid", "state", "wanted_version", "updated_at"])
    return storage_ids


def queue_deletion(annotation):
    """Before an annotation is deleted: its rows become 'deleting' where the target allows deletes
    (others are dropped; their nodes stay). Returns the storage ids to wake."""
    links = Link.objects.filter(annotation_key=annotation.id, storage__project_id=annotation.project_id)
    links.filter(storage__can_delete_objects=False).delete()
    links.filter(storage__can_delete_objects=None).delete()
    storage_ids = list(links.values_list("storage_id", flat=True))
    links.update(state=State.DELETING, annotation_uid=identity(annotation.unique_id, annotation.id),
                 updated_at=timezone.now())
    return storage_ids


# ------------------------------------------------------------------ export
def export_annotation(storage, annotation_key):
    """Export (or delete) one annotation for one storage, until the outbox row is settled.

    Returns an :class:`Outcome`; ``unavailable`` is set when ApertureDB could not be reached.
    """
    # Failed rows wait for the reconcile's backoff; a save makes them pending again.
    rows = Link.objects.filter(storage=storage, annotation_key=annotation_key,
                               state__in=(State.PENDING, State.DELETING))
    total = Outcome()
    for _ in range(MAX_ROUNDS):
        outcome = _export_claimed(storage, rows, 1)
        if outcome is None:
            break
        total.add(outcome)
        if outcome.unavailable:
            break
    return total


def export_open(storage, progress=None, claimable=None):
    """Export every open row of ``storage`` (or of ``claimable``) in batches; return the Outcome."""
    rows = claimable if claimable is not None else Link.objects.filter(storage=storage)
    size = conf.get_int("EXPORT_BATCH_SIZE")
    total = Outcome()
    started = timezone.now()
    while True:
        # A row that failed during this run is not claimed again by it (it would be, endlessly: failed rows
        # are open); the reconcile's backoff retries it.
        outcome = _export_claimed(storage, rows.exclude(state=State.FAILED, updated_at__gte=started), size)
        if outcome is None:
            return total
        total.add(outcome)
        if progress:
            progress(total)
        if outcome.unavailable:
            return total


def export_pending(storage, progress=None):
    """Target "Sync": every annotation of the project not yet exported at its latest version.

    Annotations that never fired a signal (bulk imports) get their outbox row here; rows exported
    at an older version than the annotation now has become pending again.
    """
    queue_missing(storage)
    return export_open(storage, progress)


def run_sync(storage):
    """The worker side of "Sync": keeps Label Studio's storage status fields coherent."""
    storage.info_set_in_progress()

    def progress(total):
        storage.info_update_progress(last_sync_count=total.exported, exports=status(storage))

    try:
        total = export_pending(storage, progress)
        if total.unavailable:
            raise Unavailable(f"{total.unavailable}; the rest is exported when it is back")
    except Exception:
        storage.info_set_failed()
        sync_finished("target", storage.pk)
        raise
    storage.info_set_completed(last_sync_count=total.exported, exports=status(storage))
    sync_finished("target", storage.pk)  # the storage's webhook, if it has one
    return total


def reconcile():
    """Periodic (Celery beat): retry what is pending without a live wake-up, and failed rows with backoff."""
    now = timezone.now()
    base = conf.get_int("EXPORT_RETRY_SECONDS")
    due = Q(state__in=(State.PENDING, State.DELETING), updated_at__lt=now - timedelta(seconds=base))
    for attempts in range(7):
        wait = timedelta(seconds=base * 2 ** attempts)
        attempts_q = Q(attempts__gte=attempts) if attempts == 6 else Q(attempts=attempts)
        due |= Q(state=State.FAILED, updated_at__lt=now - wait) & attempts_q
    rows = Link.objects.filter(due)
    for storage in ApertureDBExportStorage.objects.filter(id__in=rows.values("storage_id")):
        outcome = export_open(storage, claimable=rows.filter(storage=storage))
        if outcome.exported or outcome.deleted or outcome.failed:
            logger.info("reconcile: storage %s exported %s, deleted %s, failed %s", storage.id,
                        outcome.exported, outcome.deleted, outcome.failed)


def fail_if_stale(storage):
    """Label Studio's health check asks rq; our syncs run on Celery: a sync whose last sign of life
    is older than the export lease is shown as failed, so a new Sync can be started, and its webhook
    hears that it failed (once: only the request whose update flips the status sends the event)."""
    if storage.status not in (storage.Status.QUEUED, storage.Status.IN_PROGRESS):
        return
    meta = storage.meta or {}
    seen = meta.get("time_last_ping") or meta.get("time_queued")
    if not seen or (timezone.now() - datetime.fromisoformat(seen)).total_seconds() <= conf.get_int("EXPORT_LEASE_SECONDS"):
        return
    traceback = "The export sync stopped reporting (worker restarted?); pending annotations " \
                "are exported by the periodic reconcile or the next Sync."
    if type(storage).objects.filter(pk=storage.pk, status=storage.status).update(
            status=storage.Status.FAILED, traceback=traceback):
        storage.status, storage.traceback = storage.Status.FAILED, traceback
        sync_finished("target", storage.pk)


def queue_missing(storage):
    annotations = Annotation.objects.filter(project_id=storage.project_id)
    known = Link.objects.filter(storage=storage).values("annotation_key")
    missing = annotations.exclude(id__in=known).only("id", "updated_at", "unique_id")
    now = timezone.now()
    batch = []
    for annotation in missing.iterator(chunk_size=5000):
        batch.append(Link(storage=storage, annotation_id=annotation.id, annotation_key=annotation.id,
                          annotation_uid=identity(annotation.unique_id, annotation.id),
                          wanted_version=annotation.updated_at,
                          updated_at=now))
        if len(batch) >= 5000:
            Link.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    Link.objects.bulk_create(batch, ignore_conflicts=True)
    Link.objects.filter(storage=storage, state=State.EXPORTED,
                        annotation__updated_at__gt=F("exported_version")).update(state=State.PENDING)


def _export_claimed(storage, rows, limit):
    """Claim up to ``limit`` rows, write them, release them. None when nothing was claimable."""
    token, ids = claim(rows, limit)
    if not ids:
        return None
    results = {}
    try:
        results = _write(storage, Link.objects.filter(id__in=ids, claim=token))
    finally:
        release(token, results)
    outcome = Outcome()
    for kind, _version, error in results.values():
        if kind == "exported":
            outcome.exported += 1
        elif kind == "deleted":
            outcome.deleted += 1
        elif kind == "failed":
            outcome.failed += 1
        elif kind == "superseded":
            outcome.superseded += 1
        elif kind == "unavailable":
            outcome.unavailable = error
    return outcome


@dataclass
class Job:
    """One claimed row: write ``record`` (an upsert) or, without a record, delete the annotation."""

    link_id: int
    uid: str
    version: object = None
    record: mapping.AnnotationRecord = None


def _write(storage, links):
    """Write the claimed rows to ApertureDB; return {link id: (kind, version, error)}."""
    links = list(links)
    annotations = Annotation.objects.filter(id__in=[link.annotation_key for link in links]).select_related(
        "completed_by", "task", "task__io_storages_aperturedbimportstoragelink")
    annotations = {a.id: a for a in annotations}
    results, jobs, alive = {}, [], []
    for link in links:
        annotation = annotations.get(link.annotation_key)
        if link.state == State.DELETING:
            jobs.append(Job(link.id, link.annotation_uid or identity(None, link.annotation_key)))
        elif annotation is None:  # deleted while its export was pending: nothing left to write
            results[link.id] = ("deleted", None, "")
        else:
            alive.append((link, annotation))
    records = media.records(storage, [annotation for _, annotation in alive])
    jobs += [Job(link.id, record.uid, annotation.updated_at, record)
             for (link, annotation), record in zip(alive, records)]
    if not jobs:
        return results
    try:
        jobs = media.with_known_nodes(lambda query: _query(storage.get_pool(), query), jobs,
                                      media.track_properties(storage))
        jobs = stored_size.in_stored_pixels(lambda query: _query(storage.get_pool(), query), jobs)
    except Unavailable as exc:
        return {**results, **{job.link_id: ("unavailable", None, str(exc)) for job in jobs}}
    results.update(_run(storage, jobs))
    return results


def _run(storage, jobs):
    """One ApertureDB transaction for all ``jobs``; a refused one is sorted out by ``_refused``."""
    results, query, sent = {}, [], []
    counter = mapping.refs()
    for job in jobs:
        try:
            query += (mapping.upsert(job.record, counter) if job.record
                      else mapping.delete(job.uid, installation.current(), storage.project_id))
            sent.append(job)
        except mapping.MalformedAnnotation as exc:
            results[job.link_id] = ("failed", job.version, f"malformed annotation: {exc}")
    if not sent:
        return results
    try:
        _query(storage.get_pool(), query)
    except QueryError as exc:
        return {**results, **_refused(storage, sent, exc)}
    except Unavailable as exc:
        return {**results, **{job.link_id: ("unavailable", None, str(exc)) for job in sent}}
    for job in sent:
        results[job.link_id] = ("exported", job.version, "") if job.record else ("deleted", None, "")
    return results


def _refused(storage, jobs, error):
    """ApertureDB refused the transaction of ``jobs``: one read of their fences tells which were
    superseded (a newer or the same version is there, or a tombstone); those are settled and the
    others written again together. When none was superseded, each job gets a transaction of its own,
    so one bad annotation cannot hold back the rest; a single job's refusal is a failure."""
    try:
        superseded = _superseded(storage, jobs)
    except Unavailable as exc:
        return {job.link_id: ("unavailable", None, str(exc)) for job in jobs}
    results = {job.link_id: superseded[job.link_id] for job in jobs if job.link_id in superseded}
    rest = [job for job in jobs if job.link_id not in superseded]
    if superseded and rest:
        results.update(_run(storage, rest))
    elif len(rest) == 1:
        results[rest[0].link_id] = ("failed", rest[0].version, f"ApertureDB refused it: {error}")
    elif rest:
        for job in rest:
            results.update(_run(storage, [job]))
    return results


def _superseded(storage, jobs):
    """{link id: result} for the upserts whose fence in ApertureDB is at their version or newer."""
    upserts = [job for job in jobs if job.record]
    if not upserts:
        return {}
    response, _ = _query(storage.get_pool(), mapping.fences_of(
        sorted({job.uid for job in upserts}), installation.current()))
    newest = {}
    for fence in response[0]["FindEntity"].get("entities") or []:
        uid, version = fence.get(mapping.IDENTITY), fence.get(mapping.VERSION)
        if isinstance(version, (int, float)):
            newest[uid] = max(version, newest.get(uid, version))
    out = {}
    for job in upserts:
        fenced = newest.get(job.uid)
        if fenced is None or fenced < mapping.version_of(job.version):
            continue
        if fenced >= mapping.DELETED_VERSION:
            out[job.link_id] = ("failed", job.version, "the annotation was deleted from ApertureDB "
                                "(its tombstone is there), so it is not written again")
        else:
            out[job.link_id] = ("superseded", job.version, "")
    return out


def _query(pool, query):
    try:
        return pool.query(query)
    except QueryError:
        raise
    except Exception as exc:  # the SDK raises bare Exceptions for connection failures
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise Unavailable(f"ApertureDB unreachable at {pool.config.address}: {first}") from None


# ------------------------------------------------------------------ status
def status(storage):
    """Counts of outbox rows per state and the latest error, for the storage's status in the UI."""
    counts = {state: 0 for state in State.values}
    for state, n in _count_by_state(storage):
        counts[state] = n
    last = (Link.objects.filter(storage=storage).exclude(last_error="").order_by("-updated_at")
            .values_list("last_error", flat=True).first())
    return {**counts, "last_error": last or ""}


def _count_by_state(storage):
    return Link.objects.filter(storage=storage).values_list("state").annotate(n=Count("id")).order_by()
