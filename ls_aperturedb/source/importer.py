"""Import sync: ApertureDB images become tasks, their regions predictions, in bulk and incrementally.

One sync at a time per storage: :func:`claim` moves the storage to ``queued`` with a fresh run id in
one conditional UPDATE, and every later write of the run is conditional on that id, so a second sync
(or a message redelivered after a worker died) cannot interleave. The run pings ``heartbeat`` on
every batch; :func:`fail_if_dead` (Label Studio's list-time health check) marks a run whose heartbeat
went stale as failed, and a new sync may then start.

Each batch is one page of the image listing (``query.ImageQuery.listing``: ApertureDB's ``batch`` read of
one result set it keeps, so images added or deleted during the sync shift nothing): images already
linked (or tombstoned) are skipped, the rest are fetched with their regions and become tasks, links,
predictions and annotations in one transaction — a killed run loses at most its current batch, and the
unique (storage, key) link keeps one task per image. Tasks, links and predictions are
written with ``executemany`` of prepared rows (:class:`_Rows`; task ids allocated first), which is what
``bulk_create`` writes minus building a model instance and its SQL per row. Predictions are validated
once per region shape (``mapping.check_prediction``). While a batch is written, a worker thread
fetches the next page from ApertureDB and maps it (no Label Studio database there).

``sync_deletions`` deletes on no page's evidence: the links the run did not see are looked up in
ApertureDB one by one (``ImageQuery.lookup``), and only those whose image is gone or no longer matches
go; each batch of them is deleted in a transaction that locks their tasks and re-checks, inside it,
that none has an annotation or a draft.
"""
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from ls_aperturedb import conf
from ls_aperturedb.labeling_config import LabelingConfigProblem
from ls_aperturedb.source import kinds
from ls_aperturedb.source.mapping import Report, annotation
from ls_aperturedb.source.query import parse_ids, parse_listing
from ls_aperturedb.source.selecting import linked_in_project, listing_for, selection_for
from ls_aperturedb.source.selection import SelectionProblem

logger = logging.getLogger(__name__)
BULK = 1000  # rows per INSERT


class Superseded(Exception):
    """Another run owns the storage now (this one was taken for dead)."""


class ListingChanged(Exception):
    """ApertureDB no longer holds the result set the sync pages through (it keeps one for 60 s after
    the last read): pages read afterwards could skip or repeat images, so the sync stops."""


