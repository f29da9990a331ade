"""Listening sockets for capgate's servers."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

from capgate.core.errors import ConfigurationError

Listen = Callable[[str, int | None, str], socket.socket]  # (host, port, the flag that sets it) -> listening socket


def listen(host: str, port: int | None, flag: str, *, reuse_port: bool = False) -> socket.socket:
    """A listening socket bound before any server starts, so a taken port is a clear error, not a traceback.

    `reuse_port` (SO_REUSEPORT) lets the other workers of `capgate serve --workers` listen on the same port;
    the kernel then spreads new connections between them.
    """
    sock = bind(host, port, flag, reuse_port=reuse_port)
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def bind(host: str, port: int | None, flag: str, *, reuse_port: bool = False) -> socket.socket:
    """A socket bound to `host:port` that does not listen: it holds the port, and is handed no connections."""
    if port is None:
        raise ConfigurationError(f"the document gives this adapter no port; pass {flag} N")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio turns Nagle off only on sockets that say so, and accepted sockets inherit it;
    # without it every keep-alive answer waits ~40 ms for a delayed ACK (uvloop does not care).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"port {port} on {host} is already in use; stop the other process or pass "
                f"{flag} with a free port (0 picks one)"
            ) from None
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def free_port(host: str, port: int | None, flag: str) -> int:
    """`port` if no socket holds it, SO_REUSEPORT or not (0: a free port); ConfigurationError if one does.

    A socket without SO_REUSEPORT cannot share a port, so binding one is the test: without it, a second
    `capgate serve --workers` on the same port would silently take half of the first one's connections.
    """
    with bind(host, port, flag) as probe:
        return int(probe.getsockname()[1])
