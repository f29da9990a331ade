"""Prometheus metrics, served at /metrics on the REST port.

capgate's metrics live in their own registry (plus the process and Python collectors), shared by every
gateway of the process. The resilience code updates the retry, circuit and limiter metrics directly through
their memoised children, e.g. `upstream_retries(operation, "503").inc()` or
`circuit_state(namespace).set(CIRCUIT_VALUES[breaker.state])`:

    capgate_requests_total{adapter, target, status}       calls by adapter (rest, mcp), route or tool, and
                                                          the HTTP status answered (400 invalid input,
                                                          502/504 upstream failure, else the upstream's)
    capgate_requests_in_flight{adapter}                   requests being handled now
    capgate_upstream_request_duration_seconds{operation}  time to the upstream's answer, retries included
    capgate_upstream_retries_total{operation, reason}     retries sent (reason: the status, or connect/timeout)
    capgate_circuit_state{namespace}                      0 closed, 1 half-open, 2 open: the worst of the
                                                          upstream's own circuit and its routes'
    capgate_route_circuit_state{operation}                0 closed, 1 half-open, 2 open: one route's
    capgate_limiter_wait_seconds{namespace}               time calls waited for the client-side rate limiter
    capgate_info{version}                                 always 1

With `serve --workers N` (capgate.serve.workers) the supervisor names a directory in PROMETHEUS_MULTIPROC_DIR
before anything imports prometheus_client, which then keeps each worker's values in files there instead of
in memory; /metrics, whichever worker answers it, serves the sum of those files: counters and histograms
summed over every worker that ever ran (a dead worker's counts stay), gauges over the live ones. The process
and Python collectors are left out then: each describes one process, and summing them means nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Generic, TypeVar

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
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from capgate import __version__
from capgate.core.errors import ArgumentError, UpstreamError
from capgate.observe.records import CallRecord

REGISTRY = CollectorRegistry()
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(_collector)

# Upstream calls take from milliseconds (an emulator) to the 60 s total timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CIRCUIT_VALUES = {"closed": 0, "half-open": 1, "open": 2}  # CircuitBreaker.state -> capgate_circuit_state

REQUESTS = Counter(
    "capgate_requests",
    "Calls through the adapters, by route or tool and the status answered.",
    ["adapter", "target", "status"],
    registry=REGISTRY,
)
# With workers, a gauge's multiprocess_mode says how their values combine; a "live" mode drops a dead worker's
# value (capgate.serve.workers marks it dead), which would otherwise stay in its file forever.
IN_FLIGHT = Gauge(
    "capgate_requests_in_flight",
    "HTTP requests being handled by an adapter.",
    ["adapter"],
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
UPSTREAM_DURATION = Histogram(
    "capgate_upstream_request_duration_seconds",
    "Time from a call's start to the upstream's answer, retries included.",
    ["operation"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
UPSTREAM_RETRIES = Counter(
    "capgate_upstream_retries",
    "Upstream requests sent again after a retryable failure.",
    ["operation", "reason"],
    registry=REGISTRY,
)
# Each worker has its own breaker; the worst state shows, as "max by (namespace)" would across replicas.
CIRCUIT_STATE = Gauge(
    "capgate_circuit_state",
    "Circuit breaker per upstream, the worst of its own and its routes': 0 closed, 1 half-open, 2 open.",
    ["namespace"],
    registry=REGISTRY,
    multiprocess_mode="livemax",
)
ROUTE_CIRCUIT_STATE = Gauge(
    "capgate_route_circuit_state",
    "Circuit breaker per upstream route (consumed operation): 0 closed, 1 half-open, 2 open.",
    ["operation"],
    registry=REGISTRY,
    multiprocess_mode="livemax",
)
LIMITER_WAIT = Histogram(
    "capgate_limiter_wait_seconds",
    "Time calls waited for the client-side rate limiter.",
    ["namespace"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)


class _Info:
    """capgate_info, a constant. Not a gauge: with workers each process keeps gauge values of its own, from 0
    after the fork, so one set on import (by the supervisor) would read 0 in every worker."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("capgate_info", "Always 1; labels say which capgate serves.", labels=["version"])
        family.add_metric([__version__], 1)
        yield family


INFO = _Info()
REGISTRY.register(INFO)


def _served() -> CollectorRegistry:
    """What /metrics shows: this process's registry, or with workers every worker's files, summed at each scrape."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:  # what prometheus_client read on import, above
        return REGISTRY
    summed = CollectorRegistry()
    MultiProcessCollector(summed)  # type: ignore[no-untyped-call]  # registers itself
    summed.register(INFO)
    return summed


SERVED = _served()

Metric = TypeVar("Metric", Counter, Gauge, Histogram)


class Children(Generic[Metric]):
    """A labelled metric's children by label values (in the order of its label names), memoised.

    `metric.labels(...)` checks the names and takes the metric's lock on every call; the label sets here are
    few (routes, tools, operations, statuses), so each is looked up once and then found in a dict.
    """

    def __init__(self, metric: Metric) -> None:
        self.metric: Metric = metric
        self._children: dict[tuple[str, ...], Metric] = {}

    def __call__(self, *values: str) -> Metric:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self.metric.labels(*values)
        return child


request_count = Children(REQUESTS)
upstream_duration = Children(UPSTREAM_DURATION)
upstream_retries = Children(UPSTREAM_RETRIES)
circuit_state = Children(CIRCUIT_STATE)
route_circuit_state = Children(ROUTE_CIRCUIT_STATE)
limiter_wait = Children(LIMITER_WAIT)


async def record_call(call: CallRecord) -> None:
    """The observer that counts each call (`Gateway.observers.add(record_call)`)."""
    request_count(call.adapter, call.target, status_of(call)).inc()
    if call.result is not None or isinstance(call.error, UpstreamError):  # the upstream was asked
        upstream_duration(call.operation).observe(call.seconds)


def status_of(call: CallRecord) -> str:
    """The HTTP status the REST facade answers for this call (MCP maps the same outcomes to isError)."""
    if call.result is not None:
        return str(call.result.status)
    if isinstance(call.error, ArgumentError):
        return "400"
    return str(getattr(call.error, "status", 500))


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(SERVED), headers={"content-type": CONTENT_TYPE_LATEST})


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
