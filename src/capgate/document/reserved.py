"""Paths the REST port serves for capgate itself; a document route may not take them.

They are reserved rather than shadowed so that a load balancer's /healthz or a scraper's /metrics works the
same in front of every document; `capgate validate` reports a document route that would match one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from capgate.core.errors import Problem
from capgate.document.models import Document, ExposesRest
from capgate.document.source import SourceMap

RESERVED_PATHS = {
    "/openapi.json": "the OpenAPI description",
    "/docs": "the docs page",
    "/docs/docs.js": "the docs page",
    "/docs/docs.css": "the docs page",
    "/healthz": "the liveness probe",
    "/readyz": "the readiness probe",
    "/metrics": "Prometheus metrics",
}
_VARIABLE = re.compile(r"\{\{?\s*[^{}\s]+\s*\}?\}")


def reserved_path_problems(document: Document, source: SourceMap) -> Iterator[Problem]:
    """An error for each REST resource whose path would also match a reserved path."""
    for index, adapter in enumerate(document.capability.exposes):
        if not isinstance(adapter, ExposesRest):
            continue
        for r, resource in enumerate(adapter.resources):
            pattern = _pattern(resource.path)
            for path, purpose in RESERVED_PATHS.items():
                if pattern.fullmatch(path):
                    yield source.problem(("capability", "exposes", index, "resources", r, "path"),
                                         f"{resource.path} would take {path}, which capgate reserves for {purpose}; "
                                         "choose another path")
                    break


def _pattern(path: str) -> re.Pattern[str]:
    """`/runs/{id}` -> a regex matching `/runs/anything-but-a-slash`."""
    pieces, position = [], 0
    for match in _VARIABLE.finditer(path):
        pieces += [re.escape(path[position:match.start()]), "[^/]+"]
        position = match.end()
    pieces.append(re.escape(path[position:]))
    return re.compile("".join(pieces))
