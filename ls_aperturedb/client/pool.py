"""Per-process pools of authenticated ApertureDB connectors.

Media requests, sync batches, exports and previews borrow a connector instead of connecting and
authenticating each time. Before each borrow the SSRF policy is applied (``ssrf.ensure_allowed``): a
host removed from ``LS_APERTUREDB_ALLOWED_HOSTS`` gets no query, not even on a pooled connection.
A connector that raised while in use (a timeout included) is closed and dropped, never handed out again.
"""
import os
import queue
import threading
from contextlib import contextmanager

from ls_aperturedb import conf
from ls_aperturedb.client.connection import ConnectionProblem, run
from ls_aperturedb.client.ssrf import ensure_allowed

_pools = {}
_lock = threading.Lock()


class Pool:
    def __init__(self, config, size):
        self.config = config
        self.size = size
        self._idle = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)

    @contextmanager
    def connector(self, timeout=None):
        try:
            ensure_allowed(self.config.host, self.config.port)
        except ConnectionProblem:
            self.close()  # connections made while the host was allowed are not used any more
            raise
        timeout = float(timeout or conf.get("QUERY_TIMEOUT"))
        if not self._slots.acquire(timeout=timeout):
            raise TimeoutError(f"no free ApertureDB connection to {self.config.address} within {timeout:g}s")
        try:
            try:
                connector = self._idle.get_nowait()
            except queue.Empty:
                connector = self.config.connector()
            try:
                yield connector
            except BaseException:
                connector.close()
                raise
            self._idle.put(connector)
        finally:
            self._slots.release()

    def query(self, query, blobs=None):
        with self.connector() as connector:
            return run(connector, query, blobs)

    def close(self):
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


def get_pool(config):
    """The pool for this instance and credentials in this process (recreated after fork)."""
    key = (os.getpid(), config.fingerprint)
    pool = _pools.get(key)
    if pool is None:
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = Pool(config, conf.get_int("POOL_SIZE"))
    return pool


def close_all():
    with _lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()
