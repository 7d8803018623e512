"""Benchmark the target storage's Sync of video annotations against image annotations of the same size.

    python bench/export_video.py [--annotations 500] [--keyframes 10]

Runs Label Studio in-process (its HTTP stack through Django's test client) and the ApertureDB emulator;
no broker, so "Sync" exports inline in the request and the time is the request's. Side by side in one run:
(i)  --annotations image annotations, each with --keyframes boxes, on 20 images;
(ii) --annotations video annotations on 20 generated videos, each a track of --keyframes keyframes
     (boxes on frames: half the frames exist, half are added by the export) and two timeline segments.
Prints annotations/s and region nodes/s for both, and their ratio, then one JSON line.
The database is SQLite in a temporary directory unless DJANGO_DB selects PostgreSQL.
"""
import argparse
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ["ADB_LOG_FILE"] = ""
os.environ.setdefault("LABEL_STUDIO_BASE_DATA_DIR", tempfile.mkdtemp(prefix="ls-adb-bench-"))
os.environ.setdefault("LS_APERTUREDB_ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ls_aperturedb.settings")
os.environ.setdefault("SENTRY_DSN", "")
os.environ.setdefault("COLLECT_ANALYTICS", "0")
os.environ["LS_APERTUREDB_BROKER_URL"] = ""
if os.environ.get("DJANGO_DB", "sqlite") == "sqlite":
    os.environ["DATABASE_NAME"] = os.path.join(os.environ["LABEL_STUDIO_BASE_DATA_DIR"], "bench.sqlite3")
from tests.fixtures.aperturedb import ApertureDBTarget  # noqa: E402
from tests.fixtures.export import FULL_CONFIG, imported_tasks  # noqa: E402
from tests.fixtures.labelstudio import make_project, make_user, token_client  # noqa: E402
from tests.video_export_helpers import add_video, segments, track, video_project, video_task  # noqa: E402


def image_result(n, keyframes):
    return [{"id": f"b{n}_{k}", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
             "original_width": 640, "original_height": 480, "image_rotation": 0,
             "value": {"x": 1.0 + k, "y": 10.0, "width": 20.0, "height": 20.0, "rotation": 0,
                       "rectanglelabels": ["cat"]}} for k in range(keyframes)]


def video_result(n, keyframes):
    # Frames 1, 4, 7, ...: every other one is a seeded frame (ApertureDB 0, 5, 10... hold boxes), the
    # rest are added by the first export that needs them.
    frames = [(1 + 3 * k, float(k)) for k in range(keyframes)]
    return [track(f"t{n}", frames=frames), segments(f"s{n}", ((1, 3), (10, 12)))]


def sync(client, project, adb, result, tasks, n, keyframes):
    from tasks.models import Annotation

    from ls_aperturedb.models import ApertureDBExportStorage

    user = project.created_by
    Annotation.objects.bulk_create([Annotation(task=tasks[i % len(tasks)], project=project, completed_by=user,
                                               result=result(i, keyframes)) for i in range(n)], batch_size=1000)
    target = ApertureDBExportStorage.objects.create(project=project, **adb.storage_fields())
    started = time.perf_counter()
    response = client.post(f"/api/storages/export/aperturedb/{target.id}/sync")
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.content[:500]
    states = set(target.links.values_list("state", flat=True))
    assert states == {"exported"}, states
    return seconds


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--annotations", type=int, default=500)
    ap.add_argument("--keyframes", type=int, default=10, help="boxes per image annotation / keyframes per track")
    args = ap.parse_args(argv)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from aperturedb_emulator.server import EmulatorServer

    server = EmulatorServer(port=0).start()
    adb = ApertureDBTarget("127.0.0.1", server.port, "admin", "admin", use_ssl=False, server=server)
    user = make_user("bench-video@example.com")
    client = token_client(user)
    n, k = args.annotations, args.keyframes
    try:
        images = make_project(user, FULL_CONFIG, title="images")
        image_seconds = sync(client, images, adb, image_result, imported_tasks(images, adb, 20), n, k)
        videos = video_project(user, title="videos")
        video_tasks = [video_task(videos, adb, add_video(adb, i)) for i in range(20)]
        video_seconds = sync(client, videos, adb, video_result, video_tasks, n, k)
    finally:
        server.stop()
    figures = {
        "annotations": n, "regions_per_annotation": k, "database": os.environ.get("DJANGO_DB", "sqlite"),
        "image_annotations_per_s": round(n / image_seconds, 1),
        "image_boxes_per_s": round(n * k / image_seconds, 1),
        "video_annotations_per_s": round(n / video_seconds, 1),
        "video_boxes_per_s": round(n * k / video_seconds, 1),
    }
    figures["video_vs_image_ratio"] = round(figures["video_annotations_per_s"] / figures["image_annotations_per_s"], 3)
    rows = [
        (f"Sync of {n} image annotations x {k} boxes", f"{figures['image_annotations_per_s']} annotations/s "
                                                       f"({figures['image_boxes_per_s']} boxes/s)"),
        (f"Sync of {n} video annotations x {k} keyframes + 2 clips",
         f"{figures['video_annotations_per_s']} annotations/s ({figures['video_boxes_per_s']} boxes/s)"),
        ("video / image", f"{figures['video_vs_image_ratio']}"),
    ]
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
