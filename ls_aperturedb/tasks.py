"""Celery tasks: thin wrappers that take ids, re-fetch, and call importer/exporter."""
import logging
import os
import queue
import threading
from urllib.parse import urlsplit

from celery import shared_task
from django.conf import settings
from django.db import OperationalError, transaction

logger = logging.getLogger(__name__)


def broker_configured():
    return bool(getattr(settings, "CELERY_BROKER_URL", ""))


def enqueue(task, *args, **options):
    """Send ``task`` to the worker; without a broker, run it inline (zero-setup Label Studio).

    ``options`` go to ``apply_async`` (e.g. ``retry=False`` for a wake-up that must not block).
    """
    if not broker_configured():
        return task.apply(args=args, throw=False)
    return task.apply_async(args, **options)


@shared_task(bind=True, name="ls_aperturedb.tasks.import_sync")
def import_sync(self, storage_id, run, selection=None):
    from ls_aperturedb.source.importer import run_sync

    run_sync(storage_id, run, selection)


@shared_task(bind=True, name="ls_aperturedb.tasks.import_sync_part")
def import_sync_part(self, storage_id, run):
    """One more worker on a sync spread over workers (source/ranges.py)."""
    from ls_aperturedb.source.importer import join_sync

    join_sync(storage_id, run)


def start_import_sync(storage, selection=None):
    """Queue the storage's sync (a no-op while one is alive) and wake the worker. ``selection``: a one-off
    selection instead of the storage's (``{"tasks": [ids], "k": n}``, the Data Manager's "Import similar")."""
    from ls_aperturedb.source.importer import claim, fail_queued

    run = claim(storage)
    if run is None:
        return None
    args = (storage.pk, run) if selection is None else (storage.pk, run, selection)
    if broker_configured():
        _send_on_commit(import_sync, args, lambda message: fail_queued(storage, run, message))
    else:
        enqueue(import_sync, *args)
    return run


def _send_on_commit(task, args, fail):
    """Publish ``task`` once the caller's transaction commits (the worker must see the committed
    "queued" status). A broker that cannot take the message does not fail the request: ``fail``
    records a readable failure instead, so the storage is not left queued for a message never sent.
    """
    def send():
        try:
            task.apply_async(args)
        except Exception as exc:
            message = broker_down_message(exc)
            logger.warning("%s", message)
            fail(message)

    transaction.on_commit(send)


def broker_down_message(exc):
    """Why a sync could not be queued, without the broker's password."""
    from kombu.utils.url import maybe_sanitize_url

    url = maybe_sanitize_url(settings.CELERY_BROKER_URL)
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
    password = urlsplit(settings.CELERY_BROKER_URL).password
    if password:
        reason = reason.replace(password, "**")
    return (f"Could not queue the sync: the Celery broker {url} (LS_APERTUREDB_BROKER_URL) did not take it: "
            f"{reason}. Start the broker and `ls-aperturedb worker`, or unset LS_APERTUREDB_BROKER_URL to run "
            "syncs inside the web process; then run sync again.")


def wake_export(storage_id, annotation_key):
    """After commit: ask a worker to export one annotation, without making the request wait.

    With a broker, a per-process thread publishes the wake-up: a broker that is down costs the save
    nothing, and the outbox row stays pending until ``reconcile_exports`` picks it up.
    """
    if not broker_configured():
        enqueue(export_annotation, storage_id, annotation_key)
        return
    _publisher().put((storage_id, annotation_key))


_wakeups = {}  # pid -> queue drained by that process's publisher thread
_wakeups_lock = threading.Lock()


def _publisher():
    pid = os.getpid()
    with _wakeups_lock:
        if pid not in _wakeups:
            _wakeups[pid] = queue.SimpleQueue()
            threading.Thread(target=_publish_forever, args=(_wakeups[pid],), daemon=True,
                             name="ls-aperturedb-wakeups").start()
        return _wakeups[pid]


def _publish_forever(wakeups):
    while True:
        args = wakeups.get()
        try:
            enqueue(export_annotation, *args, retry=False)
        except Exception as exc:
            logger.warning("ApertureDB export of annotation %s left to reconcile: %s", args[1], exc)


@shared_task(bind=True, name="ls_aperturedb.tasks.export_annotation", max_retries=8,
             autoretry_for=(OperationalError,), retry_backoff=True)
def export_annotation(self, storage_id, annotation_key):
    from ls_aperturedb.target import exporter

    storage = exporter.ApertureDBExportStorage.objects.filter(id=storage_id).first()
    if storage is None:
        return
    outcome = exporter.export_annotation(storage, annotation_key)
    if outcome.unavailable and not self.request.is_eager:
        raise self.retry(countdown=min(2 ** self.request.retries, 60))


@shared_task(bind=True, name="ls_aperturedb.tasks.export_sync")
def export_sync(self, storage_id):
    from ls_aperturedb.target import exporter

    storage = exporter.ApertureDBExportStorage.objects.filter(id=storage_id).first()
    if storage is not None:
        exporter.run_sync(storage)


@shared_task(name="ls_aperturedb.tasks.reconcile_exports")
def reconcile_exports():
    from ls_aperturedb.target import exporter

    exporter.reconcile()


@shared_task(name="ls_aperturedb.tasks.run_scheduled_syncs")
def run_scheduled_syncs():
    from ls_aperturedb.ops import schedule

    schedule.run_due()


@shared_task(bind=True, name="ls_aperturedb.tasks.deliver_sync_event")
def deliver_sync_event(self, kind, storage_id, event):
    """One sync event to the storage's webhook; retried with backoff up to LS_APERTUREDB_WEBHOOK_ATTEMPTS."""
    from ls_aperturedb import conf
    from ls_aperturedb.ops import sync_events

    if self.request.is_eager:  # no broker: the sync ran in this process
        return sync_events.deliver_inline(kind, storage_id, event)
    try:
        return sync_events.deliver(kind, storage_id, event)
    except sync_events.DeliveryFailed as exc:
        attempts = conf.get_int("WEBHOOK_ATTEMPTS")
        if self.request.retries + 1 >= attempts:
            logger.warning("sync event %s given up after %s attempts: %s", event["delivery_id"], attempts, exc)
            return "failed"
        logger.info("sync event %s, attempt %s: %s", event["delivery_id"], self.request.retries + 1, exc)
        raise self.retry(countdown=min(2 ** self.request.retries, 300), max_retries=attempts)


def start_export_sync(storage):
    """Target "Sync": mark the storage queued and let a worker export what is not yet exported."""
    if not storage.info_set_queued():
        return
    if broker_configured():
        _send_on_commit(export_sync, (storage.pk,), lambda message: _fail_export_sync(storage, message))
    else:
        enqueue(export_sync, storage.pk)


def _fail_export_sync(storage, message):
    from django.utils import timezone

    storage.refresh_from_db()
    if storage.status != storage.Status.QUEUED:
        return
    storage.status, storage.traceback = storage.Status.FAILED, message
    storage.meta = {**(storage.meta or {}), "time_failure": str(timezone.now())}
    storage.save(update_fields=["status", "traceback", "meta"])
