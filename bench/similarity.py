"""Benchmark "similar to examples": import the images nearest to 10 examples out of 100k descriptors.

    python bench/similarity.py [--descriptors 100000] [--dimensions 512] [--examples 10] [--k 100]

The emulator (its own process) holds N images, each with one random float32 descriptor of D dimensions
in an L2 set, connected image <- descriptor. Measured side by side in one run:
1. the source storage with ``selection=similar`` (10 example image ids, k each: 1,000 images by default)
   syncing in this process: the k-NN in ApertureDB, then tasks with the distance in task data;
2. the same selection done by a user script: the SDK reads each example's vector, runs FindDescriptor
   k-NN + FindImage (group_by_source), merges, and POSTs the tasks to Label Studio's import API.
Prints a table, then one JSON line.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _setup import api_client, django_up, make_project, make_user, timed  # noqa: E402

CONFIG = """<View><Image name="image" value="$image"/>
<RectangleLabels name="label" toName="image"><Label value="cat"/></RectangleLabels></View>"""
SET = "bench_vectors"

EMULATOR = r"""
import io, sys
import numpy as np
from PIL import Image
from aperturedb_emulator.server import EmulatorServer
from aperturedb_emulator.executor import execute
n, dims = int(sys.argv[1]), int(sys.argv[2])
srv = EmulatorServer(port=0).start()
out = io.BytesIO(); Image.new("RGB", (32, 24), (10, 90, 200)).save(out, format="JPEG"); blob = out.getvalue()
reply, _ = execute(srv.store, [{"AddDescriptorSet": {"name": "%s", "dimensions": dims, "metric": "L2"}}], [])
assert isinstance(reply, list), reply
vectors = np.random.default_rng(0).random((n, dims), dtype=np.float32)
for lo in range(0, n, 500):
    q, b = [], []
    for j, i in enumerate(range(lo, min(lo + 500, n))):
        q.append({"AddImage": {"_ref": j + 1, "properties": {"index": i, "width": 32, "height": 24}}})
        q.append({"AddDescriptor": {"set": "%s", "connect": {"ref": j + 1, "class": "has_embedding"}}})
        b += [blob, vectors[i].tobytes()]
    reply, _ = execute(srv.store, q, b)
    assert isinstance(reply, list), reply
print(srv.port, flush=True)
sys.stdin.read()
""" % (SET, SET)


class Emulator:
    def __init__(self, n, dims):
        import subprocess

        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.proc = subprocess.Popen([sys.executable, "-c", EMULATOR, str(n), str(dims)], cwd=root,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def connector(port):
    from ls_aperturedb.client.connection import ConnectionConfig

    return ConnectionConfig(host="127.0.0.1", port=port, username="admin", password="admin", use_ssl=False).connector()


def example_ids(port, count, n):
    conn = connector(port)
    indexes = [i * (n // count) for i in range(count)]
    response, _ = conn.query([{"FindImage": {"constraints": {"index": ["in", indexes]}, "uniqueids": True}}])
    conn.close()
    return [e["_uniqueid"] for e in response[0]["FindImage"]["entities"]]


def storage_sync(user, port, examples, k):
    from ls_aperturedb.models import ApertureDBImportStorage

    project = make_project(user, CONFIG, "similar (storage)")
    storage = ApertureDBImportStorage.objects.create(
        project=project, hostname="127.0.0.1", port=port, username="admin", password="admin", use_ssl=False,
        include_regions=False, selection="similar", similar_set=SET, similar_k=k, similar_images=examples)
    seconds, _ = timed(storage.sync)
    storage.refresh_from_db()
    assert storage.status == "completed", storage.traceback
    return seconds, project.tasks.count()


def user_script(user, port, examples, k):
    """What a user would write: SDK k-NN per example (as the SDK's Images.get_similar_images does), merge,
    then Label Studio's import API."""
    project = make_project(user, CONFIG, "similar (script)")
    client = api_client(user)

    def run():
        conn = connector(port)
        best = {}
        for uid in examples:
            _, blobs = conn.query([{"FindImage": {"_ref": 1, "constraints": {"_uniqueid": ["==", uid]}}},
                                   {"FindDescriptor": {"set": SET, "is_connected_to": {"ref": 1}, "blobs": True}}])
            response, _ = conn.query([
                {"FindDescriptor": {"_ref": 1, "set": SET, "k_neighbors": k + 1, "distances": True,
                                    "uniqueids": True, "blobs": False}},
                {"FindImage": {"is_connected_to": {"ref": 1}, "group_by_source": True,
                               "results": {"list": ["_uniqueid"]}}}], blobs[:1])
            groups = response[1]["FindImage"].get("entities") or {}
            for d in response[0]["FindDescriptor"]["entities"]:
                for image in groups.get(d["_uniqueid"], []):
                    if image["_uniqueid"] != uid and image["_uniqueid"] not in examples:
                        best[image["_uniqueid"]] = min(best.get(image["_uniqueid"], d["_distance"]), d["_distance"])
        conn.close()
        tasks = [{"data": {"image": f"aperturedb://0/{uid}", "distance": distance}} for uid, distance in best.items()]
        for lo in range(0, len(tasks), 1000):
            answer = client.post(f"/api/projects/{project.id}/import", json.dumps(tasks[lo:lo + 1000]),
                                 content_type="application/json")
            assert answer.status_code == 201, answer.content[:500]

    seconds, _ = timed(run)
    return seconds, project.tasks.count()


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--descriptors", type=int, default=100000)
    ap.add_argument("--dimensions", type=int, default=512)
    ap.add_argument("--examples", type=int, default=10)
    ap.add_argument("--k", type=int, default=100)
    args = ap.parse_args(argv)
    django_up()
    from django.db import connection

    user = make_user()
    emulator = Emulator(args.descriptors, args.dimensions)
    try:
        examples = example_ids(emulator.port, args.examples, args.descriptors)
        ours_s, ours_n = storage_sync(user, emulator.port, examples, args.k)
        script_s, script_n = user_script(user, emulator.port, examples, args.k)
    finally:
        emulator.stop()
    print(f"database: {connection.vendor}; {args.descriptors} descriptors x {args.dimensions} dimensions (L2); "
          f"{len(examples)} examples, k={args.k}")
    print(f"{'path':44} {'tasks':>7} {'seconds':>9}")
    print(f"{'source storage, selection=similar (sync)':44} {ours_n:>7} {ours_s:>9.2f}")
    print(f"{'SDK k-NN + import API (user script)':44} {script_n:>7} {script_s:>9.2f}")
    print(f"ratio (script / storage): {script_s / ours_s:.2f}x")
    print(json.dumps({"bench": "similarity", "database": connection.vendor, "descriptors": args.descriptors,
                      "dimensions": args.dimensions, "examples": len(examples), "k": args.k,
                      "storage_s": round(ours_s, 2), "storage_tasks": ours_n, "script_s": round(script_s, 2),
                      "script_tasks": script_n, "ratio": round(script_s / ours_s, 2)}))


if __name__ == "__main__":
    main()
