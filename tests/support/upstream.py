"""A recording upstream: a real HTTP server that remembers every request and answers as a test tells it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tests.support.servers import serve_app


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # raw, still percent-encoded
    query: str  # raw query string
    headers: dict[str, str]
    body: bytes

    @classmethod
    def of(cls, scope: Any, body: bytes) -> Recorded:
        """The request an ASGI `scope` and its read `body` describe."""
        return cls(
            scope["method"],
            scope["raw_path"].decode(),
            scope["query_string"].decode(),
            {k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body,
        )

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes | None = None  # None: a JSON echo of the request
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"
    hold: threading.Event | None = None  # answer only once the test sets it (at most HOLD_LIMIT seconds)


HOLD_LIMIT = 30.0


class RecordingUpstream:
    """ASGI app: records each request, then answers with the next queued Reply (or the default echo)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: list[Reply] = []
        self.url = ""
        self._received = threading.Condition()

    def reply(
        self,
        status: int = 200,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        raw: bytes | None = None,
        content_type: str = "application/json",
        hold: threading.Event | None = None,
    ) -> None:
        """Queue the answer to the next request; `body` is JSON-encoded, `raw` sent as is; with `hold`, the
        request is recorded at once and answered once the event is set."""
        encoded = raw if raw is not None else (None if body is None else orjson.dumps(body))
        self.replies.append(Reply(status, encoded, headers or {}, delay, content_type, hold))

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> bool:
        """Block until `count` requests have arrived (True), or `timeout` seconds have passed (False)."""
        with self._received:
            return self._received.wait_for(lambda: len(self.requests) >= count, timeout)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        recorded = Recorded.of(scope, body)
        reply = self.replies.pop(0) if self.replies else Reply()
        with self._received:
            self.requests.append(recorded)
            self._received.notify_all()
        if reply.hold is not None:
            await asyncio.to_thread(reply.hold.wait, HOLD_LIMIT)
        if reply.delay:
            await asyncio.sleep(reply.delay)  # the scenario: a slow upstream
        content = (
            reply.body
            if reply.body is not None
            else orjson.dumps({"echo": {"method": recorded.method, "path": recorded.path, "query": recorded.query}})
        )
        response = Response(content, status_code=reply.status, headers=reply.headers, media_type=reply.content_type)
        await response(scope, receive, send)

    @property
    def last(self) -> Recorded:
        assert self.requests, "the upstream received no request"
        return self.requests[-1]


@contextmanager
def recording_upstream() -> Iterator[RecordingUpstream]:
    upstream = RecordingUpstream()
    with serve_app(upstream) as url:
        upstream.url = url
        yield upstream
