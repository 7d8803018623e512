"""Scheduled sync: Celery beat looks every LS_APERTUREDB_SCHEDULE_SECONDS for storages whose
``sync_interval`` has passed since the schedule last fired, and starts their sync.

A storage whose sync is still queued or running is skipped (the schedule fires again an interval
later; a sync is never stacked on another). Each firing is claimed with a conditional update of
``scheduled_at``, so overlapping beat runs (or two beats by mistake) start it once.
"""
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from ls_aperturedb.models import ApertureDBExportStorage, ApertureDBImportStorage

logger = logging.getLogger(__name__)
BUSY = ("queued", "in_progress")


@dataclass(frozen=True)
class Firing:
    kind: str  # source | target
    storage_id: int
    outcome: str  # started | skipped (a sync of the storage is running)


def run_due(now=None):
    """Fire every due schedule; the list of what happened (also logged)."""
    now = now or timezone.now()
    fired = []
    for kind, model in (("source", ApertureDBImportStorage), ("target", ApertureDBExportStorage)):
        for storage in model.objects.filter(sync_interval__isnull=False).exclude(sync_interval=0):
            if storage.scheduled_at and storage.scheduled_at + timedelta(seconds=storage.sync_interval) > now:
                continue
            claimed = model.objects.filter(pk=storage.pk, scheduled_at=storage.scheduled_at).update(scheduled_at=now)
            if not claimed:  # another beat run took this firing
                continue
            outcome = _start(kind, storage)
            logger.info("scheduled sync of %s storage %s: %s", kind, storage.pk, outcome)
            fired.append(Firing(kind, storage.pk, outcome))
    return fired


def _start(kind, storage):
    storage.health_check()  # a dead sync (killed worker) is marked failed first, so it does not block
    storage.refresh_from_db()
    if kind == "source":
        from ls_aperturedb.tasks import start_import_sync

        return "started" if start_import_sync(storage) is not None else "skipped"
    if storage.status in BUSY:
        return "skipped"
    storage.sync()
    return "started"
