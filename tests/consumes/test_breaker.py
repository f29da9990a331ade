"""The circuit breaker's states, on a clock the test moves: no server, no waiting."""

from __future__ import annotations

from capgate.consumes.breaker import PROBE_BUSY_WAIT, BreakerSettings, CircuitBreaker, Ticket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def outcomes(breaker: CircuitBreaker, *failed: bool) -> None:
    for failure in failed:
        ticket = breaker.admit()
        assert isinstance(ticket, Ticket), f"refused: {ticket}"
        breaker.record(ticket, failed=failure)


def test_the_breaker_opens_on_a_failure_rate_of_enough_calls_in_the_window() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerSettings(failure_rate=50, min_calls=4, window=10, cooldown=5), clock=clock)
    outcomes(breaker, True, True, True)  # 100%, but only 3 calls
    assert breaker.state == "closed"
    clock.now = 11.0  # they leave the window
    outcomes(breaker, False, False, True)  # 1 of 3 in the window
    assert breaker.state == "closed"
    outcomes(breaker, True)  # 2 of 4: 50%
    assert breaker.state == "open" and breaker.admit() == 5
    assert breaker.opened_because == "2 of the last 4 calls failed (50%) in 10s"


def test_a_half_open_breaker_lets_three_probes_through_and_closes_unless_they_fail() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerSettings(failure_rate=50, min_calls=2, window=10, cooldown=5), clock=clock)
    outcomes(breaker, True, True)
    stale = Ticket(0, probe=False)  # admitted before the circuit opened
    clock.now = 5.0
    assert breaker.state == "half-open"
    probes = [breaker.admit() for _ in range(4)]
    assert all(isinstance(p, Ticket) and p.probe for p in probes[:3]) and probes[3] == PROBE_BUSY_WAIT
    breaker.record(stale, failed=True)  # says nothing of the state since: not counted
    first, second, third = (p for p in probes[:3] if isinstance(p, Ticket))
    breaker.record(first, failed=True)
    breaker.forget(second)  # cancelled: its turn goes to another call
    assert breaker.state == "half-open" and isinstance(breaker.admit(), Ticket)
    breaker.record(third, failed=True)  # 2 of 3 probes failed: open again
    assert breaker.state == "open" and breaker.opened_because == "2 of the 3 probe calls failed"
    clock.now = 10.0
    outcomes(breaker, False, True, False)  # 1 of 3 failed: closed, with an empty window
    assert breaker.state == "closed"
    outcomes(breaker, True)
    assert breaker.state == "closed"


def test_a_failure_rate_of_0_turns_the_breaker_off() -> None:
    breaker = CircuitBreaker(BreakerSettings(failure_rate=0, min_calls=1))
    outcomes(breaker, *[True] * 50)
    assert breaker.state == "closed"
