"""The connections of one listening port: how many may be open, how long a request may take to arrive, and how
one is closed while its client may still be sending.

capgate's own, in front of the HTTP server that parses the requests:
- `ConnectionGate.protocol(server_protocol)` wraps the server's asyncio protocol, one per connection. It
  admits a connection only while the port has fewer than `max_connections` open and its client address fewer
  than `max_per_client` (else a 503, and the connection closes); it closes a connection whose request line
  and headers have not arrived `header_timeout` seconds after it opened or after its previous answer (with a
  408 when part of them had come), or pass `max_head_bytes` (431). And it closes gently: when the server
  closes a connection whose client may still be sending (a 413 answered before the body was read), it shuts
  its own sending side, then reads and drops what still comes for up to LINGER_SECONDS and LINGER_BYTES, as
  nginx's lingering close does, so that the client reads the answer instead of a reset.
- `ConnectionGate.app(app)` wraps the ASGI app, to tell each connection where its requests begin and end and
  whether the app read each body to its end (things only the HTTP server knows); an answer sent before its
  request's body was read closes the connection after it.
A body's own deadline (`--body-timeout`, 408) belongs to the inbound reader (capgate.exposes.inbound.body).

Of the HTTP server this takes three things: that it runs on asyncio protocols, as uvicorn does; that the ASGI
scope's `client` is the connection's peer address; and that an answer with `Connection: close` closes the
connection after it (`capgate.serve.server` plugs capgate's part into uvicorn).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capgate.core.bounds import DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_HEAD_BYTES
from capgate.core.errors import ConfigurationError
from capgate.exposes.problem import PROBLEM_JSON, problem_body

logger = logging.getLogger("capgate.connections")

LINGER_SECONDS = 5.0  # after the server closes a connection its client may still be sending on
LINGER_BYTES = 64 * 1024 * 1024  # read and dropped at most, in that time
REFUSAL_LINGER_SECONDS = 0.5  # the same, after a 503 for one connection too many
MAX_LINGERING_REFUSALS = 32  # per port; more refused at once close at once (their descriptors matter more)
SWEEP_SECONDS = 0.25  # how often deadlines are checked: timeouts are this precise
RESERVED_DESCRIPTORS = 64  # kept for what is not a connection: logs, the audit log, the event loop, imports
CONNECTIONS_CEILING = 10_000  # per port, the most the default gives whatever the file limit
WARN_EVERY = 60.0  # seconds between two warnings of one kind

Peer = tuple[str, int]  # a connection's peer as the ASGI scope's `client` names it


@dataclass(frozen=True)
class ConnectionLimits:
    """`--max-connections`, `--max-connections-per-client`, `--header-timeout`; None: from the file limit."""

    max_connections: int | None = None  # per port
    max_per_client: int | None = None  # per port and client address
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    max_head_bytes: int = DEFAULT_MAX_HEAD_BYTES

    def resolved(self, ports: int, upstream_connections: int) -> ConnectionLimits:
        """These limits with numbers for both caps, so that `ports` ports full of connections and the upstream
        pools (`upstream_connections`) fit in the process's file limit; ConfigurationError if they cannot."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        limit = 2**31 if soft == resource.RLIM_INFINITY else soft
        spare = limit - RESERVED_DESCRIPTORS - upstream_connections - ports * MAX_LINGERING_REFUSALS
        fits = spare // ports
        per_port = self.max_connections or min(CONNECTIONS_CEILING, fits)
        if per_port < 1 or per_port > fits:
            raise ConfigurationError(
                f"this process may open {limit} files (ulimit -n), too few for {per_port} connections on each of "
                f"{ports} ports, {upstream_connections} to the upstream and {limit - spare - upstream_connections} "
                f"more: raise the limit (ulimit -n, LimitNOFILE= in systemd) or pass --max-connections "
                f"{max(fits, 1)} or less"
            )
        per_client = self.max_per_client or max(1, per_port // 2)
        if per_client > per_port:
            raise ConfigurationError(
                f"--max-connections-per-client {per_client} is more than --max-connections {per_port}; "
                "give it at most as many"
            )
        return replace(self, max_connections=per_port, max_per_client=per_client)


class ConnectionGate:
    """The connections of one listening port, admitted, counted and timed; `limits` resolved."""

    def __init__(self, limits: ConnectionLimits) -> None:
        assert limits.max_connections is not None and limits.max_per_client is not None, "resolve the limits first"
        self.max_connections = limits.max_connections
        self.max_per_client = limits.max_per_client
        self.header_timeout = limits.header_timeout
        self.max_head_bytes = limits.max_head_bytes
        self.admitted: set[GatedConnection] = set()
        self.by_peer: dict[Peer, GatedConnection] = {}  # the admitted, by peer, for the ASGI wrapper
        self.per_client: Counter[str] = Counter()
        self.refused: set[GatedConnection] = set()  # refused, lingering until their client has read the 503
        self._sweeper: asyncio.TimerHandle | None = None
        self._warned: dict[str, float] = {}

    def protocol(self, server_protocol: asyncio.Protocol) -> asyncio.Protocol:
        """`server_protocol` (the HTTP server's, for one new connection) behind this gate."""
        return GatedConnection(server_protocol, self)

    def app(self, app: ASGIApp) -> ASGIApp:
        """`app`, telling each connection where its requests begin and end."""
        return _RequestBoundaries(app, self)

    def close(self) -> None:
        """Stop the clock and drop the refused connections still lingering (the server closes the others)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for connection in list(self.refused):
            connection.abort()

    def admit(self, connection: GatedConnection) -> str | None:
        """None if `connection` may be served (then it is counted), else why not."""
        if len(self.admitted) >= self.max_connections:
            return f"this port has {len(self.admitted)} connections open, the most it takes (--max-connections)"
        client = connection.client
        if self.per_client[client] >= self.max_per_client:
            return (
                f"{client} has {self.per_client[client]} connections open to this port, the most one client "
                "address may have (--max-connections-per-client); close idle ones, or reuse them"
            )
        self.admitted.add(connection)
        if connection.peer is not None:
            self.by_peer[connection.peer] = connection
        self.per_client[client] += 1
        self._keep_time()
        return None

    def hold_refused(self, connection: GatedConnection) -> bool:
        """Whether a refused connection may linger until its client has read the 503 (a few may at once)."""
        if len(self.refused) >= MAX_LINGERING_REFUSALS:
            return False
        self.refused.add(connection)
        self._keep_time()
        return True

    def forget(self, connection: GatedConnection) -> None:
        if connection in self.admitted:
            self.admitted.discard(connection)
            if connection.peer is not None:
                self.by_peer.pop(connection.peer, None)
            self.per_client[connection.client] -= 1
            if self.per_client[connection.client] <= 0:
                del self.per_client[connection.client]
        self.refused.discard(connection)

    def warn(self, kind: str, message: str) -> None:
        """Log `message` at most once a minute for each `kind`: a flood of refusals is one line a minute."""
        now = time.monotonic()
        if now - self._warned.get(kind, -WARN_EVERY) >= WARN_EVERY:
            self._warned[kind] = now
            logger.warning("%s (this warning is repeated at most once a minute)", message)

    def _keep_time(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(SWEEP_SECONDS, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        now = asyncio.get_running_loop().time()
        expired = [c for c in [*self.admitted, *self.refused] if c.deadline is not None and c.deadline <= now]
        for connection in expired:
            connection.expire()
        if self.admitted or self.refused:
            self._keep_time()


class GatedConnection(asyncio.Protocol):
    """One connection: the server's protocol behind admission, deadlines and a gentle close.

    Between requests (`active` 0) a deadline runs: `header_timeout` for the next request line and headers to
    arrive. While the app handles a request, none does (the body's deadline is the app's; the answer may take
    as long as the upstream). Closing gently, the deadline is the end of the linger. The head bound holds for a
    pipelined request too: what arrives once the request in hand has its body is counted as the next head, and
    one over the bound is dropped and refused with 431 after the answer in hand.
    """

    def __init__(self, inner: asyncio.Protocol, gate: ConnectionGate) -> None:
        self._inner = inner
        self._gate = gate
        self._transport: asyncio.Transport | None = None
        self.peer: Peer | None = None
        self.client = ""
        self.served = False  # admitted: the server's protocol has it
        self.active = 0  # requests the app is handling now
        self.deadline: float | None = None  # loop time at which `expire` runs
        self.head_bytes = 0  # of the next request line and headers, received so far
        self.head_complete = False  # they have all arrived; the server is about to start the request
        self.next_too_large = False  # a pipelined head is over the bound: refused once the request in hand ends
        self._tail = b""  # the last bytes received, in case the end of the headers straddles two reads
        self.body_unread = False  # the request declares a body that the app has not read to its end
        self.closing = False  # capgate is closing it: the server gets nothing more, what arrives is dropped
        self._drained = 0

    # asyncio.Protocol, as the event loop calls it

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses, but have its methods
        peer = transport.get_extra_info("peername")
        if isinstance(peer, (tuple, list)) and len(peer) >= 2:
            self.peer, self.client = (str(peer[0]), int(peer[1])), str(peer[0])
        refusal = self._gate.admit(self)
        if refusal is not None:
            self._refuse(refusal)
            return
        self.served = True
        self.deadline = self._now() + self._gate.header_timeout
        self._inner.connection_made(_ServerTransport(self._real_transport(), self))

    def data_received(self, data: bytes) -> None:
        if self.closing:
            self._drained += len(data)
            if self._drained > LINGER_BYTES:
                self.abort()
            return
        if self.next_too_large:
            return  # the server never sees a head over the bound
        # What arrives while a request is in hand, once its body is read, is the next (pipelined) request's head.
        if not self.head_complete and not (self.active and self.body_unread):
            self._count_head(data)
            if self.head_bytes > self._gate.max_head_bytes:
                if self.active:  # its answer may be on the wire: the refusal follows it
                    self.next_too_large = True
                else:
                    self._refuse_head()
                return
        self._inner.data_received(data)

    def _refuse_head(self) -> None:
        detail = f"the request line and headers are larger than {self._gate.max_head_bytes} bytes"
        self._answer(431, "Request Header Fields Too Large", detail + "; send fewer or shorter headers", linger=True)

    def _count_head(self, data: bytes) -> None:
        if not self.head_bytes:  # blank lines before a request line are no part of it (RFC 9112 §2.2)
            data = data.lstrip(b"\r\n")
            if not data:
                return
        end = (self._tail + data[:3]).find(b"\r\n\r\n")
        if end < 0:
            end = data.find(b"\r\n\r\n")
            end = end if end < 0 else end + len(self._tail)
        if end >= 0:
            self.head_complete = True
            self.head_bytes += end + 4 - len(self._tail)
        else:
            self.head_bytes += len(data)
            self._tail = (self._tail + data)[-3:]

    def eof_received(self) -> bool | None:
        if self.closing:  # the client has sent all it will: the answer is read, or will be
            return False  # asyncio closes the transport
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._gate.forget(self)
        if self.served:
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.served:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self.served:
            self._inner.resume_writing()

    # what the ASGI wrapper tells it

    def request_started(self, declares_body: bool) -> None:
        self.active += 1
        self.deadline, self.body_unread = None, declares_body
        self._between_requests()

    def body_read(self) -> None:
        self.body_unread = False

    def request_ended(self) -> None:
        self.active -= 1
        if not self.active and not self.closing:
            if self.next_too_large:
                self._refuse_head()
                return
            self.deadline = self._now() + self._gate.header_timeout
            if not (self.head_bytes or self.head_complete):  # else the next head is on its way: keep its count
                self._between_requests()

    def _between_requests(self) -> None:
        self.head_bytes, self.head_complete, self._tail = 0, False, b""

    # what the server's transport asks of it

    def server_closed(self) -> None:
        """The server closes the connection: at once if the client has nothing more to send, else gently."""
        if self.closing:
            return
        if self.body_unread or (not self.active and (self.head_bytes or self.head_complete)):
            self._linger(LINGER_SECONDS)
        else:
            self._close()

    def expire(self) -> None:
        """The deadline has passed."""
        if self.closing:
            self.abort()
        elif self.head_bytes and not self.head_complete:
            self._gate.warn(
                "header timeout",
                "closing connections whose request line and headers took longer "
                f"than {self._gate.header_timeout:g} s (--header-timeout)",
            )
            self._answer(
                408,
                "Request Timeout",
                f"the request line and headers did not arrive within "
                f"{self._gate.header_timeout:g} seconds; send them at once",
                linger=False,  # the client has stopped sending
            )
        else:  # idle between requests, or sent only blank lines (or, just now, all its headers)
            self._close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    # how it closes

    def _refuse(self, reason: str) -> None:
        self._gate.warn("over limit", f"refusing connections: {reason}")
        transport = self._real_transport()
        transport.write(_raw_answer(503, "Service Unavailable", reason, retry_after=1))
        if self._gate.hold_refused(self):
            self._linger(REFUSAL_LINGER_SECONDS)
        else:
            self._close()

    def _answer(self, status: int, title: str, detail: str, *, linger: bool) -> None:
        """Answer for the server (which has no request in progress to answer), and close: gently (`linger`)
        when the client is still sending, at once when it has stopped."""
        transport = self._real_transport()
        transport.write(_raw_answer(status, title, detail))
        if linger:
            self._linger(LINGER_SECONDS)
        else:
            self._close()

    def _close(self) -> None:
        self.closing, self.deadline = True, None
        self._real_transport().close()

    def _linger(self, seconds: float) -> None:
        self.closing = True
        self.deadline = self._now() + seconds
        transport = self._real_transport()
        transport.resume_reading()  # the server may have paused it
        if transport.can_write_eof():
            transport.write_eof()  # once what is written has gone: the client reads the answer, then an end
        else:
            transport.close()

    def _real_transport(self) -> asyncio.Transport:
        assert self._transport is not None
        return self._transport

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()


class _ServerTransport(asyncio.Transport):
    """The transport the HTTP server gets: the connection's own, except that closing it lets the connection
    close gently, and that nothing is written after the server closed it."""

    def __init__(self, transport: asyncio.Transport, connection: GatedConnection) -> None:
        super().__init__()
        self._transport = transport
        self._connection = connection
        self._closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def is_closing(self) -> bool:
        return self._closing or self._transport.is_closing()

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self._connection.server_closed()

    def abort(self) -> None:
        self._closing = True
        self._transport.abort()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._closing:
            self._transport.write(data)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        if not self._closing:
            self._transport.writelines(list_of_data)

    def write_eof(self) -> None:
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def pause_reading(self) -> None:
        if not self._connection.closing:
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        raise NotImplementedError("capgate serves HTTP/1.1 only: no upgrade replaces a connection's protocol")

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._connection


class _RequestBoundaries:
    """An ASGI app that tells each request's connection (found by the scope's `client`) when the request
    starts, whether its body was read to the end, and when it ends."""

    def __init__(self, app: ASGIApp, gate: ConnectionGate) -> None:
        self._app = app
        self._by_peer = gate.by_peer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client") if scope["type"] == "http" else None
        connection = self._by_peer.get((client[0], client[1])) if client else None
        if connection is None:
            await self._app(scope, receive, send)
            return
        declares_body = _declares_body(scope["headers"])
        connection.request_started(declares_body)
        try:
            if declares_body:
                await self._app(scope, _noting_the_end(receive, connection), _closing_if_unread(send, connection))
            else:
                await self._app(scope, receive, send)
        finally:
            connection.request_ended()


def _noting_the_end(receive: Receive, connection: GatedConnection) -> Receive:
    async def noting() -> Message:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            connection.body_read()  # the whole body, or no more of it: the client left
        return message

    return noting


def _closing_if_unread(send: Send, connection: GatedConnection) -> Send:
    """An answer that starts before the request's body was read closes the connection after it: what is left of
    the body comes before any next request, and the server would have to read it first. Closing, capgate reads
    and drops it for a while instead (`GatedConnection.server_closed`), and no next request comes after it."""

    async def closing(message: Message) -> None:
        if message["type"] == "http.response.start" and connection.body_unread:
            headers = list(message.get("headers", []))
            if not any(name.lower() == b"connection" for name, _ in headers):
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await send(message)

    return closing


def _declares_body(headers: list[tuple[bytes, bytes]]) -> bool:
    return any((name == b"content-length" and value != b"0") or name == b"transfer-encoding" for name, value in headers)


def _raw_answer(status: int, title: str, detail: str, *, retry_after: int | None = None) -> bytes:
    """A whole HTTP/1.1 answer with a problem+json body, for a connection no request of the server stands behind."""
    body = problem_body(status, title, detail)
    head = [
        f"HTTP/1.1 {status} {title}",
        f"content-type: {PROBLEM_JSON}",
        f"content-length: {len(body)}",
        "connection: close",
        *([f"retry-after: {retry_after}"] if retry_after is not None else []),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body
