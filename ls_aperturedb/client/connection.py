"""How to reach an ApertureDB instance, and what went wrong when it cannot be reached.

A :class:`ConnectionConfig` comes from a storage's fields or from one ``APERTUREDB_KEY`` string; its
repr never shows a secret. :func:`check` answers "Check connection" with a :class:`ConnectionProblem`
naming the storage field at fault and a sentence a user can act on.

Every connector it makes bounds each socket operation (see :func:`_timed_connector_class`): a server
that accepts the connection and then goes silent costs a caller ``LS_APERTUREDB_QUERY_TIMEOUT``
seconds, then :class:`Unreachable`, never a hang.
"""
import hashlib
import json
import os
import socket
import ssl
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache

from ls_aperturedb import conf

os.environ.setdefault("ADB_LOG_FILE", "")

DEFAULT_PORT = 55555


class ConnectionProblem(Exception):
    """ApertureDB cannot be used; ``field`` is the storage field a user should fix."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


class QueryError(Exception):
    """ApertureDB refused a query (the whole transaction was rolled back)."""

    def __init__(self, response):
        self.response = response
        if isinstance(response, dict):
            message = response.get("info") or json.dumps(response)
        else:
            failed = [cmd for item in response for cmd, body in item.items()
                      if isinstance(body, dict) and body.get("status", 0) < 0]
            message = f"command(s) failed: {', '.join(failed) or json.dumps(response)[:300]}"
        super().__init__(message)


class Unreachable(ConnectionError):
    """The connection to ApertureDB failed or timed out; the connector is closed and must be dropped.

    ``reason`` is the socket error (``socket.timeout``, ``ConnectionRefusedError``, ``ssl.SSLError``...).
    """

    def __init__(self, message, reason=None):
        super().__init__(message)
        self.message = message
        self.reason = reason

    @property
    def timed_out(self):
        return isinstance(self.reason, socket.timeout)


@dataclass(frozen=True)
class ConnectionConfig:
    host: str
    port: int = DEFAULT_PORT
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    use_ssl: bool = True
    ca_cert: str = field(default="", repr=False)  # PEM text
    verify_hostname: bool = True
    from_key_text: bool = field(default=False, repr=False, compare=False)

    @classmethod
    def from_key(cls, key):
        """Parse an ``APERTUREDB_KEY`` (the SDK's own format)."""
        from aperturedb.Configuration import Configuration

        try:
            parsed = Configuration.reinflate(key.strip())
        except Exception as exc:
            raise ConnectionProblem("aperturedb_key", f"not a valid APERTUREDB_KEY: {exc}") from None
        if parsed.use_rest:
            raise ConnectionProblem("aperturedb_key", "REST keys are not supported; use a TCP key")
        ca_cert = parsed.ca_cert or ""
        if ca_cert and "BEGIN CERTIFICATE" not in ca_cert and os.path.exists(ca_cert):
            with open(ca_cert) as fh:
                ca_cert = fh.read()
        return cls(host=parsed.host, port=int(parsed.port), username=parsed.username or "",
                   password=parsed.password or "", token=parsed.token or "", use_ssl=parsed.use_ssl,
                   ca_cert=ca_cert, verify_hostname=parsed.verify_hostname, from_key_text=True)

    @classmethod
    def from_storage(cls, storage):
        if storage.aperturedb_key:
            return cls.from_key(storage.aperturedb_key)
        return cls(host=(storage.hostname or "").strip(), port=int(storage.port or DEFAULT_PORT),
                   username=storage.username or "", password=storage.password or "",
                   token=storage.token or "", use_ssl=bool(storage.use_ssl),
                   ca_cert=storage.ca_cert or "", verify_hostname=bool(storage.verify_hostname))

    def field(self, name):
        """The form field a problem with ``name`` is shown under: an APERTUREDB_KEY holds them all."""
        return "aperturedb_key" if self.from_key_text else name

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    @property
    def fingerprint(self):
        """Identifies the instance and credentials (a pool key); reveals no secret."""
        raw = json.dumps([self.host, self.port, self.username, self.password, self.token,
                          self.use_ssl, self.ca_cert, self.verify_hostname])
        return hashlib.sha256(raw.encode()).hexdigest()

    @property
    def instance(self):
        """Identifies the ApertureDB instance regardless of who logs in."""
        return f"{self.host.lower()}:{self.port}"

    def connector(self, timeout=None):
        """A new, lazy SDK Connector (nothing is sent before the first query) whose every socket
        operation gives up after ``timeout`` seconds (default ``LS_APERTUREDB_QUERY_TIMEOUT``)."""
        timeout = float(timeout or conf.get("QUERY_TIMEOUT"))
        return _timed_connector_class()(
            timeout, host=self.host, port=self.port, user=self.username, password=self.password,
            token=self.token or "", use_ssl=self.use_ssl, ca_cert=_ca_file(self.ca_cert) if self.ca_cert else None,
            verify_hostname=self.verify_hostname, retry_max_attempts=1, retry_interval_seconds=0)


@lru_cache(maxsize=None)
def _timed_connector_class():
    """The SDK's Connector with a timeout on each socket it opens (the SDK sets none).

    Not the process-wide ``socket.setdefaulttimeout`` (it would change every other library under a
    threaded web server) and no change to the SDK: every socket the SDK stores in ``conn`` (plain,
    then TLS-wrapped) gets the timeout before it connects. The first socket error is kept in
    ``failure`` and ends the connector: the SDK's own reconnect after a failure (which, with one
    attempt, never re-sends the query anyway) would only wait a second timeout.
    """
    from aperturedb.Connector import Connector

    class TimedConnector(Connector):
        _sock = None

        def __init__(self, timeout, **kwargs):
            self.timeout = timeout
            self.failure = None
            super().__init__(**kwargs)

        @property
        def conn(self):
            return self._sock

        @conn.setter
        def conn(self, sock):
            if sock is not None:
                sock.settimeout(self.timeout)
            self._sock = sock

        def _failed(self, exc):
            if self.failure is None:
                self.failure = exc

        def connect(self, details=None):
            if self.failure is None:  # after a failure: no reconnect (and no SDK error log about it)
                super().connect(details)

        def _connect(self):
            try:
                super()._connect()
            except OSError as exc:
                self._failed(exc)
                raise

        def _send_msg(self, data):
            try:
                return super()._send_msg(data)
            except OSError as exc:
                self._failed(exc)
                raise

        def _recv_msg(self):
            try:
                message = super()._recv_msg()
            except OSError as exc:
                self._failed(exc)
                raise
            if message is None:
                self._failed(ConnectionResetError("ApertureDB closed the connection"))
            return message

    return TimedConnector


def _ca_file(pem):
    """The SDK wants a CA file path; keep one file per distinct PEM."""
    digest = hashlib.sha256(pem.encode()).hexdigest()[:16]
    path = os.path.join(tempfile.gettempdir(), f"ls-aperturedb-ca-{digest}.pem")
    if not os.path.exists(path):
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
        with os.fdopen(fd, "w") as fh:
            fh.write(pem)
        os.replace(tmp, path)
    return path


def run(connector, query, blobs=None):
    """Run one transaction; return ``(response, blobs)``; raise :class:`QueryError` when ApertureDB
    refused it, :class:`Unreachable` when the connection failed or timed out."""
    try:
        response, out_blobs = connector.query(query, blobs or [])
    except Exception as exc:
        failure = getattr(connector, "failure", None)
        if failure is None:
            raise
        connector.close()
        raise Unreachable(_describe(failure, connector.timeout), failure) from None
    if isinstance(response, dict):
        raise QueryError(response)
    if any(isinstance(body, dict) and body.get("status", 0) < 0
           for item in response for body in item.values()):
        raise QueryError(response)
    return response, out_blobs


def _describe(failure, timeout):
    if isinstance(failure, socket.timeout):
        return f"no answer within {timeout:g} s (LS_APERTUREDB_QUERY_TIMEOUT)"
    if isinstance(failure, ssl.SSLError):
        return f"TLS failed: {failure.reason or failure}"
    return failure.strerror or str(failure) or type(failure).__name__


def check(config, timeout=None):
    """Connect, authenticate and ask ``GetStatus``; raise :class:`ConnectionProblem` on failure."""
    timeout = float(timeout or conf.get("CONNECT_TIMEOUT"))
    if not config.host:
        raise ConnectionProblem("hostname", "hostname is required")
    if config.use_ssl and config.ca_cert:
        try:
            ssl.create_default_context(cadata=config.ca_cert)
        except (ssl.SSLError, ValueError) as exc:
            raise ConnectionProblem("ca_cert", f"ca_cert is not a valid PEM certificate: {exc}") from None
    try:
        socket.create_connection((config.host, config.port), timeout=timeout).close()
    except OSError as exc:
        reason = "timed out" if isinstance(exc, socket.timeout) else (exc.strerror or str(exc))
        # Refused: the host answered, nothing listens on that port: the port is what to change.
        field = "port" if isinstance(exc, ConnectionRefusedError) else "hostname"
        raise ConnectionProblem(
            config.field(field), f"cannot reach ApertureDB at {config.address}: {reason} (timeout {timeout:g}s)"
        ) from None
    connector = config.connector(timeout)
    try:
        return _get_status(connector, config, timeout)
    finally:
        connector.close()


def _get_status(connector, config, timeout):
    try:
        response, _ = run(connector, [{"GetStatus": {}}])
    except Unreachable as exc:
        # The port accepted a connection, so the host is right: a silent or foreign service is on that port.
        if exc.timed_out:
            raise ConnectionProblem(config.field("port"), f"{config.address} accepted the connection but did not "
                                    f"answer as ApertureDB within {timeout:g}s: is this ApertureDB's port?") from None
        if isinstance(exc.reason, ssl.SSLError):
            raise ConnectionProblem(config.field("use_ssl"), f"TLS handshake with {config.address} failed: "
                                    f"{exc.reason.reason or exc.reason}") from None
        raise ConnectionProblem(config.field("port"), f"the service at {config.address} closed the connection: "
                                f"{exc}; is this ApertureDB's port?") from None
    except QueryError as exc:
        raise ConnectionProblem(config.field("port"),
                                f"unexpected GetStatus reply from {config.address}: {str(exc)[:300]}") from None
    except AssertionError as exc:  # the SDK asserts on certificate verification failures
        raise ConnectionProblem(config.field("ca_cert"), f"TLS certificate of {config.address} not trusted: "
                                f"{str(exc).splitlines()[0]}") from None
    except Exception as exc:
        text = str(exc)
        if "Server did not accept protocol" in text:
            want = "TLS" if config.use_ssl else "plain TCP"
            raise ConnectionProblem(config.field("use_ssl"), f"{config.address} refused {want}; toggle use_ssl") from None
        if "uthenticat" in text or "credentials" in text.lower() or "password" in text.lower():
            who = config.field("token" if config.token else "password")
            raise ConnectionProblem(who, f"ApertureDB at {config.address} rejected the credentials") from None
        raise ConnectionProblem(config.field("port"), f"ApertureDB at {config.address} failed: {text[:300]}") from None
    if not response or response[0].get("GetStatus", {}).get("status") != 0:
        raise ConnectionProblem(config.field("port"), f"unexpected GetStatus reply from {config.address}: {str(response)[:300]}")
    return response[0]["GetStatus"]
