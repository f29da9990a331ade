"""Prometheus metrics, served at /metrics on the REST port.

capgate's metrics live in their own registry (plus the process and Python collectors), shared by every
gateway of the process. The resilience code updates the retry, circuit and limiter metrics directly, e.g.
`UPSTREAM_RETRIES.labels(operation=..., reason="503").inc()` or
`CIRCUIT_STATE.labels(namespace=...).set(CIRCUIT_VALUES[breaker.state])`:

    capgate_requests_total{adapter, target, status}       calls by adapter (rest, mcp), route or tool, and
                                                          the HTTP status answered (400 invalid input,
                                                          502/504 upstream failure, else the upstream's)
    capgate_requests_in_flight{adapter}                   requests being handled now
    capgate_upstream_request_duration_seconds{operation}  time to the upstream's answer, retries included
    capgate_upstream_retries_total{operation, reason}     retries sent (reason: the status, or connect/timeout)
    capgate_circuit_state{namespace}                      0 closed, 1 half-open, 2 open
    capgate_limiter_wait_seconds{namespace}               time calls waited for the client-side rate limiter
    capgate_info{version}                                 always 1
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from capgate import __version__
from capgate.errors import ArgumentError, UpstreamError
from capgate.observe import Call

REGISTRY = CollectorRegistry()
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(_collector)

# Upstream calls take from milliseconds (an emulator) to the 60 s total timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CIRCUIT_VALUES = {"closed": 0, "half-open": 1, "open": 2}  # CircuitBreaker.state -> capgate_circuit_state

REQUESTS = Counter("capgate_requests", "Calls through the adapters, by route or tool and the status answered.",
                   ["adapter", "target", "status"], registry=REGISTRY)
IN_FLIGHT = Gauge("capgate_requests_in_flight", "HTTP requests being handled by an adapter.", ["adapter"],
                  registry=REGISTRY)
UPSTREAM_DURATION = Histogram("capgate_upstream_request_duration_seconds",
                              "Time from a call's start to the upstream's answer, retries included.",
                              ["operation"], buckets=LATENCY_BUCKETS, registry=REGISTRY)
UPSTREAM_RETRIES = Counter("capgate_upstream_retries", "Upstream requests sent again after a retryable failure.",
                           ["operation", "reason"], registry=REGISTRY)
CIRCUIT_STATE = Gauge("capgate_circuit_state", "Circuit breaker per upstream: 0 closed, 1 half-open, 2 open.",
                      ["namespace"], registry=REGISTRY)
LIMITER_WAIT = Histogram("capgate_limiter_wait_seconds", "Time calls waited for the client-side rate limiter.",
                         ["namespace"], buckets=LATENCY_BUCKETS, registry=REGISTRY)
INFO = Gauge("capgate_info", "Always 1; labels say which capgate serves.", ["version"], registry=REGISTRY)
INFO.labels(version=__version__).set(1)


async def record_call(call: Call) -> None:
    """The observer that counts each call (`Gateway.observers.add(record_call)`)."""
    REQUESTS.labels(adapter=call.adapter, target=call.target, status=status_of(call)).inc()
    if call.result is not None or isinstance(call.error, UpstreamError):  # the upstream was asked
        UPSTREAM_DURATION.labels(operation=call.operation).observe(call.seconds)


def status_of(call: Call) -> str:
    """The HTTP status the REST facade answers for this call (MCP maps the same outcomes to isError)."""
    if call.result is not None:
        return str(call.result.status)
    if isinstance(call.error, ArgumentError):
        return "400"
    return str(getattr(call.error, "status", 500))


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(REGISTRY), headers={"content-type": CONTENT_TYPE_LATEST})


class InFlight:
    """ASGI wrapper keeping `capgate_requests_in_flight{adapter}` up to date."""

    def __init__(self, app: ASGIApp, adapter: str) -> None:
        self.app = app
        self.gauge = IN_FLIGHT.labels(adapter=adapter)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.gauge.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.gauge.dec()
