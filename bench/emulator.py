"""Benchmark the ApertureDB emulator through the unmodified SDK.

    python bench/emulator.py [--images 10000] [--page-images 100000]

1. ingest --images small generated JPEGs with 5 boxes each through ParallelLoader (images/s);
2. page _uniqueid + 2 properties of --page-images images, 1,000 per FindImage (ids/s);
3. one page of 1,000 images with their boxes via FindBoundingBox group_by_source (ms).
Prints a table, then one JSON line with the figures.
"""
import argparse
import io
import json
import os
import sys
import time

os.environ.setdefault("ADB_LOG_FILE", "")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from aperturedb.Connector import Connector  # noqa: E402
from aperturedb.ParallelLoader import ParallelLoader  # noqa: E402
from PIL import Image  # noqa: E402

from aperturedb_emulator.executor import execute  # noqa: E402
from aperturedb_emulator.server import EmulatorServer  # noqa: E402


def jpeg(w, h, shade):
    out = io.BytesIO()
    Image.new("RGB", (w, h), (shade, 100, 255 - shade)).save(out, format="JPEG")
    return out.getvalue()


def item(i, blob, w, h):
    cmds = [{"AddImage": {"_ref": 1, "properties": {"dataset": "bench", "index": i, "width": w, "height": h}}}]
    for b in range(5):
        cmds.append({"AddBoundingBox": {"image_ref": 1, "label": ("cat", "dog", "car")[b % 3],
                                        "rectangle": {"x": b, "y": b, "width": 8, "height": 8},
                                        "properties": {"confidence": 0.5 + b / 10}}})
    return cmds, [blob]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--page-images", type=int, default=100000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--batch", type=int, default=50)
    args = ap.parse_args(argv)
    sizes = [(32 + 8 * k, 24 + 8 * k) for k in range(8)]
    blobs = [jpeg(w, h, 30 * k) for k, (w, h) in enumerate(sizes)]
    with EmulatorServer() as srv:
        client = Connector(srv.host, srv.port, "admin", "admin", use_ssl=False)
        data = [item(i, blobs[i % 8], *sizes[i % 8]) for i in range(args.images)]
        loader = ParallelLoader(client)
        t = time.perf_counter()
        loader.ingest(data, batchsize=args.batch, numthreads=args.threads)
        ingest_s = time.perf_counter() - t
        assert loader.error_counter == 0
        # top up to --page-images directly (setup, not measured)
        for lo in range(args.images, args.page_images, 1000):
            q, b = [], []
            for i in range(lo, min(lo + 1000, args.page_images)):
                q.append({"AddImage": {"properties": {"dataset": "bench", "index": i, "width": 32, "height": 24}}})
                b.append(blobs[0])
            execute(srv.store, q, b)
        total = max(args.images, args.page_images)
        t = time.perf_counter()
        seen, offset = 0, 0
        while True:
            r, _ = client.query([{"FindImage": {"results": {"list": ["_uniqueid", "index", "width"]},
                                                "sort": "_uniqueid", "limit": 1000, "offset": offset}}])
            got = r[0]["FindImage"].get("entities", [])
            seen += len(got)
            offset += 1000
            if len(got) < 1000:
                break
        page_s = time.perf_counter() - t
        assert seen == total, (seen, total)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            r, _ = client.query([
                {"FindImage": {"_ref": 1, "sort": "_uniqueid", "limit": 1000, "offset": 0,
                               "results": {"list": ["_uniqueid", "width", "height"]}}},
                {"FindBoundingBox": {"is_connected_to": {"ref": 1}, "group_by_source": True,
                                     "coordinates": True, "labels": True, "results": {"list": ["confidence"]}}}])
            times.append((time.perf_counter() - t) * 1000)
        boxes = r[1]["FindBoundingBox"]["returned"]
    figures = {
        "ingest_images": args.images, "ingest_images_per_s": round(args.images / ingest_s, 1),
        "ingest_boxes_per_s": round(5 * args.images / ingest_s, 1),
        "page_images": total, "page_ids_per_s": round(total / page_s, 1),
        "group_by_source_page_ms": round(min(times), 1), "group_by_source_boxes": boxes,
    }
    print(f"{'metric':<34}{'value':>14}")
    print("-" * 48)
    print(f"{'ingest (ParallelLoader) images/s':<34}{figures['ingest_images_per_s']:>14}")
    print(f"{'ingest boxes/s':<34}{figures['ingest_boxes_per_s']:>14}")
    print(f"{'paging ids/s (' + str(total) + ' images)':<34}{figures['page_ids_per_s']:>14}")
    print(f"{'1000 images + boxes page, ms':<34}{figures['group_by_source_page_ms']:>14}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
