"""Label Studio's settings plus the plugin.

Use with ``DJANGO_SETTINGS_MODULE=ls_aperturedb.settings``. Label Studio's settings module reads
``django.conf.settings`` while it is being imported (sentry init, version collection), so it is
imported with ``DJANGO_SETTINGS_MODULE`` pointing at itself, then pointed back here.
"""
import os
import sys

import label_studio

# Label Studio imports its own apps as top-level packages (``from io_storages ...``).
LS_PATH = os.path.dirname(os.path.abspath(label_studio.__file__))
if LS_PATH not in sys.path:
    sys.path.insert(0, LS_PATH)

# The SDK probes PyPI at import and writes error.<ts>.log into the cwd when that fails.
os.environ.setdefault("ADB_LOG_FILE", "")

_own_module = os.environ.get("DJANGO_SETTINGS_MODULE", __name__)
os.environ["DJANGO_SETTINGS_MODULE"] = "label_studio.core.settings.label_studio"
try:
    from label_studio.core.settings.label_studio import *  # noqa: F401,F403
finally:
    os.environ["DJANGO_SETTINGS_MODULE"] = _own_module

# That import configured ``django.conf.settings`` from Label Studio's module; forget it, so the next
# access loads this one (matters when this module is imported directly, e.g. by a Celery worker).
from django.conf import settings as _django_settings  # noqa: E402
from django.utils.functional import empty as _empty  # noqa: E402

_django_settings._wrapped = _empty

from ls_aperturedb import conf as _conf  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "ls_aperturedb"]  # noqa: F405
ROOT_URLCONF = "ls_aperturedb.urls"
GET_STORAGE_LIST = "ls_aperturedb.storage_list.get_storage_list"

# The plugin's templates win over Label Studio's: its base.html adds the ApertureDB tile to the
# Cloud Storage wizard (static/ls_aperturedb/storage-provider.js, served by urls.py).
PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))
TEMPLATES[0]["DIRS"] = [os.path.join(PLUGIN_DIR, "templates"), *TEMPLATES[0]["DIRS"]]  # noqa: F405
IO_STORAGES_IMPORT_LINK_NAMES = [  # noqa: F405
    *IO_STORAGES_IMPORT_LINK_NAMES,  # noqa: F405
    "io_storages_aperturedbimportstoragelink",
]

# Celery: Redis broker when configured; without one, background work runs inline.
CELERY_BROKER_URL = _conf.env("BROKER_URL")
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = _conf.env("QUEUE")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 2}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Embedded broker for the demo: messages are files in a shared folder, no server needed.
    _folder = _conf.env("BROKER_FOLDER") or os.path.join(BASE_DATA_DIR, "celery-broker")  # noqa: F405
    os.makedirs(_folder, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": _folder, "data_folder_out": _folder}
CELERY_BEAT_SCHEDULE = {
    "ls-aperturedb-reconcile-exports": {
        "task": "ls_aperturedb.tasks.reconcile_exports",
        "schedule": float(_conf.env("RECONCILE_SECONDS")),
    },
    "ls-aperturedb-scheduled-syncs": {  # storages' sync_interval (ls_aperturedb/ops/schedule.py)
        "task": "ls_aperturedb.tasks.run_scheduled_syncs",
        "schedule": float(_conf.env("SCHEDULE_SECONDS")),
    },
}
