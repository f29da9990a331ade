"""A request body as both adapters take it: JSON, bounded in size (once inflated), in depth and in time.

The REST router reads every body through `read_body` and `parse_json` (`capgate.exposes.rest.app`); the guard
reads every MCP POST through them and hands the SDK the checked bytes. Before anything is sent upstream, a
body is refused when
- its Content-Type is not JSON (415): a web page may send text/plain, form and multipart bodies to any origin
  without asking first (CORS "simple requests"), so only JSON is taken; a body without a Content-Type is read
  as JSON;
- its Content-Encoding is not gzip, deflate or identity (415), or it does not inflate (400);
- it is larger than `max_bytes` as sent or once inflated (413), counted as it arrives and inflates, so a small
  gzip bomb costs `max_bytes` of memory, not what it would inflate to;
- it has not all arrived `timeout` seconds after the request's headers did (408);
- it is not JSON as RFC 8259 defines it: NaN, Infinity, a number out of range, invalid UTF-8 (400);
- it nests arrays and objects more than `max_depth` deep (400).
A client that goes away before its body has arrived raises `ClientGone`: there is nobody left to answer.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Receive, Scope

from capgate.core.bounds import DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_JSON_DEPTH
from capgate.core.errors import ArgumentError

# zlib's wbits for each Content-Encoding it inflates; 32 + MAX_WBITS reads a zlib or a gzip header, whichever
# it finds (some clients label zlib data gzip, and HTTP's "deflate" is zlib data).
_INFLATE_WBITS = {"gzip": 32 + zlib.MAX_WBITS, "x-gzip": 32 + zlib.MAX_WBITS, "deflate": 32 + zlib.MAX_WBITS}


@dataclass(frozen=True)
class BodyLimits:
    """What one request body may be: `--max-body`, `--max-json-depth`, `--body-timeout`."""

    max_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_depth: int = DEFAULT_MAX_JSON_DEPTH
    timeout: float = DEFAULT_BODY_TIMEOUT


class BodyRefused(Exception):
    """The body cannot be read as sent (413, 415, 408); the answer closes the connection, whose rest is unread."""

    def __init__(self, status: int, title: str, detail: str, reason: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.reason = reason  # what the access log says, e.g. "body too large"


class ClientGone(Exception):
    """The client closed the connection before its whole body arrived."""


async def read_body(scope: Scope, receive: Receive, limits: BodyLimits, *, since: float | None = None) -> bytes:
    """The whole body, inflated; `since` is the `time.perf_counter()` its headers arrived at (default: now)."""
    headers = _headers(scope)
    declared = headers.get("content-length", "")
    carries_body = "transfer-encoding" in headers or declared not in ("", "0")
    media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    if carries_body and media_type and not _is_json(media_type):  # some clients label even no body
        raise BodyRefused(
            415,
            "Unsupported Media Type",
            f"the body is sent as {media_type}; this gateway takes JSON only: send it with "
            "Content-Type: application/json",
            "not json",
        )
    inflate = _inflater(headers.get("content-encoding", ""), limits.max_bytes)
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise _too_large(limits.max_bytes)
    elapsed = 0.0 if since is None else time.perf_counter() - since
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(max(limits.timeout - elapsed, 0.0)):
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    raise ClientGone
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limits.max_bytes:
                    raise _too_large(limits.max_bytes)
                chunks.append(inflate.feed(chunk) if inflate else chunk)
                more = message.get("more_body", False)
    except TimeoutError:
        raise BodyRefused(
            408,
            "Request Timeout",
            f"the request body did not arrive within {limits.timeout:g} seconds of its headers; send it "
            "whole, at once (the operator can allow more with --body-timeout)",
            "body timeout",
        ) from None
    if inflate:
        inflate.finish()
    return b"".join(chunks)


def parse_json(raw: bytes, max_depth: int) -> Any:
    """`raw` as JSON (None when it is blank); ArgumentError, naming `body`, when it is not JSON or too deep."""
    if not raw.strip():
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = exc.args[0]
        if "depth" in reason or "recursion" in reason:  # orjson's own limit, far above any --max-json-depth
            raise _too_deep(max_depth) from None
        raise ArgumentError([("body", f"is not valid JSON ({reason}); send a JSON document")]) from None
    # Cheap first: a body with few brackets cannot be deep, whatever they are (in strings or not).
    if raw.count(b"[") + raw.count(b"{") > max_depth and _deeper_than(value, max_depth):
        raise _too_deep(max_depth)
    return value


def _too_deep(max_depth: int) -> ArgumentError:
    reason = f"nests arrays and objects more than {max_depth} deep; send a flatter document"
    return ArgumentError([("body", reason + " (the operator can allow more with --max-json-depth)")])


def _deeper_than(value: Any, limit: int) -> bool:
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _is_json(media_type: str) -> bool:
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def _headers(scope: Scope) -> dict[str, str]:
    """The headers that decide how a body is read, by lower-case name (the first of each)."""
    wanted = (b"content-type", b"content-encoding", b"content-length", b"transfer-encoding")
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name in wanted and name.decode() not in found:
            found[name.decode()] = value.decode("latin-1")
    return found


def _inflater(encoding: str, limit: int) -> _Inflater | None:
    """None for an identity body, else what inflates it."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    wbits = _INFLATE_WBITS.get(encoding)
    if wbits is None:
        raise BodyRefused(
            415,
            "Unsupported Media Type",
            f"the body's Content-Encoding {encoding!r} is not one this gateway inflates; send it as gzip, "
            "deflate or uncompressed",
            "content encoding",
        )
    return _Inflater(encoding, wbits, limit)


class _Inflater:
    """Inflates a body chunk by chunk, and refuses it as soon as it passes `limit` bytes."""

    def __init__(self, encoding: str, wbits: int, limit: int) -> None:
        self._encoding = encoding
        self._decompressor = zlib.decompressobj(wbits)
        self._limit = limit
        self._produced = 0

    def feed(self, chunk: bytes) -> bytes:
        parts = []
        while chunk:
            if self._decompressor.eof:
                raise self._broken("data follows the end of its compressed stream")
            try:  # at most one byte more than allowed, which is enough to know it is too large
                part = self._decompressor.decompress(chunk, self._limit - self._produced + 1)
            except zlib.error as exc:
                raise self._broken(str(exc)) from None
            self._produced += len(part)
            if self._produced > self._limit:
                raise _too_large(self._limit, inflated=True)
            parts.append(part)
            chunk = self._decompressor.unconsumed_tail or self._decompressor.unused_data
        return b"".join(parts)

    def finish(self) -> None:
        if not self._decompressor.eof:
            raise self._broken("it ends before its compressed stream does")

    def _broken(self, why: str) -> ArgumentError:
        return ArgumentError([("body", f"is labelled Content-Encoding {self._encoding} but does not inflate: {why}")])


def _too_large(limit: int, *, inflated: bool = False) -> BodyRefused:
    what = "inflates to more than" if inflated else "is larger than"
    return BodyRefused(
        413,
        "Content Too Large",
        f"the request body {what} {limit} bytes, the most this gateway accepts (--max-body)",
        "body too large",
    )
