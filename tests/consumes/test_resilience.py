"""Upstream faults, injected by the emulator: timeouts, dropped connections, 5xx bursts, 429 with reset headers,
malformed and oversized bodies, the breaker; and replay/reschedule reaching the upstream exactly once under each.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import orjson
import pytest
from mcp import Client

from capgate.consumes.breaker import BreakerSettings
from capgate.consumes.client import ClientSettings, Timeouts
from capgate.consumes.resilience import ResilienceSettings
from capgate.consumes.retry import RetryPolicy
from capgate.gateway.safeguards import Hardening
from tests.support.emulator import Emulator
from tests.support.gateway import Running, gateway_config, running_gateway
from tests.support.http import rest_call
from tests.support.servers import free_port

pytestmark = pytest.mark.anyio

QUICK_RETRIES = RetryPolicy(attempts=3, backoff=0.02, max_backoff=0.1)
NO_BREAKER = BreakerSettings(failure_rate=0)


@contextmanager
def gateway(
    emulator: Emulator, *, total: float = 2.0, max_body: int = 16 * 1024 * 1024, **resilience: Any
) -> Iterator[Running]:
    """A gateway in front of the emulator with quick retries, no breaker and a short deadline unless told."""
    settings = ResilienceSettings(**({"retry": QUICK_RETRIES, "breaker": NO_BREAKER} | resilience))
    client = ClientSettings(timeouts=Timeouts(connect=1.0, read=total, total=total), max_body_bytes=max_body)
    config = gateway_config(
        "trigger-dev-runs",
        emulator.url,
        client_settings=client,
        hardening=Hardening(resilience=settings, audit_log=None),
    )
    with running_gateway(config) as running:
        yield running


async def retrieve(running: Running, run_id: str) -> tuple[int, dict[str, str], Any]:
    status, headers, content = await rest_call(running.rest, "GET", f"/v1/api/v3/runs/{run_id}")
    return status, headers, orjson.loads(content)


async def test_a_slow_upstream_times_out_with_504_and_a_tool_error(clean: Emulator) -> None:
    run_id = clean.run_ids(1)[0]
    clean.fault(kind="latency", latency_ms=2000, count=2, path="/api/v3/runs/*")
    with gateway(clean, total=0.4) as running:
        started = time.monotonic()
        status, _, problem = await retrieve(running, run_id)
        assert status == 504 and "no answer in time" in problem["detail"] and "deadline of 0.4s" in problem["detail"]
        async with Client(running.mcp) as client:
            result = await client.call_tool("retrieve-run", {"runId": run_id})
        assert result.is_error and "no answer in time" in result.content[0].text
        assert time.monotonic() - started < 1.5  # the deadline holds: no hang, no retry of a timed-out read


async def test_a_dropped_connection_or_a_5xx_burst_is_retried_for_reads(clean: Emulator) -> None:
    run_id = clean.run_ids(1)[0]
    with gateway(clean) as running:
        clean.fault(kind="drop", count=1, path="/api/v3/runs/*")
        assert (await retrieve(running, run_id))[0] == 200
        clean.fault(kind="error", status=503, count=2, path="/api/v3/runs/*")
        assert (await retrieve(running, run_id))[0] == 200
        assert len(clean.requests("GET", run_id)) == (1 + 1) + (2 + 1)  # each fault, then the success
        clean.fault(kind="error", status=502, count=3, path="/api/v3/runs/*")
        status, _, body = await retrieve(running, run_id)
        assert status == 502 and body == {"error": "Injected fault"}  # attempts spent: the last answer passes back


async def test_a_429_waits_for_the_reset_the_upstream_names(clean: Emulator) -> None:
    run_id = clean.run_ids(1)[0]
    with gateway(clean, total=5.0) as running:
        reset_ms = int(time.time() * 1000) + 800
        clean.fault(
            kind="error",
            status=429,
            count=1,
            path="/api/v3/runs/*",
            headers={"x-ratelimit-reset": str(reset_ms), "x-ratelimit-remaining": "0"},
        )
        status, _, _ = await retrieve(running, run_id)
        assert status == 200 and time.time() * 1000 >= reset_ms
        assert len(clean.requests("GET", run_id)) == 2  # the 429, then one retry after the reset
        clean.fault(kind="error", status=503, count=1, path="/api/v3/runs/*", headers={"retry-after": "1"})
        started = time.monotonic()
        assert (await retrieve(running, run_id))[0] == 200
        assert time.monotonic() - started >= 0.95
        assert len(clean.requests("GET", run_id)) == 4


async def test_x_should_retry_false_a_long_wait_or_a_short_deadline_stop_retries(clean: Emulator) -> None:
    run_id = clean.run_ids(1)[0]
    with gateway(clean, total=60.0) as running:
        clean.fault(kind="error", status=503, count=1, path="/api/v3/runs/*", headers={"x-should-retry": "false"})
        assert (await retrieve(running, run_id))[0] == 503
        assert len(clean.requests("GET", run_id)) == 1
        reset_ms = str(int(time.time() * 1000) + 30_000)
        clean.fault(kind="error", status=429, count=1, path="/api/v3/runs/*", headers={"x-ratelimit-reset": reset_ms})
        started = time.monotonic()
        status, headers, _ = await retrieve(running, run_id)  # 30 s is more than a retry waits: told at once
        assert status == 429 and headers["x-ratelimit-reset"] == reset_ms and time.monotonic() - started < 0.5
    with gateway(clean, total=1.0) as running:
        clean.fault(kind="error", status=503, count=3, path="/api/v3/runs/*", headers={"retry-after": "2"})
        started = time.monotonic()
        assert (await retrieve(running, run_id))[0] == 503  # a 2 s wait does not fit in a 1 s deadline
        assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("how", ["truncate", "garbage"])
async def test_a_malformed_body_is_a_clear_502(clean: Emulator, how: str) -> None:
    run_id = clean.run_ids(1)[0]
    clean.fault(kind="malformed", malformed=how, count=2, path="/api/v3/runs/*")
    with gateway(clean) as running:
        status, headers, problem = await retrieve(running, run_id)
        assert status == 502 and headers["content-type"] == "application/problem+json"
        assert "not valid JSON" in problem["detail"]
        async with Client(running.mcp) as client:
            result = await client.call_tool("retrieve-run", {"runId": run_id})
        assert result.is_error and "not valid JSON" in result.content[0].text


async def test_an_oversized_body_is_a_clear_502(clean: Emulator) -> None:
    with gateway(clean, max_body=2000) as running:
        status, _, content = await rest_call(running.rest, "GET", "/v1/api/v1/runs", "page[size]=100")
        assert status == 502 and "larger than 2000 bytes" in orjson.loads(content)["detail"]


async def test_a_failing_route_opens_its_own_circuit_fails_fast_then_probes_and_closes(clean: Emulator) -> None:
    run_id = clean.run_ids(1)[0]
    breaker = BreakerSettings(failure_rate=50, min_calls=4, window=30, cooldown=0.3)
    with gateway(clean, breaker=breaker, retry=RetryPolicy(attempts=1)) as running:
        assert (await retrieve(running, run_id))[0] == 200
        clean.fault(kind="error", status=503, count=3, path="/api/v3/runs/*")
        for _ in range(3):  # 3 failures of 4 calls: 75% >= 50% of at least 4 calls
            assert (await retrieve(running, run_id))[0] == 503
        reached = len(clean.requests())
        status, headers, problem = await retrieve(running, run_id)
        assert status == 503 and problem["title"] == "Service Unavailable"
        assert "3 of the last 4 calls failed (75%) in 30s" in problem["detail"]
        assert "calls to management-runs.getrunbyid fail fast for 0.3s" in problem["detail"]
        assert int(headers["retry-after"]) >= 1
        async with Client(running.mcp) as client:
            result = await client.call_tool("retrieve-run", {"runId": run_id})
        assert result.is_error and "fail fast" in result.content[0].text
        assert len(clean.requests()) == reached  # open: nothing reached the upstream
        listed, _, _ = await rest_call(running.rest, "GET", "/v1/api/v1/runs")
        assert listed == 200 and len(clean.requests()) == reached + 1  # another route's circuit is closed
        statuses = await _until_the_cool_down_ends(running, run_id)
        assert statuses[-1] == 200 and set(statuses[:-1]) <= {503}  # the first probe
        for _ in range(2):  # the other two probes
            assert (await retrieve(running, run_id))[0] == 200
        assert (await retrieve(running, run_id))[0] == 200  # closed again: an ordinary call
        assert len(clean.requests()) == reached + 5


async def test_a_callers_4xx_never_opens_a_circuit(clean: Emulator) -> None:
    breaker = BreakerSettings(failure_rate=50, min_calls=4, window=30, cooldown=30)
    with gateway(clean, breaker=breaker, retry=RetryPolicy(attempts=1)) as running:
        for _ in range(8):  # unknown runs: the upstream answers 404, as it should
            assert (await retrieve(running, "run_unknown0"))[0] == 404
        clean.fault(kind="error", status=422, count=8, path="/api/v3/runs/*")
        for _ in range(8):
            assert (await retrieve(running, "run_unknown0"))[0] == 422
        assert len(clean.requests("GET", "run_unknown0")) == 16  # every one reached the upstream


async def test_an_upstream_that_cannot_be_reached_opens_its_own_circuit_for_every_route() -> None:
    breaker = BreakerSettings(failure_rate=50, min_calls=4, window=30, cooldown=30)
    settings = ResilienceSettings(retry=RetryPolicy(attempts=1), breaker=breaker)
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there: every connection is refused
    config = gateway_config("trigger-dev-runs", nobody, hardening=Hardening(resilience=settings, audit_log=None))
    with running_gateway(config) as running:
        for _ in range(4):
            status, _, problem = await retrieve(running, "run_abc1")
            assert status == 502 and "cannot connect" in problem["detail"]
        status, _, content = await rest_call(running.rest, "GET", "/v1/api/v1/runs")  # another route
        detail = orjson.loads(content)["detail"]
        assert status == 503 and "4 of the last 4 calls failed (100%) in 30s" in detail
        assert "calls to management-runs fail fast" in detail


async def _until_the_cool_down_ends(running: Running, run_id: str) -> list[int]:
    """Call until one goes through (the cool-down is 0.3 s); the statuses seen, bounded at 5 s."""
    statuses: list[int] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        statuses.append((await retrieve(running, run_id))[0])
        if statuses[-1] != 503:
            return statuses
    pytest.fail(f"the circuit never let a probe through: {statuses[-5:]}")


FAULTS = {
    "timeout": {"kind": "latency", "latency_ms": 1000},
    "drop": {"kind": "drop"},
    "502": {"kind": "error", "status": 502},
    "503": {"kind": "error", "status": 503, "headers": {"retry-after": "0"}},
    "504": {"kind": "error", "status": 504},
    "408": {"kind": "error", "status": 408},
    "429": {"kind": "rate_limit"},
    "truncated": {"kind": "malformed", "malformed": "truncate"},
}
OPERATIONS = [{"type": "increment", "key": "n", "value": 1}]
# tool, method, upstream path under /api/v1/ ({} is the run or task id), REST body, MCP arguments for an id
MUTATIONS: dict[str, tuple[str, str, str, Any, Callable[[str], dict[str, Any]]]] = {
    "replay": ("replay-run", "POST", "runs/{}/replay", None, lambda run: {"runId": run}),
    "reschedule": ("reschedule-run", "POST", "runs/{}/reschedule", {"delay": "1h"},
                   lambda run: {"runId": run, "body": {"delay": "1h"}}),
    "trigger": ("trigger-task", "POST", "tasks/{}/trigger", {"payload": {}},
                lambda task: {"taskIdentifier": task, "payload": {}}),
    "metadata": ("update-run-metadata", "PUT", "runs/{}/metadata", {"operations": OPERATIONS},
                 lambda run: {"runId": run, "operations": OPERATIONS}),
}  # fmt: skip


@pytest.fixture(scope="module")
def faulty_gateway(emulator: Emulator) -> Iterator[Running]:
    # Generous retries: if anything retried a mutation, it would show.
    with gateway(
        emulator, total=0.4, retry=RetryPolicy(attempts=5, backoff=0.01, max_backoff=0.02), rate_limiting=False
    ) as running:  # a 429 here must not hold back the next case's call
        yield running


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("mutation", MUTATIONS)
async def test_mutations_that_are_not_safe_to_repeat_reach_the_upstream_exactly_once(
    clean: Emulator, faulty_gateway: Running, fault: str, mutation: str
) -> None:
    tool, method, path, body, arguments = MUTATIONS[mutation]
    targets = ["faulted-task-rest", "faulted-task-mcp"] if mutation == "trigger" else clean.run_ids(2)
    clean.fault(**FAULTS[fault], count=5, method=method)
    status, _, _ = await rest_call(faulty_gateway.rest, method, "/v1/api/v1/" + path.format(targets[0]), body=body)
    assert status >= 400
    async with Client(faulty_gateway.mcp) as client:
        result = await client.call_tool(tool, arguments(targets[1]))
    assert result.is_error
    reached = [len(clean.requests(method, path.format(target))) for target in targets]
    assert reached == [1, 1], fault  # both targets (a loop over them would pass with none)


async def test_cancel_is_retried_because_the_document_marks_it_idempotent(clean: Emulator) -> None:
    run_id = clean.run_ids(1)[0]
    with gateway(clean) as running:
        clean.fault(kind="error", status=503, count=1, method="POST")
        status, _, _ = await rest_call(running.rest, "POST", f"/v1/api/v2/runs/{run_id}/cancel")
        assert status == 200 and len(clean.requests("POST", f"{run_id}/cancel")) == 2


def test_backoff_doubles_up_to_its_cap_with_jitter_below_it() -> None:
    policy = replace(QUICK_RETRIES, attempts=10)
    nominal = [min(policy.max_backoff, policy.backoff * 2 ** (attempt - 2)) for attempt in range(2, 12)]
    assert nominal[:4] == [0.02, 0.04, 0.08, 0.1] and set(nominal[3:]) == {0.1}
    waits = [[policy.backoff_before(attempt) for attempt in range(2, 12)] for _ in range(50)]
    assert all(cap / 2 <= wait <= cap for draw in waits for wait, cap in zip(draw, nominal, strict=True))
    assert len({draw[0] for draw in waits}) > 1  # jittered: callers that failed together do not retry together
