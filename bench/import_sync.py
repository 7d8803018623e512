"""Benchmark the ApertureDB source storage sync against Label Studio's own ways of getting the same tasks in.

    python bench/import_sync.py [--images 100000] [--boxes-per-image 5] [--alt-images N]
                                [--latency-ms 50] [--workers 1,2,4]
    DJANGO_DB=postgresql POSTGRE_HOST=127.0.0.1 POSTGRE_USER=postgres python bench/import_sync.py ...

1. full sync of N images (K boxes each) from the emulator: tasks/s, peak RSS growth, and where the time
   went (listing, fetch and mapping in the read-ahead threads; insert and Label Studio's own counters in
   the writing thread; its wait for pages);
2. re-sync with nothing new (s);
3. with ``--latency-ms``: the same full sync from the emulator answering every request that much later
   (a remote ApertureDB), and its ratio to 1;
4. with ``--workers``: the sync spread over that many Celery worker processes (LS_APERTUREDB_SYNC_WORKERS,
   Redis broker), each count on a fresh project;
5. Label Studio's built-in Redis source storage syncing N tasks (tasks/s);
6. do-it-yourself: read the images and boxes with the SDK, POST tasks with predictions to Label Studio's
   import API in batches of 1,000 (tasks/s).
By default 5 and 6 run on the same N as 1 and 2, in the same process right after them, so the ratios
are measured side by side (at 100k that adds about 10 minutes, most of it the Redis storage).
``--alt-images M`` runs them on M images instead for a quick look; the table then says so.
Peak RSS: sampled every 20 ms in a thread during the full sync, minus the RSS at its start, taken
after freed heap is returned to the OS (else the sync reuses memory that setup freed and reads 0 MB).
Prints a table, then one JSON line with the figures.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _setup import CPUTime, Emulator, PeakRSS, api_client, django_up, make_project, make_user, timed  # noqa: E402

CONFIG = """<View><Image name="image" value="$image"/>
<RectangleLabels name="label" toName="image"><Label value="cat"/><Label value="dog"/><Label value="car"/></RectangleLabels>
</View>"""


def _storage(user, port, title):
    from ls_aperturedb.models import ApertureDBImportStorage

    project = make_project(user, CONFIG, title)
    return project, ApertureDBImportStorage.objects.create(project=project, hostname="127.0.0.1", port=port,
                                                           username="admin", password="admin", use_ssl=False)


def aperturedb_sync(user, emulator, port, images, title="aperturedb"):
    """Full sync in this process, then a re-sync: (seconds, RSS, re-sync seconds, time by part, CPU)."""
    project, storage = _storage(user, port, title)
    with PeakRSS() as rss, CPUTime(emulator.proc.pid) as cpu:
        seconds, _ = timed(storage.sync)
    storage.refresh_from_db()
    assert storage.status == "completed", storage.traceback
    assert project.tasks.count() == images, project.tasks.count()
    parts = storage.meta["seconds"]
    resync, _ = timed(storage.sync)
    storage.refresh_from_db()
    assert storage.meta["tasks_created"] == 0 and storage.status == "completed"
    return seconds, rss, resync, parts, cpu


def spread_sync(user, port, images, workers):
    """The sync run by ``workers`` Celery worker processes (one task at a time each): seconds from the
    request to the completed status."""
    import time

    from django.conf import settings

    from ls_aperturedb.tasks import start_import_sync
    from tests.fixtures.worker import started_workers, worker_env

    os.environ["LS_APERTUREDB_QUEUE"] = settings.CELERY_TASK_DEFAULT_QUEUE  # the workers' queue is ours
    env = worker_env({"LS_APERTUREDB_SYNC_WORKERS": str(workers)})
    with started_workers(settings) as start:
        for i in range(workers):
            start(env, name=f"bench{i}", concurrency=1)
        project, storage = _storage(user, port, f"spread-{workers}")
        started = time.perf_counter()
        start_import_sync(storage)
        while True:
            storage.refresh_from_db()
            if storage.status in ("completed", "failed"):
                break
            time.sleep(0.1)
        seconds = time.perf_counter() - started
    assert storage.status == "completed", storage.traceback
    assert project.tasks.count() == images, project.tasks.count()
    return seconds


def redis_sync(user, images):
    import redis
    from django.conf import settings
    from io_storages.redis.models import RedisImportStorage

    settings.SSRF_PROTECTION_ENABLED = False  # Label Studio's own storage on a loopback Redis
    client = redis.Redis(db=9)
    client.flushdb()
    pipe = client.pipeline()
    for i in range(images):
        pipe.set(f"task-{i:07d}", json.dumps({"image": f"https://example.com/{i}.jpg"}))
    pipe.execute()
    project = make_project(user, CONFIG, "redis")
    storage = RedisImportStorage.objects.create(project=project, host="127.0.0.1", port="6379", db=9, path="task-",
                                                use_blob_urls=False)
    seconds, _ = timed(storage.sync)
    storage.refresh_from_db()
    assert project.tasks.count() == images, (project.tasks.count(), storage.status, storage.traceback)
    client.flushdb()
    return seconds


def import_api(user, port, images):
    """The do-it-yourself path: SDK reads, HTTP import API writes (Label Studio's full stack, in process)."""
    from ls_aperturedb.client.connection import ConnectionConfig

    project = make_project(user, CONFIG, "import-api")
    client = api_client(user)
    connector = ConnectionConfig(host="127.0.0.1", port=port, username="admin", password="admin",
                                 use_ssl=False).connector()

    def run():
        for offset in range(0, images, 1000):
            response, _ = connector.query([
                {"FindImage": {"_ref": 1, "sort": {"key": "_uniqueid", "order": "ascending"}, "offset": offset,
                               "limit": min(1000, images - offset), "results": {"list": ["_uniqueid", "width", "height"]}}},
                {"FindBoundingBox": {"is_connected_to": {"ref": 1}, "group_by_source": True, "coordinates": True,
                                     "labels": True, "results": {"list": ["confidence"]}}}])
            boxes = response[1]["FindBoundingBox"].get("entities") or {}
            tasks = []
            for image in response[0]["FindImage"]["entities"]:
                w, h = image["width"], image["height"]
                result = [{"from_name": "label", "to_name": "image", "type": "rectanglelabels",
                           "original_width": w, "original_height": h,
                           "value": {"x": b["_coordinates"]["x"] * 100 / w, "y": b["_coordinates"]["y"] * 100 / h,
                                     "width": b["_coordinates"]["width"] * 100 / w,
                                     "height": b["_coordinates"]["height"] * 100 / h, "rotation": 0,
                                     "rectanglelabels": [b["_label"]]}, "score": b["confidence"]}
                          for b in boxes.get(image["_uniqueid"], [])]
                tasks.append({"data": {"image": f"aperturedb://0/{image['_uniqueid']}"},
                              "predictions": [{"model_version": "diy", "result": result}]})
            answer = client.post(f"/api/projects/{project.id}/import", json.dumps(tasks),
                                 content_type="application/json")
            assert answer.status_code == 201, answer.content[:500]

    seconds, _ = timed(run)
    connector.close()
    assert project.tasks.count() == images
    return seconds


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=100000)
    ap.add_argument("--boxes-per-image", type=int, default=5)
    ap.add_argument("--alt-images", type=int, default=None, help="images for the two alternatives (default: --images)")
    ap.add_argument("--latency-ms", type=float, default=0, help="also sync from an emulator this many ms away")
    ap.add_argument("--workers", default="", help="also sync spread over these worker counts, e.g. 1,2,4")
    ap.add_argument("--no-redis", action="store_true",
                    help="leave out Label Studio's Redis storage (the slowest part at 100k on PostgreSQL)")
    args = ap.parse_args(argv)
    n, k, alt = args.images, args.boxes_per_image, args.alt_images or args.images
    counts = [int(w) for w in args.workers.split(",") if w]
    django_up()
    from django.db import connection

    user = make_user()
    emulator = Emulator(n, k, args.latency_ms)
    figures = {}
    try:
        sync_s, rss, resync_s, parts, cpu = aperturedb_sync(user, emulator, emulator.port, n)
        rows = [("ApertureDB sync (full)", n, sync_s, n / sync_s), ("ApertureDB re-sync, nothing new", n, resync_s, None)]
        if args.latency_ms:
            remote_s, _, remote_resync_s, remote_parts, _ = aperturedb_sync(user, emulator, emulator.remote_port, n,
                                                                             "remote")
            rows += [(f"  same, ApertureDB {args.latency_ms:g} ms away", n, remote_s, n / remote_s),
                     (f"  re-sync, {args.latency_ms:g} ms away", n, remote_resync_s, None)]
            figures.update(latency_ms=args.latency_ms, remote_sync_s=round(remote_s, 2),
                           remote_resync_s=round(remote_resync_s, 2), x_remote=round(remote_s / sync_s, 2),
                           remote_seconds_by_part=remote_parts)
        for workers in counts:
            spread_s = spread_sync(user, emulator.port, n, workers)
            rows.append((f"  same, spread over {workers} worker(s)", n, spread_s, n / spread_s))
            figures[f"workers_{workers}_s"] = round(spread_s, 2)
        redis_s = None if args.no_redis else redis_sync(user, alt)
        api_s = import_api(user, emulator.port, alt)
    finally:
        emulator.stop()
    ours, api_rate = n / sync_s, alt / api_s
    redis_rate = redis_s and alt / redis_s
    if redis_s:
        rows.append(("Label Studio Redis storage sync", alt, redis_s, redis_rate))
    rows.append(("SDK read + import API, batches of 1000", alt, api_s, api_rate))
    print(f"database: {connection.vendor}; {k} boxes per image; RSS during the full sync: {rss.start:.0f} MB at the "
          f"start, {rss.peak:.0f} MB peak ({rss.samples} samples), growth {rss.growth:.0f} MB")
    print(f"{'path':42} {'tasks':>8} {'seconds':>9} {'tasks/s':>9}")
    for name, count, seconds, rate in rows:
        print(f"{name:42} {count:>8} {seconds:>9.2f} {rate and f'{rate:.0f}' or '-':>9}")
    print((f"ratio vs Redis storage: {ours / redis_rate:.1f}x; " if redis_rate else "")
          + f"vs import API: {ours / api_rate:.1f}x")
    print("full sync, seconds by part (read-ahead threads overlap the writing thread): "
          + ", ".join(f"{part} {value:.1f}" for part, value in sorted(parts.items())))
    print(cpu.line())
    if args.latency_ms:
        print(f"{args.latency_ms:g} ms away: {figures['x_remote']:.2f}x the local time")
    print(json.dumps({"bench": "import_sync", "database": connection.vendor, "images": n, "boxes_per_image": k,
                      "alt_images": alt, "sync_s": round(sync_s, 2), "tasks_per_s": round(ours),
                      "resync_s": round(resync_s, 2), "peak_rss_growth_mb": round(rss.growth),
                      "rss_start_mb": round(rss.start), "rss_peak_mb": round(rss.peak),
                      "redis_tasks_per_s": redis_rate and round(redis_rate), "import_api_tasks_per_s": round(api_rate),
                      "x_redis": redis_rate and round(ours / redis_rate, 1), "x_import_api": round(ours / api_rate, 1),
                      "seconds_by_part": parts,
                      "cpu_seconds": cpu.seconds, "cores_busy": cpu.cores,
                      "busiest_postgresql_process_s": cpu.busiest_postgresql, **figures}))


if __name__ == "__main__":
    main()
