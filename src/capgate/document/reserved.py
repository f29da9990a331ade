"""Paths the REST port serves for capgate itself; a document route may not take them.

They are reserved rather than shadowed so that a load balancer's /healthz or a scraper's /metrics works the
same in front of every document; `capgate validate` reports a document route that would match one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from capgate.core.errors import Problem
from capgate.document.models import Document, ExposesRest
from capgate.document.references import path_pieces
from capgate.document.source import SourceMap


@dataclass(frozen=True)
class Reserved:
    purpose: str
    public: bool  # answered without a bearer token: it shows no data (probes, the API's description)


RESERVED_PATHS = {
    "/openapi.json": Reserved("the OpenAPI description", public=True),
    "/docs": Reserved("the docs page", public=True),
    "/docs/docs.js": Reserved("the docs page", public=True),
    "/docs/docs.css": Reserved("the docs page", public=True),
    "/healthz": Reserved("the liveness probe", public=True),
    "/readyz": Reserved("the readiness probe", public=True),
    "/metrics": Reserved("Prometheus metrics", public=False),
    "/.well-known/oauth-protected-resource": Reserved("the OAuth protected resource metadata", public=True),
}
PUBLIC_PATHS = frozenset(path for path, reserved in RESERVED_PATHS.items() if reserved.public)


def reserved_path_problems(document: Document, source: SourceMap) -> Iterator[Problem]:
    """An error for each REST resource whose path would also match a reserved path."""
    for index, adapter in enumerate(document.capability.exposes):
        if not isinstance(adapter, ExposesRest):
            continue
        for r, resource in enumerate(adapter.resources):
            pattern = _pattern(resource.path)
            for path, reserved in RESERVED_PATHS.items():
                if pattern.fullmatch(path):
                    yield source.problem(
                        ("capability", "exposes", index, "resources", r, "path"),
                        f"{resource.path} would take {path}, which capgate reserves for "
                        f"{reserved.purpose}; choose another path",
                    )
                    break


def _pattern(path: str) -> re.Pattern[str]:
    """`/runs/{id}` -> a regex matching `/runs/anything-but-a-slash`."""
    return re.compile(
        "".join(re.escape(literal) + ("[^/]+" if variable else "") for literal, variable in path_pieces(path))
    )
