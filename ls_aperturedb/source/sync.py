"""One import sync run: pages of the listing become tasks, links, predictions and annotations.

Each batch is one page of the listing (``query.ImageQuery.listing``: ApertureDB's ``batch`` read of
one result set it keeps, so objects added or deleted during the sync shift nothing): objects already
linked (or tombstoned) are skipped, the rest are fetched with their regions and become tasks, links,
predictions and annotations in one transaction — a killed run loses at most its current batch, and the
unique (storage, key) link keeps one task per object. Tasks, links and predictions are written as
prepared rows (``rows``: COPY on PostgreSQL; task ids allocated first), which is what ``bulk_create``
writes minus building a model instance and its SQL per row. What an object becomes (task data, a
prediction) is its kind's business (``kinds``: images, videos, frames). While a page is written,
worker threads list, fetch and map the next ones (no Label Studio database there). A run may be
spread over several workers (``ranges``); ``sync_deletions`` is ``deletions``.
"""
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from ls_aperturedb import conf
from ls_aperturedb.source import kinds, ranges
from ls_aperturedb.source.deletions import delete_gone
from ls_aperturedb.source.mapping import Report, annotation
from ls_aperturedb.source.query import parse_listing
from ls_aperturedb.source.rows import BULK, Rows, annotation_fields, next_ids
from ls_aperturedb.source.selecting import linked_in_project, listing_for, selection_for

logger = logging.getLogger(__name__)
# Pages that create nothing (a re-sync) write the heartbeat and progress at most this often: a write
# per page would be a commit per page. Far below SYNC_STALE_SECONDS.
PING_SECONDS = 1.0


class Superseded(Exception):
    """Another run owns the storage now (this one was taken for dead)."""


class ListingChanged(Exception):
    """ApertureDB no longer holds the result set the sync pages through (it keeps one for 60 s after
    the last read): pages read afterwards could skip or repeat images, so the sync stops."""


def _model():
    from ls_aperturedb.models import ApertureDBImportStorage

    return ApertureDBImportStorage


