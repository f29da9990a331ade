"""The REST port as served: the document's routes, plus capgate's own.

    /openapi.json   the OpenAPI 3.1 description of the document's routes
    /docs           a page to read every route and try it (assets under /docs/)
    /healthz        liveness; calls nothing upstream
    /readyz         readiness; each upstream reachable and accepting the key (cached a few seconds)
    /metrics        Prometheus metrics of the whole process

These paths are reserved (capgate.document.reserved): a document route that would take one is a validation
error, so they mean the same thing in front of every document.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from capgate.exposes.rest.app import http_problem
from capgate.exposes.rest.docs_page import docs_routes
from capgate.exposes.rest.probes import Readiness, health_routes
from capgate.observe.metrics import InFlight, metrics_endpoint
from capgate.observe.tracing import server_spans


def rest_facade(document_app: ASGIApp, *, description: dict[str, Any], readiness: Readiness) -> ASGIApp:
    """`document_app` (the adapter's routes) behind capgate's own routes, instrumented; `description` is the
    adapter's OpenAPI document (`capgate.exposes.rest.openapi`)."""

    async def openapi_json(request: Request) -> Response:
        # The server URL is the one this request came to, so the description works behind any proxy.
        servers = [{**description["servers"][0], "url": str(request.base_url).rstrip("/")}]
        return Response(orjson.dumps({**description, "servers": servers}), media_type="application/json")

    own: list[Route] = [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        *docs_routes(),
        *health_routes(readiness),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
    document = instrument(document_app, "rest")
    # A path no route can hold (a newline in it escapes even the catch-all mount) is a 404 problem too.
    routes = [*own, Mount("", app=document)]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_problem})
    return _Facade(app, document, {(route.path, method) for route in own for method in route.methods or ()})


class _Facade:
    """capgate's own routes and the document's: a request for one of capgate's paths and methods goes through
    Starlette's router as before, any other straight to the document's app (the catch-all mount the router would
    pick), which saves a router walk and two middleware per call (bench/PROFILE.md)."""

    def __init__(self, app: ASGIApp, document: ASGIApp, own: set[tuple[str, str]]) -> None:
        self._app = app
        self._document = document
        self._own = own

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path, scope["method"]) not in self._own and "\n" not in path:
            await self._document(scope, receive, send)
        else:
            await self._app(scope, receive, send)


def instrument(app: ASGIApp, adapter: str) -> ASGIApp:
    """An adapter's app, counted in flight and traced (when tracing is on)."""
    return InFlight(server_spans(app, adapter), adapter)
