"""Video bytes for Label Studio's resolve proxy, through a bounded on-disk cache.

A video player seeks with many ``Range`` requests, and Label Studio's proxy cuts every open-ended one
to 8 MB (``RESOLVER_PROXY_MAX_RANGE_SIZE``). ApertureDB hands a video out whole (FindVideo ``blobs: true``
returns "the blob corresponding to the encoded video"; the reference names no byte range,
docs.aperturedata.io/commands/FindVideo.html), so without a cache every seek in a 50 MB video would
move 50 MB out of ApertureDB. The first request fetches the video once (one fetch per video at a time:
concurrent requests wait for it) into ``LS_APERTUREDB_VIDEO_CACHE_DIR``; later ones read their range
from the file. The cache is keyed by the video's identity (the server and the video's ``_uniqueid``:
a stored video's bytes never change, UpdateVideo changes properties only) and kept under
``LS_APERTUREDB_VIDEO_CACHE_MB``, least recently used first out. Files are written under a temporary
name and renamed into place, and read through a handle opened before any eviction, so the processes
of one host may share the folder. A video larger than the whole cache is served from memory, uncached.
"""
import hashlib
import logging
import os
import tempfile
import threading
import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ls_aperturedb import conf

logger = logging.getLogger(__name__)

# What this process fetched from ApertureDB and served from the cache (for operators and the benchmark).
STATS = {"fetches": 0, "bytes_fetched": 0, "hits": 0}
_locks, _locks_guard = {}, threading.Lock()


def video_content_type(head):
    """MIME type from the container's signature (ApertureDB stores none)."""
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: WebM or Matroska, told apart by the DocType
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    if head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:10] == b"qt" else "video/mp4"
    if head[:4] == b"OggS":
        return "video/ogg"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    return "application/octet-stream"


class FileStream:
    """``iter_chunks``/``close`` over ``length`` bytes of an open file from ``start``."""

    def __init__(self, handle, start, length):
        self._file, self._left = handle, length
        self._file.seek(start)

    def iter_chunks(self, chunk_size=512 * 1024):
        while self._left > 0:
            chunk = self._file.read(min(chunk_size, self._left))
            if not chunk:
                return
            self._left -= len(chunk)
            yield chunk

    def close(self):
        self._file.close()


class VideoCache:
    """Files named by key in ``folder``, at most ``limit`` bytes in all (least recently used go first)."""

    def __init__(self, folder, limit):
        self.folder, self.limit = folder, limit

    @classmethod
    def from_settings(cls):
        folder = conf.get("VIDEO_CACHE_DIR") or os.path.join(settings.BASE_DATA_DIR, "ls-aperturedb-video-cache")
        try:
            megabytes = float(conf.get("VIDEO_CACHE_MB"))
        except ValueError:
            raise ImproperlyConfigured("LS_APERTUREDB_VIDEO_CACHE_MB must be a number (megabytes)") from None
        return cls(folder, int(megabytes * 1024 * 1024))

    def _path(self, key):
        return os.path.join(self.folder, key + ".video")

    def open(self, key):
        """An open handle on the cached video and its size, or ``None`` (the access time is touched)."""
        path = self._path(key)
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            return None
        try:
            os.utime(path)
        except OSError:
            pass
        return handle, os.fstat(handle.fileno()).st_size

    def put(self, key, data):
        """Store ``data`` unless it is larger than the whole cache; make room first. True when stored."""
        if len(data) > self.limit:
            return False
        os.makedirs(self.folder, exist_ok=True)
        self.evict(self.limit - len(data))
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, self._path(key))
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return True

    def entries(self):
        """``[(last use, size, path)]`` of the cached videos."""
        found = []
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return found
        for name in names:
            if not name.endswith(".video"):
                continue
            path = os.path.join(self.folder, name)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            found.append((st.st_mtime, st.st_size, path))
        return found

    def size(self):
        return sum(size for _, size, _ in self.entries())

    def evict(self, budget):
        """Remove least recently used videos until the rest fit in ``budget`` bytes."""
        entries = sorted(self.entries())
        total = sum(size for _, size, _ in entries)
        for _, size, path in entries:
            if total <= budget:
                break
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            total -= size


def identity(storage, uid):
    """Cache key of a video: the server it lives on and its ``_uniqueid``."""
    config = storage.connection_config()
    return hashlib.sha256(f"{config.host}:{config.port}/{uid}".encode()).hexdigest()


def _lock(key):
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def fetch_video(storage, uid):
    """The whole video ``uid`` from ApertureDB (FindVideo ``blobs: true``), or ``None`` when it is gone."""
    response, blobs = storage.get_pool().query(
        [{"FindVideo": {"constraints": {"_uniqueid": ["==", uid]}, "blobs": True, "results": {"list": ["_uniqueid"]}}}])
    entities = response[0]["FindVideo"].get("entities") or []
    if not entities or not blobs:
        return None
    data = blobs[entities[0].get("_blob_index", 0)]
    STATS["fetches"] += 1
    STATS["bytes_fetched"] += len(data)
    return data


def open_video(storage, uid, cache=None):
    """``(readable, size)`` of the video: an open cached file, or the bytes themselves when the video
    does not fit in the cache; ``None`` when ApertureDB does not have it."""
    import io

    cache = cache or VideoCache.from_settings()
    key = identity(storage, uid)
    hit = cache.open(key)
    if hit is not None:
        STATS["hits"] += 1
        return hit
    with _lock(key):  # one fetch per video: the player's parallel range requests wait for it
        hit = cache.open(key)
        if hit is not None:
            STATS["hits"] += 1
            return hit
        started = time.monotonic()
        data = fetch_video(storage, uid)
        if data is None:
            return None
        logger.info("video %s of storage %s: %d bytes fetched from ApertureDB in %.2f s", uid, storage.id,
                    len(data), time.monotonic() - started)
        if cache.put(key, data):
            hit = cache.open(key)
            if hit is not None:
                return hit
        return io.BytesIO(data), len(data)


def get_video_stream(storage, uid, range_header, parse_range):
    """What ``get_bytes_stream`` answers for a video: 200 or 206 with ``Content-Range``, an ETag from the
    video's identity and size (its bytes never change), the content type from the container."""
    opened = open_video(storage, uid)
    if opened is None:
        return None
    handle, size = opened
    head = handle.read(64)
    metadata = {"StatusCode": 200, "ContentLength": size, "ETag": f"{identity(storage, uid)[:32]}-{size}"}
    start, end = 0, size - 1
    span = parse_range(range_header, size)
    if span is not None:
        start, end = span
        metadata.update(StatusCode=206, ContentLength=end - start + 1, ContentRange=f"bytes {start}-{end}/{size}")
    return FileStream(handle, start, end - start + 1), video_content_type(head), metadata
