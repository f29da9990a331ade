"""`wait-for-run` against the emulator, whose simulation moves triggered runs along: the real client in both
protocol eras, progress in order while the run changes, the final run or, at the timeout, the current one
saying so; streamed answers only for calls that asked for progress."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import orjson
import pytest
from mcp import Client

from tests.exposes.mcp.conftest import texts, validators
from tests.support.emulator import Emulator, emulator_config, http
from tests.support.gateway import TEST_KEY, Running, gateway_config, running_gateway
from tests.support.servers import serve_app
from trigger_emulator.app import create_app

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]  # 2026-07-28 and 2025-11-25
TICK = 0.2  # seconds per simulation step: a triggered run finishes 4 to 6 steps after it is queued
FINAL = {"COMPLETED", "FAILED", "CANCELED", "CRASHED", "SYSTEM_FAILURE", "EXPIRED", "TIMED_OUT"}


@pytest.fixture(scope="module")
def living() -> Iterator[tuple[Emulator, Running]]:
    """A simulating emulator (triggered runs move along every TICK) and the default document in front of it."""
    with (
        serve_app(create_app(emulator_config(simulate=True, tick_s=TICK))) as url,
        running_gateway(gateway_config("trigger-dev-runs", url)) as gateway,
    ):
        yield Emulator(url), gateway


def trigger(emulator: Emulator, **options: Any) -> str:
    status, body = http(
        "POST",
        f"{emulator.url}/api/v1/tasks/send-welcome-email/trigger",
        {"payload": {"to": "a@example.com"}, "options": options},
        headers={"authorization": f"Bearer {TEST_KEY}"},
    )
    assert status == 200, body
    return str(orjson.loads(body)["id"])


@pytest.mark.parametrize("mode", MODES)
async def test_waiting_reports_each_status_in_order_and_returns_the_finished_run(
    living: tuple[Emulator, Running], mode: str
) -> None:
    emulator, gateway = living
    progress: list[tuple[float, str | None]] = []

    async def noted(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async with Client(gateway.mcp, mode=mode) as client:
        schemas = await validators(client)
        run_id = trigger(emulator, delay="2s")  # still DELAYED at the first poll, however busy the machine is
        result = await client.call_tool("wait-for-run", {"runId": run_id}, progress_callback=noted)
    assert result.is_error is False, texts(result)
    assert [error.message for error in schemas["wait-for-run"].iter_errors(result.structured_content)] == []
    final = result.structured_content["status"]
    assert final in FINAL and result.structured_content["id"] == run_id
    values = [value for value, _ in progress]
    assert len(values) >= 2 and values == sorted(set(values)), "progress values strictly increase"
    statuses = [message.split(" ", 1)[0] for _, message in progress if message]
    assert len(statuses) == len(progress) and statuses[-1] == final, "each message names the run's status"
    assert statuses[0] == "DELAYED" and not FINAL & set(statuses[:-1])
    first = texts(result)[0].splitlines()
    assert first[0].startswith("Finished after ") and first[0].endswith(f"status is {final}.")
    assert f"id: {run_id}" in first and f"status: {final}" in first, "then the run, as retrieve-run shows it"
    polls = emulator.requests("GET", f"/api/v3/runs/{run_id}")
    assert len(polls) == len(progress), "one upstream call per poll, each reported"


@pytest.mark.parametrize("mode", MODES)
async def test_at_the_timeout_the_current_run_comes_back_saying_it_is_still_running(
    living: tuple[Emulator, Running], mode: str
) -> None:
    emulator, gateway = living
    run_id = trigger(emulator, delay="1h")
    async with Client(gateway.mcp, mode=mode) as client:
        result = await client.call_tool("wait-for-run", {"runId": run_id, "timeout": 0.5})
    assert result.is_error is False
    assert result.structured_content["status"] == "DELAYED"
    statement = texts(result)[0].splitlines()[0]
    assert statement.startswith("Still running after ") and "status is DELAYED, not yet one of COMPLETED" in statement
    assert "Call wait-for-run again with the same arguments to keep waiting (timeout up to 300 s)." in statement


async def test_the_timeout_input_is_bounded_and_typed(living: tuple[Emulator, Running]) -> None:
    emulator, gateway = living
    run_id = trigger(emulator, delay="1h")
    async with Client(gateway.mcp) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == "wait-for-run")
        assert tool.input_schema["properties"]["timeout"]["maximum"] == 300
        assert tool.input_schema["properties"]["timeout"]["default"] <= 30
        for bad in (0, 301, "soon", True, -1):
            result = await client.call_tool("wait-for-run", {"runId": run_id, "timeout": bad})
            assert result.is_error is True
            assert texts(result) == [
                f"Invalid arguments: timeout must be a number of seconds above 0 and at most 300, not {bad!r}."
            ]
    assert emulator.requests("GET", f"/api/v3/runs/{run_id}") == [], "nothing was polled"


async def test_a_run_that_does_not_exist_ends_the_wait_with_the_upstreams_error(
    living: tuple[Emulator, Running],
) -> None:
    _, gateway = living
    async with Client(gateway.mcp) as client:
        result = await client.call_tool("wait-for-run", {"runId": "run_doesnotexist0000000000000"})
    assert result.is_error is True and texts(result)[0].startswith("Upstream answered HTTP 404")


@pytest.mark.parametrize("verbose", [True, False])
async def test_with_json_text_the_statement_is_a_block_of_its_own(
    living: tuple[Emulator, Running], verbose: bool
) -> None:
    emulator, _ = living
    run_id = trigger(emulator, delay="1h")
    with running_gateway(gateway_config("trigger-dev-runs", emulator.url, mcp_text="json")) as gateway:
        async with Client(gateway.mcp) as client:
            result = await client.call_tool("wait-for-run", {"runId": run_id, "timeout": 0.3, "verbose": verbose})
    blocks = texts(result)
    assert orjson.loads(blocks[0])["status"] == "DELAYED", "the JSON text stays JSON"
    assert blocks[-1].startswith("Still running after ")


async def call(url: str, body: dict[str, Any], accept: str = "application/json, text/event-stream") -> tuple[str, str]:
    """A 2025-11-25 stateless POST: the answer's content type and its body."""
    headers = {"accept": accept, "content-type": "application/json", "mcp-protocol-version": "2025-11-25"}
    async with aiohttp.ClientSession() as session, session.post(url, json=body, headers=headers) as response:
        assert response.status == 200, await response.text()
        return response.headers["content-type"], await response.text()


