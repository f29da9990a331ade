"""Route matching and the method rules of the live routes, framework quirks included.

The live routes come in four kinds, and each answers unexpected methods differently:

- `loader` (list, retrieve, trace, events): GET; OPTIONS is a CORS preflight; other methods get Remix's 405.
- `action` (cancel, replay, metadata): no loader, so GET/HEAD/OPTIONS get Remix's 400; replay restricts itself
  to POST and metadata to PUT (`405 {"error":"Method not allowed"}` + `Allow`), cancel takes any other
  method. The metadata route has a hand-written loader of its own, which answers GET/HEAD/OPTIONS.
- `legacy` (reschedule, tags): no loader (Remix's 400 for GET); other non-POST methods get the
  HTTP 200 `{"status":405,"body":"Method Not Allowed"}` quirk.
- `trigger`: its loader answers OPTIONS with a CORS preflight and GET with an empty 405.

A path no route matches gets Remix's HTML 404.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from starlette.responses import Response

from trigger_emulator import handlers
from trigger_emulator.auth import AuthError
from trigger_emulator.emulator import Emulator
from trigger_emulator.incoming import Incoming
from trigger_emulator.responses import (
    error,
    json_response,
    legacy_method_not_allowed,
    remix_error,
    remix_not_found,
    unexpected_server_error,
    with_cors,
)

Handler = Callable[[Incoming, Emulator, str], Response]
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Route:
    """One live route: its path template (one `{}` parameter at most), kind, handler and CORS strategy."""

    template: str
    kind: str
    handler: Handler
    cors: bool = False
    method: str | None = None
    loader: Handler | None = None  # an action route's own loader, for GET, HEAD and OPTIONS

    @property
    def pattern(self) -> re.Pattern[str]:
        """The template as a regular expression over the raw (percent-encoded) path."""
        return re.compile("^" + re.escape(self.template).replace(r"\{\}", "([^/]+)") + "$")


ROUTES = (
    Route("/api/v1/runs", "loader", handlers.list_runs, cors=True),
    Route("/api/v3/runs/{}", "loader", handlers.retrieve_run, cors=True),
    Route("/api/v1/runs/{}/trace", "loader", handlers.run_trace, cors=True),
    Route("/api/v1/runs/{}/events", "loader", handlers.run_events, cors=True),
    Route("/api/v1/runs/{}/metadata", "action", handlers.update_metadata, method="PUT", loader=handlers.get_metadata),
    Route("/api/v2/runs/{}/cancel", "action", handlers.cancel_run),
    Route("/api/v1/runs/{}/replay", "action", handlers.replay_run, method="POST"),
    Route("/api/v1/runs/{}/reschedule", "legacy", handlers.reschedule_run),
    Route("/api/v1/runs/{}/tags", "legacy", handlers.add_tags),
    Route("/api/v1/tasks/{}/trigger", "trigger", handlers.trigger_task, cors=True),
)
_COMPILED = tuple((route, route.pattern) for route in ROUTES)


def match(raw_path: str) -> tuple[Route, str] | None:
    """The route for a path and its decoded parameter (empty when the route has none)."""
    for route, pattern in _COMPILED:
        found = pattern.match(raw_path)
        if found:
            return route, unquote(found.group(1)) if found.groups() else ""
    return None


def _by_method(route: Route, request: Incoming, emulator: Emulator, param: str) -> Response:
    method = request.method
    if method in _READS:
        if route.loader is not None:
            return route.loader(request, emulator, param)
        if route.kind in ("loader", "trigger") and method == "OPTIONS":
            return json_response({})
        if route.kind == "loader":
            return route.handler(request, emulator, param)
        return Response(status_code=405) if route.kind == "trigger" else remix_error(400)
    if route.kind == "loader":
        return remix_error(405)
    if route.kind == "legacy" and method != "POST":
        return legacy_method_not_allowed()
    if route.method is not None and method != route.method:
        return error("Method not allowed", 405, {"Allow": route.method})
    return route.handler(request, emulator, param)


def dispatch(request: Incoming, emulator: Emulator) -> Response:
    """Answer a request that got past the rate limiter as the matching live route would."""
    found = match(request.raw_path)
    if found is None:
        return remix_not_found()
    route, param = found
    try:
        response = _by_method(route, request, emulator, param)
    except AuthError as exc:
        response = error(str(exc), 401)
    except Exception:  # what each kind of route turns an unexpected failure into
        response = unexpected_server_error() if route.kind == "legacy" else error("Internal Server Error", 500)
    if route.cors:
        with_cors(response, request.headers, preflight=request.method == "OPTIONS")
    return response
