"""Regression guard: a short, bounded benchmark smoke run, not a timed assertion.

It fails only when capgate falls into the regime an httpx-like upstream client produced in
reference/perf-baselines.md (p50 ~12x direct, throughput ~0.02x the nginx hop), so that a dependency change
cannot silently make the gateway ten times slower. Everything runs on loopback: a static nginx upstream, the
reference nginx proxy hop, the framework-free floor of bench/floors.py (an ASGI app of a few lines on uvicorn
forwarding through aiohttp) and `capgate serve` as a user runs it, each driven by wrk for 2 s.

Bounds (issue 5, "Regression guard": p50 >= 8x direct or throughput <= 0.05x the nginx hop is the httpx-like
regime). Both were set on a machine where a bare aiohttp pass-through (the floor) measured 3.5x direct and
0.21x the nginx hop. Where loopback syscalls cost more, the floor itself sits closer to those lines (on the
bench VM: ~9x direct, ~0.15x the hop), so the same regime boundary is scaled by where this machine's floor
sits, never loosened below the issue's numbers otherwise:
- the stack: the floor must do more than 0.05x the nginx hop at c=8 (an aiohttp, Starlette or uvicorn change
  that makes every gateway on this stack httpx-like fails here, whatever capgate does);
- throughput at c=8: capgate > 0.05x the hop x min(1, floor's ratio / 0.21);
- p50 at c=1: capgate < max(8x direct, 4x the floor's p50). capgate with every feature on (access control,
  access and audit logs, metrics, limiter) costs about 2x the bare floor (bench/results/latest.md), and an
  httpx-like client alone costs ~3.3x the floor (reference/perf-baselines.md); a bound tied to direct only
  would sit within ~15% of today's capgate on a noisy VM and flap. (The floor is framework-free since issue 15:
  capgate then measured ~1.6-1.8x it at c=1, bench/results/latest.md; 4x stays coarse on a busy machine.)
Each p50 is the better of two interleaved runs and each throughput the better of two: other load on a small
machine only ever makes a run slower, and the guard is about capgate's regime, not a neighbour's burst.

nginx and wrk come from Debian (bench/README.md); the guard installs them when it can (root and apt-get),
and skips with a message saying how to install them where it cannot.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

from bench import infra, load

SECONDS = 2
LIST = load.Request("GET", "/v1/api/v1/runs", markers=('"data":[{"id":"run_',))
DIRECT = load.Request("GET", "/api/v1/runs", markers=LIST.markers)
MAX_P50_VS_DIRECT = 8.0
MIN_RPS_VS_HOP = 0.05
# reference/perf-baselines.md, where the two bounds come from: uv_aiohttp_raw p50 214 µs / direct 61 µs, and
# 9,051 / 42,618 req/s against the nginx hop on the list route.
FLOOR_VS_HOP_WHEN_SET = 0.21
MAX_P50_VS_FLOOR = 4.0

pytestmark = pytest.mark.timeout(900)  # apt-get may run first; the measured part takes ~25 s


@dataclass
class Stack:
    upstream: int
    hop: int
    floor: int
    capgate: int
    capgate_list: load.Request  # LIST with capgate's inbound token, when access control is on


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    problem = infra.ensure_tools(timeout=600)
    if problem:
        pytest.skip(
            f"the regression guard needs nginx and wrk, which are missing and cannot be installed here: "
            f"{problem}. Install them with: {infra.APT_LINE}"
        )
    setup = infra.capgate_setup()
    started: list[infra.Process] = []
    try:
        upstream = infra.free_port()
        started.append(infra.start_upstream(upstream))
        hop = infra.free_port()
        started.append(infra.start_hop(hop, upstream))
        floor = infra.free_port()
        started.append(infra.start_stack_floor("floor-asgi", upstream, floor))
        rest = infra.free_port()
        started.append(infra.start_capgate(upstream, rest, infra.free_port(), setup, name="capgate-guard"))
        yield Stack(upstream, hop, floor, rest, replace(LIST, headers={**LIST.headers, **setup.headers}))
    finally:
        for process in reversed(started):
            process.stop()


def _run(port: int, request: load.Request, name: str, connections: int, *, check: bool = False) -> load.WrkResult:
    result = load.run_wrk(port, request, f"guard-{name}", connections, SECONDS, check=check)
    assert result.errors == 0, f"{name}: {result.errors} socket errors or non-2xx answers under wrk"
    assert result.requests > 0, f"{name}: no request completed in {SECONDS}s"
    if check:
        bad = f"{result.bad}/{result.checked}"
        assert result.bad == 0, f"{name}: {bad} answers were not a runs page: {result.first_bad}"
    return result


def test_capgate_rest_is_not_in_the_httpx_regime(stack: Stack) -> None:
    rps: dict[str, float] = {}
    p50: dict[str, float] = {}
    for round_ in range(2):
        for name, port, request in (
            ("hop", stack.hop, LIST),
            ("floor", stack.floor, LIST),
            ("capgate", stack.capgate, stack.capgate_list),
        ):
            # capgate's first run also checks that every answer is a real runs page.
            check = name == "capgate" and round_ == 0
            rps[name] = max(rps.get(name, 0.0), _run(port, request, f"{name}-c8", 8, check=check).rps)
        for name, port, request in (
            ("direct", stack.upstream, DIRECT),
            ("floor", stack.floor, LIST),
            ("capgate", stack.capgate, stack.capgate_list),
        ):
            result = _run(port, request, f"{name}-c1", 1)
            p50[name] = min(p50.get(name, result.p50), result.p50)

    floor_throughput = rps["floor"] / rps["hop"]
    throughput = rps["capgate"] / rps["hop"]
    throughput_bound = MIN_RPS_VS_HOP * min(1.0, floor_throughput / FLOOR_VS_HOP_WHEN_SET)
    floor_latency = p50["floor"] / p50["direct"]
    latency = p50["capgate"] / p50["direct"]
    latency_bound = max(MAX_P50_VS_DIRECT, MAX_P50_VS_FLOOR * floor_latency)
    summary = (
        f"c=8 req/s: nginx hop {rps['hop']:,.0f}, floor {rps['floor']:,.0f} ({floor_throughput:.3f}x hop, "
        f"must be > {MIN_RPS_VS_HOP}x), capgate {rps['capgate']:,.0f} ({throughput:.3f}x hop, must be > "
        f"{throughput_bound:.3f}x); c=1 p50: direct {p50['direct']:,.0f} us, floor {p50['floor']:,.0f} us "
        f"({floor_latency:.1f}x), capgate {p50['capgate']:,.0f} us ({latency:.1f}x direct, must be < "
        f"{latency_bound:.1f}x)"
    )
    print(summary)
    assert floor_throughput > MIN_RPS_VS_HOP, "the stack itself (aiohttp, Starlette, uvicorn) regressed: " + summary
    assert throughput > throughput_bound, "throughput regression (httpx-like regime): " + summary
    assert latency < latency_bound, "latency regression (httpx-like regime): " + summary
