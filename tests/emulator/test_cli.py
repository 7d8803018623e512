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
