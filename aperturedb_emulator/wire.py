"""Framing: 4-byte little-endian length, then payload. Hello: '@II' (version, protocol)."""
import os
import struct

os.environ.setdefault("ADB_LOG_FILE", "")  # importing aperturedb must not write logs into cwd
from aperturedb import queryMessage  # noqa: E402  (the SDK's generated protobuf module)

PROTOCOL_VERSION = 1
PROTOCOL_TCP = 1
PROTOCOL_TLS = 2
LENGTH = struct.Struct("<I")
HELLO = struct.Struct("@II")


class ConnectionClosed(Exception):
    pass


class MessageTooLarge(Exception):
    def __init__(self, size):
        super().__init__(size)
        self.size = size


def recv_exact(sock, n):
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if not k:
            raise ConnectionClosed()
        got += k
    return bytes(buf)


def discard(sock, n):
    while n > 0:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise ConnectionClosed()
        n -= len(chunk)


def recv_frame(sock, max_size=None):
    (size,) = LENGTH.unpack(recv_exact(sock, LENGTH.size))
    if max_size is not None and size > max_size:
        discard(sock, size)
        raise MessageTooLarge(size)
    return recv_exact(sock, size)


def send_frame(sock, payload):
    sock.sendall(LENGTH.pack(len(payload)) + payload)


def parse_message(data):
    msg = queryMessage.queryMessage()
    queryMessage.ParseFromString(msg, data)
    return msg.json, list(msg.blobs), msg.token


def build_message(json_text, blobs=()):
    msg = queryMessage.queryMessage()
    msg.json = json_text
    for b in blobs:
        msg.blobs.append(b)
    return msg.SerializeToString()
