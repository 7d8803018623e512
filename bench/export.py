"""Benchmark the ApertureDB target storage against no target and Label Studio's built-in Redis target.

    python bench/export.py [--annotations 10000] [--saves 300] [--visible 100] [--sync-only] [--alt-annotations N]

Runs Label Studio in-process (its full HTTP stack through Django's test client, token auth), the
ApertureDB emulator, Redis on 127.0.0.1:6379 and one real Celery worker (threads, concurrency 4).
The database is SQLite in a temporary directory unless DJANGO_DB selects PostgreSQL (as in tests).

(a) POST /api/tasks/<id>/annotations latency with the ApertureDB target, with no target, and with the
    built-in Redis target, interleaved round-robin in one run (p50/p95);
(b) save -> LS_annotation visible in ApertureDB at 20 saves/s (p50/p95);
(c) target "Sync" of --annotations bulk-imported annotations: ApertureDB target (worker, until every
    outbox row is exported) versus the built-in Redis target's sync of the same annotations.
Prints a table, then one JSON line with the figures.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ["ADB_LOG_FILE"] = ""
os.environ.setdefault("LABEL_STUDIO_BASE_DATA_DIR", tempfile.mkdtemp(prefix="ls-adb-bench-"))
os.environ.setdefault("LS_APERTUREDB_ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ls_aperturedb.settings")
os.environ.setdefault("SENTRY_DSN", "")
os.environ.setdefault("COLLECT_ANALYTICS", "0")
os.environ.setdefault("SSRF_PROTECTION_ENABLED", "false")  # the built-in Redis target runs on loopback
if os.environ.get("DJANGO_DB", "sqlite") == "sqlite":
    os.environ["DATABASE_NAME"] = os.path.join(os.environ["LABEL_STUDIO_BASE_DATA_DIR"], "bench.sqlite3")
# Our test helpers, imported before Label Studio puts its own ``tests`` package on sys.path.
from tests.fixtures.aperturedb import ApertureDBTarget  # noqa: E402
from tests.fixtures.export import FULL_CONFIG, create_target, imported_tasks  # noqa: E402
from tests.fixtures.labelstudio import make_project, make_user, token_client  # noqa: E402
from tests.fixtures.worker import Worker, worker_env  # noqa: E402

REDIS = "redis://127.0.0.1:6379/14"
REDIS_TARGET_DB = 15


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def setup_django():
    import django
    from django.core.management import call_command

    from _setup import fresh_postgresql_database

    fresh_postgresql_database("ls_aperturedb_bench_export")
    django.setup()
    call_command("migrate", verbosity=0)


def box(n):
    return {"id": f"b{n}", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
            "original_width": 640, "original_height": 480, "image_rotation": 0,
            "value": {"x": 10.0, "y": 10.0, "width": 20.0, "height": 20.0, "rotation": 0,
                      "rectanglelabels": ["cat"]}}


def save(client, task, n):
    started = time.perf_counter()
    response = client.post(f"/api/tasks/{task.id}/annotations", data=json.dumps({"result": [box(n)]}),
                           content_type="application/json")
    elapsed = time.perf_counter() - started
    assert response.status_code == 201, response.content[:500]
    return elapsed, response.json()["id"]


def redis_target(project):
    from io_storages.redis.models import RedisExportStorage

    return RedisExportStorage.objects.create(project=project, host="127.0.0.1", port="6379",
                                             db=REDIS_TARGET_DB, title="bench redis")


def outbox_done(target, total):
    return target.links.filter(state="exported").count() >= total


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--annotations", type=int, default=10000, help="annotations in the sync comparison")
    ap.add_argument("--saves", type=int, default=300, help="saves per configuration in (a)")
    ap.add_argument("--visible", type=int, default=100, help="saves at 20/s in (b)")
    ap.add_argument("--sync-only", action="store_true", help="only (c), e.g. at 100k on PostgreSQL")
    ap.add_argument("--alt-annotations", type=int, default=None,
                    help="annotations for the built-in Redis target in (c) (default: --annotations)")
    args = ap.parse_args(argv)

    import redis

    redis.Redis.from_url(REDIS).flushdb()
    redis.Redis(db=REDIS_TARGET_DB).flushdb()
    os.environ["LS_APERTUREDB_BROKER_URL"] = REDIS
    setup_django()
    from aperturedb_emulator.server import EmulatorServer
    from tasks.models import Annotation

    server = EmulatorServer(port=0).start()
    adb = ApertureDBTarget("127.0.0.1", server.port, "admin", "admin", use_ssl=False, server=server)
    user = make_user("bench@example.com")
    client = token_client(user)
    worker = Worker(worker_env({"LS_APERTUREDB_BROKER_URL": REDIS})).start()
    try:
        figures = {}
        if not args.sync_only:  # (a) and (b)
            # (a) save latency, interleaved
            projects = {name: make_project(user, FULL_CONFIG, title=name) for name in ("aperturedb", "none", "redis")}
            tasks = {name: imported_tasks(project, adb, 10) for name, project in projects.items()}
            target = create_target(client, projects["aperturedb"], adb)
            redis_target(projects["redis"])
            for name in projects:  # warm-up
                save(client, tasks[name][0], 0)
            latency = {name: [] for name in projects}
            for i in range(args.saves):
                for name in projects:
                    latency[name].append(save(client, tasks[name][i % 10], i)[0])
            for name, values in latency.items():
                figures[f"save_p50_ms_{name}"] = round(statistics.median(values) * 1000, 2)
                figures[f"save_p95_ms_{name}"] = round(percentile(values, 95) * 1000, 2)
            figures["save_p50_ratio_aperturedb_vs_none"] = round(
                figures["save_p50_ms_aperturedb"] / figures["save_p50_ms_none"], 3)
            wait(lambda: outbox_done(target, args.saves + 1), 120)

            # (b) save -> visible at 20 saves/s
            started, seen = {}, {}
            stop = threading.Event()

            def poll():
                conn = adb.connector()
                while not stop.is_set():
                    response, _ = conn.query([{"FindEntity": {
                        "with_class": "LS_annotation", "results": {"list": ["ls_annotation_id"]},
                        "constraints": {"ls_project_id": ["==", projects["aperturedb"].id]}}}])
                    now = time.perf_counter()
                    for e in response[0]["FindEntity"].get("entities") or []:
                        seen.setdefault(e["ls_annotation_id"], now)
                    time.sleep(0.005)
                conn.close()

            for e in adb.query([{"FindEntity": {"with_class": "LS_annotation",
                                                "results": {"list": ["ls_annotation_id"]}}}])[0][0]["FindEntity"]["entities"]:
                seen[e["ls_annotation_id"]] = 0.0
            poller = threading.Thread(target=poll, daemon=True)
            poller.start()
            for i in range(args.visible):
                tick = time.perf_counter()
                _, aid = save(client, tasks["aperturedb"][i % 10], i)
                started[aid] = tick
                time.sleep(max(0.0, 0.05 - (time.perf_counter() - tick)))
            wait(lambda: all(a in seen for a in started), 60)
            stop.set()
            poller.join()
            visible = [seen[a] - started[a] for a in started]
            figures["visible_p50_ms"] = round(statistics.median(visible) * 1000, 1)
            figures["visible_p95_ms"] = round(percentile(visible, 95) * 1000, 1)

        # (c) sync of the same bulk-imported annotations: ApertureDB target vs built-in Redis target
        project = make_project(user, FULL_CONFIG, title="sync")
        sync_tasks = imported_tasks(project, adb, 100)
        n = args.annotations
        Annotation.objects.bulk_create([Annotation(task=sync_tasks[i % 100], project=project, completed_by=user,
                                                   result=[box(i)]) for i in range(n)], batch_size=2000)
        from ls_aperturedb.models import ApertureDBExportStorage

        sync_target = ApertureDBExportStorage.objects.create(project=project, **adb.storage_fields())
        t = time.perf_counter()
        response = client.post(f"/api/storages/export/aperturedb/{sync_target.id}/sync")
        assert response.status_code == 200, response.content[:500]
        wait(lambda: outbox_done(sync_target, n), 3600)
        adb_seconds = time.perf_counter() - t
        alt = args.alt_annotations or n
        if alt != n:  # the Redis target exports every annotation of its project: a project of ``alt``
            project = make_project(user, FULL_CONFIG, title="sync-redis")
            redis_tasks = imported_tasks(project, adb, 100)
            Annotation.objects.bulk_create([Annotation(task=redis_tasks[i % 100], project=project, completed_by=user,
                                                       result=[box(i)]) for i in range(alt)], batch_size=2000)
        redis_storage = redis_target(project)
        t = time.perf_counter()
        response = client.post(f"/api/storages/export/redis/{redis_storage.id}/sync")
        assert response.status_code == 200, response.content[:500]
        redis_seconds = time.perf_counter() - t
        exported_to_redis = redis.Redis(db=REDIS_TARGET_DB).dbsize()
        figures["sync_annotations"] = n
        figures["sync_annotations_redis"] = alt
        figures["sync_per_s_aperturedb"] = round(n / adb_seconds, 1)
        figures["sync_per_s_redis"] = round(exported_to_redis / redis_seconds, 1)
        figures["sync_speedup"] = round(figures["sync_per_s_aperturedb"] / figures["sync_per_s_redis"], 2)
        figures["database"] = os.environ.get("DJANGO_DB", "sqlite")
    finally:
        worker.stop()
        server.stop()

    rows = [] if args.sync_only else [
        ("(a) save p50 / p95, ApertureDB target", f"{figures['save_p50_ms_aperturedb']} / {figures['save_p95_ms_aperturedb']} ms"),
        ("(a) save p50 / p95, no target", f"{figures['save_p50_ms_none']} / {figures['save_p95_ms_none']} ms"),
        ("(a) save p50 / p95, built-in Redis target", f"{figures['save_p50_ms_redis']} / {figures['save_p95_ms_redis']} ms"),
        ("(a) p50 ApertureDB / none (target <= 1.05)", f"{figures['save_p50_ratio_aperturedb_vs_none']}"),
        ("(b) save -> visible p50 / p95 (target p95 <= 1 s)", f"{figures['visible_p50_ms']} / {figures['visible_p95_ms']} ms"),
    ]
    rows += [
        (f"(c) sync of {n} annotations, ApertureDB target", f"{figures['sync_per_s_aperturedb']} annotations/s"),
        (f"(c) sync of {figures['sync_annotations_redis']} annotations, built-in Redis target",
         f"{figures['sync_per_s_redis']} annotations/s"),
        ("(c) speed-up (target >= 5x)", f"{figures['sync_speedup']}x"),
    ]
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print(json.dumps(figures))


def wait(condition, timeout):
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise TimeoutError("benchmark step did not finish in time")
        time.sleep(0.05)


if __name__ == "__main__":
    main()
