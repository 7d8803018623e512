"""The README's demo command: from an empty data dir to a synced project, then a clean stop."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from ls_aperturedb.demo import TOKEN


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(port, method, path, body=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


def _import_similar(port, project):
    """Data Manager > select 2 tasks > Import similar from ApertureDB > the pool storage, k=3: new tasks."""
    pool = next(s for s in _api(port, "GET", f"/api/storages/aperturedb?project={project}")
                if s["title"] == "Similar images (pool)")
    tasks = [t["id"] for t in _api(port, "GET", f"/api/tasks/?project={project}")["tasks"]][:2]
    _api(port, "POST", f"/api/dm/actions?id=import_similar_from_aperturedb&project={project}",
         {"selectedItems": {"all": False, "included": tasks}, "storage": pool["id"], "k": 3})
    deadline = time.time() + 120
    while time.time() < deadline:
        status = _api(port, "GET", f"/api/storages/aperturedb/{pool['id']}")
        if status["status"] in ("completed", "failed"):
            assert status["status"] == "completed", status["traceback"]
            return status["meta"]["tasks_created"]
        time.sleep(0.5)
    raise AssertionError(f"the import stayed {status['status']}")


@pytest.mark.timeout(600)
def test_demo_starts_synced_and_stops_cleanly(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ls_aperturedb.cli", "demo", "--data-dir", str(tmp_path / "demo"),
         "--port", str(port), "--images", "6", "--videos", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    try:
        deadline = time.time() + 420
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C to stop" in line:
                break
        output = "".join(lines)
        assert "ready in" in output, output
        assert f"http://127.0.0.1:{port}/projects/" in output and "demo@example.com" in output
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 3  # emulator, worker, Label Studio

        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/projects",
                                         headers={"Authorization": f"Token {TOKEN}"})
        projects = json.loads(urllib.request.urlopen(request, timeout=30).read())["results"]
        demo = next(p for p in projects if p["title"] == "ApertureDB demo")
        assert demo["task_number"] == 6
        assert demo["total_predictions_number"] == 6
        video = next(p for p in projects if p["title"] == "Video")  # the second project: videos, synced
        assert video["task_number"] == 2 and video["total_predictions_number"] == 2
        assert _import_similar(port, demo["id"]) >= 3  # the demo's "Import similar from ApertureDB" works
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert "[demo] stopping" in proc.stdout.read()
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
