"""Listening sockets for capgate's servers."""

from __future__ import annotations

import errno
import socket

from capgate.errors import ConfigurationError


def listen(host: str, port: int | None, flag: str) -> socket.socket:
    """A listening socket bound before any server starts, so a taken port is a clear error, not a traceback."""
    if port is None:
        raise ConfigurationError(f"the document gives this adapter no port; pass {flag} N")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio turns Nagle off only on sockets that say so, and accepted sockets inherit it;
    # without it every keep-alive answer waits ~40 ms for a delayed ACK (uvloop does not care).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(f"port {port} on {host} is already in use; stop the other process or pass "
                                     f"{flag} with a free port (0 picks one)") from None
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock
