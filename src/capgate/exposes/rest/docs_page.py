"""The human docs page at /docs: a small page of capgate's own that renders /openapi.json with "try it" forms.

Its three files ship inside the package and are served from memory, so the page works offline; the
content security policy lets it load nothing from anywhere but this gateway.
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

DOCS_PATH = "/docs"
_FILES = {
    "docs.html": "text/html; charset=utf-8",
    "docs.js": "text/javascript; charset=utf-8",
    "docs.css": "text/css; charset=utf-8",
}
_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "cache-control": "no-cache",
}


def docs_routes() -> list[Route]:
    """/docs and its two assets, /docs/docs.js and /docs/docs.css."""
    folder = resources.files("capgate.exposes.rest") / "static"
    contents = {name: (folder / name).read_bytes() for name in _FILES}

    def serve(name: str) -> Route:
        async def endpoint(request: Request) -> Response:
            return Response(contents[name], media_type=_FILES[name], headers=_HEADERS)

        return Route(DOCS_PATH if name == "docs.html" else f"{DOCS_PATH}/{name}", endpoint, methods=["GET"])

    return [serve(name) for name in _FILES]
