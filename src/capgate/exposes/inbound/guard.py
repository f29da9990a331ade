"""The guard in front of each adapter: who is calling, whether they may, and whether the request is sane.

In order, before the adapter sees the request:
1. Host and Origin must be allowed (`capgate.exposes.inbound.origins`), so that a web page cannot drive a
   gateway on this machine (DNS rebinding, cross-site POSTs to cancel or replay). On MCP the SDK checks its
   copy of the same lists afterwards; capgate checks first because the SDK's port patterns match by prefix.
2. The request target (path and query) is at most `max_target` bytes, else 414.
3. With tokens or OAuth configured, a valid bearer token is required (401), except on the probe and docs paths
   (`capgate.exposes.inbound.authentication`, which also answers the OAuth resource metadata).
   REST: a `read` token may use GET and HEAD only (403 otherwise).
   MCP: the JSON-RPC body is read and checked as REST bodies are (`capgate.exposes.inbound.body`: size once
   inflated, JSON only, depth, time; the SDK then gets the checked bytes); a `read` token calling a tool that
   is not read-only gets 403, and its `tools/list` shows only read-only tools (`capgate.exposes.mcp.server`).
Then it writes one access log line when the response is done, whatever happened.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capgate.core.bounds import DEFAULT_MAX_TARGET_BYTES
from capgate.core.errors import ArgumentError
from capgate.core.http import CLIENT_CLOSED_REQUEST, SAFE_METHODS
from capgate.exposes.inbound.authentication import Authentication
from capgate.exposes.inbound.body import BodyLimits, BodyRefused, ClientGone, parse_json, read_body
from capgate.exposes.inbound.origins import Origins
from capgate.exposes.problem import problem
from capgate.observe.exchange import SCOPE_KEY, Exchange
from capgate.observe.logs import log_access

JSONRPC_PARSE_ERROR = -32700


@dataclass(frozen=True)
class GuardSettings:
    authentication: Authentication
    body: BodyLimits = BodyLimits()
    max_target: int = DEFAULT_MAX_TARGET_BYTES


class Guard:
    """ASGI middleware around one adapter's app; `write_tools` is given for MCP (tools that are not read-only)."""

    def __init__(
        self,
        app: ASGIApp,
        adapter: str,
        settings: GuardSettings,
        *,
        origins: Origins | None = None,
        write_tools: frozenset[str] | None = None,
    ) -> None:
        self.app = app
        self.adapter = adapter
        self.settings = settings
        self._origins = origins
        self._write_tools = write_tools

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = Exchange(self.adapter, scope["method"], scope["path"])
        scope[SCOPE_KEY] = exchange

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
            await send(message)

        try:
            await self._handle(scope, receive, send_noting_status, exchange)
        finally:
            exchange.seconds = time.perf_counter() - exchange.started
            log_access(exchange)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, exchange: Exchange) -> None:
        refusal = await self._check_request(scope, exchange)
        if refusal is None and self._write_tools is not None and scope["method"] == "POST":
            try:
                body = await read_body(scope, receive, self.settings.body, since=exchange.started)
                parsed = parse_json(body, self.settings.body.max_depth)
            except ClientGone:
                exchange.refused, exchange.status = "client gone", CLIENT_CLOSED_REQUEST
                return  # nobody is left to answer
            except BodyRefused as exc:
                # The rest of the body is unread: the connection cannot carry another request.
                answer = problem(exc.status, exc.title, exc.detail, headers={"Connection": "close"})
                refusal = _refuse(exchange, exc.reason, answer)
            except ArgumentError as exc:  # what the SDK answers to JSON it cannot parse, from a stricter parser
                refusal = _refuse(exchange, "not json", _jsonrpc_parse_error(f"the request body {exc.errors[0][1]}"))
            else:
                refusal = self._check_tools(scope, parsed, exchange)
                scope, receive = _with_body(scope, body), _replay(body, receive)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _check_request(self, scope: Scope, exchange: Exchange) -> Response | None:
        if self._origins is not None:
            misdirected = self._misdirected(_header(scope, b"host"), _header(scope, b"origin"))
            if misdirected is not None:
                return _refuse(exchange, "host or origin", misdirected)
        target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        if target > self.settings.max_target:
            return _refuse(
                exchange,
                "target too long",
                problem(
                    414,
                    "URI Too Long",
                    f"the request's path and query are {target} bytes; at most "
                    f"{self.settings.max_target} are accepted. Send fewer or shorter query parameters",
                ),
            )
        authentication = self.settings.authentication
        answer = await authentication.admit(scope, exchange, _header(scope, b"authorization"))
        if answer is not None:
            return answer
        if self._write_tools is None and exchange.read_only and scope["method"] not in SAFE_METHODS:
            return authentication.insufficient_scope(scope, exchange, f"{scope['method']} changes things")
        return None

    def _misdirected(self, host: str, origin: str) -> Response | None:
        """421 for a Host that is not this gateway's, 403 for an Origin not allowed (`origins.Origins`)."""
        assert self._origins is not None
        if not self._origins.host_ok(host):
            return problem(
                421,
                "Misdirected Request",
                f"Host {host!r} is not a name this gateway answers to; the "
                "operator can allow it with --allow-host HOST:PORT",
            )
        if not self._origins.origin_ok(origin):
            return problem(
                403,
                "Forbidden",
                f"Origin {origin!r} may not call this gateway (a web page cannot use "
                "it unless allowed); the operator can allow it with --allow-origin ORIGIN",
            )
        return None

    def _check_tools(self, scope: Scope, parsed: Any, exchange: Exchange) -> Response | None:
        """For MCP: note the JSON-RPC method and tool, and refuse a read token a tool that is not read-only."""
        assert self._write_tools is not None
        for message in parsed if isinstance(parsed, list) else [parsed]:
            if not isinstance(message, dict) or not isinstance(message.get("method"), str):
                continue
            params = message.get("params")
            tool = params.get("name") if message["method"] == "tools/call" and isinstance(params, dict) else None
            exchange.route = message["method"] + (f" {tool}" if isinstance(tool, str) else "")
            if exchange.read_only and tool in self._write_tools:
                return self.settings.authentication.insufficient_scope(
                    scope, exchange, f"the tool {tool} is not read-only"
                )
        return None


def _header(scope: Scope, name: bytes) -> str:
    """The first value of header `name` (lower case, as ASGI gives names), or "": what Starlette's
    `Request(scope).headers.get(...)` answers, without building a `Request` per check."""
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return ""


def _refuse(exchange: Exchange, reason: str, response: Response) -> Response:
    exchange.refused = reason
    return response


def _jsonrpc_parse_error(message: str) -> Response:
    error = {"jsonrpc": "2.0", "id": None, "error": {"code": JSONRPC_PARSE_ERROR, "message": f"Parse error: {message}"}}
    return Response(orjson.dumps(error), status_code=400, media_type="application/json")


def _with_body(scope: Scope, body: bytes) -> Scope:
    """`scope` as the SDK must see the body it is handed: inflated, of this length."""
    if not any(name == b"content-encoding" for name, _ in scope["headers"]):
        return scope
    headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")]
    return {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the already-read body to the app, then whatever comes next (a disconnect)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
