"""The Celery app. Broker: ``LS_APERTUREDB_BROKER_URL`` (e.g. ``redis://127.0.0.1:6379/0``).

Without a broker, ``tasks.enqueue`` runs the same code inline, so a zero-setup Label Studio works.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ls_aperturedb.settings")

app = Celery("ls_aperturedb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["ls_aperturedb"])
