"""The identity of this Label Studio installation on the nodes it exports to ApertureDB.

Two installations writing to one ApertureDB must not touch each other's annotations: their
``Annotation.unique_id`` may collide (copied databases, ids derived from small integers), and project
ids certainly do. Every exported node carries ``ls_installation`` and every upsert, delete and cleanup
is scoped by it. ``LS_APERTUREDB_INSTALLATION`` names it; empty, a name is generated once into Label
Studio's data dir (web and workers sharing that dir agree; set the variable where they do not).
"""
import os
import uuid

from ls_aperturedb import conf

PROPERTY = "ls_installation"
_cache = {}


def current():
    """This installation's identity (read once per process and data dir)."""
    configured = str(conf.get("INSTALLATION") or "").strip()
    if configured:
        return configured
    from django.conf import settings

    path = os.path.join(settings.BASE_DATA_DIR, "ls-aperturedb-installation")
    if path not in _cache:
        _cache[path] = _read_or_create(path)
    return _cache[path]


def _read_or_create(path):
    if not os.path.exists(path):
        # Write then link: concurrent first uses (web app, workers) agree on one name.
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w") as fh:
            fh.write(f"ls-{uuid.uuid4().hex}")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    with open(path) as fh:
        return fh.read().strip()
