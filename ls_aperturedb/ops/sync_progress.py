"""Start a storage's sync and follow it to its end with a progress bar (``storage sync --wait``).

The sync runs where it always runs (a Celery worker, or inline without a broker); this only watches the
storage's status fields, running the same dead-worker check as Label Studio's storage list.
"""
import time

DONE = ("completed", "completed_with_errors", "failed")
WIDTH = 30


class SyncFailed(RuntimeError):
    """The sync ended failed (or not within the timeout); the message is the storage's status message."""


def start(storage):
    """Start a sync (a no-op while one is alive); the storage as it is afterwards."""
    storage.sync()
    storage.refresh_from_db()
    return storage


def wait(storage, out, timeout=3600, poll=0.5):
    """Follow the storage's sync until it ends; raise :class:`SyncFailed` unless it completed."""
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    while True:
        storage.refresh_from_db()
        storage.health_check()
        status = str(storage.status)
        out.write("\r" + line(storage, time.monotonic() - started))
        out.flush()
        if status in DONE:
            out.write("\n")
            if status == "failed":
                raise SyncFailed(storage.traceback or "the sync failed")
            return storage
        if time.monotonic() > deadline:
            out.write("\n")
            raise SyncFailed(f"the sync did not finish within {timeout} s (status {status})")
        time.sleep(poll)


def line(storage, elapsed):
    """``[#####.....] status: counts`` (the bar fills when the total is known: a limit, or a target's
    annotations; otherwise it sweeps)."""
    meta = storage.meta or {}
    exports = meta.get("exports") or {}
    if exports:
        done = exports.get("exported", 0)
        total = sum(exports.get(k, 0) for k in ("pending", "exported", "failed", "deleting")) or None
        counts = f"{done} exported, {exports.get('pending', 0)} pending, {exports.get('failed', 0)} failed"
    else:
        done = meta.get("images_seen", 0)
        total = getattr(storage, "limit", None)
        counts = f"{done} images seen, {meta.get('tasks_created', 0)} tasks created"
    if str(storage.status) in DONE:
        filled = WIDTH
    elif total:
        filled = min(WIDTH, int(WIDTH * done / total))
    else:
        filled = int(elapsed * 4) % (WIDTH + 1)
    bar = "#" * filled + "." * (WIDTH - filled)
    return f"[{bar}] {storage.status}: {counts} ({elapsed:.0f} s)   "
