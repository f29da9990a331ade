"""A circuit breaker per upstream: after repeated failures, fail fast for a cool-down, then let one probe through.

    closed ──(N failures in a row)──> open ──(cool-down elapsed)──> half-open ──(probe succeeds)──> closed
                                        ^                               │
                                        └────────(probe fails)──────────┘

A failure is an answer that says the upstream itself is unwell: no connection, a timeout, or HTTP 502, 503 or
504. Any other answer, 4xx and 500 included, is the upstream working as designed and counts as a success.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

UNWELL_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class BreakerSettings:
    """`failures` in a row open the circuit for `cooldown` seconds; 0 failures turns the breaker off."""

    failures: int = 5
    cooldown: float = 30.0


class CircuitBreaker:
    """The state of one upstream's circuit; not thread-safe, used from one event loop."""

    def __init__(self, settings: BreakerSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        """`closed`, `open` or `half-open`, as /readyz or metrics may show it."""
        if self._opened_at is None:
            return "closed"
        return "half-open" if self._clock() - self._opened_at >= self.settings.cooldown else "open"

    def admit(self) -> float | None:
        """None when a call may go ahead; otherwise the seconds until the next probe may be tried."""
        if self._opened_at is None or self.settings.failures <= 0:
            return None
        remaining = self.settings.cooldown - (self._clock() - self._opened_at)
        if remaining > 0:
            return remaining
        if self._probing:  # one probe at a time; the others keep failing fast until it answers
            return 1.0
        self._probing = True
        return None

    def record(self, *, healthy: bool) -> None:
        """Count the outcome of an admitted call."""
        self._probing = False
        if healthy:
            self._failures, self._opened_at = 0, None
            return
        self._failures += 1
        if self._opened_at is not None or self._failures >= self.settings.failures > 0:
            self._opened_at = self._clock()  # (re)open: a failed probe starts a new cool-down

    def forget(self) -> None:
        """An admitted call ended without an outcome (cancelled): let another probe through."""
        self._probing = False
