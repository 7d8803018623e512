"""Benchmark image serving: ApertureDB through Label Studio's resolve proxy vs Label Studio's local-files
serving of the same bytes, 8 concurrent clients each, over real HTTP in the same run.

    python bench/media.py [--images 200] [--requests 2000] [--clients 8]
    python bench/media.py --shaping [--large 3] [--size 6000x4000] [--rounds 5]
    python bench/media.py --video [--megabytes 50] [--seeks 20]

Prints a table (p50, p95 ms and images/s per path), then one JSON line with the figures. ``--shaping``
instead serves large stored TIFFs through two source storages of one ApertureDB, as stored and shaped by
ApertureDB (``max_side`` 2048, JPEG), one request at a time: bytes and latency per image, and the ratios.
``--video`` serves one video of at least ``--megabytes`` MB (generated here: H.264, lossless noise) the way a
player reads it: the first request (``Range: bytes=0-``), then seeks into the middle (``bytes=<middle>-``,
which Label Studio's proxy cuts to 8 MB): time to first byte, time to the seek's last byte and bytes fetched
from ApertureDB per seek, for the resolve proxy with its video cache (cold, then warm), the proxy with the
cache off (``LS_APERTUREDB_VIDEO_CACHE_MB=0``: every request fetches the whole video), and Label Studio's
local-files serving of the same bytes.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

FILES = tempfile.mkdtemp(prefix="ls-adb-bench-files-")
from _setup import Emulator, api_client, django_up, make_project, make_user  # noqa: E402

CONFIG = '<View><Image name="image" value="$image"/></View>'


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def serve():
    from django.core.wsgi import get_wsgi_application

    server = make_server("127.0.0.1", 0, get_wsgi_application(), server_class=ThreadingServer,
                         handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def measure(session_factory, urls, requests_total, clients):
    """Latencies (s) of ``requests_total`` GETs spread over ``clients`` threads, and the wall time."""
    latencies = []
    lock = threading.Lock()

    def worker(k):
        session = session_factory()
        mine = []
        for i in range(k, requests_total, clients):
            started = time.perf_counter()
            response = session.get(urls[i % len(urls)])
            assert response.status_code == 200, (response.status_code, response.text[:200])
            assert response.content
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return latencies, time.perf_counter() - started


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args(argv)
    django_up({"LOCAL_FILES_SERVING_ENABLED": "true", "LOCAL_FILES_DOCUMENT_ROOT": FILES})
    import requests
    from io_storages.localfiles.models import LocalFilesImportStorage

    from ls_aperturedb.client.connection import ConnectionConfig
    from ls_aperturedb.models import ApertureDBImportStorage

    user = make_user()
    client = api_client(user)
    token = client.defaults["HTTP_AUTHORIZATION"].split()[1]
    emulator = Emulator(args.images, 0)
    try:
        adb_project = make_project(user, CONFIG, "aperturedb")
        storage = ApertureDBImportStorage.objects.create(project=adb_project, hostname="127.0.0.1", port=emulator.port,
                                                         username="admin", password="admin", use_ssl=False)
        storage.sync()
        # the same bytes as local files
        connector = ConnectionConfig(host="127.0.0.1", port=emulator.port, username="admin", password="admin",
                                     use_ssl=False).connector()
        response, blobs = connector.query([{"FindImage": {"blobs": True, "results": {"list": ["_uniqueid"]}}}])
        connector.close()
        by_uid = {e["_uniqueid"]: blobs[e["_blob_index"]] for e in response[0]["FindImage"]["entities"]}
        os.makedirs(os.path.join(FILES, "images"))
        for uid, blob in by_uid.items():
            with open(os.path.join(FILES, "images", f"{uid}.jpg"), "wb") as fh:
                fh.write(blob)
        lf_project = make_project(user, CONFIG, "local files")
        LocalFilesImportStorage.objects.create(project=lf_project, path=os.path.join(FILES, "images"))
        server = serve()
        base = f"http://127.0.0.1:{server.server_port}"
        proxy_urls = [base + client.get(f"/api/tasks/{t.id}").json()["data"]["image"]
                      for t in adb_project.tasks.all()]
        local_urls = [f"{base}/data/local-files/?d=images/{uid}.jpg" for uid in by_uid]

        def session():
            s = requests.Session()
            s.headers["Authorization"] = f"Token {token}"
            return s

        for urls in (proxy_urls, local_urls):  # warm-up: pools, caches, lazy imports
            measure(session, urls, min(len(urls), 50), args.clients)
        proxy, proxy_wall = measure(session, proxy_urls, args.requests, args.clients)
        local, local_wall = measure(session, local_urls, args.requests, args.clients)
        server.shutdown()
    finally:
        emulator.stop()

    def p(values, q):
        return statistics.quantiles(values, n=100)[q - 1] * 1000

    rows = [("ApertureDB via resolve proxy", proxy, proxy_wall), ("Label Studio local files", local, local_wall)]
    print(f"{args.clients} concurrent clients, {args.requests} requests each path, {len(by_uid)} images")
    print(f"{'path':32} {'p50 ms':>8} {'p95 ms':>8} {'images/s':>9}")
    for name, values, wall in rows:
        print(f"{name:32} {p(values, 50):>8.1f} {p(values, 95):>8.1f} {len(values) / wall:>9.0f}")
    ratio = p(proxy, 50) / p(local, 50)
    print(f"p50 ratio proxy / local files: {ratio:.2f}")
    print(json.dumps({"bench": "media", "clients": args.clients, "requests": args.requests,
                      "proxy_p50_ms": round(p(proxy, 50), 1), "proxy_p95_ms": round(p(proxy, 95), 1),
                      "proxy_images_per_s": round(len(proxy) / proxy_wall),
                      "local_p50_ms": round(p(local, 50), 1), "local_p95_ms": round(p(local, 95), 1),
                      "local_images_per_s": round(len(local) / local_wall), "p50_ratio": round(ratio, 2)}))


def large_tiff(width, height, shade):
    """A photo-like (smooth, lightly noisy) RGB TIFF, stored uncompressed as cameras and scanners do."""
    import io

    from PIL import Image

    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.effect_noise((width, height), 12).convert("RGB")
    img = Image.blend(base, noise, 0.2).point(lambda v: (v + shade) % 256)
    out = io.BytesIO()
    img.save(out, format="TIFF")
    return out.getvalue()


def shaping(args):
    """Bytes and latency per large image, as stored vs shaped by ApertureDB (max_side 2048, JPEG)."""
    django_up()
    import requests

    from ls_aperturedb.client.connection import ConnectionConfig
    from ls_aperturedb.models import ApertureDBImportStorage

    width, height = (int(v) for v in args.size.split("x"))
    user = make_user()
    client = api_client(user)
    token = client.defaults["HTTP_AUTHORIZATION"].split()[1]
    emulator = Emulator(0, 0)
    try:
        connector = ConnectionConfig(host="127.0.0.1", port=emulator.port, username="admin", password="admin",
                                     use_ssl=False).connector()
        stored = 0
        for i in range(args.large):
            blob = large_tiff(width, height, 17 * i)
            stored += len(blob)
            connector.query([{"AddImage": {"properties": {"bench_large": True, "width": width, "height": height}}}],
                            [blob])
        connector.close()
        fields = dict(hostname="127.0.0.1", port=emulator.port, username="admin", password="admin", use_ssl=False,
                      constraints={"bench_large": ["==", True]})
        paths = []
        for name, extra in (("as stored (TIFF)", {}), ("shaped by ApertureDB (2048 px JPEG)",
                                                      {"max_side": 2048, "image_format": "jpg"})):
            project = make_project(user, CONFIG, name)
            storage = ApertureDBImportStorage.objects.create(project=project, **fields, **extra)
            storage.sync()
            paths.append((name, project))
        server = serve()
        base = f"http://127.0.0.1:{server.server_port}"
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        rows = []
        for name, project in paths:
            urls = [base + client.get(f"/api/tasks/{t.id}").json()["data"]["image"] for t in project.tasks.all()]
            session.get(urls[0])  # warm-up: the pool's connection
            latencies, sizes = [], []
            for _ in range(args.rounds):
                for url in urls:
                    started = time.perf_counter()
                    response = session.get(url)
                    latencies.append(time.perf_counter() - started)
                    assert response.status_code == 200, response.text[:200]
                    sizes.append(len(response.content))
            rows.append((name, statistics.median(latencies) * 1000, statistics.mean(sizes)))
        server.shutdown()
    finally:
        emulator.stop()
    print(f"{args.large} stored TIFFs of {width} x {height} ({stored / args.large / 1e6:.1f} MB each), "
          f"{args.rounds} rounds, one request at a time")
    print(f"{'path':38} {'p50 ms':>8} {'bytes/image':>12}")
    for name, p50, size in rows:
        print(f"{name:38} {p50:>8.1f} {size:>12,.0f}")
    (_, plain_ms, plain_bytes), (_, shaped_ms, shaped_bytes) = rows
    print(f"shaped / as stored: bytes {shaped_bytes / plain_bytes:.3f}, p50 latency {shaped_ms / plain_ms:.2f}")
    print(json.dumps({"bench": "media-shaping", "images": args.large, "size": args.size, "rounds": args.rounds,
                      "stored_p50_ms": round(plain_ms, 1), "stored_bytes": round(plain_bytes),
                      "shaped_p50_ms": round(shaped_ms, 1), "shaped_bytes": round(shaped_bytes),
                      "bytes_ratio": round(shaped_bytes / plain_bytes, 4),
                      "latency_ratio": round(shaped_ms / plain_ms, 2)}))


def big_video(megabytes):
    """An MP4 (H.264, lossless, fresh noise every frame, so nothing compresses) of at least ``megabytes`` MB."""
    import io

    import av
    import numpy as np

    out, rng, frames = io.BytesIO(), np.random.default_rng(0), 0
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"preset": "ultrafast", "qp": "0"}
        while out.tell() < megabytes * 1e6 or frames == 0:
            image = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
            frames += 1
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue(), frames


def _ranged(session, url, header):
    """``(seconds to the first byte, seconds to the last, bytes)`` of one GET with ``Range: header``."""
    started = time.perf_counter()
    response = session.get(url, headers={"Range": header}, stream=True)
    assert response.status_code in (200, 206), (response.status_code, response.text[:200])
    first, size = None, 0
    for chunk in response.iter_content(64 * 1024):
        if first is None:
            first = time.perf_counter() - started
        size += len(chunk)
    return first, time.perf_counter() - started, size


def video(args):
    """A video as a player reads it: the first request, then seeks to the middle, per serving path."""
    django_up({"LOCAL_FILES_SERVING_ENABLED": "true", "LOCAL_FILES_DOCUMENT_ROOT": FILES})
    import requests
    from django.conf import settings
    from io_storages.localfiles.models import LocalFilesImportStorage
    from tasks.models import Task

    from ls_aperturedb.client.connection import ConnectionConfig
    from ls_aperturedb.models import ApertureDBImportStorage
    from ls_aperturedb.source import video_media

    config = '<View><Video name="video" value="$video" frameRate="25"/></View>'
    blob, frames = big_video(args.megabytes)
    size = len(blob)
    user = make_user()
    client = api_client(user)
    token = client.defaults["HTTP_AUTHORIZATION"].split()[1]
    emulator = Emulator(0, 0)
    try:
        connector = ConnectionConfig(host="127.0.0.1", port=emulator.port, username="admin", password="admin",
                                     use_ssl=False).connector()
        connector.query([{"AddVideo": {"properties": {"bench_video": True}}}], [blob])
        connector.close()
        project = make_project(user, config, "aperturedb video")
        ApertureDBImportStorage.objects.create(project=project, hostname="127.0.0.1", port=emulator.port,
                                               username="admin", password="admin", use_ssl=False,
                                               media_kind="videos", include_regions=False).sync()
        os.makedirs(os.path.join(FILES, "videos"))
        with open(os.path.join(FILES, "videos", "big.mp4"), "wb") as fh:
            fh.write(blob)
        lf_project = make_project(user, config, "local files video")
        LocalFilesImportStorage.objects.create(project=lf_project, path=os.path.join(FILES, "videos"))
        Task.objects.create(project=lf_project, data={"video": "/data/local-files/?d=videos/big.mp4"})
        server = serve()
        base = f"http://127.0.0.1:{server.server_port}"
        proxy_url = base + client.get(f"/api/tasks/{project.tasks.get().id}").json()["data"]["video"]
        local_url = f"{base}/data/local-files/?d=videos/big.mp4"
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        middle = size // 2
        settings.APERTUREDB_VIDEO_CACHE_DIR = tempfile.mkdtemp(prefix="ls-adb-bench-video-cache-")
        rows = []

        def path(name, url):
            """The first request, then ``args.seeks`` seeks."""
            before = dict(video_media.STATS)
            ttfb, _, _ = _ranged(session, url, "bytes=0-")
            first_fetch = video_media.STATS["bytes_fetched"] - before["bytes_fetched"]
            seeks, fetched = [], video_media.STATS["bytes_fetched"]
            for n in range(args.seeks):
                start = middle + 4096 * n  # a player seeking around the middle
                seeks.append(_ranged(session, url, f"bytes={start}-"))
            per_seek = (video_media.STATS["bytes_fetched"] - fetched) / args.seeks
            rows.append((name, ttfb * 1000, statistics.median(s[0] for s in seeks) * 1000,
                         statistics.median(s[1] for s in seeks) * 1000, seeks[0][2], first_fetch, per_seek))

        settings.APERTUREDB_VIDEO_CACHE_MB = 4096
        path("ApertureDB proxy + video cache", proxy_url)
        settings.APERTUREDB_VIDEO_CACHE_MB = 0
        settings.APERTUREDB_VIDEO_CACHE_DIR = tempfile.mkdtemp(prefix="ls-adb-bench-no-cache-")
        path("ApertureDB proxy, cache off", proxy_url)
        path("Label Studio local files", local_url)
        server.shutdown()
    finally:
        emulator.stop()
    print(f"one video of {size / 1e6:.1f} MB ({frames} frames, H.264 640x360); first request bytes=0-, then "
          f"{args.seeks} seeks to the middle (bytes=<middle>-, cut to 8 MB by the proxy)")
    print(f"{'path':32} {'first TTFB ms':>13} {'seek TTFB ms':>12} {'seek done ms':>12} {'seek bytes':>11} "
          f"{'ADB bytes 1st':>13} {'ADB bytes/seek':>14}")
    for name, ttfb, seek_first, seek_done, seek_bytes, first_fetch, per_seek in rows:
        print(f"{name:32} {ttfb:>13.1f} {seek_first:>12.1f} {seek_done:>12.1f} {seek_bytes:>11,} "
              f"{first_fetch:>13,.0f} {per_seek:>14,.0f}")
    cached, uncached, local = rows
    print(f"seek TTFB ratio cached proxy / local files: {cached[2] / local[2]:.2f}; "
          f"uncached proxy / local files: {uncached[2] / local[2]:.2f}")
    print(json.dumps({"bench": "media-video", "video_bytes": size, "frames": frames, "seeks": args.seeks,
                      **{f"{key}_{field}": round(value, 1) for key, row in zip(("cached", "uncached", "local"), rows)
                         for field, value in zip(("first_ttfb_ms", "seek_ttfb_ms", "seek_done_ms", "seek_bytes",
                                                  "adb_bytes_first", "adb_bytes_per_seek"), row[1:])},
                      "seek_ttfb_ratio_cached_local": round(cached[2] / local[2], 2),
                      "seek_ttfb_ratio_uncached_local": round(uncached[2] / local[2], 2)}))


if __name__ == "__main__":
    if "--video" in sys.argv:
        parser = argparse.ArgumentParser()
        parser.add_argument("--video", action="store_true")
        parser.add_argument("--megabytes", type=float, default=50)
        parser.add_argument("--seeks", type=int, default=20)
        video(parser.parse_args())
    elif "--shaping" in sys.argv:
        parser = argparse.ArgumentParser()
        parser.add_argument("--shaping", action="store_true")
        parser.add_argument("--large", type=int, default=3)
        parser.add_argument("--size", default="6000x4000")
        parser.add_argument("--rounds", type=int, default=5)
        shaping(parser.parse_args())
    else:
        main()
