"""A hostile upstream: a real TCP server that speaks just enough HTTP/1.1 to misbehave on purpose.

Each connection carries one request. The server reads it whole (head and `content-length` body), records it,
then does what the next queued action says: answer with raw bytes (a redirect, a 101, a gzip bomb), or drop
the connection without a word, as a crashing or partitioned upstream would after taking the request in. With
nothing queued it answers 200 with a small JSON body. Built on sockets rather than an ASGI server, because
those would refuse to send most of what it sends.
"""

from __future__ import annotations

import socket
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

OK = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{"ok":true}'
DROP = b""  # an action: close the connection without answering


@dataclass
class RawUpstream:
    url: str
    requests: list[bytes] = field(default_factory=list)  # each request's head and body, as received
    actions: list[bytes] = field(default_factory=list)  # what to send next, oldest first; DROP closes

    def then(self, *actions: bytes) -> None:
        self.actions.extend(actions)

    def request_lines(self) -> list[str]:
        return [request.split(b"\r\n", 1)[0].decode() for request in self.requests]


@contextmanager
def raw_upstream() -> Iterator[RawUpstream]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    upstream = RawUpstream(f"http://127.0.0.1:{listener.getsockname()[1]}")
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            connection, _ = listener.accept()
            with connection:
                if stopping.is_set():  # the wake-up call below
                    return
                request = _read_request(connection)
                if request is None:
                    continue
                upstream.requests.append(request)
                action = upstream.actions.pop(0) if upstream.actions else OK
                if action:
                    try:
                        connection.sendall(action)
                    except OSError:  # the client stopped reading (a bomb it refused): nothing more to do
                        continue
                    connection.shutdown(socket.SHUT_WR)
                    _drain(connection)

    thread = threading.Thread(target=serve, name="raw-upstream", daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        stopping.set()
        socket.create_connection(listener.getsockname(), timeout=5).close()  # wakes the blocked accept()
        thread.join(10)
        listener.close()


def answer(status: str, headers: dict[str, str], body: bytes = b"", *, length: bool = True) -> bytes:
    """The bytes of an HTTP/1.1 answer: `status` such as "302 Found", the headers as given."""
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers.items())]
    if length:
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def gzip_of_zeros(mebibytes: int) -> bytes:
    """A gzip body that inflates to `mebibytes` MiB of zero bytes, about 1 KiB per MiB: a decompression bomb.

    Each MiB is compressed with a full flush, which resets the compressor, so every piece is the same bytes and
    the whole takes no longer to build than its checksum.
    """
    block = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(block, crc)
    trailer = struct.pack("<II", crc, (mebibytes << 20) & 0xFFFFFFFF)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + piece * mebibytes + compressor.flush() + trailer


def _read_request(connection: socket.socket) -> bytes | None:
    connection.settimeout(10)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
    except OSError:
        return None
    return head + b"\r\n\r\n" + body


def _drain(connection: socket.socket) -> None:
    """Wait for the client to close its side, so that the answer is read before the connection goes."""
    try:
        while connection.recv(65536):
            pass
    except OSError:
        pass
