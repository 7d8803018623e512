"""Import sync, its life cycle: ApertureDB objects (images, videos or key frames) become tasks, in bulk
and incrementally (the batches themselves: ``sync.Sync``; what a kind of object becomes: ``kinds``).

One sync at a time per storage: :func:`claim` moves the storage to ``queued`` with a fresh run id in
one conditional UPDATE, and every later write of the run is conditional on that id, so a second sync
(or a message redelivered after a worker died) cannot interleave. The run pings ``heartbeat`` on
every batch; :func:`fail_if_dead` (Label Studio's list-time health check) marks a run whose heartbeat
went stale as failed, and a new sync may then start. A run that completes with problems the user must
fix (a video frame rate that differs from the Video tag's) is ``completed_with_errors``, the problems in
its ``traceback`` as Label Studio's own storages show validation errors.
"""
import logging
import uuid
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from ls_aperturedb import conf
from ls_aperturedb.labeling_config import LabelingConfigProblem
from ls_aperturedb.source import kinds, ranges
from ls_aperturedb.source.query import parse_ids
from ls_aperturedb.source.selection import SelectionProblem
from ls_aperturedb.source.sync import ListingChanged, Superseded, Sync, _model

logger = logging.getLogger(__name__)


def _stale_before():
    return timezone.now() - timedelta(seconds=conf.get_int("SYNC_STALE_SECONDS"))


def _busy():
    Status = _model().Status
    return Q(status__in=[Status.QUEUED, Status.IN_PROGRESS]) & Q(heartbeat__gte=_stale_before())


def claim(storage):
    """Queue a sync unless one is alive; return the new run id, or ``None`` when one is running."""
    run = uuid.uuid4().hex
    now = timezone.now()
    meta = {"attempts": (storage.meta or {}).get("attempts", 0) + 1, "time_queued": str(now)}
    claimed = _model().objects.filter(pk=storage.pk).exclude(_busy()).update(
        status=_model().Status.QUEUED, last_sync_job=run, heartbeat=now, meta=meta, traceback=None,
        last_sync=None, last_sync_count=None)
    storage.refresh_from_db()
    return run if claimed else None


def fail_if_dead(storage):
    """Mark a queued or running sync failed when its heartbeat is stale.

    Running: the worker died. Queued: no worker took the message within ``SYNC_STALE_SECONDS``
    (none runs, it listens to another broker or queue, or all are busy); a worker that takes the
    message later skips it (the run is no longer queued), and the user runs sync again.
    """
    Status = _model().Status
    if storage.status not in (Status.QUEUED, Status.IN_PROGRESS) or (
            storage.heartbeat and storage.heartbeat >= _stale_before()):
        return
    stale = conf.get_int("SYNC_STALE_SECONDS")
    if storage.status == Status.QUEUED:
        message = (f"No worker picked up the sync within {stale} s: is `ls-aperturedb worker` running with "
                   "the same LS_APERTUREDB_BROKER_URL and LS_APERTUREDB_QUEUE (and not busy with other syncs)? "
                   "Run sync again once it is; nothing was imported by this one.")
    else:
        message = ("The sync stopped without finishing: no sign of life for "
                   f"{stale} s (the worker was killed, restarted or lost). "
                   "Run sync again: tasks already created are kept and none will be duplicated.")
    dead = _model().objects.filter(Q(heartbeat__lt=_stale_before()) | Q(heartbeat__isnull=True), pk=storage.pk,
                                   status=storage.status, last_sync_job=storage.last_sync_job)
    if dead.update(status=Status.FAILED, traceback=message):
        storage.refresh_from_db()
        from ls_aperturedb.ops.sync_events import sync_finished

        sync_finished("source", storage.pk)  # a dead sync ends too: its webhook hears it failed


def fail_queued(storage, run, message):
    """The run could not be handed to a worker (broker down): show it failed with ``message``."""
    Status = _model().Status
    meta = {**(storage.meta or {}), "time_failure": str(timezone.now())}
    _model().objects.filter(pk=storage.pk, last_sync_job=run, status=Status.QUEUED).update(
        status=Status.FAILED, traceback=message, meta=meta)


def sync_now(storage):
    """Claim and run in this process (Label Studio's ``scan_and_create_links`` entry point)."""
    run = claim(storage)
    if run is not None:
        run_sync(storage.pk, run)


