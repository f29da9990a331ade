"""The pooled upstream HTTP client: the only module that knows which HTTP library capgate uses.

aiohttp, because on this kind of machine it measured ~4x lower added latency and ~11x the throughput of
httpx 0.28 under concurrency (reference/perf-baselines.md). Its exceptions are translated here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
from yarl import URL

from capgate.core.errors import UpstreamError, UpstreamProtocolError, UpstreamTimeout, UpstreamUnavailable
from capgate.core.types import UpstreamResult

# Response headers a client of the upstream relies on, passed back by both adapters.
PASSED_BACK_HEADERS = (
    "content-type",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "retry-after",
    "x-should-retry",
    "allow",
)


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

    def __repr__(self) -> str:
        return f"UpstreamRequest({self.method} {self.display_url or self.url!r}, headers={sorted(self.headers)})"


class Sender(Protocol):
    """What an operation sends through: an `UpstreamClient`, or the resilient one in front of it."""

    async def send(self, request: UpstreamRequest) -> UpstreamResult: ...


class UpstreamClient:
    """One connection pool to one upstream; opened and closed with the server's lifespan."""

    def __init__(self, settings: ClientSettings = DEFAULT_CLIENT_SETTINGS) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def open(self) -> None:
        if self._closed:
            raise RuntimeError("this upstream client was closed; build a new one")
        if self._session is None:
            timeouts = self.settings.timeouts
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.settings.max_connections, keepalive_timeout=60),
                timeout=aiohttp.ClientTimeout(
                    total=timeouts.total, sock_connect=timeouts.connect, sock_read=timeouts.read
                ),
                auto_decompress=True,
                # No invented headers: a body-less POST must not claim application/octet-stream.
                skip_auto_headers=("User-Agent", "Content-Type"),
            )

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, request: UpstreamRequest, *, budget: float | None = None) -> UpstreamResult:
        """Send `request` once; an HTTP error status is a result, a transport failure an UpstreamError.

        `budget` is what is left of the call's deadline, in seconds: this attempt gets no more than that.
        """
        if self._session is None:
            await self.open()
        assert self._session is not None
        timeouts = request.timeouts or self.settings.timeouts
        total = timeouts.total if budget is None else min(timeouts.total, budget)
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=timeouts.connect, sock_read=timeouts.read)
        try:
            async with self._session.request(
                request.method,
                URL(request.url, encoded=True),
                headers=request.headers,
                data=request.body,
                allow_redirects=False,
                timeout=timeout,
            ) as response:
                body = await self._read_body(response, request)
                headers = {name: response.headers[name] for name in PASSED_BACK_HEADERS if name in response.headers}
                return UpstreamResult(response.status, headers, body)
        except UpstreamError:
            raise
        except aiohttp.ConnectionTimeoutError as exc:
            reason = f"no answer in time: could not connect within {timeouts.connect:g}s"
            raise self._error(UpstreamTimeout, request, reason) from exc
        except aiohttp.SocketTimeoutError as exc:
            reason = f"no answer in time: the upstream sent nothing for {timeouts.read:g}s"
            raise self._error(UpstreamTimeout, request, reason) from exc
        except TimeoutError as exc:
            reason = f"no answer in time: the call's deadline of {timeouts.total:g}s passed"
            raise self._error(UpstreamTimeout, request, reason) from exc
        except aiohttp.ClientPayloadError as exc:
            raise self._error(UpstreamProtocolError, request, "the response body was cut short") from exc
        except aiohttp.ClientResponseError as exc:
            raise self._error(UpstreamProtocolError, request, f"invalid HTTP response ({exc.message})") from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise self._error(UpstreamUnavailable, request, "the connection was closed before an answer") from exc
        except (aiohttp.ClientConnectionError, OSError) as exc:
            reason = getattr(exc, "strerror", None) or exc.__class__.__name__
            raise self._error(UpstreamUnavailable, request, f"cannot connect ({reason})") from exc

    async def _read_body(self, response: aiohttp.ClientResponse, request: UpstreamRequest) -> bytes:
        limit = self.settings.max_body_bytes
        if response.content_length is not None and response.content_length <= limit:
            return await response.read()
        chunks, size = [], 0
        async for chunk in response.content.iter_chunked(65536):
            size += len(chunk)
            if size > limit:
                raise self._error(UpstreamProtocolError, request, f"the response body is larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _error(kind: type[UpstreamError], request: UpstreamRequest, reason: str) -> UpstreamError:
        return kind(request.operation, request.method, request.display_url or request.url, reason)
