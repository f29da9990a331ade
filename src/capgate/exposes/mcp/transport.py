"""Which of the SDK's Streamable HTTP session managers answers each request to /mcp.

- JSON, stateless: every request that needs nothing more, in either protocol era: one JSON answer, the
  fastest the SDK serves.
- SSE, stateless: a request that carries a progress token (`params._meta.progressToken`). A JSON answer has
  no room for the `notifications/progress` sent while the call runs (`wait-for-run`); a stream does.
- Sessions, 2025-11-25 only, when one process holds the port: an `initialize` whose client declares the
  elicitation capability, then every request that carries the `Mcp-Session-Id` it was given (its DELETE
  ends the session; a GET is refused, as stateless: the questions need no standalone stream). Inside a
  session the answers stream, so a destructive call can send `elicitation/create` on its own stream and
  read the human's answer (`capgate.exposes.mcp.consent`). With several workers a session could not
  follow its client (the next request may reach another process), so none is offered and such clients are
  served statelessly like the others.

2026-07-28 requests have no sessions (the era removed them; a stray session id is ignored): only their
progress token routes them. The body is read once (the guard in front has usually read it already and
replays it) and looked at only as far as the routing needs: a substring test, and a parse when it matches.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from capgate.exposes.mcp.sdk import (
    HANDSHAKE_PROTOCOL_VERSIONS,
    Server,
    StreamableHTTPSessionManager,
    TransportSecuritySettings,
)

SESSION_HEADER = b"mcp-session-id"
_VERSION_HEADER = b"mcp-protocol-version"


class Routes:
    """The managers of one endpoint and the choice between them; `around(app)` runs them in `app`'s lifespan."""

    def __init__(
        self,
        server: Server[Any],
        json: StreamableHTTPSessionManager,
        *,
        security: TransportSecuritySettings,
        max_body_bytes: int,
        sessions: bool,
    ) -> None:
        self.json = json
        self._max_body = max_body_bytes
        self.streaming = _streamed(server, security, max_body_bytes, stateless=True)
        self.sessions = _streamed(server, security, max_body_bytes, stateless=False) if sessions else None

    def around(self, app: Starlette) -> None:
        """Start and stop the streaming and session managers with the SDK app's own (the JSON one)."""
        sdk_lifespan = app.router.lifespan_context

        @contextlib.asynccontextmanager
        async def lifespan(served: Any) -> AsyncIterator[Any]:
            async with sdk_lifespan(served) as state, contextlib.AsyncExitStack() as stack:
                await stack.enter_async_context(self.streaming.run())
                if self.sessions is not None:
                    await stack.enter_async_context(self.sessions.run())
                yield state

        app.router.lifespan_context = lifespan

    def takes(self, scope: Scope) -> bool:
        """A POST, or a DELETE that ends a session; anything else is answered 405 before it gets here."""
        return scope["method"] == "POST" or (scope["method"] == "DELETE" and self._in_session(scope))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._in_session(scope):
            assert self.sessions is not None
            await self.sessions.handle_request(scope, receive, send)
            return
        modern = _modern(scope)
        body, receive = await _buffered(receive, self._max_body)
        if body is None:  # too large: the SDK answers 413
            manager = self.json
        elif self.sessions is not None and not modern and _opens_session(body):
            manager = self.sessions
        elif _wants_progress(body):
            manager = self.streaming
        else:
            manager = self.json
        await manager.handle_request(scope, receive, send)

    def _in_session(self, scope: Scope) -> bool:
        return self.sessions is not None and not _modern(scope) and bool(_header(scope, SESSION_HEADER))


def _streamed(
    server: Server[Any], security: TransportSecuritySettings, max_body_bytes: int, *, stateless: bool
) -> StreamableHTTPSessionManager:
    return StreamableHTTPSessionManager(
        server,
        json_response=False,
        stateless=stateless,
        security_settings=security,
        max_request_body_size=max_body_bytes,
    )


def _modern(scope: Scope) -> bool:
    """A 2026-07-28 (or later) request: the SDK sends every version it does not know as a handshake one there."""
    version = _header(scope, _VERSION_HEADER)
    return bool(version) and version not in HANDSHAKE_PROTOCOL_VERSIONS


def _opens_session(body: bytes) -> bool:
    """An `initialize` whose client says it can ask its user (`capabilities.elicitation`)."""
    if b'"initialize"' not in body or b'"elicitation"' not in body:
        return False
    message = _message(body)
    params = message.get("params")
    capabilities = params.get("capabilities") if isinstance(params, dict) else None
    return (
        message.get("method") == "initialize"
        and isinstance(capabilities, dict)
        and isinstance(capabilities.get("elicitation"), dict)
    )


def _wants_progress(body: bytes) -> bool:
    """A request whose `params._meta` carries a progress token."""
    if b'"progressToken"' not in body:
        return False
    params = _message(body).get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and isinstance(meta.get("progressToken"), str | int)


def _message(body: bytes) -> dict[str, Any]:
    """The JSON-RPC message in `body`, or {} (the SDK answers anything malformed itself)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def _buffered(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """The request body (None past `limit` bytes, or when the client went away), and a `receive` that hands
    on what was read as it came, then whatever comes next."""
    read: list[Message] = []
    size, more = 0, True
    while more:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":
            return None, _replay(read, receive)
        size += len(message.get("body", b""))
        if size > limit:
            return None, _replay(read, receive)
        more = message.get("more_body", False)
    return b"".join(message.get("body", b"") for message in read), _replay(read, receive)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
