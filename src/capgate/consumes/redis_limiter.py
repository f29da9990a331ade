"""Token buckets shared through Redis, for replicas or workers that use one upstream key (`--redis-url`).

Each bucket is one Redis hash updated by a Lua script, so a reservation is atomic across every process, and
time comes from the Redis server's clock, so the replicas' clocks need not agree. The script is the same
algorithm as `LocalLimiter` (see `capgate.consumes.limiter`). If Redis stops answering, calls fall back to
the in-process buckets and a warning is logged at most once a minute: an outage of the limiter must not
become an outage of the gateway, and the upstream's own limiter still stands behind it.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

from capgate.consumes.limiter import MAX_RESET_AHEAD, RESET_MARGIN, LocalLimiter, RateLimit
from capgate.core.errors import ConfigurationError

logger = logging.getLogger("capgate.limiter")

KEY_PREFIX = "capgate:ratelimit:"

# KEYS[1] bucket; ARGV burst, refill, interval_ms, then "take", or "observe" with remaining, reset_ms, the
# furthest reset believed, in ms ahead, and the ms after the reset that the bucket refills (RESET_MARGIN).
# take returns 0 when a token was taken, else the ms until the next refill; observe returns 0.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local burst, refill, interval = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
if now >= at + interval then
  local steps = math.floor((now - at) / interval)
  tokens = math.min(burst, tokens + steps * refill)
  at = at + steps * interval
end
local result = 0
if ARGV[4] == 'observe' then
  local reset = tonumber(ARGV[6])
  if reset <= now then return 0 end
  tokens = math.min(tokens, math.max(0, tonumber(ARGV[5])))
  at = math.min(reset + tonumber(ARGV[8]), now + tonumber(ARGV[7])) - interval
elseif tokens > 0 then
  tokens = tokens - 1
else
  result = math.max(1, at + interval - now)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', at)
redis.call('PEXPIRE', KEYS[1], interval * (math.ceil(burst / refill) + 1))
return result
"""


class RedisLimiter:
    """Buckets in Redis at `url`; `connect()` checks it answers before the gateway starts."""

    def __init__(self, url: str) -> None:
        try:
            import redis.asyncio as redis
        except ImportError:
            raise ConfigurationError("--redis-url needs the redis client: pip install 'capgate[redis]'") from None
        self.url = url
        self._redis: Any = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._script = self._redis.register_script(_SCRIPT)
        self._fallback = LocalLimiter()
        self._warned_at = 0.0

    async def connect(self) -> None:
        try:
            await self._redis.ping()
        except Exception as exc:
            raise ConfigurationError(
                f"--redis-url: cannot reach Redis at {_shown(self.url)} ({exc}); start it, "
                "fix the URL, or leave --redis-url out to limit in this process"
            ) from None

    async def take(self, bucket: str, limit: RateLimit) -> float:
        try:
            wait_ms = await self._run(bucket, limit, "take")
        except Exception as exc:  # any Redis or network failure: fall back, never fail the call
            self._warn(exc)
            return await self._fallback.take(bucket, limit)
        return float(wait_ms) / 1000

    async def observe(self, bucket: str, limit: RateLimit, remaining: int, reset: float) -> None:
        try:
            await self._run(
                bucket,
                limit,
                "observe",
                remaining,
                round(reset * 1000),
                round(MAX_RESET_AHEAD * 1000),
                round(RESET_MARGIN * 1000),
            )
        except Exception as exc:
            self._warn(exc)
            await self._fallback.observe(bucket, limit, remaining, reset)

    async def close(self) -> None:
        await self._redis.aclose()

    async def _run(self, bucket: str, limit: RateLimit, *action: str | int) -> Any:
        return await self._script(
            keys=[KEY_PREFIX + bucket], args=[limit.burst, limit.refill, round(limit.interval * 1000), *action]
        )

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= 60 or not self._warned_at:
            self._warned_at = now
            logger.warning(
                "Redis at %s is not answering (%s); limiting in this process until it is back",
                _shown(self.url),
                exc.__class__.__name__,
            )


def _shown(url: str) -> str:
    """The URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
