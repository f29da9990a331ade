"""The pooled upstream HTTP client: the only module that knows which HTTP library capgate uses.

aiohttp, because on this kind of machine it measured ~4x lower added latency and ~11x the throughput of
httpx 0.28 under concurrency (reference/perf-baselines.md). Its exceptions are translated here, once.

An upstream is not trusted to answer sensibly. A request is sent once: aiohttp's own resend of a PUT or DELETE
after a dropped connection is turned off, because only capgate knows whether an operation is safe to repeat
(`capgate.consumes.resilience` retries those). A body is read in bounded chunks and its limit applies to what
it inflates to, so a small compressed answer cannot fill memory. A 1xx or 3xx answer (other than 304) is not
passed back: capgate asked for neither a protocol switch nor a redirect, and either would break the answer
towards the caller or send it elsewhere.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from capgate.core.destinations import forbidden
from capgate.core.errors import (
    ClientRetired,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from capgate.core.types import UpstreamResult

# Response headers kept when no list is given: what the body is and what a 405 allows.
DEFAULT_KEPT_HEADERS = ("content-type", "allow")
CHUNK_BYTES = 65536


@dataclass(frozen=True)
class Timeouts:
    """Seconds allowed to connect, to wait between bytes of the answer, and for the whole call."""

    connect: float = 5.0
    read: float = 30.0
    total: float = 60.0


@dataclass(frozen=True)
class ClientSettings:
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_connections: int = 256
    max_body_bytes: int = 16 * 1024 * 1024
    allowed_private: frozenset[str] = frozenset()  # link-local or metadata hosts the operator lets capgate call


DEFAULT_CLIENT_SETTINGS = ClientSettings()


@dataclass(frozen=True)
class UpstreamRequest:
    """A request ready to send. Its repr hides header values, which may carry credentials."""

    operation: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None = None
    display_url: str = ""  # the URL without its query string, for messages
    idempotent: bool = False  # safe to send again (consumes.resilience retries only these)
    timeouts: Timeouts | None = None  # None: the client's
    budget: str = ""  # the request budget it spends (a limiter bucket); "": its host's

    def __repr__(self) -> str:
        return f"UpstreamRequest({self.method} {self.display_url or self.url!r}, headers={sorted(self.headers)})"


class Sender(Protocol):
    """What an operation sends through: an `UpstreamClient`, or the resilient one in front of it."""

    async def send(self, request: UpstreamRequest) -> UpstreamResult: ...


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing a name that resolves to a link-local or cloud-metadata address (DNS can point
    any name there) unless the operator allowed that name or address. Literal addresses never reach a resolver:
    loading the document checks them (capgate.document.destinations)."""

    def __init__(self, allowed: frozenset[str], resolver: AbstractResolver | None = None) -> None:
        self._resolver = resolver or aiohttp.DefaultResolver()  # another: a test's stand-in for DNS
        self._allowed = {host.lower() for host in allowed}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._resolver.resolve(host, port, family)
        if host.lower().rstrip(".") in self._allowed:
            return found
        kept = [result for result in found if result["host"] in self._allowed or forbidden(result["host"]) is None]
        if found and not kept:
            address = found[0]["host"]
            raise OSError(
                errno.EACCES,
                f"{host} resolves to {address}, {forbidden(address)}; pass --allow-private-upstream {host} if "
                "this upstream is really meant",
            )
        return kept

    async def close(self) -> None:
        await self._resolver.close()


