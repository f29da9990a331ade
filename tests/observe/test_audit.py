"""The audit log: an entry per mutating call, before the answer; `capgate audit`; nothing lost to kill -9."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import aiohttp
import orjson
import pytest
from mcp import Client

from capgate.gateway.safeguards import Hardening
from capgate.observe.audit_rows import UNKNOWN_OUTCOME, format_row, read_rows
from tests.support.cli import ANY_PORTS, capgate, serving, upstream_at
from tests.support.gateway import RUN, TEST_KEY, gateway_config, running_gateway
from tests.support.http import rest_call
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.anyio

WRITE = "write-token-0123456789abcdef"
NEW_RUN = "run_newrun0000000000000000000"


async def test_mutating_calls_are_audited_with_caller_resource_and_new_id(
    upstream: RecordingUpstream, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    environ = {"TRIGGER_DEV_API_KEY": TEST_KEY, "CAPGATE_TOKENS": f"ops:write:{WRITE}"}
    config = gateway_config("trigger-dev-runs", upstream.url, environ=environ, hardening=Hardening(audit_log=log))
    headers = {"authorization": f"Bearer {WRITE}"}
    with running_gateway(config) as gateway:
        upstream.reply(200, {"id": NEW_RUN})
        await rest_call(gateway.rest, "POST", f"/v1/api/v1/runs/{RUN}/replay", headers=headers)
        await rest_call(gateway.rest, "GET", f"/v1/api/v3/runs/{RUN}", headers=headers)  # reads are not audited
        upstream.reply(400, {"error": "Cannot reschedule a run that is not delayed"})
        await rest_call(
            gateway.rest, "POST", f"/v1/api/v1/runs/{RUN}/reschedule", body={"delay": "1h"}, headers=headers
        )
        await rest_call(
            gateway.rest, "POST", f"/v1/api/v1/runs/{RUN}/reschedule", body={"delay": 5}, headers=headers
        )  # refused before any upstream call: audited as an attempt
    entries = list(read_rows(log))
    assert [(e["operation"], e["upstream_status"], e["outcome"]) for e in entries] == [
        ("management-runs.replayrun", 200, "ok"),
        ("management-runs.reschedulerun", 400, "failed"),
        ("management-runs.reschedulerun", None, "error: ArgumentError"),
    ]
    replay = entries[0]
    assert replay["caller"] == "ops" and replay["adapter"] == "rest" and replay["resource"] == {"runId": RUN}
    assert replay["new_id"] == NEW_RUN and replay["target"] == "POST /v1/api/v1/runs/{runid}/replay"
    assert entries[1]["arguments"] == {"runId": RUN, "body": {"delay": "1h"}}
    assert all(TEST_KEY not in orjson.dumps(entry).decode() for entry in entries)


async def test_mcp_calls_are_audited_and_capgate_audit_prints_them(upstream: RecordingUpstream, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    config = gateway_config("trigger-dev-runs", upstream.url, hardening=Hardening(audit_log=log))
    with running_gateway(config) as gateway:
        upstream.reply(200, {"id": NEW_RUN})
        async with Client(gateway.mcp) as client:
            await client.call_tool("replay-run", {"runId": RUN})
            await client.call_tool("cancel-run", {"runId": RUN})
    printed = subprocess.run(
        [sys.executable, "-m", "capgate.cli", "audit", "--file", str(log)], capture_output=True, text=True, timeout=30
    )
    lines = printed.stdout.splitlines()
    assert printed.returncode == 0 and len(lines) == 3
    assert "mcp" in lines[0] and "management-runs.replayrun" in lines[0] and f"runId={RUN}" in lines[0]
    assert lines[0].endswith(f"200 ok -> {NEW_RUN}")
    # cancel-run is destructive: its consent decision comes first (this client cannot be asked: the policy's)
    assert lines[1].endswith(f"management-runs.cancelrun  runId={RUN}  consent: allow (the operator's policy)")
    assert lines[2].endswith(f"management-runs.cancelrun  runId={RUN}  200 ok")
    as_json = subprocess.run(
        [sys.executable, "-m", "capgate.cli", "audit", "--file", str(log), "--json", "--last", "1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert orjson.loads(as_json.stdout)["operation"] == "management-runs.cancelrun"
    missing = subprocess.run(
        [sys.executable, "-m", "capgate.cli", "audit", "--file", str(tmp_path / "none.jsonl")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert missing.returncode == 2 and "no audit log" in missing.stderr


async def test_kill_9_loses_no_entry_of_an_answered_call(upstream: RecordingUpstream, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    calls = 60
    for index in range(calls):
        upstream.reply(200, {"id": f"run_new{index:04d}"}, delay=0.01 * (index % 20))
    env = {"TRIGGER_DEV_API_KEY": TEST_KEY}
    with serving(
        *ANY_PORTS,
        *upstream_at(upstream.url),
        "--audit-log",
        str(log),
        "--log-format",
        "json",
        env=env,
    ) as (process, lines):
        rest = next(line for line in lines if "REST facade ready" in line).split("ready on ")[1].split()[0]
        answered: list[str] = []

        async def replay(session: aiohttp.ClientSession, run_id: str) -> None:
            try:
                async with session.post(f"{rest}/v1/api/v1/runs/{run_id}/replay") as response:
                    await response.read()
                    if response.status == 200:
                        answered.append(run_id)
            except aiohttp.ClientError:
                pass  # killed before it answered
            if len(answered) == calls // 3:
                os.kill(process.pid, signal.SIGKILL)

        async with aiohttp.ClientSession() as session:
            await asyncio.wait_for(
                asyncio.gather(*(replay(session, f"run_kill{index:04d}") for index in range(calls))), 30
            )
        process.wait(10)
        assert process.returncode == -signal.SIGKILL
    audited = {entry["resource"]["runId"] for entry in read_rows(log)}
    assert calls // 3 <= len(answered) < calls and set(answered) <= audited  # killed mid-flight


def test_the_line_for_people_names_an_oauth_callers_client() -> None:
    entry = {
        "time": "2026-11-28T10:00:00Z",
        "caller": "alice",
        "client": "claude-desktop",
        "adapter": "mcp",
        "operation": "management-runs.cancelrun",
        "resource": {"runId": RUN},
        "upstream_status": 200,
        "outcome": "ok",
    }
    assert format_row(entry) == (
        f"2026-11-28T10:00:00Z  alice (claude-desktop)  mcp  management-runs.cancelrun  runId={RUN}  200 ok"
    )
    del entry["client"]
    assert format_row(entry).startswith("2026-11-28T10:00:00Z  alice  mcp  ")


async def test_kill_9_between_intent_and_outcome_leaves_a_call_sent_with_outcome_unknown(
    upstream: RecordingUpstream, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    release = threading.Event()
    upstream.reply(200, {"id": NEW_RUN}, hold=release)  # the upstream takes the replay and holds its answer
    try:
        with serving(
            *ANY_PORTS,
            *upstream_at(upstream.url),
            "--audit-log",
            str(log),
            env={"TRIGGER_DEV_API_KEY": TEST_KEY},
        ) as (process, lines):
            rest = next(line for line in lines if "REST facade ready" in line).split("ready on ")[1].split()[0]
            replay = asyncio.create_task(rest_call(rest, "POST", f"/v1/api/v1/runs/{RUN}/replay"))
            assert await asyncio.to_thread(upstream.wait_for_requests, 1)
            # The upstream has the request: its intent was on disk before it was sent.
            assert [(row["operation"], row["outcome"]) for row in read_rows(log)] == [
                ("management-runs.replayrun", UNKNOWN_OUTCOME)
            ]
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
            with pytest.raises(aiohttp.ClientError):
                await asyncio.wait_for(replay, 10)
    finally:
        release.set()
    printed = capgate("audit", "--file", str(log))
    assert printed.returncode == 0 and printed.stdout.count("\n") == 1
    assert f"rest  management-runs.replayrun  runId={RUN}  {UNKNOWN_OUTCOME}" in printed.stdout
    (row,) = [orjson.loads(line) for line in capgate("audit", "--file", str(log), "--json").stdout.splitlines()]
    assert row["target"] == "POST /v1/api/v1/runs/{runid}/replay" and row["resource"] == {"runId": RUN}
    assert "answered" not in row and "upstream_status" not in row


async def test_a_call_whose_intent_cannot_be_written_is_not_sent(upstream: RecordingUpstream) -> None:
    config = gateway_config("trigger-dev-runs", upstream.url, hardening=Hardening(audit_log=Path("/dev/full")))
    with running_gateway(config) as gateway:
        status, headers, body = await rest_call(gateway.rest, "POST", f"/v1/api/v1/runs/{RUN}/replay")
        async with Client(gateway.mcp) as client:
            result = await client.call_tool("cancel-run", {"runId": RUN})
        read = await rest_call(gateway.rest, "GET", f"/v1/api/v3/runs/{RUN}")  # reads are not audited
    assert status == 503 and headers["content-type"] == "application/problem+json"
    detail = orjson.loads(body)["detail"]
    assert "/dev/full cannot be written (No space left on device)" in detail and "was not sent upstream" in detail
    assert result.is_error and "was not sent upstream" in result.content[0].text  # type: ignore[union-attr]
    assert read[0] == 200 and [request.method for request in upstream.requests] == ["GET"]


async def test_fifty_refused_large_inputs_add_a_few_kilobytes_to_the_audit_log(
    upstream: RecordingUpstream, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    config = gateway_config("trigger-dev-runs", upstream.url, hardening=Hardening(audit_log=log))
    delay = "9" * 900_000  # refused: longer than the document's maxLength of 100
    async with aiohttp.ClientSession() as session:
        with running_gateway(config) as gateway:
            url = f"{gateway.rest}/v1/api/v1/runs/{RUN}/reschedule"
            for _ in range(50):
                async with session.post(url, json={"delay": delay}) as response:
                    assert response.status == 400
    lines = log.read_bytes().splitlines()
    print(f"\n50 refused inputs of {len(delay)} bytes: {len(lines)} audit lines, {log.stat().st_size} bytes")
    assert len(lines) == 50 and max(len(line) for line in lines) < 1024 and upstream.requests == []
    row = read_rows(log)[0]
    assert row["sent"] is False and row["outcome"] == "error: ArgumentError" and row["resource"] == {"runId": RUN}
    encoded = orjson.dumps({"delay": delay})
    assert row["arguments"] == {
        "runId": RUN,
        "body": {"cut": {"bytes": len(encoded), "sha256": hashlib.sha256(encoded).hexdigest()}},
    }


async def test_an_argument_json_cannot_hold_is_refused_and_audited_cut(
    upstream: RecordingUpstream, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    config = gateway_config("trigger-dev-runs-seed", upstream.url, hardening=Hardening(audit_log=log))
    with running_gateway(config) as gateway:
        async with Client(gateway.mcp) as client:  # the seed declares no schema for the body
            result = await client.call_tool("reschedule-run", {"runId": RUN, "body": {"delay": 10**30}})
    assert result.is_error and "cannot be sent as JSON" in result.content[0].text  # type: ignore[union-attr]
    assert upstream.requests == []
    (row,) = read_rows(log)
    assert row["outcome"] == "error: ArgumentError" and row["sent"] is False
    cut = {"cut": {"reason": "not JSON: nested too deep, or an integer past 64 bits"}}
    assert row["arguments"] == {"runId": RUN, "body": cut}
