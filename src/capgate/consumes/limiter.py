"""A client-side token bucket that keeps the gateway within the upstream's request budget.

A budget, when the document (`rateLimit`) or the command line (`--rate-limit`) declares one, is a token bucket:
`burst` tokens at most, `refill` more every `interval` seconds, one per request, one bucket per upstream
origin and credential: the namespaces of every document that call one origin with one key share it. With none
declared there is no bucket: the upstream's own limiter alone answers. A call that finds the bucket empty waits
for the next refill and tries again, instead of spending the upstream's budget on 429s; a call that would wait
longer than it may is sent at once, and the upstream's own limiter answers it.

The upstream's own bucket is the truth, and other clients may share the key, so what an answer says of the
budget (`capgate.consumes.signals`: units remaining, when it refills) corrects the local bucket: it never holds
more tokens than the upstream says remain, and its refills move to fall just after the upstream's
(`RESET_MARGIN`). A reset already past is ignored: it comes from an answer that crossed a refill on its way,
and heeding it could refill twice. Waiting callers re-check after each sleep, so a correction holds them back
too.

`LocalLimiter` keeps buckets in this process; `capgate.consumes.redis_limiter.RedisLimiter` shares them
between replicas through Redis, with the same algorithm in a Lua script. A bucket that has refilled to its
burst is the same as no bucket, so the local one forgets those once it holds many (every caller address of
`--caller-rate-limit` has one), as Redis expires its keys.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from capgate.core.errors import ConfigurationError

MAX_RESET_AHEAD = 300.0  # seconds; a reset further ahead is a clock gone wrong, not a plan to follow
# Seconds after the upstream's reset that the local bucket refills: a call sent on the dot of the reset can reach
# the upstream a moment before its own refill (its clock and ours differ by a few ms at least), and get a 429.
RESET_MARGIN = 0.05
SWEEP_AT = 10_000  # buckets held before the full ones are forgotten; the threshold then doubles with what is left
DEFAULT_QUEUE_WAIT = 10.0  # seconds a call may queue for a token, unless the document or the flag says


@dataclass(frozen=True)
class RateLimit:
    """`burst` requests at once, then `refill` more every `interval` seconds; `wait` is the longest queueing."""

    burst: int
    refill: int
    interval: float
    wait: float = DEFAULT_QUEUE_WAIT
    parts: int = 1  # processes that each spend this part of the budget on their own (`serve --workers`)

    def __post_init__(self) -> None:
        if self.burst < 1 or self.refill < 1 or self.interval <= 0 or self.wait < 0:
            raise ValueError("a rate limit needs burst >= 1, refill >= 1, interval > 0 and wait >= 0")

    def divided(self, parts: int) -> RateLimit:
        """The part of this budget each of `parts` processes may spend, so that together they stay within it."""
        if parts == 1:
            return self
        if self.burst < parts or self.refill < parts:
            raise ConfigurationError(
                f"the request budget {self.burst}/{self.refill}/{self.interval:g}s cannot be "
                f"divided between {parts} workers (each needs 1 request of its burst and of "
                "its refill); share it whole through Redis with --redis-url, or run fewer "
                "workers"
            )
        return replace(self, burst=self.burst // parts, refill=self.refill // parts, parts=parts)


class Limiter(Protocol):
    """Where tokens come from."""

    async def take(self, bucket: str, limit: RateLimit) -> float:
        """0 when a token was taken; otherwise the seconds until the next refill (nothing taken)."""

    async def observe(self, bucket: str, limit: RateLimit, remaining: int, reset: float) -> None:
        """The upstream says `remaining` tokens are left until its next refill at `reset` (epoch seconds)."""

    async def close(self) -> None:
        """Release connections, if any."""


def bucket_name(credential: str) -> str:
    """A bucket's name: a digest of the upstream credential, so the credential itself is never stored."""
    return hashlib.sha256(credential.encode()).hexdigest()[:32]


@dataclass
class _Bucket:
    tokens: int
    refilled_at: float  # epoch seconds of the last refill step
    full_at: float = 0.0  # epoch seconds from which it holds its burst again, if nothing is taken

    def spent(self, limit: RateLimit) -> None:
        """Note when the bucket will be full again, after its tokens changed."""
        self.full_at = self.refilled_at + math.ceil((limit.burst - self.tokens) / limit.refill) * limit.interval


class LocalLimiter:
    """Token buckets in this process; `clock` gives epoch seconds."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._clock = clock
        self._sweep_at = SWEEP_AT

    def __len__(self) -> int:
        return len(self._buckets)

    def _bucket(self, name: str, limit: RateLimit, now: float) -> _Bucket:
        bucket = self._buckets.get(name)
        if bucket is None:
            if len(self._buckets) >= self._sweep_at:
                self._forget_full(now)
            bucket = self._buckets[name] = _Bucket(limit.burst, now)
        if now >= bucket.refilled_at + limit.interval:
            steps = math.floor((now - bucket.refilled_at) / limit.interval)
            bucket.tokens = min(limit.burst, bucket.tokens + steps * limit.refill)
            bucket.refilled_at += steps * limit.interval
        return bucket

    def _forget_full(self, now: float) -> None:
        self._buckets = {name: bucket for name, bucket in self._buckets.items() if bucket.full_at > now}
        # Amortised: a sweep that freed little is not repeated until the table has doubled.
        self._sweep_at = max(SWEEP_AT, 2 * len(self._buckets))

    async def take(self, bucket: str, limit: RateLimit) -> float:
        now = self._clock()
        state = self._bucket(bucket, limit, now)
        if state.tokens > 0:
            state.tokens -= 1
            state.spent(limit)
            return 0.0
        return max(0.001, state.refilled_at + limit.interval - now)

    async def observe(self, bucket: str, limit: RateLimit, remaining: int, reset: float) -> None:
        now = self._clock()
        if reset <= now:
            return
        state = self._bucket(bucket, limit, now)
        state.tokens = min(state.tokens, max(0, remaining // limit.parts))  # this process's part of what is left
        state.refilled_at = min(reset + RESET_MARGIN, now + MAX_RESET_AHEAD) - limit.interval
        state.spent(limit)

    async def close(self) -> None:
        return None
