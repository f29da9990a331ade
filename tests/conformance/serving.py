"""Serve a suite document as `capgate serve` does, every adapter on a free port, in front of a routed upstream."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from capgate.document.load import load_document
from capgate.gateway.safeguards import Hardening
from capgate.serve.config import ServeConfig
from capgate.serve.server import serve
from tests.support.servers import serve_app
from tests.support.upstream import Recorded, RecordingUpstream, Reply

_READY = re.compile(r"capgate: (.+) ready on (\S+) \(([^,)]+)")


@dataclass
class Served:
    urls: dict[str, str]  # adapter namespace (`control` for the control adapter) -> its URL (MCP: …/mcp)
    lines: list[str]


class RoutedUpstream(RecordingUpstream):
    """A recording upstream answering by `METHOD /path` (the path without its query), so that concurrent steps
    get their own answers whatever the order they arrive in; unrouted requests get the JSON echo."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, Reply] = {}

    def route(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        status: int = 200,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> None:
        encoded = raw if raw is not None else orjson.dumps(body)
        self.routes[f"{method} {path}"] = Reply(status, encoded, {}, 0.0, content_type)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        recorded = Recorded.of(scope, body)
        self.requests.append(recorded)
        reply = self.routes.get(f"{recorded.method} {recorded.path}")
        if reply is None or reply.body is None:
            content = orjson.dumps({"echo": {"method": recorded.method, "path": recorded.path}})
            await Response(content, media_type="application/json")(scope, receive, send)
            return
        await Response(reply.body, status_code=reply.status, media_type=reply.content_type)(scope, receive, send)

    def sent(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]


@contextmanager
def routed_upstream() -> Iterator[RoutedUpstream]:
    upstream = RoutedUpstream()
    with serve_app(upstream) as url:
        upstream.url = url
        yield upstream


@contextmanager
def serving(
    document: str,
    upstream: str,
    *,
    environ: Mapping[str, str] | None = None,
    hardening: Hardening | None = None,
    timeout: float = 20.0,
) -> Iterator[Served]:
    """Serve `document` with every consumed namespace pointed at `upstream`, until the block ends."""
    spec = load_document(document).document
    adapters = [adapter.namespace for adapter in spec.capability.exposes]
    config = ServeConfig(
        documents=(document,),
        rest_port=0,
        mcp_port=0,
        adapter_ports={namespace: 0 for namespace in adapters},
        base_uris={consumes.namespace: upstream for consumes in spec.capability.consumes},
        environ=dict(environ or {}),
        hardening=hardening or Hardening(),
    )
    lines: list[str] = []
    ready = threading.Event()
    failure: list[BaseException] = []
    holder: dict[str, Any] = {}

    def run() -> None:
        stop = asyncio.Event()
        try:
            with asyncio.Runner() as runner:  # cancels what is still pending at the end (tests/support/gateway.py)
                holder["loop"], holder["stop"] = runner.get_loop(), stop
                runner.run(serve(config, lines.append, stop, ready=ready.set))
        except BaseException as exc:
            failure.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="conformance-gateway", daemon=True)
    thread.start()
    assert ready.wait(timeout), f"capgate did not start in {timeout} s: {lines}"
    if failure:
        raise failure[0]
    urls = {match.group(3): match.group(2) for line in lines if (match := _READY.search(line))}
    try:
        yield Served(urls, lines)
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(timeout)
