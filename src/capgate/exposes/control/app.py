"""The control adapter's routes, as the format's engine serves them on the control port.

    GET /health/live     {"status": "UP"}: the process answers (management.health, on by default)
    GET /health/ready    "UP" and 200 once every other adapter serves, else "DEGRADED" and 503, with each
                         adapter's type, namespace, port and state
    GET /status          the capability's label and dialect, capgate's version, uptime, tracing, adapters
                         (management.info, off by default)
    GET /metrics         Prometheus metrics of the process (unless `observability.enabled: false`)
    GET /traces[/{id}]   503: capgate exports traces to an OTLP collector (docs/observability.md) and keeps
                         none in memory (unless `observability.enabled: false`, which removes the route)

The format's `/scripting` governs script steps, which capgate does not run: that route is not served.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Collection
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from capgate import __version__
from capgate.document.models import Document, ExposesControl
from capgate.observe import tracing
from capgate.observe.metrics import metrics_endpoint

Started = Callable[[], Collection[str]]  # the namespaces of the adapters that serve now


def build_control_app(document: Document, adapter: ExposesControl, started: Started) -> Starlette:
    """An ASGI app serving the management routes `adapter` turns on."""
    began = time.time()
    others = [other for other in document.capability.exposes if other is not adapter]

    def adapters() -> list[dict[str, Any]]:
        serving = started()
        return [
            {
                "type": other.type,
                "namespace": other.namespace,
                "port": other.port,
                "state": "started" if other.namespace in serving else "stopped",
            }
            for other in others
        ]

    async def live(request: Request) -> Response:
        return _json({"status": "UP"})

    async def ready(request: Request) -> Response:
        listed = adapters()
        up = all(entry["state"] == "started" for entry in listed)
        return _json({"status": "UP" if up else "DEGRADED", "adapters": listed}, 200 if up else 503)

    async def status(request: Request) -> Response:
        info = document.info
        return _json(
            {
                "capability": {"label": info.label if info else None, "dialect": document.dialect},
                "engine": {"name": "capgate", "version": __version__, "python": platform.python_version()},
                "uptime": _duration(time.time() - began),
                "otel": {"status": "active" if tracing.enabled() else "inactive"},
                "adapters": adapters(),
            }
        )

    async def traces(request: Request) -> Response:
        reason = (
            "capgate exports traces to the OTLP collector the OTEL_* variables name and keeps none in memory; "
            "read them there"
            if tracing.enabled()
            else "OpenTelemetry is not active: set OTEL_EXPORTER_OTLP_ENDPOINT (docs/observability.md)"
        )
        return _json({"error": reason}, 503)

    routes = []
    if adapter.management.health:
        routes += [Route("/health/live", live, methods=["GET"]), Route("/health/ready", ready, methods=["GET"])]
    if adapter.management.info:
        routes.append(Route("/status", status, methods=["GET"]))
    if _observed(adapter, "metrics"):
        routes.append(Route("/metrics", metrics_endpoint, methods=["GET"]))
    if _observed(adapter, "traces"):
        routes += [Route("/traces", traces, methods=["GET"]), Route("/traces/{trace}", traces, methods=["GET"])]
    return Starlette(routes=routes)


def _observed(adapter: ExposesControl, signal: str) -> bool:
    """Whether `observability` leaves `signal` (metrics, traces) on: on unless it or its `local` says enabled: false."""
    observability = adapter.observability or {}
    if observability.get("enabled") is False:
        return False
    local = (observability.get(signal) or {}).get("local") or {}
    return local.get("enabled") is not False


def _duration(seconds: float) -> str:
    """ISO 8601, as the reference engine reports uptime: PT1H2M3.5S."""
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"PT{int(hours)}H{int(minutes)}M{seconds:.3f}S"


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")
