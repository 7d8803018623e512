"""Connection, TLS, authentication and session behaviour through the unmodified SDK Connector.

Shapes follow the SDK's own expectations (aperturedb/Connector.py `_authenticate`,
`_refresh_token`, `_is_session_rejected`) and docs.aperturedata.io
"Authenticate"/"RefreshToken"/"GetStatus".
"""
import json
import socket
import struct
import threading

import pytest
from aperturedb.CommonLibrary import execute_query
from aperturedb.ConnectionPool import ConnectionPool
from aperturedb.Connector import Connector

from aperturedb_emulator.server import EmulatorServer
from aperturedb_emulator.tls import generate_self_signed

from .conftest import connect, emulator_only


def test_get_status_over_tcp(client):
    """GetStatus -> {"status": 0, "info": "OK", "system": "ApertureDB", "version": ...} (docs GetStatus)."""
    r, blobs = client.query([{"GetStatus": {}}])
    st = r[0]["GetStatus"]
    assert st["status"] == 0 and st["info"] == "OK" and st["system"] == "ApertureDB"
    assert isinstance(st["version"], str) and blobs == []


def test_session_tokens_have_documented_prefixes(client):
    client.query([{"GetStatus": {}}])
    s = client.shared_data.session
    assert s.session_token.startswith("adbs_") and s.refresh_token.startswith("adbr_")
    assert isinstance(s.session_token_ttl, int) and isinstance(s.refresh_token_ttl, int)


def test_tls_with_ca_cert(tls_server, ca_file):
    """Hello negotiates protocol 2, then the SDK wraps the socket with PROTOCOL_TLS_CLIENT."""
    c = Connector(tls_server.host, tls_server.port, "admin", "admin", use_ssl=True, ca_cert=ca_file)
    r, _ = c.query([{"GetStatus": {}}])
    assert r[0]["GetStatus"]["status"] == 0
    c.close()


def test_tls_server_also_accepts_plain_tcp(tls_server):
    c = Connector(tls_server.host, tls_server.port, "admin", "admin", use_ssl=False)
    assert c.query([{"GetStatus": {}}])[0][0]["GetStatus"]["status"] == 0


def test_tls_hostname_verification_fails_for_wrong_name(tmp_path):
    cert, key = generate_self_signed(("db.example.invalid",))
    (tmp_path / "c.pem").write_text(cert)
    (tmp_path / "k.pem").write_text(key)
    with EmulatorServer(tls=True, cert_file=str(tmp_path / "c.pem"), key_file=str(tmp_path / "k.pem")) as srv:
        c = Connector(srv.host, srv.port, "admin", "admin", use_ssl=True,
                      ca_cert=str(tmp_path / "c.pem"), retry_max_attempts=1, retry_interval_seconds=0)
        with pytest.raises(BaseException):
            c.query([{"GetStatus": {}}])
        # verify_hostname=False accepts it
        c2 = Connector(srv.host, srv.port, "admin", "admin", use_ssl=True, verify_hostname=False)
        assert c2.query([{"GetStatus": {}}])[0][0]["GetStatus"]["status"] == 0


def test_tls_requested_from_plain_server_is_refused(server):
    if server is None:
        pytest.skip("needs emulator")
    c = Connector(server.host, server.port, "admin", "admin", use_ssl=True,
                  retry_max_attempts=1, retry_interval_seconds=0)
    with pytest.raises(Exception):
        c.query([{"GetStatus": {}}])


@emulator_only
def test_wrong_password_raises(emulator):
    c = Connector(emulator.host, emulator.port, "admin", "wrong", use_ssl=False)
    with pytest.raises(Exception, match="Authentication failed"):
        c.query([{"GetStatus": {}}])


@emulator_only
def test_token_authentication(emulator):
    token = emulator.create_token("admin")
    assert token.startswith("adbp_")
    c = Connector(emulator.host, emulator.port, token=token, use_ssl=False)
    assert c.query([{"GetStatus": {}}])[0][0]["GetStatus"]["status"] == 0
    bad = Connector(emulator.host, emulator.port, token="adbp_nope", use_ssl=False)
    with pytest.raises(Exception):
        bad.query([{"GetStatus": {}}])


@emulator_only
def test_session_refresh_with_short_ttl():
    """Within 10 s of expiry the SDK sends RefreshToken; tokens rotate."""
    with EmulatorServer(session_ttl=5) as srv:
        c = connect(srv)
        c.query([{"GetStatus": {}}])
        first = c.shared_data.session.session_token
        r, _ = c.query([{"GetStatus": {}}])
        assert r[0]["GetStatus"]["status"] == 0
        assert c.shared_data.session.session_token != first


@emulator_only
def test_reauthentication_after_revoke(emulator):
    """A revoked session gets {"status": -1, "info": "Not Authenticated!"}; the SDK
    refreshes (rejected too), logs in again and retries once."""
    emulator.reset()
    c = connect(emulator)
    c.query([{"AddEntity": {"class": "Rev", "properties": {"n": 1}}}])
    emulator.revoke_sessions()
    r, _ = c.query([{"FindEntity": {"with_class": "Rev", "results": {"count": True}}}])
    assert r[0]["FindEntity"]["count"] == 1


@emulator_only
def test_unauthenticated_raw_query_is_rejected(emulator):
    c = connect(emulator)
    c.should_authenticate = False
    r, _ = c.query([{"GetStatus": {}}])
    assert r == {"status": -1, "info": "Not Authenticated!"}


def test_connection_pool(server):
    pool = ConnectionPool(pool_size=3, connection_factory=lambda: connect(server))
    results = []

    def work(i):
        with pool.get_connection() as conn:
            r, _ = conn.query([{"GetStatus": {}}])
            results.append(r[0]["GetStatus"]["status"])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert results == [0] * 12 and pool.available() == 3


@emulator_only
def test_max_message_size_error_reply_keeps_connection():
    with EmulatorServer(max_message_size=4096) as srv:
        c = connect(srv)
        r, _ = c.query([{"AddEntity": {"class": "Big", "properties": {"s": "x" * 10000}}}])
        assert isinstance(r, dict) and r["status"] == -1 and "maximum message size" in r["info"]
        r, _ = c.query([{"GetStatus": {}}])
        assert r[0]["GetStatus"]["status"] == 0


@emulator_only
def test_garbage_frames_do_not_crash_server(emulator):
    s = socket.create_connection((emulator.host, emulator.port))
    s.sendall(struct.pack("<I", 8) + struct.pack("@II", 1, 1))
    s.recv(12)
    s.sendall(struct.pack("<I", 5) + b"\xff\xff\xff\xff\xff")
    n = struct.unpack("<I", s.recv(4))[0]
    body = b""
    while len(body) < n:
        body += s.recv(n - len(body))
    s.close()
    c = connect(emulator)
    assert c.query([{"GetStatus": {}}])[0][0]["GetStatus"]["status"] == 0


def test_execute_query_helper(client):
    rc, r, _ = execute_query(client, [{"GetStatus": {}}])
    assert rc == 0
