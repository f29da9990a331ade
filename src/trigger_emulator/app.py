"""The ASGI application: `create_app(config)`.

Each HTTP request goes through the same steps as on the live service, outermost first:
test controls (`/_emulator/`, when enabled), the request log and injected faults (when enabled), the
trailing-slash redirect, the rate limiter on every `/api…` path (which also refuses requests without an
`Authorization` header, before any routing), then the routes. Starlette only provides the lifespan.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from trigger_emulator import controls
from trigger_emulator.config import EmulatorConfig
from trigger_emulator.dates import now_ms
from trigger_emulator.emulator import Emulator
from trigger_emulator.faults import malform
from trigger_emulator.incoming import Incoming, read_incoming
from trigger_emulator.ratelimit import no_authorization, too_many_requests
from trigger_emulator.responses import redirect_without_slash
from trigger_emulator.routes import dispatch


def serve(request: Incoming, emulator: Emulator) -> Response:
    """The emulated service proper: redirect, rate limiter, routes."""
    path = request.raw_path
    if path.endswith("/") and path != "/":
        return redirect_without_slash(path, request.query)
    if not path.startswith("/api") or request.method == "OPTIONS":
        return dispatch(request, emulator)
    authorization = request.headers.get("authorization")
    if not authorization:
        return no_authorization()
    now = now_ms()
    decision = emulator.limiter.take(authorization, now)
    if not decision.allowed:
        return too_many_requests(decision, now)
    response = dispatch(request, emulator)
    response.headers.update(decision.headers())
    return response


async def _drop_connection(receive: Receive) -> None:
    """Close the client's connection without a response (uvicorn only: its `receive` knows the transport)."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("cannot drop the connection: this server does not expose its transport")
    transport.close()
    while (await receive())["type"] != "http.disconnect":  # wait until the server has noticed
        pass


class EmulatorMiddleware:
    """Answers every HTTP request itself; lifespan events go on to Starlette."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = await read_incoming(scope, receive)
        response = await self.respond(request)
        if response is None:
            await _drop_connection(receive)
            return
        await response(scope, receive, send)

    async def respond(self, request: Incoming) -> Response | None:
        """The response for a request, or None when an injected fault drops the connection."""
        emulator = self.emulator
        if not emulator.config.test_controls:
            return serve(request, emulator)
        if request.raw_path.startswith(controls.PREFIX):
            return controls.handle(request, emulator)
        emulator.requests.append(request.log_entry())
        fault = emulator.faults.pick(request.method, request.raw_path)
        if fault is None:
            return serve(request, emulator)
        if fault.kind == "latency":
            await asyncio.sleep(fault.latency_ms / 1000)
            return serve(request, emulator)
        if fault.kind == "error":
            return fault.error_response()
        if fault.kind == "rate_limit":
            now = now_ms()
            return too_many_requests(emulator.limiter.exhausted(now), now)
        if fault.kind == "malformed":
            return malform(serve(request, emulator), fault.malformed)
        return None  # drop


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    """The emulator as an ASGI app; its lifespan opens (and seeds) the database and runs the simulation.

    The `Emulator` is at `app.state.emulator`, e.g. for `app.state.emulator.advance(now)` in tests.
    """
    emulator = Emulator(config or EmulatorConfig())

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await emulator.start()
        try:
            yield
        finally:
            await emulator.stop()

    app = Starlette(lifespan=lifespan, middleware=[Middleware(EmulatorMiddleware, emulator=emulator)])
    app.state.emulator = emulator
    return app
