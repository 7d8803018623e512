"""Sync events: when a source or target sync finishes, a signed JSON POST to the storage's webhook URL.

Label Studio 1.23's own webhooks cannot take a new event from a plugin cleanly: the event list is the
``WebhookAction.ACTIONS`` class attribute, frozen into the model field's ``choices`` and into the API
serializer's ``ChoiceField`` when those modules are imported (``webhooks/models.py``,
``webhooks/serializers.py``), so adding one means patching LS classes at import time and leaves LS's
own ``webhooks`` app with a pending migration; its deliveries are also neither signed nor retried.
So each storage has its own ``webhook_url`` and ``webhook_secret``; deliveries run on the Celery
worker, are retried with backoff, and carry an HMAC-SHA256 signature (README: "Sync events").
"""
import hashlib
import hmac
import json
import logging
import time
import uuid
from datetime import datetime

from django.db import transaction

from ls_aperturedb import conf

logger = logging.getLogger(__name__)
EVENT = "aperturedb.sync.finished"
SOURCE_COUNTS = ("images_seen", "tasks_created", "tasks_existed", "tombstones", "predictions_created",
                 "annotations_imported", "tasks_deleted", "deletions_kept_annotated", "invalid_predictions")
TARGET_COUNTS = ("pending", "exported", "failed", "deleting")


class DeliveryFailed(Exception):
    """The receiver did not answer 2xx (or could not be reached); the delivery is retried."""


def sync_finished(kind, storage_id):
    """Called where a sync records its end; queues the event after the recording commits."""
    transaction.on_commit(lambda: _queue(kind, storage_id))


def _queue(kind, storage_id):
    storage = _model(kind).objects.filter(pk=storage_id).first()
    if storage is None or not storage.webhook_url:
        return
    from ls_aperturedb.tasks import deliver_sync_event, enqueue

    try:
        enqueue(deliver_sync_event, kind, storage_id, payload(kind, storage))
    except Exception as exc:  # a broker that is down must not fail the sync that just finished
        logger.warning("sync event of %s storage %s not queued: %s", kind, storage_id, exc)


def _model(kind):
    from ls_aperturedb.models import ApertureDBExportStorage, ApertureDBImportStorage

    return ApertureDBImportStorage if kind == "source" else ApertureDBExportStorage


def payload(kind, storage):
    """The event body (documented in the README); no secret, no connection detail."""
    meta = storage.meta or {}
    if kind == "source":
        counts = {name: meta.get(name, 0) for name in SOURCE_COUNTS}
        problems = (counts["invalid_predictions"] or meta.get("labels_not_in_config")
                    or meta.get("regions_without_control"))
    else:
        exports = meta.get("exports") or {}
        counts = {name: exports.get(name, 0) for name in TARGET_COUNTS}
        counts["exported_this_sync"] = storage.last_sync_count or 0
        problems = counts["failed"]
    status = str(storage.status)
    if status == "completed" and problems:
        status = "completed_with_errors"
    started = meta.get("time_in_progress") or meta.get("time_queued")
    finished = meta.get("time_failure") if status == "failed" else meta.get("time_completed")
    return {
        "event": EVENT,
        "delivery_id": str(uuid.uuid4()),
        "storage": {"id": storage.id, "type": kind, "title": storage.title, "project": storage.project_id},
        "status": status,
        "message": _message(storage, kind) if status != "completed" else "",
        "counts": counts,
        "started_at": started,
        "finished_at": finished,
        "duration_seconds": _duration(meta, started, finished),
    }


def _message(storage, kind):
    exports = (storage.meta or {}).get("exports") or {}
    if kind == "target" and str(storage.status) != "failed" and exports.get("last_error"):
        return f"{exports.get('failed', 0)} annotation(s) failed; last error: {exports['last_error']}"[:1000]
    lines = [line for line in (storage.traceback or "").strip().splitlines() if line.strip()]
    if lines:
        return lines[-1].strip()[:1000]  # a Python traceback ends with the exception line
    return "; ".join((storage.meta or {}).get("problems", [])[:3])[:1000]


def _duration(meta, started, finished):
    if isinstance(meta.get("duration"), (int, float)):
        return round(float(meta["duration"]), 3)
    try:
        return round((datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds(), 3)
    except (TypeError, ValueError):
        return None


def sign(secret, timestamp, body):
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` (the timestamp stops replays)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def deliver(kind, storage_id, event):
    """POST ``event`` once; raise :class:`DeliveryFailed` unless the receiver answers 2xx."""
    import requests
    from urllib.parse import urlsplit

    from ls_aperturedb.client.connection import ConnectionProblem
    from ls_aperturedb.client.ssrf import check_host_allowed

    storage = _model(kind).objects.filter(pk=storage_id).first()
    if storage is None or not storage.webhook_url:
        return "dropped"  # the storage or its webhook is gone
    url = storage.webhook_url
    parts = urlsplit(url)
    try:
        check_host_allowed(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except ConnectionProblem as problem:
        raise DeliveryFailed(problem.message) from None
    body = json.dumps(event, separators=(",", ":"), default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "ls-aperturedb",
               "X-LS-ApertureDB-Event": event["event"], "X-LS-ApertureDB-Delivery": event["delivery_id"]}
    if storage.webhook_secret:
        headers["X-LS-ApertureDB-Signature"] = sign(storage.webhook_secret, int(time.time()), body)
    try:
        response = requests.post(url, data=body, headers=headers, timeout=conf.get_int("WEBHOOK_TIMEOUT"),
                                 allow_redirects=False)
    except requests.RequestException as exc:
        raise DeliveryFailed(f"{parts.hostname}: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"{parts.hostname} answered {response.status_code}")
    return "delivered"


def deliver_inline(kind, storage_id, event, attempts=3):
    """Without a broker (syncs run in the web process): a few quick tries, then give up (logged)."""
    for attempt in range(attempts):
        try:
            return deliver(kind, storage_id, event)
        except DeliveryFailed as exc:
            logger.warning("sync event %s, attempt %s: %s", event["delivery_id"], attempt + 1, exc)
            if attempt + 1 < attempts:
                time.sleep(2 ** attempt)
    return "failed"
