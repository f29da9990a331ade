"""A received request, read in full once so it can be logged, matched against faults and then handled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.types import Receive, Scope


@dataclass(frozen=True)
class Incoming:
    """Method, raw path and query (still percent-encoded), headers and body of one HTTP request."""

    method: str
    raw_path: str
    query: str
    headers: Headers
    body: bytes

    def log_entry(self) -> dict[str, Any]:
        """The request as `GET /_emulator/requests` reports it."""
        return {
            "method": self.method,
            "path": self.raw_path,
            "query": self.query,
            "headers": [[name, value] for name, value in self.headers.items()],
            "body": self.body.decode("utf-8", "replace"),
        }


async def read_incoming(scope: Scope, receive: Receive) -> Incoming:
    """Read the whole request body and capture what the handlers need."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    raw_path = scope.get("raw_path") or scope["path"].encode()
    return Incoming(
        method=scope["method"].upper(),
        raw_path=raw_path.decode("latin-1"),
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=Headers(scope=scope),
        body=b"".join(chunks),
    )
