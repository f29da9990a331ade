"""Per-caller rate limiting of MCP tool calls and resource reads (`serve --caller-rate-limit BURST/REFILL/SECONDS`).

Each caller has its own token bucket of the upstream budget's shape: `burst` calls at once, then `refill` more
every `interval` seconds. A caller is its inbound token's id (an OAuth access token's subject); without tokens,
the address it connects from; over stdio, the one process at the other end. The buckets live in the gateway's
limiter, so with `--redis-url` every replica shares them, and without it each of N `--workers` spends 1/N of
them.

A call over the limit is refused before anything is sent upstream, with the seconds to wait before retrying.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from capgate.consumes.limiter import Limiter, RateLimit, bucket_name
from capgate.observe.exchange import exchange_of

STDIO_CALLER = "stdio"


@dataclass(frozen=True)
class Refusal:
    """A call over its caller's limit: who, and when to retry."""

    caller: str
    retry_after: float  # seconds
    limit: RateLimit

    @property
    def message(self) -> str:
        limit = self.limit
        return (
            f"Too many calls: caller {self.caller} may make {limit.burst} tool calls or resource reads at once "
            f"and {limit.refill} more every {limit.interval:g} s (the gateway's --caller-rate-limit). Nothing was "
            f"sent upstream; retry in {self.retry_after:.1f} s."
        )


class CallerLimit:
    """The per-caller budget of MCP calls, checked before each tool call and resource read."""

    def __init__(self, limiter: Limiter, limit: RateLimit) -> None:
        self.limiter = limiter
        self.limit = limit

    async def admit(self, scope: Mapping[str, Any] | None) -> Refusal | None:
        """None when the caller of the request in `scope` may call now (one call is counted); else a Refusal."""
        caller = caller_of(scope)
        wait = await self.limiter.take(bucket_name(f"mcp-caller:{caller}"), self.limit)
        return None if wait <= 0 else Refusal(caller, wait, self.limit)


def caller_of(scope: Mapping[str, Any] | None) -> str:
    """Who is calling: the inbound token's id (an access token's subject), else the client's address (`stdio`
    without an HTTP request)."""
    if scope is None:
        return STDIO_CALLER
    exchange = exchange_of(scope)
    if exchange is not None and exchange.caller is not None:
        caller = exchange.caller
        return f"sub {caller.id}" if caller.oauth else f"token {caller.id}"
    client = scope.get("client")
    return f"address {client[0]}" if client else "unknown address"