def _model():
    from ls_aperturedb.models import ApertureDBImportStorage

    return ApertureDBImportStorage


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
    sync = None
    try:
        sync = Sync(storage, run, selection)
        sync.run()
    except Superseded:
        logger.warning("import sync %s of storage %s was superseded", run, storage_id)
    except Exception as exc:
        logger.warning("import sync %s of storage %s failed: %s", run, storage_id, exc, exc_info=True)
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
        self.counts = {"images_seen": 0, "tasks_created": 0, "tasks_existed": 0, "tombstones": 0,
                       "predictions_created": 0, "annotations_imported": 0}
        self.started = time.monotonic()

    # ------------------------------------------------------------ the batch loop
    def run(self):
        storage = self.storage
        cap = storage.limit
        probe = storage.links.exists()  # a re-sync lists ids first and fetches only what is new
        batch = storage.batch_size or conf.get_int("SYNC_BATCH_SIZE")
        listing = self.listing = listing_for(self.selection, Listing(self.pool, self.query, batch), self.pool,
                                             self.query.constraints, batch, self._linked)
        number, complete = 0, True
        ahead = None  # (page number, future): the next page, fetched and mapped while this one is written
        with ThreadPoolExecutor(1, thread_name_prefix="adb-sync-ahead") as worker:
            while True:
                want = self._wanted(cap)
                if want == 0:
                    complete = False  # stopped at the limit: what lies beyond was not looked at
                    break
                if ahead is not None and ahead[0] == number:
                    uids, last, records, rows, report = ahead[1].result()
                    known, fresh = self._split(uids, records)
                    if known:  # mapped ahead without knowing which are new: map what is new again
                        rows = self._prepare(fresh, self.report)
                    else:
                        self.report.add(report)
                else:
                    uids, last = listing.page(number)
                    uids = uids[:want]
                    known = self._known(uids)
                    new = [uid for uid in uids if uid not in known]
                    rows = self._prepare(self._details(new), self.report)
                ahead = None
                self.counts["images_seen"] += len(uids)
                probe = 2 * len(known) >= len(uids)
                following = self._wanted(cap)
                if not last and following != 0 and not probe:
                    ahead = (number + 1, worker.submit(self._ahead, listing, number + 1, following))
                if known:
                    self._seen(known)
                self._create(rows)
                self._ping()  # progress counts in meta, and the heartbeat
                number += 1
                if last:
                    break
        if storage.sync_deletions and complete and self.selection.mode == "all":  # a selection lists only part
            self._delete_gone()
        self._finalize()
        errors = self.report.errors  # e.g. videos whose regions a frame-rate mismatch kept out
        _record(storage, self.run_id, _model().Status.COMPLETED_WITH_ERRORS if errors else _model().Status.COMPLETED,
                self._meta(), traceback="\n".join(errors) or None)

    def _wanted(self, cap):
        """Images the limit still allows (``None``: no limit)."""
        return None if cap is None else max(cap - self.counts["images_seen"], 0)

    def _details(self, uids):
        return self.kind.records(self.pool, uids)

    def _ahead(self, listing, number, want):
        """In the worker thread: the next page listed, fetched and mapped, with a report of its own
        (merged only if the page is created as it is). Touches no Label Studio database."""
        uids, last = listing.page(number)
        uids = uids[:want]
        records, report = self._details(uids), Report()
        return uids, last, records, self._prepare(records, report), report

    def _split(self, uids, records):
        """``(known links {uid: task_id}, records of images not linked yet)``."""
        known = self._known(uids)
        return known, [r for r in records if r.uid not in known]

    def _known(self, uids):
        from ls_aperturedb.models import ApertureDBImportStorageLink

        if not uids:
            return {}
        known = dict(ApertureDBImportStorageLink.objects.filter(storage=self.storage, key__in=uids)
                     .values_list("key", "task_id"))
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
        return self.kind.prepare(self.pool, records, report, self.listing.extras)

    def _create(self, prepared):
        if not prepared:
            return
        from projects.models import Project
        from tasks.models import Annotation, Prediction, Task

        from ls_aperturedb.models import ApertureDBImportStorageLink

        rows = [(*row, self._annotations(row[0])) for row in prepared]
        overlap = self.project.maximum_annotations
        with transaction.atomic(), connection.cursor() as cursor:
            # Write first: the batch commits only while this run owns the storage, and on SQLite the
            # transaction takes its write lock now instead of failing to upgrade a read lock later.
            self._ping()
            project = Project.objects.select_for_update().get(pk=self.project.pk)  # inner_id, like LS's import
            inner = (Task.objects.filter(project=project).aggregate(m=Max("inner_id"))["m"] or 0) + 1
            task_ids = _next_ids(cursor, Task, len(rows))
            tasks, links, predictions, annotations = [], [], [], []
            for i, (task_id, (record, _, data, pred, anns)) in enumerate(zip(task_ids, rows)):
                done = [a for a in anns if not a["was_cancelled"]]
                tasks.append((task_id, data, inner + i, overlap, 1 if pred else 0, len(done),
                              len(anns) - len(done), len({a["completed_by_id"] for a in done}) >= overlap))
                links.append((task_id, record.uid))
                if pred is not None:  # (result, score[, model version])
                    predictions.append((task_id, *pred, *((self.kind.model_version,) if len(pred) == 2 else ())))
                annotations.extend(Annotation(task_id=task_id, project=project, **fields)
                                   for fields in _annotation_fields(anns))
            now = timezone.now()
            _Rows(Task, ("id", "data", "inner_id", "overlap", "total_predictions", "total_annotations",
                         "cancelled_annotations", "is_labeled"), project=project.pk).insert(cursor, tasks, now)
            _Rows(ApertureDBImportStorageLink, ("task", "key"), storage=self.storage.pk,
                  seen_by_sync=self.run_id).insert(cursor, links, now)
            _Rows(Prediction, ("task", "result", "score", "model_version"), project=project.pk).insert(
                cursor, predictions, now)
            Annotation.objects.bulk_create(annotations, batch_size=BULK)
            project.summary.update_data_columns([row[1] for row in rows])
            if annotations:
                project.summary.update_created_annotations_and_labels(annotations)
            self.counts["tasks_created"] += len(tasks)
            self.counts["predictions_created"] += len(predictions)
            self.counts["annotations_imported"] += len(annotations)
        if predictions and not self.project.model_version:
            Project.objects.filter(pk=self.project.pk, model_version="").update(
                model_version=predictions[0][3])  # the kind's, or the one an image's property names
        self._webhook(task_ids)

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
    def _delete_gone(self):
        """Remove the tasks of images this run did not list, once ApertureDB confirms, image by image,
        that they are gone or no longer match — never tasks with an annotation or a draft."""
        unseen = list(self.storage.links.exclude(seen_by_sync=self.run_id).values_list("key", flat=True))
        deleted = kept = still = 0
        for start in range(0, len(unseen), BULK):
            keys = unseen[start:start + BULK]
            present = self._still_matching(keys)
            if present:  # listed by no page, yet there: keep it, and its task
                self.storage.links.filter(key__in=present).update(seen_by_sync=self.run_id)
                still += len(present)
            gone, annotated = self._delete_unannotated([k for k in keys if k not in present])
            deleted, kept = deleted + gone, kept + annotated
        self.counts.update(tasks_deleted=deleted, deletions_kept_annotated=kept, deletions_still_matching=still)

    def _still_matching(self, uids):
        """Those of ``uids`` whose image ApertureDB still has and the storage's constraints still select."""
        if not uids:
            return set()
        found = parse_ids(self.pool.query(self.query.lookup(uids))[0])
        return {uid for uid in found if self.query.uid_matches(uid)}

    def _delete_unannotated(self, keys):
        """Delete the links ``keys`` and their tasks in one transaction that locks the tasks first and
        then keeps every one that has an annotation or a draft (a user may have just saved one).
        ``(tasks deleted, tasks kept for their annotations or drafts)``."""
        from tasks.models import Annotation, AnnotationDraft, Task

        if not keys:
            return 0, 0
        with transaction.atomic():
            self._ping()  # a write first: on SQLite the transaction holds the write lock from here on
            links = self.storage.links.filter(key__in=keys).exclude(seen_by_sync=self.run_id)
            linked = links.filter(task__isnull=False).values_list("task_id", flat=True)
            # PostgreSQL: saving an annotation or draft locks its task's row (foreign key check), so after
            # this lock none is being saved, and the checks below see every one committed before it.
            task_ids = list(Task.objects.select_for_update().filter(id__in=list(linked)).order_by("id")
                            .values_list("id", flat=True))
            busy = set(Annotation.objects.filter(task_id__in=task_ids).values_list("task_id", flat=True))
            busy |= set(AnnotationDraft.objects.filter(task_id__in=task_ids).values_list("task_id", flat=True))
            doomed = [task_id for task_id in task_ids if task_id not in busy]
            links.exclude(task_id__in=busy).delete()  # first, so the tasks' deletion leaves no tombstone behind
            tasks = Task.objects.filter(id__in=doomed)
            self.project.summary.remove_data_columns(tasks)
            Task.delete_tasks_without_signals(tasks)
        return len(doomed), len(busy)

    def _finalize(self):
        """What Label Studio's own scan does once at the end: FSM states and project task states."""
        from fsm.functions import backfill_fsm_states_for_tasks

        from ls_aperturedb.models import ApertureDBImportStorageLink

        backfill_fsm_states_for_tasks(self.storage.id, self.counts["tasks_created"], ApertureDBImportStorageLink)
        if self.counts["tasks_created"] or self.counts.get("tasks_deleted"):
            self.project.update_tasks_states(maximum_annotations_changed=False,
                                             overlap_cohort_percentage_changed=False, tasks_number_changed=True)

    def _meta(self):
        now = timezone.now()
        return {**(self.storage.meta or {}), **self.counts, **self.report.as_meta(),
                "time_last_ping": str(now), "duration": round(time.monotonic() - self.started, 3)}

    def _ping(self):
        now = timezone.now()
        meta = self._meta()
        updated = _model().objects.filter(pk=self.storage.pk, last_sync_job=self.run_id).update(
            heartbeat=now, meta=meta, last_sync_count=self.counts["tasks_created"])
        if not updated:
            raise Superseded()
        self.storage.meta = meta

