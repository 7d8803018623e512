"""Signal wiring: annotation saves and deletes go to the export outbox; the logic is in exporter.py.

Each receiver writes outbox rows inside the request's transaction and wakes a worker only once it
commits, so a rolled-back save exports nothing and a save never waits on ApertureDB.
"""
from functools import partial

from django.db import transaction
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver
from tasks.models import Annotation


@receiver(post_save, sender=Annotation, dispatch_uid="ls_aperturedb_export_on_save")
def export_on_save(sender, instance, raw=False, **kwargs):
    if raw:
        return
    from ls_aperturedb.target.exporter import queue_annotation

    _wake_on_commit(queue_annotation(instance), instance.id)


@receiver(pre_delete, sender=Annotation, dispatch_uid="ls_aperturedb_export_on_delete")
def export_on_delete(sender, instance, **kwargs):
    from ls_aperturedb.target.exporter import queue_deletion

    _wake_on_commit(queue_deletion(instance), instance.id)


def cleanup_on_delete(sender, instance, **kwargs):
    """A target storage with ``cleanup_on_delete`` (off by default) being deleted, alone or with its
    project: remove what it wrote to ApertureDB once the deletion commits (ops/cleanup.py)."""
    if instance.cleanup_on_delete:
        from ls_aperturedb.ops.cleanup import cleanup_after_delete

        cleanup_after_delete(instance)


def connect_cleanup_on_delete():
    from ls_aperturedb.models import ApertureDBExportStorage

    pre_delete.connect(cleanup_on_delete, sender=ApertureDBExportStorage, dispatch_uid="ls_aperturedb_cleanup")


connect_cleanup_on_delete()


def _wake_on_commit(storage_ids, annotation_key):
    from ls_aperturedb.tasks import wake_export

    for storage_id in storage_ids:
        transaction.on_commit(partial(wake_export, storage_id, annotation_key))
