"""50 concurrent clients, 2000 calls, 6 % of upstream answers faulted: no mutation lost or done twice, and no
error that the faults did not cause. Bounded in count and in time, loopback only.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson
import pytest
from mcp import Client

from capgate.consumes.resilience import ResilienceSettings
from capgate.consumes.retry import RetryPolicy
from capgate.gateway.safeguards import Hardening
from capgate.observe.audit_rows import read_rows
from tests.support.emulator import Emulator, http
from tests.support.gateway import TEST_KEY, Running, gateway_config, running_gateway

pytestmark = pytest.mark.anyio

CLIENTS, CALLS_EACH, MCP_CLIENTS = 50, 40, 5
TIME_BOUND = 60.0


@dataclass
class Tally:
    replays: int = 0
    new_ids: list[str] = field(default_factory=list)
    tagged: dict[str, set[str]] = field(default_factory=dict)  # run id -> tags answered 200
    failures: Counter[str] = field(default_factory=Counter)  # what failed, by kind


async def test_no_lost_or_duplicated_mutation_under_concurrent_load(clean: Emulator, tmp_path: Path) -> None:
    runs = clean.run_ids(100)
    clean.fault(kind="error", status=503, fraction=0.05, seed=7)
    clean.fault(kind="drop", fraction=0.01, seed=8)
    log = tmp_path / "audit.jsonl"
    settings = ResilienceSettings(retry=RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05))
    config = gateway_config("trigger-dev-runs", clean.url, hardening=Hardening(resilience=settings, audit_log=log))
    tally = Tally()
    with running_gateway(config) as gateway:
        started = time.monotonic()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS)) as session:
            await asyncio.wait_for(
                asyncio.gather(*(client(gateway, session, index, runs, tally) for index in range(CLIENTS))), TIME_BOUND
            )
        elapsed = time.monotonic() - started
    http("DELETE", clean.url + "/_emulator/faults")  # the checks below read the emulator without faults
    http_calls = CLIENTS * CALLS_EACH
    print(f"\n{http_calls} calls by {CLIENTS} clients in {elapsed:.1f}s; failures: {dict(tally.failures)}")

    # Exactly once: each replay call reached the upstream once, whatever it answered.
    assert len(clean.requests("POST", "/replay")) == tally.replays
    # Nothing lost: every new run a client was told of is in the audit log, and each is distinct.
    audited = [entry for entry in read_rows(log) if entry["operation"] == "management-runs.replayrun"]
    assert len(audited) == tally.replays
    assert sorted(e["new_id"] for e in audited if "new_id" in e) == sorted(tally.new_ids)
    assert len(set(tally.new_ids)) == len(tally.new_ids)
    # Every tag a client was told was added is on its run.
    assert tally.tagged  # some tags were answered 200, or the loop below would check nothing
    for run_id, tags in tally.tagged.items():
        assert tags <= set(retrieve(clean, run_id)["tags"]), run_id
    # Only the injected faults caused failures: a 503 or a dropped connection passed back.
    assert set(tally.failures) <= {"503", "502", "mcp-503", "mcp-closed"}
    assert sum(tally.failures.values()) < 0.06 * http_calls


async def client(gateway: Running, session: aiohttp.ClientSession, index: int, runs: list[str], tally: Tally) -> None:
    rng = random.Random(index)
    if index < MCP_CLIENTS:
        async with Client(gateway.mcp) as mcp:
            for call in range(CALLS_EACH):
                await mcp_step(mcp, rng, index, call, runs, tally)
        return
    for call in range(CALLS_EACH):
        await rest_step(gateway, session, rng, index, call, runs, tally)


async def rest_step(
    gateway: Running,
    session: aiohttp.ClientSession,
    rng: random.Random,
    index: int,
    call: int,
    runs: list[str],
    tally: Tally,
) -> None:
    run_id = rng.choice(runs)
    roll = rng.random()
    if roll < 0.5:
        method, path, body = "GET", "/v1/api/v1/runs?page[size]=5", None
    elif roll < 0.75:
        method, path, body = "GET", f"/v1/api/v3/runs/{run_id}", None
    elif roll < 0.9:
        method, path, body = "POST", f"/v1/api/v1/runs/{run_id}/replay", None
        tally.replays += 1
    else:
        tag = f"c{index}-{call}"
        run_id = runs[(index * CALLS_EACH + call) % len(runs)]
        method, path, body = "POST", f"/v1/api/v1/runs/{run_id}/tags", {"tags": [tag]}
    async with session.request(method, gateway.rest + path, json=body) as response:
        content = await response.read()
    if response.status >= 400:
        tally.failures[str(response.status)] += 1
        return
    if path.endswith("/replay"):
        tally.new_ids.append(orjson.loads(content)["id"])
    elif path.endswith("/tags"):
        tally.tagged.setdefault(run_id, set()).add(body["tags"][0])  # type: ignore[index]


async def mcp_step(mcp: Client, rng: random.Random, index: int, call: int, runs: list[str], tally: Tally) -> None:
    run_id = rng.choice(runs)
    if rng.random() < 0.8:
        result = await mcp.call_tool("retrieve-run", {"runId": run_id})
    else:
        tally.replays += 1
        result = await mcp.call_tool("replay-run", {"runId": run_id})
        if not result.is_error:
            tally.new_ids.append(result.structured_content["id"])  # type: ignore[index]
    if result.is_error:
        text = result.content[0].text  # type: ignore[union-attr]
        tally.failures["mcp-503" if "HTTP 503" in text else "mcp-closed" if "closed" in text else text] += 1


def retrieve(emulator: Emulator, run_id: str) -> dict[str, object]:
    status, body = http("GET", f"{emulator.url}/api/v3/runs/{run_id}", headers={"authorization": f"Bearer {TEST_KEY}"})
    assert status == 200
    return orjson.loads(body)  # type: ignore[no-any-return]