class Sync:
    def __init__(self, storage, run, selection=None):
        from label_studio_sdk.label_interface import LabelInterface

        self.storage, self.run_id, self.project = storage, run, storage.project
        self.interface = LabelInterface(self.project.label_config)
        self.kind = kinds.for_storage(storage, self.interface)  # images, videos or frames (source/kinds.py)
        self.query = self.kind.query
        self.pool = storage.get_pool()
        self.selection = selection_for(storage, selection)  # which images (source/selection.py)
        self.report = Report()
        self.counts = dict.fromkeys(ranges.COUNTS, 0)
        self.started = time.monotonic()
        self.timings, self._timing_lock = {}, threading.Lock()
        batch = storage.batch_size or conf.get_int("SYNC_BATCH_SIZE")
        self.use_listing(None, batch)
        self.range = self.all_ranges = None  # a run spread over workers (source/ranges.py): its range, all ranges
        self.page = 0  # the page being written
        self.pinged = 0.0  # when the heartbeat was last written

    # ------------------------------------------------------------ the batch loop
    def run(self):
        """The whole sync in this worker; True: this participant finished the run (as ``ranges.take_part``)."""
        self.finish(self.pages(0, None, probe=self.storage.links.exists()))
        return True

    def use_listing(self, total, batch_size):
        """Page the listing in batches of ``batch_size``; ``total``: the size a first read found."""
        self.listing = listing_for(self.selection, Listing(self.pool, self.query, batch_size, total), self.pool,
                                   self.query.constraints, batch_size, self._linked)

    def finish(self, complete):
        """After the last page: deletions (when every page was read) and Label Studio's own end-of-scan work."""
        if self.storage.sync_deletions and complete and self.selection.mode == "all":  # a selection lists part
            delete_gone(self)
        with self.timed("label_studio"):
            self._finalize()

    def pages(self, first, end, probe):
        """Create the tasks of pages ``first`` .. ``end`` (exclusive; ``None``: to the last page). Returns
        whether the pages ran out (``False``: stopped at the storage's limit).

        Up to ``SYNC_PAGES_IN_FLIGHT`` later pages are listed, fetched and mapped in worker threads while
        this thread writes one, so a remote ApertureDB's round trips overlap instead of adding up; memory
        stays bounded by those pages. A re-sync (``probe``: most images already linked) reads ahead only
        the listing, and fetches what turns out new."""
        cap = self.storage.limit
        depth = 1 if cap is not None else max(1, conf.get_int("SYNC_PAGES_IN_FLIGHT"))
        ahead = {}  # page number -> future of (uids, last, records or None, rows, report)
        number = first
        with ThreadPoolExecutor(depth, thread_name_prefix="adb-sync-ahead") as worker:
            while end is None or number < end:
                want = self._wanted(cap)
                if want == 0:
                    return False  # stopped at the limit: what lies beyond was not looked at
                future = ahead.pop(number, None)
                if future is not None:
                    with self.timed("wait"):
                        uids, last, records, rows, report = future.result()
                else:
                    uids, last, records, rows, report = self._read(number, want, details=False)
                known = self._known(uids)
                if records is None or known:  # listed only, or mapped without knowing which are new
                    fresh = [r for r in records if r.uid not in known] if records is not None else \
                        self._details([uid for uid in uids if uid not in known])
                    rows = self._prepare(fresh, self.report)
                else:
                    self.report.add(report)
                self.counts["images_seen"] += len(uids)
                probe = 2 * len(known) >= len(uids)
                if not last:
                    self._read_ahead(worker, ahead, number, end, depth, cap, details=not probe)
                if known:
                    self._seen(known)
                self.page = number
                self._create(rows)
                if time.monotonic() - self.pinged >= PING_SECONDS:  # written pages fenced in their transaction
                    self.ping()  # progress counts in meta, and the heartbeat
                number += 1
                if last:
                    return True
            return True

    def _read_ahead(self, worker, ahead, number, end, depth, cap, details):
        """Keep the ``depth`` pages after ``number`` in flight (never past ``end`` or the listing's last page)."""
        count = self.listing.page_count()
        for n in range(number + 1, number + 1 + depth):
            if (end is not None and n >= end) or (count is not None and n >= count):
                break
            if n not in ahead:
                want = self._wanted(cap)
                if want == 0:
                    break
                ahead[n] = worker.submit(self._read, n, want, details)

    def _read(self, number, want, details):
        """Page ``number`` listed (its first ``want`` ids), then with ``details`` fetched and mapped with a
        report of its own (merged only if the page is created as it is). Touches no Label Studio database:
        it runs in the read-ahead threads."""
        with self.timed("list"):
            uids, last = self.listing.page(number)
        uids = uids[:want]
        if not details:
            return uids, last, None, None, None
        records, report = self._details(uids), Report()
        return uids, last, records, self._prepare(records, report), report

    def _wanted(self, cap):
        """Images the limit still allows (``None``: no limit)."""
        return None if cap is None else max(cap - self.counts["images_seen"], 0)

    def _details(self, uids):
        with self.timed("fetch"):
            return self.kind.records(self.pool, uids)

    @contextmanager
    def timed(self, part):
        """Seconds spent in ``part`` (summed over threads: read-ahead parts overlap the writes)."""
        started = time.monotonic()
        try:
            yield
        finally:
            self._add_time(part, time.monotonic() - started)

    def _add_time(self, part, seconds):
        with self._timing_lock:
            self.timings[part] = self.timings.get(part, 0) + seconds

    def _known(self, uids):
        """{uid: task id (None: a tombstone)} for the ``uids`` this storage has linked. One plain statement:
        on a re-sync this lookup is most of a page's time, and the ORM prepares each of its values."""
        from ls_aperturedb.models import ApertureDBImportStorageLink as Link

        if not uids:
            return {}
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {quote('key')}, task_id FROM {quote(Link._meta.db_table)} WHERE storage_id = %s "
                           f"AND {quote('key')} IN ({', '.join(['%s'] * len(uids))})", [self.storage.pk, *uids])
            known = dict(cursor.fetchall())
        tombstones = sum(1 for task_id in known.values() if task_id is None)
        self.counts["tombstones"] += tombstones
        self.counts["tasks_existed"] += len(known) - tombstones
        return known

    def _linked(self, uids):
        """Which of ``uids`` the project has from this ApertureDB (tasks and tombstones): a selection skips them."""
        return linked_in_project(self.storage, uids)

    def _seen(self, known):
        if self.storage.sync_deletions:
            self.storage.links.filter(key__in=list(known)).update(seen_by_sync=self.run_id)

    # ------------------------------------------------------------ creating tasks
    def _prepare(self, records, report):
        """``(record, task data, its JSON, (prediction result JSON, score) or None)`` per record: sizes,
        predictions validated, JSON text made — everything but the Label Studio database."""
        with self.timed("map"):
            return self.kind.prepare(self.pool, records, report, self.listing.extras)

    def _create(self, prepared):
        if not prepared:
            return
        from projects.models import Project
        from tasks.models import Annotation, Prediction, Task

        from ls_aperturedb.models import ApertureDBImportStorageLink

        rows = [(*row, self._annotations(row[0])) for row in prepared]
        overlap = self.project.maximum_annotations
        begun = time.monotonic()
        with transaction.atomic(), connection.cursor() as cursor:
            self._own(cursor)
            task_ids = next_ids(cursor, Task, len(rows))
            tasks, links, predictions, annotations = [], [], [], []
            for task_id, (record, _, data, pred, anns) in zip(task_ids, rows):
                done = [a for a in anns if not a["was_cancelled"]]
                tasks.append([task_id, data, None, overlap, 1 if pred else 0, len(done),
                              len(anns) - len(done), len({a["completed_by_id"] for a in done}) >= overlap])
                links.append((task_id, record.uid))
                if pred is not None:  # (result, score[, model version])
                    predictions.append((task_id, *pred, *((self.kind.model_version,) if len(pred) == 2 else ())))
                annotations.extend(Annotation(task_id=task_id, project_id=self.project.pk, **fields)
                                   for fields in annotation_fields(anns))
            now = timezone.now()
            # Predictions first, before the project's lock: Label Studio's trigram index on their results
            # is most of a page's database time, and workers of a spread sync write it side by side
            # (the task they point to is checked at commit: Label Studio's foreign keys are deferred).
            Rows(Prediction, ("task", "result", "score", "model_version"), project=self.project.pk).insert(
                cursor, predictions, now)
            project = Project.objects.select_for_update().get(pk=self.project.pk)  # inner_id, like LS's import
            inner = (Task.objects.filter(project=project).aggregate(m=Max("inner_id"))["m"] or 0) + 1
            for i, task in enumerate(tasks):
                task[2] = inner + i
            Rows(Task, ("id", "data", "inner_id", "overlap", "total_predictions", "total_annotations",
                        "cancelled_annotations", "is_labeled"), project=project.pk).insert(
                cursor, [tuple(task) for task in tasks], now)
            Rows(ApertureDBImportStorageLink, ("task", "key"), storage=self.storage.pk,
                 seen_by_sync=self.run_id).insert(cursor, links, now)
            Annotation.objects.bulk_create(annotations, batch_size=BULK)
            counting = time.monotonic()
            project.summary.update_data_columns([row[1] for row in rows])
            if annotations:
                project.summary.update_created_annotations_and_labels(annotations)
            counters = time.monotonic() - counting
            self.counts["tasks_created"] += len(tasks)
            self.counts["predictions_created"] += len(predictions)
            self.counts["annotations_imported"] += len(annotations)
            if self.range is not None:  # the range's counts commit with its page
                ranges.fence(self, self.page + 1)
        self._add_time("write", time.monotonic() - begun - counters)
        with self.timed("label_studio"):
            if predictions and not self.project.model_version:
                Project.objects.filter(pk=self.project.pk, model_version="").update(
                    model_version=predictions[0][3])  # the kind's, or the one an image's property names
            self._webhook(task_ids)
        self._add_time("label_studio", counters)

    def _own(self, cursor):
        """The first statement of a page's transaction: the page commits only while this run owns the
        storage, and on SQLite it is a write, so the transaction holds the write lock from here on
        instead of failing to upgrade a read lock later. In a spread run the write is the range's
        (``ranges.fence``) and the storage row is only share-locked: the workers' pages do not queue on it,
        and a new run's claim still waits for them."""
        if connection.vendor == "postgresql":
            # Everything a page writes is derived from ApertureDB and atomic: should the database server
            # itself crash, it may lose the last fraction of a second of committed pages whole (tasks with
            # their links), and the next sync writes them again. Waiting for each commit's WAL flush is a
            # tenth of a page's time.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        if self.range is None:
            self.ping()
            return
        ranges.fence(self, self.page + 1)
        Model = _model()
        lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
        cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(Model._meta.db_table)} WHERE id = %s AND "
                       f"last_sync_job = %s AND status = %s{lock}", [self.storage.pk, self.run_id,
                                                                   Model.Status.IN_PROGRESS])
        if cursor.fetchone() is None:
            raise Superseded()

    def _annotations(self, record):
        """Annotations exported earlier for this project, unless they still exist here."""
        if not record.annotations:
            return []
        from tasks.models import Annotation

        found = [a for a in map(annotation, record.annotations) if a is not None]
        alive = set(Annotation.objects.filter(project=self.project, id__in=[
            a["ls_annotation_id"] for a in found if isinstance(a["ls_annotation_id"], int)]).values_list("id", flat=True))
        # The imported annotation keeps the node's identity (Annotation.unique_id, unique in Label Studio),
        # so exporting it again updates that node instead of adding a second one.
        taken = {str(u) for u in Annotation.objects.filter(
            unique_id__in=[a["unique_id"] for a in found if a["unique_id"]]).values_list("unique_id", flat=True)}
        members = self._members()
        out = []
        for a in found:
            if a["ls_annotation_id"] in alive or a["unique_id"] in taken:
                continue
            taken.add(a["unique_id"])
            a["completed_by_id"] = members.get(a["completed_by"].lower(), self.project.created_by_id)
            out.append(a)
        return out

    def _members(self):
        if not hasattr(self, "_member_ids"):
            pairs = self.project.organization.members.values_list("user__email", "user__id")
            self._member_ids = {email.lower(): uid for email, uid in pairs if email}
        return self._member_ids

    def _webhook(self, task_ids):
        from webhooks.models import WebhookAction
        from webhooks.utils import emit_webhooks_for_instance

        emit_webhooks_for_instance(self.project.organization, self.project, WebhookAction.TASKS_CREATED, task_ids)

    # ------------------------------------------------------------ deletions and the end
    def _finalize(self):
        """What Label Studio's own scan does once at the end: FSM states and project task states."""
        from fsm.functions import backfill_fsm_states_for_tasks

        from ls_aperturedb.models import ApertureDBImportStorageLink

        counts = self.progress()
        backfill_fsm_states_for_tasks(self.storage.id, counts["tasks_created"], ApertureDBImportStorageLink)
        if counts["tasks_created"] or counts.get("tasks_deleted"):
            self.project.update_tasks_states(maximum_annotations_changed=False,
                                             overlap_cohort_percentage_changed=False, tasks_number_changed=True)

    def progress(self):
        """The run's counts: this process's, or with the run spread over workers, all ranges' summed."""
        if self.all_ranges is None:
            return self.counts
        return {**self.counts, **ranges.summed(self.all_ranges)}

    def _meta(self):
        now = timezone.now()
        return {**(self.storage.meta or {}), **self.progress(), **self.report.as_meta(),
                "time_last_ping": str(now), "duration": round(time.monotonic() - self.started, 3),
                "seconds": {part: round(value, 3) for part, value in self.timings.items()}}

    def ping(self):
        """The heartbeat and progress; raises ``Superseded`` once another run owns the storage. Inside a
        page's transaction of a spread run, the page's range moves with it (``ranges.fence``)."""
        now = timezone.now()
        self.pinged = time.monotonic()
        owned = _model().objects.filter(pk=self.storage.pk, last_sync_job=self.run_id)
        if self.all_ranges is not None:
            owned = owned.filter(status=_model().Status.IN_PROGRESS)  # a participant that failed stops all
            if self.range is not None:
                ranges.fence(self, self.page + 1)
        meta = self._meta()
        updated = owned.update(heartbeat=now, meta=meta, last_sync_count=meta["tasks_created"])
        if not updated:
            raise Superseded()
        self.storage.meta = meta

class Listing:
    """The sync's pages of image ids: batches of one result set ApertureDB keeps (see ``query``).
    ``page(n)`` answers ``(ids, whether it is the last page)``; page 0 first, then any page, from any
    thread (the read-ahead threads ask several at once)."""

    def __init__(self, pool, query, batch_size, total=None):
        self.pool, self.query, self.batch_size = pool, query, batch_size
        self.total = total

    def page_count(self):
        """Pages in the listing, once its first page told how many images it holds."""
        return None if self.total is None else max(1, -(-self.total // self.batch_size))

    def page(self, number):
        reply = parse_listing(self.pool.query(self.query.listing(number, self.batch_size))[0], number,
                              self.batch_size)
        if self.total is None:
            self.total = reply.total
        elif reply.total != self.total:
            raise ListingChanged(
                f"ApertureDB dropped the image listing this sync pages through ({self.total} images, now "
                f"{reply.total}): a page took longer than the 60 s ApertureDB keeps it between reads. Run sync "
                "again: tasks already created are kept and none will be duplicated.")
        return reply.uids, reply.end >= reply.total
