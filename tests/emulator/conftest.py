"""Fixtures: an in-process EmulatorServer (plain and TLS) and SDK Connectors to it.

Set APERTUREDB_KEY, or APERTUREDB_HOST (+ APERTUREDB_PORT, APERTUREDB_USER,
APERTUREDB_PASSWORD, APERTUREDB_USE_SSL, APERTUREDB_CA_CERT), to run the same
tests against a real ApertureDB; tests needing emulator-only hooks are skipped.
"""
import os
import uuid

os.environ["ADB_LOG_FILE"] = ""  # before importing aperturedb: no error logs in cwd

import pytest  # noqa: E402
from aperturedb.Connector import Connector  # noqa: E402

from aperturedb_emulator.server import EmulatorServer  # noqa: E402

REAL = bool(os.environ.get("APERTUREDB_KEY") or os.environ.get("APERTUREDB_HOST"))
emulator_only = pytest.mark.skipif(REAL, reason="needs emulator-only hooks")


def real_connector():
    if os.environ.get("APERTUREDB_KEY"):
        return Connector(key=os.environ["APERTUREDB_KEY"])
    return Connector(os.environ["APERTUREDB_HOST"], int(os.environ.get("APERTUREDB_PORT", 55555)),
                     os.environ.get("APERTUREDB_USER", "admin"),
                     os.environ.get("APERTUREDB_PASSWORD", "admin"),
                     use_ssl=os.environ.get("APERTUREDB_USE_SSL", "true").lower() in ("1", "true", "yes"),
                     ca_cert=os.environ.get("APERTUREDB_CA_CERT") or None)


@pytest.fixture(scope="session")
def server():
    if REAL:
        yield None
        return
    with EmulatorServer(host="127.0.0.1", port=0) as srv:
        yield srv


@pytest.fixture(scope="session")
def tls_server():
    if REAL:
        pytest.skip("needs emulator-only hooks")
    with EmulatorServer(host="127.0.0.1", port=0, tls=True) as srv:
        yield srv


@pytest.fixture
def ca_file(tls_server, tmp_path):
    path = tmp_path / "ca.pem"
    path.write_text(tls_server.ca_cert)
    return str(path)


def connect(srv, **kw):
    if srv is None:
        return real_connector()
    kw.setdefault("use_ssl", False)
    return Connector(srv.host, srv.port, "admin", "admin", **kw)


@pytest.fixture
def client(server):
    """A Connector to a clean database (emulator) or to the configured real one."""
    if server is not None:
        server.reset()
    c = connect(server)
    yield c
    c.close()


@pytest.fixture
def emulator(server):
    if server is None:
        pytest.skip("needs emulator-only hooks")
    return server


@pytest.fixture
def tag():
    """A unique value to keep a test's objects apart (matters on a real shared DB)."""
    return "t" + uuid.uuid4().hex[:10]


def ok(response):
    assert isinstance(response, list), response
    return response
