"""``sync_deletions``: the tasks of objects a complete sync did not list go, on no page's evidence alone.

The links the run did not see are looked up in ApertureDB a batch at a time (``lookup``: never all the
storage's keys at once), and only those whose object is gone or no longer matches go; each batch of
them is deleted in a transaction that locks their tasks and re-checks, inside it, that none has an
annotation or a draft.
"""
from django.db import transaction

from ls_aperturedb.source.query import parse_ids
from ls_aperturedb.source.rows import BULK


def delete_gone(sync):
    """Remove the tasks of images this run did not list, once ApertureDB confirms, image by image,
    that they are gone or no longer match — never tasks with an annotation or a draft."""
    deleted = kept = still = 0
    after = 0  # links in id order, a batch at a time: never all the storage's keys at once
    while True:
        batch = list(sync.storage.links.exclude(seen_by_sync=sync.run_id).filter(id__gt=after)
                     .order_by("id").values_list("id", "key")[:BULK])
        if not batch:
            break
        after, keys = batch[-1][0], [key for _, key in batch]
        present = _still_matching(sync, keys)
        if present:  # listed by no page, yet there: keep it, and its task
            sync.storage.links.filter(key__in=present).update(seen_by_sync=sync.run_id)
            still += len(present)
        gone, annotated = _delete_unannotated(sync, [k for k in keys if k not in present])
        deleted, kept = deleted + gone, kept + annotated
    sync.counts.update(tasks_deleted=deleted, deletions_kept_annotated=kept, deletions_still_matching=still)

def _still_matching(sync, uids):
    """Those of ``uids`` whose image ApertureDB still has and the storage's constraints still select."""
    if not uids:
        return set()
    found = parse_ids(sync.pool.query(sync.query.lookup(uids))[0])
    return {uid for uid in found if sync.query.uid_matches(uid)}

def _delete_unannotated(sync, keys):
    """Delete the links ``keys`` and their tasks in one transaction that locks the tasks first and
    then keeps every one that has an annotation or a draft (a user may have just saved one).
    ``(tasks deleted, tasks kept for their annotations or drafts)``."""
    from tasks.models import Annotation, AnnotationDraft, Task

    if not keys:
        return 0, 0
    with transaction.atomic():
        sync.ping()  # a write first: on SQLite the transaction holds the write lock from here on
        links = sync.storage.links.filter(key__in=keys).exclude(seen_by_sync=sync.run_id)
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
        sync.project.summary.remove_data_columns(tasks)
        Task.delete_tasks_without_signals(tasks)
    return len(doomed), len(busy)
