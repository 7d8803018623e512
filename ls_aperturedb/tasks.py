"""Celery tasks: thin wrappers that take ids, re-fetch, and call importer/exporter."""
import logging

from celery import shared_task
from django.conf import settings

logger = logging.getLogger(__name__)


def broker_configured():
    return bool(getattr(settings, "CELERY_BROKER_URL", ""))


def enqueue(task, *args):
    """Send ``task`` to the worker; without a broker, run it inline (zero-setup Label Studio)."""
    if not broker_configured():
        return task.apply(args=args, throw=False)
    return task.delay(*args)


def start_import_sync(storage):
    raise NotImplementedError("import sync: see the source-storage issue")


def start_export_sync(storage):
    raise NotImplementedError("export sync: see the target-storage issue")