async def test_only_a_call_with_a_progress_token_is_answered_as_a_stream(living: tuple[Emulator, Running]) -> None:
    emulator, gateway = living
    run_id = trigger(emulator)
    request = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "wait-for-run"}}
    arguments = {"runId": run_id, "timeout": 10}
    streamed, events = await call(
        gateway.mcp, {**request, "params": {**request["params"], "arguments": arguments, "_meta": {"progressToken": 1}}}
    )
    assert streamed.startswith("text/event-stream")
    messages = [orjson.loads(line[len("data: ") :]) for line in events.splitlines() if line.startswith("data: ")]
    notes = [m["params"] for m in messages if m.get("method") == "notifications/progress"]
    assert notes and all(note["progressToken"] == 1 for note in notes)
    assert [note["progress"] for note in notes] == list(range(1, len(notes) + 1))
    assert messages[-1]["id"] == 7 and messages[-1]["result"]["structuredContent"]["status"] in FINAL
    plain, body = await call(gateway.mcp, {**request, "params": {**request["params"], "arguments": arguments}})
    assert plain == "application/json" and orjson.loads(body)["result"]["structuredContent"]["id"] == run_id
    listed, _ = await call(gateway.mcp, {"jsonrpc": "2.0", "id": 8, "method": "tools/list"}, accept="application/json")
    assert listed == "application/json", "a client that accepts only JSON still gets JSON"


@pytest.mark.parametrize("mode", MODES)
async def test_an_agent_finds_a_failed_run_reads_why_replays_it_fixed_and_waits_for_the_outcome(
    living: tuple[Emulator, Running], mode: str
) -> None:
    """The flow docs/mcp-clients.md shows, with capgate's tools only, each answer compact."""
    _, gateway = living
    async with Client(gateway.mcp, mode=mode) as client:
        failed = await client.call_tool("list-runs", {"filter.status": ["FAILED"], "page.size": 3})
        run_id = failed.structured_content["data"][0]["id"]
        assert texts(failed)[0].splitlines()[1].startswith(f"{run_id} FAILED ")
        trace = await client.call_tool("get-run-trace", {"runId": run_id})
        errors = [line for line in texts(trace)[0].splitlines() if " ERROR true " in line]
        assert errors, "the trace says why it failed"
        run = await client.call_tool("retrieve-run", {"runId": run_id})
        fixed = {**run.structured_content["payload"], "fixed": True}
        replayed = await client.call_tool("replay-run", {"runId": run_id, "body": {"payload": fixed}})
        new_id = replayed.structured_content["id"]
        assert texts(replayed) == [f"id: {new_id}"]
        waited = await client.call_tool("wait-for-run", {"runId": new_id})
    assert waited.is_error is False and waited.structured_content["status"] in FINAL
    assert waited.structured_content["payload"] == fixed
    assert texts(waited)[0].startswith("Finished after ")
    for result in (failed, trace, run, replayed, waited):
        text = texts(result)[0]
        assert not text.startswith("{") and len(text) < 4000, "compact text, not the JSON again"