class UpstreamClient:
    """One connection pool to one upstream; opened and closed with the server's lifespan."""

    def __init__(
        self, settings: ClientSettings = DEFAULT_CLIENT_SETTINGS, *, kept_headers: Iterable[str] = DEFAULT_KEPT_HEADERS
    ) -> None:
        self.settings = settings
        self.kept_headers = tuple(name.lower() for name in kept_headers)  # the answer's headers a result keeps
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def open(self) -> None:
        if self._closed:
            raise RuntimeError("this upstream client was closed; build a new one")
        if self._session is None:
            timeouts = self.settings.timeouts
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.settings.max_connections,
                    keepalive_timeout=60,
                    resolver=GuardedResolver(self.settings.allowed_private),
                ),
                timeout=aiohttp.ClientTimeout(
                    total=timeouts.total, sock_connect=timeouts.connect, sock_read=timeouts.read
                ),
                auto_decompress=True,
                # No invented headers: a body-less POST must not claim application/octet-stream.
                skip_auto_headers=("User-Agent", "Content-Type"),
            )
            # aiohttp sends a GET, PUT or DELETE again by itself when the connection drops (RFC 9110 calls the
            # methods idempotent); a document may say otherwise, and a resend must be capgate's decision, made in
            # consumes.resilience. No public setting exists; aiohttp's own test client sets this attribute.
            self._session._retry_connection = False

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _session_for(self, request: UpstreamRequest) -> aiohttp.ClientSession:
        if self._closed:
            reason = (
                "capgate reloaded its documents or is shutting down, and the grace period (--shutdown-grace) "
                "ended while this call was in hand; nothing more was sent for it: call again"
            )
            raise self._error(ClientRetired, request, reason, connected=False)
        if self._session is None:
            await self.open()
        assert self._session is not None
        return self._session

    async def send(self, request: UpstreamRequest, *, budget: float | None = None) -> UpstreamResult:
        """Send `request` once; an HTTP error status is a result, a transport failure an UpstreamError.

        `budget` is what is left of the call's deadline, in seconds: this attempt gets no more than that.
        """
        session = await self._session_for(request)
        timeouts = request.timeouts or self.settings.timeouts
        total = timeouts.total if budget is None else min(timeouts.total, budget)
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=timeouts.connect, sock_read=timeouts.read)
        try:
            async with session.request(
                request.method,
                URL(request.url, encoded=True),
                headers=request.headers,
                data=request.body,
                allow_redirects=False,
                timeout=timeout,
            ) as response:
                return await self._result(response, request)
        except UpstreamError:
            raise
        except aiohttp.ConnectionTimeoutError as exc:
            reason = f"no answer in time: could not connect within {timeouts.connect:g}s"
            raise self._error(UpstreamTimeout, request, reason, connected=False) from exc
        except aiohttp.SocketTimeoutError as exc:
            reason = f"no answer in time: the upstream sent nothing for {timeouts.read:g}s"
            raise self._error(UpstreamTimeout, request, reason) from exc
        except TimeoutError as exc:
            reason = f"no answer in time: the call's deadline of {timeouts.total:g}s passed"
            raise self._error(UpstreamTimeout, request, reason) from exc
        except aiohttp.ClientPayloadError as exc:
            raise self._error(UpstreamProtocolError, request, _payload_problem(exc)) from exc
        except aiohttp.ClientResponseError as exc:
            raise self._error(UpstreamProtocolError, request, f"invalid HTTP response ({exc.message})") from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise self._error(UpstreamUnavailable, request, "the connection was closed before an answer") from exc
        except (aiohttp.ClientConnectionError, OSError) as exc:
            reason = getattr(exc, "strerror", None) or exc.__class__.__name__
            connected = not isinstance(exc, aiohttp.ClientConnectorError)  # else none was made: refused, DNS
            raise self._error(UpstreamUnavailable, request, f"cannot connect ({reason})", connected=connected) from exc

    async def _result(self, response: aiohttp.ClientResponse, request: UpstreamRequest) -> UpstreamResult:
        if response.status < 200 or (300 <= response.status < 400 and response.status != 304):
            response.close()  # the connection is in a state no other request can use
            raise self._error(UpstreamProtocolError, request, _unasked_for(response))
        body = await self._read_body(response, request)
        headers = {name: response.headers[name] for name in self.kept_headers if name in response.headers}
        return UpstreamResult(response.status, headers, body)

    async def _read_body(self, response: aiohttp.ClientResponse, request: UpstreamRequest) -> bytes:
        """The body as it inflates, never more than the limit of it in memory: aiohttp inflates a compressed
        body a bounded piece at a time, and the count stops the read as soon as it passes the limit."""
        limit = self.settings.max_body_bytes
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding == "identity" and response.content_length is not None and response.content_length <= limit:
            return await response.read()
        chunks, size = [], 0
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                response.close()  # stop reading: the rest of the body is not wanted
                inflated = "" if encoding == "identity" else f" once inflated (content-encoding: {encoding})"
                raise self._error(
                    UpstreamProtocolError,
                    request,
                    f"the response body is larger than {limit} bytes{inflated}; the answer cannot be used "
                    "(--max-upstream-body sets the limit)",
                )
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _error(
        kind: type[UpstreamError], request: UpstreamRequest, reason: str, *, connected: bool = True
    ) -> UpstreamError:
        return kind(request.operation, request.method, request.display_url or request.url, reason, connected=connected)


def _payload_problem(exc: aiohttp.ClientPayloadError) -> str:
    if "content-encoding" in str(exc).lower():
        return "the response body could not be inflated as its content-encoding says"
    return "the response body was cut short"


def _unasked_for(response: aiohttp.ClientResponse) -> str:
    """What the upstream did with a 1xx or 3xx answer, for the message of the 502 that replaces it."""
    status = f"HTTP {response.status} {response.reason or ''}".strip()
    if response.status < 200:
        upgrade = response.headers.get("upgrade")
        to = f" to {upgrade!r}" if upgrade else ""
        return (
            f"the upstream answered {status}, switching protocols{to}, which capgate did not ask for; "
            "an answer of that kind cannot be passed back"
        )
    location = response.headers.get("location")
    target = ""
    if location:
        parts = urlsplit(location)  # the origin only: a path or query may carry anything, a credential included
        host = parts.netloc.rpartition("@")[2]  # never a userinfo part
        target = f" to {parts.scheme}://{host}" if parts.scheme and host else " within the upstream"
    return (
        f"the upstream answered {status}, a redirect{target}; capgate follows no redirect and passes none back "
        "(point the document's baseUri, or --base-uri, at the address that answers)"
    )
