"""`python -m aperturedb_emulator` prints one line and serves until SIGTERM."""
import os
import signal
import subprocess
import sys

import pytest
from aperturedb.Connector import Connector

from .conftest import REAL


@pytest.mark.skipif(REAL, reason="starts an emulator process")
def test_cli_serves_seeded_data_until_sigterm():
    env = {**os.environ, "ADB_LOG_FILE": ""}
    proc = subprocess.Popen([sys.executable, "-m", "aperturedb_emulator", "--port", "0", "--seed", "3"],
                            stdout=subprocess.PIPE, text=True, env=env,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("ApertureDB emulator listening on 127.0.0.1:") and line.endswith("(tls=False)")
        port = int(line.split(":")[1].split()[0])
        c = Connector("127.0.0.1", port, "admin", "admin", use_ssl=False)
        r, _ = c.query([{"FindImage": {"results": {"count": True}}}])
        assert r[0]["FindImage"]["count"] == 3
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


@pytest.mark.skipif(REAL, reason="starts an emulator process")
def test_latency_option_delays_every_reply_and_clients_wait_side_by_side():
    """``--latency-ms`` stands for the network to a remote ApertureDB: each reply comes that much later,
    and two clients waiting at once wait once, not twice (the benchmark of a remote sync rests on it)."""
    import threading
    import time

    env = {**os.environ, "ADB_LOG_FILE": ""}
    proc = subprocess.Popen([sys.executable, "-m", "aperturedb_emulator", "--port", "0", "--seed", "2",
                             "--latency-ms", "400"], stdout=subprocess.PIPE, text=True, env=env,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    try:
        port = int(proc.stdout.readline().split(":")[1].split()[0])
        clients = [Connector("127.0.0.1", port, "admin", "admin", use_ssl=False) for _ in range(2)]
        clients[1].query([{"FindImage": {"results": {"count": True}}}])  # connects (handshake, login)
        started = time.perf_counter()
        r, _ = clients[0].query([{"FindImage": {"results": {"count": True}}}])  # connects too: 3 replies
        assert r[0]["FindImage"]["count"] == 2
        assert time.perf_counter() - started >= 3 * 0.4

        took = []

        def ask(client):
            begun = time.perf_counter()
            client.query([{"FindImage": {"results": {"count": True}}}])
            took.append(time.perf_counter() - begun)

        started = time.perf_counter()
        threads = [threading.Thread(target=ask, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert min(took) >= 0.4 and time.perf_counter() - started < 0.8, took
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
