"""Benchmark the emulator's FindDescriptor k-NN through the unmodified SDK.

    python bench/emulator_knn.py [--descriptors 100000] [--dims 512] [--k 100] [--queries 10]

Loads --descriptors random float32 vectors into one set (setup, in-process, timed separately),
then for each metric times FindDescriptor k_neighbors=--k with distances over the wire and, side
by side, the same exact search as a plain numpy brute force in this process. Prints a table, then
one JSON line with the figures.
"""
import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("ADB_LOG_FILE", "")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from aperturedb.Connector import Connector  # noqa: E402

from aperturedb_emulator.executor import execute  # noqa: E402
from aperturedb_emulator.server import EmulatorServer  # noqa: E402


def brute_force(data, query, k, metric):
    if metric == "L2":
        d = ((data - query) ** 2).sum(axis=1)
        return np.argsort(d, kind="stable")[:k]
    s = data @ query
    if metric == "CS":
        s = s / (np.linalg.norm(data, axis=1) * np.linalg.norm(query))
    return np.argsort(-s, kind="stable")[:k]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--descriptors", type=int, default=100_000)
    ap.add_argument("--dims", type=int, default=512)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--queries", type=int, default=10)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    data = rng.standard_normal((args.descriptors, args.dims), dtype=np.float32)
    figures = {"descriptors": args.descriptors, "dims": args.dims, "k": args.k}
    with EmulatorServer() as srv:
        t = time.perf_counter()
        execute(srv.store, [{"AddDescriptorSet": {"name": "bench", "dimensions": args.dims,
                                                  "metric": ["L2", "CS", "IP"]}}], [])
        for lo in range(0, args.descriptors, 1000):
            hi = min(lo + 1000, args.descriptors)
            reply, _ = execute(srv.store, [{"AddDescriptor": {"set": "bench", "properties": {"i": i}}}
                                           for i in range(lo, hi)], [data[i].tobytes() for i in range(lo, hi)])
            assert isinstance(reply, list), reply
        figures["load_s"] = round(time.perf_counter() - t, 2)
        client = Connector(srv.host, srv.port, "admin", "admin", use_ssl=False)
        rows = []
        for metric in ("L2", "CS", "IP"):
            wire, local, same = [], [], True
            for _ in range(args.queries):
                q = rng.standard_normal(args.dims, dtype=np.float32)
                t = time.perf_counter()
                r, _ = client.query([{"FindDescriptor": {"set": "bench", "k_neighbors": args.k, "metric": metric,
                                                         "distances": True, "results": {"list": ["i"]}}}],
                                    [q.tobytes()])
                wire.append(time.perf_counter() - t)
                t = time.perf_counter()
                truth = brute_force(data, q, args.k, metric)
                local.append(time.perf_counter() - t)
                same &= [e["i"] for e in r[0]["FindDescriptor"]["entities"]] == truth.tolist()
            w, b = statistics.median(wire) * 1000, statistics.median(local) * 1000
            rows.append((metric, w, b, same))
            figures[f"{metric}_ms"] = round(w, 1)
            figures[f"{metric}_numpy_ms"] = round(b, 1)
            figures[f"{metric}_same_as_numpy"] = same
    print(f"{args.descriptors} descriptors x {args.dims} dims, k={args.k}; load {figures['load_s']} s")
    print(f"{'metric':<8}{'FindDescriptor (SDK) ms':>26}{'numpy brute force ms':>24}{'ratio':>8}  same k")
    for metric, w, b, same in rows:
        print(f"{metric:<8}{w:>26.1f}{b:>24.1f}{w / b:>8.2f}  {same}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