class Listing:
    """The sync's pages of image ids: batches of one result set ApertureDB keeps (see ``query``).
    ``page(n)`` is asked in order, by one thread at a time (the sync's, or its worker's), and answers
    ``(ids, whether it is the last page)``."""

    def __init__(self, pool, query, batch_size):
        self.pool, self.query, self.batch_size = pool, query, batch_size
        self.total = None

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


def _annotation_fields(annotations):
    for a in annotations:
        fields = {"result": a["result"], "completed_by_id": a["completed_by_id"], "was_cancelled": a["was_cancelled"],
                  "ground_truth": a["ground_truth"], "lead_time": a["lead_time"]}
        if a["unique_id"]:
            fields["unique_id"] = a["unique_id"]
        yield fields


def _next_ids(cursor, model, count):
    """``count`` fresh primary keys of ``model``'s table, ascending, never used before."""
    table = model._meta.db_table
    if not count:
        return []
    if connection.vendor == "postgresql":
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return sorted(row[0] for row in cursor.fetchall())
    if connection.vendor == "sqlite":
        # The batch's transaction holds SQLite's write lock (no other writer until it commits), and an
        # AUTOINCREMENT table never reuses an id: start past both its largest id and its sequence.
        cursor.execute(f"SELECT max(id) FROM {connection.ops.quote_name(table)}")
        last = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        last = max(last, row[0] if row else 0)
        return list(range(last + 1, last + 1 + count))
    raise NotImplementedError(f"ApertureDB import sync supports SQLite and PostgreSQL, not {connection.vendor}")


