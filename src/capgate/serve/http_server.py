"""The HTTP server each listener runs on: the only module that knows it is uvicorn (httptools, uvloop).

Why uvicorn (measured side by side in bench/results/latest.md, "The stacks"): capgate's connection defences
(`capgate.serve.connections`: caps per port and per client, header timeout, a bound on the request head, the
gentle close after an early answer) wrap the server's asyncio protocol, one per connection, and uvicorn takes
that protocol as its `http=` option. Granian serves from Rust and offers no such hook: it has no per-client
connection cap and no lingering close, so the defences of issue 12 would be lost with it; a change of server is
a change of this module (and of `connections.py`, which takes three things of the server: asyncio protocols,
the scope's `client` as the peer, and `Connection: close` honoured).

`uvicorn/__init__.py` imports its command line (click), its reloaders and their file watcher, and
multiprocessing, none of which capgate runs: the package is imported without it (`capgate.core.imports`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import Iterator
from typing import Any

from starlette.types import ASGIApp

from capgate.core.imports import defer_package_init

defer_package_init("uvicorn")

from uvicorn.config import Config  # noqa: E402  (after the deferral above, by design)
from uvicorn.protocols.http.auto import AutoHTTPProtocol  # noqa: E402
from uvicorn.server import Server  # noqa: E402

# uvicorn's own modules ask the package for these (`from uvicorn import Config` in its lifespan): what its
# `__init__` would give them, without running it.
vars(sys.modules["uvicorn"]).update(Config=Config, Server=Server)

from capgate.serve.connections import ConnectionGate  # noqa: E402


class _Server(Server):
    """A uvicorn server whose signals capgate handles, once for every server of the process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """One ASGI app served on one listening socket; `gate`, when given, holds its connections' defences."""

    def __init__(self, app: ASGIApp, *, gate: ConnectionGate | None = None, grace: float | None = None) -> None:
        options: dict[str, Any] = {}
        if gate is not None:
            options.update(
                app=gate.app(app),
                http=_behind(gate),
                proxy_headers=False,  # the scope's client is the peer (capgate.serve.connections counts by it)
            )
        else:
            options["app"] = app
        # uvicorn types timeout_graceful_shutdown int, but waits any float (asyncio.wait_for).
        drain: Any = grace
        # log_config=None: uvicorn's records go to capgate's redacting handler (capgate.observe.logs), not its own.
        self._server = _Server(
            Config(
                **options,
                ws="none",  # capgate serves no WebSocket: an upgrade request is an ordinary request
                lifespan="on",
                log_level="warning",
                access_log=False,
                log_config=None,
                timeout_graceful_shutdown=drain,
            )
        )

    @property
    def started(self) -> bool:
        """Listening, and the app's lifespan has started."""
        return self._server.started

    async def serve(self, sock: socket.socket) -> None:
        """Serve on `sock` until `stop` is called, then drain (up to the grace period)."""
        await self._server.serve(sockets=[sock])

    def stop(self) -> None:
        self._server.should_exit = True


def _behind(gate: ConnectionGate) -> Any:
    """uvicorn's HTTP protocol (httptools, else h11), each connection behind `gate`: where capgate's connection
    defences meet uvicorn, which takes a protocol class and calls it with its own keyword arguments."""

    def protocol(**server_arguments: Any) -> asyncio.Protocol:
        return gate.protocol(AutoHTTPProtocol(**server_arguments))

    return protocol
