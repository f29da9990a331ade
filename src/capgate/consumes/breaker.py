"""Circuit breakers, the way resilience4j's work: a failure rate over a sliding window opens one, probes close it.

    closed ──(failure rate ≥ R % of at least M calls in the last W s)──> open ──(cool-down)──> half-open
      ^                                                                   ^                        │
      └────────────────────(fewer than R % of the probes fail)────────────┴──(R % of them fail)────┘

While closed, every outcome goes into a window of the last `window` seconds (in tenths of it, so old outcomes
leave it step by step). Once it holds at least `min_calls` outcomes and at least `failure_rate` per cent of
them are failures, the circuit opens: every call fails fast, without reaching the upstream, for `cooldown`
seconds. Then it is half-open: `PROBES` calls are let through (the others keep failing fast), and when they
have answered, the circuit closes with an empty window, or opens for another cool-down if `failure_rate` per
cent of them failed (as soon as that many have).

What counts as a failure is the caller's to say (`capgate.consumes.resilience`: upstream faults only, never a
caller's 4xx). An outcome of a call admitted before the state last changed is not counted: it says nothing of
the state since (a call that went out while closed and fails while open would otherwise prolong the cool-down).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

PROBES = 3  # calls let through a half-open circuit, as resilience4j's permittedNumberOfCallsInHalfOpenState
PROBE_BUSY_WAIT = 1.0  # seconds a refused call is told to wait while the probes are out


@dataclass(frozen=True)
class BreakerSettings:
    """Open on `failure_rate` per cent failures among at least `min_calls` in `window` seconds, for `cooldown`
    seconds; a `failure_rate` of 0 turns the breaker off."""

    failure_rate: float = 50.0
    min_calls: int = 20
    window: float = 30.0
    cooldown: float = 30.0

    def __post_init__(self) -> None:
        if not 0 <= self.failure_rate <= 100 or self.min_calls < 1 or self.window <= 0 or self.cooldown <= 0:
            raise ValueError("a breaker needs 0 <= failure_rate <= 100, min_calls >= 1, window > 0 and cooldown > 0")

    @property
    def enabled(self) -> bool:
        return self.failure_rate > 0


@dataclass(frozen=True)
class Ticket:
    """What `admit` hands a call that may go: bring it back to `record` or `forget`."""

    epoch: int  # the breaker's state changes since it was built, when the call was admitted
    probe: bool


class CircuitBreaker:
    """The circuit of one upstream or one route; not thread-safe, used from one event loop."""

    def __init__(self, settings: BreakerSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._step = settings.window / 10
        self._slots: deque[list[float]] = deque()  # [slot start, calls, failures], oldest first
        self._calls = 0
        self._failures = 0
        self._opened_at: float | None = None
        self._half_open = False
        self._probes_out = 0
        self._probes_done = 0
        self._probes_failed = 0
        self._epoch = 0
        self.opened_because = ""  # why it last opened, for the message of a call refused

    @property
    def state(self) -> str:
        """`closed`, `open` or `half-open`, as metrics show it."""
        if self._opened_at is None:
            return "closed"
        return "half-open" if self._half_open or self._cooled_down() else "open"

    def admit(self) -> Ticket | float:
        """A Ticket when a call may go ahead; otherwise the seconds until it may be tried again."""
        if self._opened_at is None:
            return Ticket(self._epoch, probe=False)
        if not self._half_open:
            remaining = self.settings.cooldown - (self._clock() - self._opened_at)
            if remaining > 0:
                return remaining
            self._half_open, self._probes_out, self._probes_done, self._probes_failed = True, 0, 0, 0
            self._epoch += 1
        if self._probes_out + self._probes_done >= PROBES:
            return PROBE_BUSY_WAIT
        self._probes_out += 1
        return Ticket(self._epoch, probe=True)

    def record(self, ticket: Ticket, *, failed: bool) -> None:
        """Count the outcome of a call admitted with `ticket`."""
        if ticket.epoch != self._epoch:
            return
        if not ticket.probe:
            self._count(failed)
            return
        self._probes_out -= 1
        self._probes_done += 1
        self._probes_failed += failed
        if self._probes_failed * 100 >= self.settings.failure_rate * PROBES:
            self._open(f"{self._probes_failed} of the {PROBES} probe calls failed")
        elif self._probes_done >= PROBES:
            self._close()

    def forget(self, ticket: Ticket) -> None:
        """A call admitted with `ticket` ended without an outcome (cancelled): its probe turn goes to another."""
        if ticket.probe and ticket.epoch == self._epoch:
            self._probes_out -= 1

    def _count(self, failed: bool) -> None:
        now = self._clock()
        start = now - now % self._step
        if not self._slots or self._slots[-1][0] != start:
            self._slots.append([start, 0, 0])
        slot = self._slots[-1]
        slot[1] += 1
        slot[2] += failed
        self._calls += 1
        self._failures += failed
        while self._slots and self._slots[0][0] <= now - self.settings.window:
            _, calls, failures = self._slots.popleft()
            self._calls -= int(calls)
            self._failures -= int(failures)
        settings = self.settings
        if (
            failed
            and settings.enabled
            and self._calls >= settings.min_calls
            and self._failures * 100 >= settings.failure_rate * self._calls
        ):
            rate = math.floor(self._failures * 100 / self._calls)
            self._open(f"{self._failures} of the last {self._calls} calls failed ({rate}%) in {settings.window:g}s")

    def _open(self, because: str) -> None:
        self._opened_at = self._clock()
        self._half_open = False
        self.opened_because = because
        self._epoch += 1

    def _close(self) -> None:
        self._opened_at = None
        self._half_open = False
        self._slots.clear()
        self._calls = self._failures = 0
        self._epoch += 1

    def _cooled_down(self) -> bool:
        return self._opened_at is not None and self._clock() - self._opened_at >= self.settings.cooldown
