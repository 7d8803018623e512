"""How long `make demo` takes to be ready on a fresh clone, after the install: first and second start.

    .venv/bin/python bench/demo_start.py [--images 24]

Clones this repository's HEAD into a temporary directory and starts the demo there twice with this
environment's interpreter (the clone's code first on PYTHONPATH, so the clone is what runs): the first
start has no ``.demo/`` (Label Studio creates and migrates its database, the emulator is seeded, the
project is synced), the second reuses it. Each is timed from the command to the demo's "ready" line (the
URL and login are printed then), and stopped with SIGTERM. Prints both, then one JSON line. The install
itself (``make install``: pip downloads Label Studio and its dependencies) is not part of these figures.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(clone, images, timeout=600):
    env = {**os.environ, "PYTHONPATH": clone, "ADB_LOG_FILE": ""}
    cmd = [sys.executable, "-c", "import sys; from ls_aperturedb.demo import main; sys.exit(main())",
           "--port", str(free_port()), "--images", str(images), "--redis-db", "11"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if "[demo] ready in" in line:
                return time.perf_counter() - started, line.strip()
            if time.perf_counter() - started > timeout:
                break
        raise SystemExit(f"the demo did not get ready (see {clone}/.demo/*.log)")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=24)
    args = ap.parse_args()
    clone = os.path.join(tempfile.mkdtemp(prefix="ls-adb-demo-"), "ls-aperturedb")
    subprocess.run(["git", "clone", "--quiet", ROOT, clone], check=True)
    first, first_line = start(clone, args.images)
    second, second_line = start(clone, args.images)
    print(f"fresh clone: {clone}")
    print(f"first start (no .demo/)   {first:6.1f} s   {first_line}")
    print(f"second start (.demo/ kept) {second:6.1f} s   {second_line}")
    print(json.dumps({"bench": "demo-start", "images": args.images, "first_s": round(first, 1),
                      "second_s": round(second, 1)}))


if __name__ == "__main__":
    main()