class _Rows:
    """An ``executemany`` INSERT into ``model``'s table: ``varying`` fields come with each row (values
    ready for the database: ids, numbers, JSON text), ``fixed`` ones are given once, and every other
    field takes its model default (or the batch's time), prepared once: the rows ``bulk_create`` writes."""

    def __init__(self, model, varying, **fixed):
        self.model, self.varying, self.fixed = model, varying, fixed

    def insert(self, cursor, rows, now):
        if not rows:
            return
        fields = {f.name: f for f in self.model._meta.concrete_fields}
        constants = []
        for name, f in fields.items():
            if name in self.varying or name == "id":  # without an id in ``varying``, the table numbers the rows
                continue
            if name in self.fixed:
                value = self.fixed[name]
            elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = now
            else:
                value = f.get_default()
            constants.append((f.column, value if name in self.fixed and f.is_relation
                              else f.get_db_prep_save(value, connection)))
        columns = [fields[name].column for name in self.varying] + [c for c, _ in constants]
        tail = tuple(v for _, v in constants)
        quote = connection.ops.quote_name
        sql = (f"INSERT INTO {quote(self.model._meta.db_table)} ({', '.join(map(quote, columns))}) "
               f"VALUES ({', '.join(['%s'] * len(columns))})")
        cursor.executemany(sql, [row + tail for row in rows])
