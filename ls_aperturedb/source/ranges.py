"""A sync spread over Celery workers: the listing split into page ranges that several workers write.

One worker writes a few thousand tasks a second; a storage of millions, or a remote ApertureDB, wants
more. With ``SYNC_WORKERS`` > 1 (and a broker) the run that took the sync message lists page 0, writes
one ``ApertureDBSyncRange`` per range of pages and sends ``SYNC_WORKERS - 1`` part messages
(``tasks.import_sync_part``). Every participant, the first one too, then takes ranges until none is
free, waits for the ranges others hold, and takes over any whose heartbeat is older than
``SYNC_STALE_SECONDS`` (its worker was killed). The first participant to find every range done
finishes the run: deletions, Label Studio's end-of-scan work, the status.

The guarantees are the single-worker sync's:
- one task per object: ranges do not overlap; each page's transaction first updates its range's row
  where its participant still owns it (a participant taking the range over waits for that commit and
  then finds the heartbeat fresh), and the unique (storage, key) link refuses a second task anyway;
- a killed worker loses at most its current page: the range continues from ``next_page``, which
  moves in the page's own transaction;
- progress is the sum: the storage's counts are the ranges' counts, each written with its page; so is
  the report (unknown labels, invalid predictions, problems), which the finishing participant adds up.
Pages are batches of the one result set ApertureDB keeps for the listing (``query``); every range
uses the batch size and total of the first listing, whichever worker's settings it runs under.
"""
import logging
import os
import socket
import time
import uuid
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ls_aperturedb import conf
from ls_aperturedb.source.mapping import Report

logger = logging.getLogger(__name__)
RANGES_PER_WORKER = 2  # smaller ranges: a takeover redoes less, and a fast worker takes another
# A sync's progress counts (``Sync.counts``); a spread run's are its ranges' added up.
COUNTS = ("images_seen", "tasks_created", "tasks_existed", "tombstones", "predictions_created",
          "annotations_imported")


def _ranges():
    from ls_aperturedb.models import ApertureDBSyncRange

    return ApertureDBSyncRange.objects


def spreads(sync):
    """Whether this run is spread over workers: more than one wanted, a broker to send parts to, and a
    plain listing with no limit (a selection or a limit is read in order by one worker)."""
    from ls_aperturedb.tasks import broker_configured

    return (conf.get_int("SYNC_WORKERS") > 1 and broker_configured() and sync.storage.limit is None
            and sync.selection.mode == "all")


def coordinate(sync):
    """The first participant: list page 0, write the ranges, send the part messages, take part.
    Returns whether this participant finished the run."""
    from ls_aperturedb.tasks import import_sync_part

    workers = conf.get_int("SYNC_WORKERS")
    sync.listing.page(0)  # ApertureDB computes the result set: its size gives the pages
    pages = sync.listing.page_count()
    size = max(1, -(-pages // (workers * RANGES_PER_WORKER)))
    base = sync.listing.base
    with transaction.atomic():
        sync.ping()  # written only while this run owns the storage
        _ranges().filter(storage=sync.storage).exclude(run=sync.run_id).delete()  # earlier runs' ranges
        _ranges().bulk_create([
            _ranges().model(storage=sync.storage, run=sync.run_id, first_page=first, next_page=first,
                            end_page=min(first + size, pages), total=base.total, batch_size=base.batch_size)
            for first in range(0, pages, size)])
    for _ in range(min(workers, -(-pages // size)) - 1):
        import_sync_part.apply_async((sync.storage.pk, sync.run_id))
    return take_part(sync)


def take_part(sync):
    """Take free or stale ranges of ``sync``'s run until all are done; returns whether this participant
    finished the run (it then also ran ``sync.finish``)."""
    me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    rows = _ranges().filter(storage=sync.storage, run=sync.run_id)
    first = rows.order_by("first_page").first()
    if first is None:
        return False
    sync.use_listing(first.total, first.batch_size)
    sync.all_ranges = rows  # the run's progress is their sum
    while True:
        part = _claim(rows, me)
        if part is not None:
            _write(sync, part, me)
            continue
        if not rows.filter(done=False).exists():
            break
        sync.ping()  # waiting for the ranges others hold: the run is alive (raises if superseded)
        time.sleep(min(1.0, conf.get_int("SYNC_STALE_SECONDS") / 4))
    if not rows.filter(first_page=first.first_page, finisher="").update(finisher=me):
        return False  # another participant finishes the run
    sync.report = reported(rows)
    sync.finish(True)  # every range ran out of pages (a spread run has no limit)
    return True


def _claim(rows, me):
    """A range nobody holds, else one whose holder went silent for ``SYNC_STALE_SECONDS``, now ours."""
    now = timezone.now()
    stale = now - timedelta(seconds=conf.get_int("SYNC_STALE_SECONDS"))
    for candidate in rows.filter(Q(owner="") | Q(heartbeat__lt=stale), done=False).order_by("first_page"):
        free = candidate.owner == ""
        taken = rows.filter(pk=candidate.pk, done=False, owner=candidate.owner).filter(
            Q(owner="") | Q(heartbeat__lt=stale)).update(
            owner=me, heartbeat=now, takeovers=F("takeovers") + (0 if free else 1))
        if taken:
            if not free:
                logger.warning("sync %s: range of pages %s-%s taken over from %s (silent for %s s)",
                               candidate.run, candidate.next_page, candidate.end_page, candidate.owner,
                               conf.get_int("SYNC_STALE_SECONDS"))
            return rows.get(pk=candidate.pk)
    return None


def _write(sync, part, me):
    """Write the pages of ``part`` from its ``next_page``, then mark it done."""
    # A range taken over continues its counts and report.
    sync.counts = {name: part.counts.get(name, 0) for name in COUNTS}
    sync.report = Report.from_json(part.counts.get("report") or {})
    sync.range = (part.pk, me)
    try:
        sync.pages(part.next_page, part.end_page, probe=sync.storage.links.exists())
    finally:
        sync.range = None
    if not _ranges().filter(pk=part.pk, owner=me).update(done=True, next_page=part.end_page, counts=_counts(sync)):
        from ls_aperturedb.source.sync import Superseded

        raise Superseded()


def fence(sync, page):
    """Inside a page's transaction: the range still ours, its progress and counts moved with the page
    (``Superseded`` when another participant took it over)."""
    pk, me = sync.range
    if not _ranges().filter(pk=pk, owner=me).update(heartbeat=timezone.now(), next_page=page, counts=_counts(sync)):
        from ls_aperturedb.source.sync import Superseded

        raise Superseded()


def _counts(sync):
    return {**sync.counts, "report": sync.report.as_json()}


def reported(rows):
    """The ranges' reports added up."""
    total = Report()
    for counts in rows.values_list("counts", flat=True):
        total.add(Report.from_json(counts.get("report") or {}))
    return total


def summed(rows):
    """The ranges' counts added up (the storage's progress)."""
    total = {name: 0 for name in COUNTS}
    for counts in rows.values_list("counts", flat=True):
        for name in COUNTS:
            total[name] += counts.get(name, 0)
    return total
