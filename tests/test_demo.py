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


@pytest.mark.timeout(600)
def test_demo_starts_synced_and_stops_cleanly(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ls_aperturedb.cli", "demo", "--data-dir", str(tmp_path / "demo"),
         "--port", str(port), "--images", "6"],
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
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert "[demo] stopping" in proc.stdout.read()
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