def run_sync(storage_id, run, selection=None):
    """Run the sync ``run`` of storage ``storage_id`` unless it was superseded; record the outcome.
    ``selection``: a one-off selection instead of the storage's (the Data Manager's "Import similar")."""
    Model = _model()
    started = Model.objects.filter(pk=storage_id, last_sync_job=run, status=Model.Status.QUEUED)
    now = timezone.now()
    storage = Model.objects.filter(pk=storage_id).first()
    if storage is None or not started.update(
            status=Model.Status.IN_PROGRESS, heartbeat=now,
            meta={**(storage.meta or {}), "time_in_progress": str(now), "time_last_ping": str(now)}):
        logger.info("import sync %s of storage %s superseded or already run; skipping", run, storage_id)
        return
    storage.refresh_from_db()
    _run(storage, run, lambda sync: ranges.coordinate(sync) if ranges.spreads(sync) else sync.run(),
         selection)


def join_sync(storage_id, run):
    """Take part in the running sync ``run`` spread over workers (``ranges``); a no-op once it ended."""
    Model = _model()
    storage = Model.objects.filter(pk=storage_id, last_sync_job=run, status=Model.Status.IN_PROGRESS).first()
    if storage is None:
        logger.info("import sync %s of storage %s no longer running; part skipped", run, storage_id)
        return
    _run(storage, run, ranges.take_part)


def _run(storage, run, body, selection=None):
    """``body(sync)`` (``True`` when this process finished the run), then the outcome recorded."""
    Model = _model()
    sync = None
    try:
        sync = Sync(storage, run, selection)
        if not body(sync):
            return  # a participant of a spread run that another one finishes
        errors = sync.report.errors  # e.g. videos whose regions a frame-rate mismatch kept out
        _record(storage, run, Model.Status.COMPLETED_WITH_ERRORS if errors else Model.Status.COMPLETED, sync._meta(),
                traceback="\n".join(errors) or None)
    except Superseded:
        logger.warning("import sync %s of storage %s was superseded", run, storage.pk)
    except Exception as exc:
        logger.warning("import sync %s of storage %s failed: %s", run, storage.pk, exc, exc_info=True)
        meta = sync._meta() if sync is not None else dict(storage.meta or {})
        _record(storage, run, Model.Status.FAILED, meta, traceback=_readable(exc, storage))


def _record(storage, run, status, meta, traceback=None):
    """The run's outcome, written only while the run still owns the storage."""
    Model = _model()
    now = timezone.now()
    meta = {**meta, "time_failure" if status == Model.Status.FAILED else "time_completed": str(now)}
    fields = {"status": status, "meta": meta, "heartbeat": now, "traceback": traceback}
    if status != Model.Status.FAILED:
        fields.update(last_sync=now, last_sync_count=meta.get("tasks_created", 0))
    if Model.objects.filter(pk=storage.pk, last_sync_job=run).update(**fields):
        from ls_aperturedb.ops.sync_events import sync_finished

        sync_finished("source", storage.pk)  # the storage's webhook, if it has one


def _readable(exc, storage):
    from ls_aperturedb.client.connection import ConnectionProblem, QueryError

    address = f"{storage.hostname}:{storage.port}" if not storage.aperturedb_key else "ApertureDB"
    if isinstance(exc, ConnectionProblem):
        return exc.message
    if isinstance(exc, (LabelingConfigProblem, ListingChanged, SelectionProblem)):
        return f"Sync failed: {exc}"
    if isinstance(exc, QueryError):
        return f"ApertureDB refused the query: {exc}"
    if isinstance(exc, (ConnectionError, OSError, TimeoutError)) or "connect" in str(exc).lower():
        return f"Lost the connection to {address} during the sync: {exc}. Run sync again to continue."
    return f"Sync failed: {type(exc).__name__}: {exc}"


def iter_image_ids(storage, page=100):
    """``_uniqueid`` of the matching images in sync order (the wizard's preview: offset pages, which
    decide nothing; a batched read would share, and on the emulator restart, a running sync's); with a
    selection, the images it would import."""
    if (storage.selection or "all") != "all":
        from ls_aperturedb.source.selecting import preview

        yield from preview(storage, storage.get_pool(), _matching_ids(storage, page), None)[0]
        return
    yield from _matching_ids(storage, page)


def _matching_ids(storage, page):
    query = kinds.query_for(storage)
    pool = storage.get_pool()
    offset = 0
    while True:
        uids = parse_ids(pool.query(query.ids(offset, page))[0])
        yield from uids
        if len(uids) < page:
            return
        offset += page
