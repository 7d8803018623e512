"""Shared bench setup: a fresh Label Studio database (SQLite or PostgreSQL per ``DJANGO_DB``), a user and
an organization, an emulator in its own process, and RSS sampling."""
import os
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# The test suite's helpers (imported before Label Studio puts its own ``tests`` package on sys.path).
from tests.fixtures.labelstudio import make_project, make_user as _make_user  # noqa: E402,F401
from tests.fixtures.labelstudio import token_client as api_client  # noqa: E402,F401


def django_up(extra_env=None):
    """Point Label Studio at a fresh data dir (and a fresh PostgreSQL database), migrate, set up Django."""
    os.environ.setdefault("ADB_LOG_FILE", "")
    os.environ["LABEL_STUDIO_BASE_DATA_DIR"] = tempfile.mkdtemp(prefix="ls-adb-bench-")
    os.environ.setdefault("LS_APERTUREDB_ALLOWED_HOSTS", "127.0.0.1")
    os.environ.setdefault("SENTRY_DSN", "")
    os.environ["DJANGO_SETTINGS_MODULE"] = "ls_aperturedb.settings"
    os.environ.update(extra_env or {})
    fresh_postgresql_database("ls_aperturedb_bench")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fresh_postgresql_database(default_name):
    """With DJANGO_DB=postgresql: an empty database of its own (POSTGRE_NAME, else ``default_name``)."""
    if os.environ.get("DJANGO_DB") != "postgresql":
        return
    import psycopg2

    name = os.environ.setdefault("POSTGRE_NAME", default_name)
    conn = psycopg2.connect(host=os.environ.get("POSTGRE_HOST", "127.0.0.1"),
                            user=os.environ.get("POSTGRE_USER", "postgres"),
                            password=os.environ.get("POSTGRE_PASSWORD", ""), dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def make_user(email="bench@example.com"):
    return _make_user(email)


EMULATOR = r"""
import io, sys, random
from PIL import Image
from aperturedb_emulator.server import EmulatorServer
from aperturedb_emulator.executor import execute
n, k, latency = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
srv = EmulatorServer(port=0).start()
# The same store behind a second port whose replies wait ``latency`` ms (a remote ApertureDB).
lag = EmulatorServer(port=0, latency_ms=latency).start()
lag.store = srv.store
blobs = []
for w, h in ((64, 48), (80, 60), (96, 72), (120, 90)):
    out = io.BytesIO(); Image.new("RGB", (w, h), (w, 90, h)).save(out, format="JPEG"); blobs.append((w, h, out.getvalue()))
rng = random.Random(0)
for lo in range(0, n, 500):
    q, b = [], []
    for j, i in enumerate(range(lo, min(lo + 500, n))):
        w, h, blob = blobs[i % 4]
        ref = j + 1
        q.append({"AddImage": {"_ref": ref, "properties": {"dataset": "bench", "index": i, "width": w, "height": h}}})
        for x in range(k):
            q.append({"AddBoundingBox": {"image_ref": ref, "label": ("cat", "dog", "car")[x % 3],
                      "rectangle": {"x": x, "y": x, "width": 10 + x, "height": 8 + x},
                      "properties": {"confidence": round(rng.uniform(0.5, 1), 3)}}})
        b.append(blob)
    reply, _ = execute(srv.store, q, b)
    assert isinstance(reply, list), reply
# The seeded store is permanent: keep Python's collector from walking its millions of objects on every
# full collection (a pause the real server, written in C++, does not have).
import gc; gc.collect(); gc.freeze()
print(srv.port, lag.port, flush=True)
sys.stdin.read()
import os; os._exit(0)  # millions of objects need no teardown
"""


class Emulator:
    """The emulator in its own process (so it does not share the GIL with the code measured), on
    ``port``, and on ``remote_port`` with every reply ``latency_ms`` late."""

    def __init__(self, images, boxes, latency_ms=0):
        self.proc = subprocess.Popen([sys.executable, "-c", EMULATOR, str(images), str(boxes), str(latency_ms)],
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port, self.remote_port = map(int, self.proc.stdout.readline().split())

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _release_free_memory():
    """Give freed heap back to the OS, so a baseline RSS does not hide growth in memory that
    earlier work (migrations, setup) freed but kept: without it the sync reuses that memory and the
    growth reads 0 MB."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


class PeakRSS:
    """Samples this process's RSS every 20 ms in a thread while a block runs; ``growth`` is the peak
    minus the RSS at the start (taken after returning freed heap to the OS)."""

    def __enter__(self):
        _release_free_memory()
        self.start = self.peak = rss_mb()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())
            self.samples += 1

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())
        self.growth = self.peak - self.start


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _cpu_seconds(pid):
    """User + system CPU seconds of process ``pid`` (all its threads), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:  # the process ended
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgresql_pids():
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/comm") as fh:
                    if fh.read().strip() == "postgres":
                        pids.append(int(name))
            except OSError:
                continue
    return pids


class CPUTime:
    """CPU seconds spent while a block runs, by process: this one (Label Studio and the plugin), the
    emulator, and every PostgreSQL server process; with the wall time, what a 2-core machine allows.
    Server processes that end inside the block are not counted (the sync's connections stay open)."""

    def __init__(self, emulator_pid):
        self.emulator_pid = emulator_pid

    def _sample(self):
        return {"label_studio": sum(os.times()[:2]), "emulator": _cpu_seconds(self.emulator_pid),
                **{f"pg{pid}": _cpu_seconds(pid) for pid in _postgresql_pids()}}

    def __enter__(self):
        self._before, self._started = self._sample(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        after, self.wall = self._sample(), time.perf_counter() - self._started
        spent = {key: value - self._before.get(key, 0.0) for key, value in after.items()}
        self.seconds = {"label_studio": round(spent.pop("label_studio"), 1),
                        "emulator": round(spent.pop("emulator"), 1),
                        "postgresql": round(sum(spent.values()), 1)}
        # One worker's pages go through one server process: its CPU time bounds that sync from below.
        self.busiest_postgresql = round(max(spent.values(), default=0.0), 1)
        self.cores = round(sum(self.seconds.values()) / self.wall, 2)

    def line(self):
        parts = ", ".join(f"{name} {value:.1f}" for name, value in self.seconds.items())
        busiest = f" (its busiest process {self.busiest_postgresql:.1f})" if self.busiest_postgresql else ""
        return (f"CPU seconds during the full sync: {parts}{busiest} ({self.cores} cores busy on average of "
                f"{os.cpu_count()})")
