"""OpenTelemetry traces, when the `otel` extra is installed and the standard OTEL_* variables ask for them.

Off unless OTEL_TRACES_EXPORTER (otlp, console), OTEL_EXPORTER_OTLP_ENDPOINT or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (and OTEL_SDK_DISABLED is not true). When on, each inbound HTTP
request gets a server span that continues the caller's W3C `traceparent`, each upstream request a client
span, and the upstream receives `traceparent` (and `tracestate`). Off, none of this costs anything.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capgate import __version__
from capgate.observe.exchange import exchange_of

TRIGGERS = ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
INSTALL_HINT = "pip install 'capgate[otel]'"

_tracer: Any = None  # an opentelemetry Tracer once `configure` turned tracing on


def configure(environ: Mapping[str, str] | None = None, warn: Callable[[str], None] | None = None) -> bool:
    """Turn tracing on when the environment asks for it; say on stderr why not when it cannot be."""
    global _tracer
    environ = os.environ if environ is None else environ
    warn = warn or (lambda line: print(line, file=sys.stderr, flush=True))
    names = [name.strip() for name in environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",") if name.strip()]
    asked = any(environ.get(name) for name in TRIGGERS) and names != ["none"]
    if not asked or environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        warn(f"capgate: OTEL_* variables ask for traces, but OpenTelemetry is not installed; {INSTALL_HINT}")
        return False
    attributes = {"service.version": __version__}
    if not environ.get("OTEL_SERVICE_NAME") and "service.name=" not in environ.get("OTEL_RESOURCE_ATTRIBUTES", ""):
        attributes["service.name"] = "capgate"
    provider = TracerProvider(resource=Resource.create(attributes))  # flushes its spans at exit
    exporters = [exporter for name in names if (exporter := _exporter(name, environ, warn)) is not None]
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    if not exporters:
        return False
    trace.set_tracer_provider(provider)
    _tracer = trace.get_tracer("capgate", __version__)
    return True


def _exporter(name: str, environ: Mapping[str, str], warn: Callable[[str], None]) -> Any:
    if name == "console":  # stderr, because stdout may be an MCP stdio stream
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(out=sys.stderr)
    if name != "otlp":
        warn(f"capgate: OTEL_TRACES_EXPORTER={name} is not supported (use otlp or console); ignored")
        return None
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    module = f"opentelemetry.exporter.otlp.proto.{'grpc' if protocol == 'grpc' else 'http'}.trace_exporter"
    try:
        exporter = importlib.import_module(module).OTLPSpanExporter
    except ImportError:
        package = "opentelemetry-exporter-otlp-proto-grpc" if protocol == "grpc" else INSTALL_HINT
        warn(f"capgate: the OTLP {protocol or 'http/protobuf'} exporter is not installed; {package}")
        return None
    return exporter()  # reads the OTEL_EXPORTER_OTLP_* variables itself


def enabled() -> bool:
    """Whether `configure` turned tracing on: when not, nothing here needs calling."""
    return _tracer is not None


class ClientSpan:
    """The span of one upstream request, as the upstream client fills it."""

    def __init__(self, span: Any) -> None:
        self._span = span

    def carrying_context(self, headers: Mapping[str, str]) -> dict[str, str]:
        """`headers` plus `traceparent` (and `tracestate`), so the upstream continues this trace."""
        from opentelemetry import propagate

        carrier = dict(headers)
        propagate.inject(carrier)
        return carrier

    def answered(self, status: int) -> None:
        from opentelemetry.trace import Status, StatusCode

        self._span.set_attribute("http.response.status_code", status)
        if status >= 500:
            self._span.set_status(Status(StatusCode.ERROR))


@contextmanager
def client_span(operation: str, method: str, url: str) -> Iterator[ClientSpan]:
    """A client span named after the operation; `url` must hold no credential (leave the query string out,
    where an API key may travel). Only when `enabled()`."""
    from opentelemetry.trace import SpanKind

    attributes = {"http.request.method": method, "url.full": url, "capgate.operation": operation}
    with _tracer.start_as_current_span(operation, kind=SpanKind.CLIENT, attributes=attributes) as span:
        yield ClientSpan(span)


def server_spans(app: ASGIApp, adapter: str) -> ASGIApp:
    """`app` with a server span per HTTP request when tracing is on; `app` itself when it is off."""
    return app if _tracer is None else _ServerSpans(app, adapter)


class _ServerSpans:
    def __init__(self, app: ASGIApp, adapter: str) -> None:
        self.app = app
        self.adapter = adapter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from opentelemetry import propagate
        from opentelemetry.trace import SpanKind, Status, StatusCode

        carrier = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        attributes = {
            "http.request.method": scope["method"],
            "url.path": scope["path"],
            "capgate.adapter": self.adapter,
        }
        with _tracer.start_as_current_span(
            scope["method"], context=propagate.extract(carrier), kind=SpanKind.SERVER, attributes=attributes
        ) as span:

            async def send_with_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    _name_caller(span, scope)
                    span.set_attribute("http.response.status_code", message["status"])
                    if message["status"] >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            await self.app(scope, receive, send_with_status)


def _name_caller(span: Any, scope: Scope) -> None:
    """Who called, as the guard identified them (never the credential): `enduser.id` is the token id or the
    access token's subject, `capgate.client` the OAuth client it was issued to."""
    exchange = exchange_of(scope)
    caller = exchange.caller if exchange is not None else None
    if caller is not None:
        span.set_attribute("enduser.id", caller.id)
        if caller.client is not None:
            span.set_attribute("capgate.client", caller.client)
