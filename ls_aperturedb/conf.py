"""Every plugin setting, read in one place.

Each setting is read from the environment as ``LS_APERTUREDB_<NAME>`` and can be overridden in
Django settings as ``APERTUREDB_<NAME>``.
"""
import os

from django.core.exceptions import ImproperlyConfigured

DEFAULTS = {
    # Celery broker, e.g. redis://127.0.0.1:6379/0. Empty: background work runs inline in the web
    # process. ``filesystem://`` is the demo's embedded broker (folder: BROKER_FOLDER).
    "BROKER_URL": "",
    "BROKER_FOLDER": "",
    # The Celery queue of the plugin's tasks.
    "QUEUE": "ls-aperturedb",
    # Seconds between beat's reconcile runs (retries pending and failed exports).
    "RECONCILE_SECONDS": "30",
    # Fernet keys (comma separated, newest first) that encrypt passwords/tokens at rest.
    # Empty: a key generated into Label Studio's data dir. Rotate by prepending a new key and
    # running ``ls-aperturedb rotate-secrets`` (re-encrypts with the first key).
    "SECRET_KEYS": "",
    # Hosts (names, IPs or CIDRs, comma separated) that ApertureDB storages may reach even though
    # they are loopback/private; SSRF protection stays on for every other storage.
    "ALLOWED_HOSTS": "",
    # Seconds "Test connection" waits for ApertureDB.
    "CONNECT_TIMEOUT": "5",
    # Seconds any other ApertureDB call (media, sync, export, preview) waits for the server on each
    # socket operation before it gives up and drops the connection.
    "QUERY_TIMEOUT": "30",
    "POOL_SIZE": "8",
    # Videos: the on-disk cache the resolve proxy serves Range requests from (ApertureDB hands a video
    # out whole). Folder (empty: <Label Studio data dir>/ls-aperturedb-video-cache) and size bound in MB.
    "VIDEO_CACHE_DIR": "",
    "VIDEO_CACHE_MB": "2048",
    "SYNC_BATCH_SIZE": "1000",
    # Import sync: pages listed, fetched and mapped ahead while one is written (hides a remote
    # ApertureDB's round trips; memory grows with it: about one page of objects each).
    "SYNC_PAGES_IN_FLIGHT": "4",
    # Import sync: Celery workers one sync is spread over (source/ranges.py); 1 keeps it in one worker.
    "SYNC_WORKERS": "1",
    # Export: annotations per ApertureDB transaction during a target Sync or reconcile.
    "EXPORT_BATCH_SIZE": "200",
    # Export: a worker's lease on an outbox row; a killed worker's rows are retried after it.
    "EXPORT_LEASE_SECONDS": "300",
    # Export: reconcile leaves pending rows younger than this to their own wake-up, and retries
    # failed rows after this many seconds, doubled per attempt (at most 64x).
    "EXPORT_RETRY_SECONDS": "30",
    # A running import sync whose heartbeat is older than this is taken for dead (worker killed), a
    # queued one as never picked up (no worker): it is shown as failed and a new sync may start.
    "SYNC_STALE_SECONDS": "60",
    # Operations (ls_aperturedb/ops/). Seconds between beat's look for storages whose scheduled sync is due.
    "SCHEDULE_SECONDS": "15",
    # Sync events: seconds a webhook receiver may take to answer, and deliveries tried before giving up.
    "WEBHOOK_TIMEOUT": "10",
    "WEBHOOK_ATTEMPTS": "6",
    # The identity of this Label Studio installation on the nodes it exports (several installations
    # may share one ApertureDB). Empty: a name generated once into Label Studio's data dir.
    "INSTALLATION": "",
}

_UNSET = object()


def env(name, default=_UNSET):
    """Read ``LS_APERTUREDB_<name>`` from the environment, else ``default``/the table above."""
    key = f"LS_APERTUREDB_{name}"
    if key in os.environ:
        return os.environ[key]
    if default is not _UNSET:
        return default
    if name in DEFAULTS:
        return DEFAULTS[name]
    raise ImproperlyConfigured(f"unknown ls-aperturedb setting {name!r}")


def get(name):
    """A plugin setting: Django's ``APERTUREDB_<name>`` wins over the environment."""
    if name not in DEFAULTS:
        raise ImproperlyConfigured(f"unknown ls-aperturedb setting {name!r}")
    from django.conf import settings

    django_ready = settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE")
    value = getattr(settings, f"APERTUREDB_{name}", None) if django_ready else None  # else: a bare script
    return env(name) if value is None else value


def get_int(name):
    try:
        return int(get(name))
    except ValueError as exc:
        raise ImproperlyConfigured(f"LS_APERTUREDB_{name} must be an integer") from exc


def get_list(name):
    value = get(name)
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(",") if v.strip()]
