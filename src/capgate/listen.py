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
    sock = socket.socket(family, socket.SOCK_STREAM)
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
