"""The response shapes the live service produces, including the framework's own (Remix, Express) quirks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.responses import Response

JSON_TYPE = "application/json; charset=utf-8"  # what Remix's json() sends
PROBLEM_TYPE = "application/problem+json; charset=utf-8"  # what Express's res.send() makes of problem+json
HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"

_REMIX_404 = (
    '<!DOCTYPE html><html lang="en"><head><meta charSet="utf-8"/><title>Page not found | Trigger.dev</title>'
    "</head><body><h1>404</h1><p>Page not found</p></body></html>"
)


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON body as Remix's `json()` sends it."""
    return Response(orjson.dumps(body), status, headers=dict(headers or {}), media_type=JSON_TYPE)


def error(message: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
    """`{"error": message}`, the live service's usual error body."""
    return json_response({"error": message}, status, headers)


def problem(body: Mapping[str, Any], status: int) -> Response:
    """An `application/problem+json` body, pretty-printed with two spaces like `JSON.stringify(b, null, 2)`."""
    text = orjson.dumps(body, option=orjson.OPT_INDENT_2)
    return Response(text, status, media_type=PROBLEM_TYPE)


def remix_error(status: int) -> Response:
    """Remix's sanitised error for a method a route does not handle (400 without a loader, 405 without an action)."""
    return json_response({"message": "Unexpected Server Error"}, status, {"X-Remix-Error": "yes"})


def remix_not_found() -> Response:
    """Remix's HTML 404 page for a path no route matches."""
    return Response(_REMIX_404, 404, media_type=HTML_TYPE)


def unexpected_server_error() -> Response:
    """What Remix sends when a legacy route throws: a plain-text 500."""
    return Response("Unexpected Server Error", 500, media_type=TEXT_TYPE)


def legacy_method_not_allowed() -> Response:
    """The legacy routes' wrong-method answer: an object Remix serialises with status 200 (live quirk)."""
    return json_response({"status": 405, "body": "Method Not Allowed"})


def redirect_without_slash(path: str, query: str) -> Response:
    """Express's 301 for a path with a trailing slash: same path without it, query kept."""
    location = path.rstrip("/") or "/"
    location = location + ("?" + query if query else "")
    body = f"Moved Permanently. Redirecting to {location}"
    return Response(body, 301, headers={"Location": location}, media_type=TEXT_TYPE)


def with_cors(response: Response, request_headers: Headers, *, preflight: bool) -> Response:
    """Add what `remix-utils` `cors()` adds with the apiBuilder's options (origin reflected, max age 5 min)."""
    origin = request_headers.get("origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.append("Vary", "Origin")
    if preflight:
        response.headers["Access-Control-Allow-Methods"] = "GET,HEAD,PUT,PATCH,POST,DELETE"
        response.headers.append("Vary", "Access-Control-Request-Headers")
        requested = request_headers.get("access-control-request-headers")
        if requested:
            response.headers["Access-Control-Allow-Headers"] = requested
        response.headers["Access-Control-Max-Age"] = "300"
    return response
