"""TCP (+ optional TLS) server: one thread per client, usable in-process.

    with EmulatorServer(port=0) as srv:
        client = aperturedb.Connector(srv.host, srv.port, "admin", "admin", use_ssl=False)
"""
import json
import logging
import os
import socket
import ssl
import tempfile
import threading
import time

from . import executor, wire
from .auth import Auth
from .errors import NOT_AUTHENTICATED, QueryError, STATUS_ERROR, transaction_error
from .store import Store
from .tls import generate_self_signed

logger = logging.getLogger(__name__)
AUTH_COMMANDS = ("Authenticate", "RefreshToken")


class EmulatorServer:
    def __init__(self, host="127.0.0.1", port=0, username="admin", password="admin",
                 data_dir=None, tls=False, cert_file=None, key_file=None,
                 max_message_size=256 * 1024 * 1024, session_ttl=3600, refresh_ttl=86400, latency_ms=0):
        self.host = host
        # A test instrument, not server behaviour: each reply waits this long before it is sent, as a
        # network round trip to a remote ApertureDB (ApertureDB Cloud) would make a client wait.
        self.latency = latency_ms / 1000
        self.port = port
        self.data_dir = data_dir
        self.tls = tls
        self.max_message_size = max_message_size
        self.auth = Auth({username: password}, session_ttl, refresh_ttl)
        self.store = None
        self.ca_cert = None
        self._cert_file, self._key_file = cert_file, key_file
        self._ssl_ctx = None
        self._sock = None
        self._thread = None
        self._clients = set()
        self._clients_lock = threading.Lock()
        self._stopping = threading.Event()
        self._tmpdir = None

    # ------------------------------------------------------------ lifecycle
    def start(self):
        self.store = Store(self.data_dir)
        if self.tls:
            self._ssl_ctx = self._make_ssl_context()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(128)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._stopping.clear()
        self._thread = threading.Thread(target=self._accept_loop, name="adb-emulator-accept", daemon=True)
        self._thread.start()
        return self

    def _make_ssl_context(self):
        if self._cert_file and self._key_file:
            cert_file, key_file = self._cert_file, self._key_file
        else:
            cert_pem, key_pem = generate_self_signed(("localhost", "127.0.0.1", self.host)
                                                     if self.host not in ("localhost", "127.0.0.1")
                                                     else ("localhost", "127.0.0.1"))
            self._tmpdir = tempfile.TemporaryDirectory(prefix="adb-emulator-tls-")
            cert_file = os.path.join(self._tmpdir.name, "cert.pem")
            key_file = os.path.join(self._tmpdir.name, "key.pem")
            with open(cert_file, "w") as f:
                f.write(cert_pem)
            with open(key_file, "w") as f:
                f.write(key_pem)
        with open(cert_file) as f:
            self.ca_cert = f.read()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_file, key_file)
        return ctx

    def stop(self):
        self._stopping.set()
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            except OSError:
                pass
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None
        with self._clients_lock:
            clients = list(self._clients)
        for c in clients:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                c.close()
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.store is not None:
            with self.store.lock:
                self.store.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------ test hooks
    def reset(self):
        """Wipe all data (objects, connections, indexes); users and tokens stay."""
        self.store.reset()

    def revoke_sessions(self):
        """Invalidate every session and refresh token; clients must authenticate again."""
        self.auth.revoke_sessions()

    def create_token(self, username="admin"):
        """Create an API token (`adbp_...`) usable in `Authenticate {"token": ...}`."""
        return self.auth.create_token(username)

    def add_user(self, username, password):
        self.auth.users[username] = password

    # ------------------------------------------------------------ serving
    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                break
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t = threading.Thread(target=self._serve_client, args=(conn,), daemon=True,
                                 name="adb-emulator-client")
            t.start()

    def _track(self, conn, add):
        with self._clients_lock:
            (self._clients.add if add else self._clients.discard)(conn)

    def _serve_client(self, conn):
        self._track(conn, True)
        try:
            wrapped = self._handshake(conn)
            if wrapped is None:
                return
            conn = wrapped
            while not self._stopping.is_set():
                try:
                    data = wire.recv_frame(conn, self.max_message_size)
                except wire.MessageTooLarge as e:
                    reply = {"status": STATUS_ERROR,
                             "info": f"Message of {e.size} bytes exceeds the maximum message size "
                                     f"of {self.max_message_size} bytes"}
                    self._send(conn, wire.build_message(json.dumps(reply)))
                    continue
                self._send(conn, self._handle(data))
        except (wire.ConnectionClosed, OSError, ssl.SSLError):
            pass
        finally:
            self._track(conn, False)
            try:
                conn.close()
            except OSError:
                pass

    def _send(self, conn, frame):
        if self.latency:
            time.sleep(self.latency)
        wire.send_frame(conn, frame)

    def _handshake(self, conn):
        hello = wire.recv_frame(conn, 64)
        if len(hello) != wire.HELLO.size:
            return None
        version, protocol = wire.HELLO.unpack(hello)
        allowed = wire.PROTOCOL_TCP | (wire.PROTOCOL_TLS if self.tls else 0)
        agreed = protocol & allowed
        self._send(conn, wire.HELLO.pack(wire.PROTOCOL_VERSION, agreed))
        if agreed != protocol or agreed == 0:
            return None
        if agreed == wire.PROTOCOL_TLS:
            self._track(conn, False)
            conn = self._ssl_ctx.wrap_socket(conn, server_side=True)
            self._track(conn, True)
        return conn

    def _handle(self, data):
        try:
            json_text, blobs, token = wire.parse_message(data)
        except Exception as e:
            return wire.build_message(json.dumps(transaction_error(f"Malformed message: {e}")))
        try:
            query = executor.parse(json_text)
        except QueryError as e:
            query = None
            parse_error = e.info
        if isinstance(query, list) and len(query) == 1 and isinstance(query[0], dict) \
                and len(query[0]) == 1 and next(iter(query[0])) in AUTH_COMMANDS:
            (name, params), = query[0].items()
            fn = self.auth.authenticate if name == "Authenticate" else self.auth.refresh
            return wire.build_message(json.dumps([{name: fn(params)}]))
        if self.auth.session_user(token) is None:
            return wire.build_message(json.dumps({"status": STATUS_ERROR, "info": NOT_AUTHENTICATED}))
        if query is None:
            return wire.build_message(json.dumps(transaction_error(parse_error)))
        reply, out_blobs = executor.execute(self.store, query, blobs)
        return wire.build_message(json.dumps(reply), out_blobs)
