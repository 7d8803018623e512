"""Image bytes for Label Studio's resolve proxy (``presign = False``).

Label Studio checks authentication and project permission, then calls
``get_bytes_stream(uri, range_header)`` and streams ``(stream, content_type, metadata)``. The blob
comes through the per-process connection pool; the content type is sniffed from the bytes (ApertureDB
stores no MIME type); the ETag is the SHA-256 of the bytes; a ``Range`` is answered with 206.
ApertureDB unreachable, silent past ``LS_APERTUREDB_QUERY_TIMEOUT`` (504) or refused by the SSRF
policy (502) is answered with a one-line text/plain reason, not a traceback.
"""
import hashlib
import io
import logging
from types import SimpleNamespace

from ls_aperturedb.client.connection import ConnectionProblem, Unreachable
from ls_aperturedb.source import shaping
from ls_aperturedb.source.mapping import header_size, image_size, parse_uri

logger = logging.getLogger(__name__)

SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)


class BytesStream:
    """What the proxy iterates: ``iter_chunks(chunk_size)`` and ``close()``."""

    def __init__(self, data):
        self._data = io.BytesIO(data)

    def iter_chunks(self, chunk_size=64 * 1024):
        while chunk := self._data.read(chunk_size):
            yield chunk

    def close(self):
        self._data.close()


def storage_id_of(url):
    parsed = parse_uri(url)
    return parsed[0] if parsed else None


def sniff(data):
    for magic, content_type in SIGNATURES:
        if data.startswith(magic):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def parse_range(range_header, size):
    """``(start, end)`` inclusive for a single ``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` range, else ``None``."""
    if not range_header or not range_header.startswith("bytes=") or size == 0:
        return None
    first, _, last = range_header[len("bytes="):].split(",")[0].strip().partition("-")
    try:
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
    except ValueError:
        return None
    if start >= size or start > end:
        return None
    return start, end


def fetch_blob(storage, uid):
    """The image's bytes, shaped by ApertureDB when the storage asks for it (``max_side``,
    ``image_format``; see ``shaping``): one round trip without shaping, two with it (the stored size
    first, from the size properties; an image without them has its header read from the stored bytes)."""
    pool = storage.get_pool()
    max_side, image_format = getattr(storage, "max_side", None), getattr(storage, "image_format", "")
    if not max_side and not image_format:
        return shaping.first_blob(*pool.query([shaping.blob_query(uid)]))
    size = None
    if max_side:
        response, _ = pool.query([shaping.size_query(uid, storage.width_property, storage.height_property)])
        entities = response[0]["FindImage"].get("entities") or []
        if not entities:
            return None
        size = image_size(entities[0], SimpleNamespace(width_property=storage.width_property,
                                                      height_property=storage.height_property))
        if size is None:  # no size property: the stored bytes' header says it
            data = shaping.first_blob(*pool.query([shaping.blob_query(uid)]))
            if data is None:
                return None
            size = header_size(data)
            if shaping.fitted(size, max_side) is None and not image_format:
                return data
    return shaping.first_blob(*pool.query([shaping.blob_query(uid, size, max_side, image_format)]))


def get_bytes_stream(storage, uri, range_header=None):
    parsed = parse_uri(uri)
    if parsed is None or parsed[0] != storage.id:
        return None, None, {"StatusCode": 404}
    kind = getattr(storage, "media_kind", "") or "images"
    try:
        if kind == "videos":  # whole videos go through an on-disk cache (see video_media)
            from ls_aperturedb.source.video_media import get_video_stream

            answer = get_video_stream(storage, parsed[1], range_header, parse_range)
            return answer or (BytesStream(b""), "text/plain", {"StatusCode": 404, "ContentLength": 0})
        if kind == "frames":  # a key frame, rendered by ApertureDB as an image
            from ls_aperturedb.source.frames import fetch_frame

            data = fetch_frame(storage, parsed[1])
        else:
            data = fetch_blob(storage, parsed[1])
    except (ConnectionProblem, Unreachable, TimeoutError) as exc:
        return _error(storage, exc)
    if data is None:
        return BytesStream(b""), "text/plain", {"StatusCode": 404, "ContentLength": 0}
    size = len(data)
    metadata = {"StatusCode": 200, "ContentLength": size, "ETag": hashlib.sha256(data).hexdigest()}
    content_type = sniff(data)
    span = parse_range(range_header, size)
    if span is not None:
        start, end = span
        metadata.update(StatusCode=206, ContentLength=end - start + 1, ContentRange=f"bytes {start}-{end}/{size}")
        data = data[start:end + 1]
    return BytesStream(data), content_type, metadata


def _error(storage, exc):
    """504 when ApertureDB did not answer in time, 503 when every pooled connection stayed busy,
    502 when it cannot be reached or may not be."""
    if isinstance(exc, Unreachable):
        status = 504 if exc.timed_out else 502
    else:
        status = 503 if isinstance(exc, TimeoutError) else 502
    address = storage.connection_config().address
    message = f"ApertureDB at {address}: {exc}"
    logger.warning("media of storage %s: %s", storage.id, message)
    body = message.encode()
    return BytesStream(body), "text/plain; charset=utf-8", {"StatusCode": status, "ContentLength": len(body)}
