"""The live service's rate limiter: an Upstash-style token bucket per `Authorization` value.

Tokens refill in whole steps (`refill` tokens every `interval`), capped at `max`. Every limited response
carries `x-ratelimit-limit`, `x-ratelimit-remaining` (never below 0) and `x-ratelimit-reset` (ms epoch of the
next refill); a request with no token left gets the 429 problem+json body below.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from trigger_emulator.responses import problem


@dataclass(frozen=True)
class Decision:
    """The limiter's verdict on one request; `remaining` is -1 when it was refused, as Upstash reports it."""

    allowed: bool
    limit: int
    remaining: int
    reset_ms: int

    def headers(self) -> dict[str, str]:
        """The `x-ratelimit-*` headers for this decision."""
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(max(0, self.remaining)),
            "x-ratelimit-reset": str(self.reset_ms),
        }


class TokenBucket:
    """Buckets keyed by the caller's `Authorization` header value."""

    def __init__(self, max_tokens: int, refill: int, interval_ms: int) -> None:
        self.max_tokens, self.refill, self.interval_ms = max_tokens, refill, interval_ms
        self._buckets: dict[str, tuple[int, int]] = {}  # key -> (refilled_at, tokens)

    def take(self, key: str, now: int) -> Decision:
        """Spend one token for `key` at `now` (epoch ms) if there is one."""
        refilled_at, tokens = self._buckets.get(key, (now, self.max_tokens))
        if now >= refilled_at + self.interval_ms:
            refills = (now - refilled_at) // self.interval_ms
            tokens = min(self.max_tokens, tokens + refills * self.refill)
            refilled_at += refills * self.interval_ms
        reset = refilled_at + self.interval_ms
        if tokens <= 0:
            self._buckets[key] = (refilled_at, 0)
            return Decision(False, self.max_tokens, -1, reset)
        self._buckets[key] = (refilled_at, tokens - 1)
        return Decision(True, self.max_tokens, tokens - 1, reset)

    def exhausted(self, now: int) -> Decision:
        """A refusal as the limiter would give it to a caller with an empty bucket (for fault injection)."""
        return Decision(False, self.max_tokens, -1, now + self.interval_ms)

    def reset(self) -> None:
        """Forget every bucket: all callers start full again."""
        self._buckets.clear()


def _js_number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def too_many_requests(decision: Decision, now: int) -> Response:
    """The 429 body the live service sends, headers included."""
    seconds = _js_number(max(0.0, (decision.reset_ms - now) / 1000))
    detail = (
        f"Rate limit exceeded {max(0, decision.remaining)}/{decision.limit} requests remaining. "
        f"Retry in {seconds} seconds."
    )
    body = {
        "title": "Rate Limit Exceeded",
        "status": 429,
        "type": "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/429",
        "detail": detail,
        "reset": decision.reset_ms,
        "limit": decision.limit,
        "remaining": decision.remaining,
        "secondsUntilReset": seconds,
        "error": detail,
    }
    response = problem(body, 429)
    response.headers.update(decision.headers())
    return response


def no_authorization() -> Response:
    """The limiter's 401 for an `/api` request without an `Authorization` header."""
    return problem(
        {
            "title": "Unauthorized",
            "status": 401,
            "type": "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/401",
            "detail": "No authorization header provided",
            "error": "No authorization header provided",
        },
        401,
    )
