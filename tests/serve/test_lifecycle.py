"""SIGTERM drains in-flight requests within the grace period; SIGHUP reloads the document or keeps the old one;
SIGUSR1 reopens the audit log."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
from mcp import Client

from capgate.document.bundled import bundled_documents
from capgate.observe.audit_rows import read_rows
from tests.support.cli import ANY_PORTS, CAPGATE, LogLines, serving, upstream_at
from tests.support.gateway import RUN, TEST_KEY
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.anyio

ENV = {"TRIGGER_DEV_API_KEY": TEST_KEY}


def rest_url(lines: list[str]) -> str:
    return next(line for line in lines if "REST facade ready" in line).split("ready on ")[1].split()[0]


async def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)  # between polls of a condition, within the deadline above


async def until_refused(url: str, timeout: float = 10.0) -> None:
    """Return once a fresh connection to `url` fails: the server stopped listening."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with aiohttp.ClientSession() as fresh, fresh.get(url) as answer:
                await answer.read()
        except aiohttp.ClientError:
            return
        assert time.monotonic() < deadline, f"{url} still answered {timeout} s after SIGTERM"
        await asyncio.sleep(0.01)  # between polls: another process's shutdown has no event to wait on


async def test_sigterm_lets_in_flight_calls_finish_and_refuses_new_ones(
    upstream: RecordingUpstream, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    upstream.reply(200, {"id": "run_drained000000000000000000"}, delay=1.0)
    with serving(
        *ANY_PORTS,
        *upstream_at(upstream.url),
        "--audit-log",
        str(log),
        "--shutdown-grace",
        "5",
        env=ENV,
    ) as (process, lines):
        rest = rest_url(lines)
        async with aiohttp.ClientSession() as session:
            in_flight = asyncio.create_task(session.post(f"{rest}/v1/api/v1/runs/{RUN}/replay"))
            await wait_for(lambda: upstream.requests)
            process.send_signal(signal.SIGTERM)
            await until_refused(f"{rest}/healthz")  # no longer listening, while the call in flight goes on
            assert not in_flight.done()
            response = await in_flight
            assert response.status == 200 and (await response.json())["id"].startswith("run_drained")
        assert process.wait(10) == 0
    assert [entry["new_id"] for entry in read_rows(log)] == ["run_drained000000000000000000"]


async def test_sighup_swaps_in_the_edited_document_or_keeps_the_old_one(
    upstream: RecordingUpstream, tmp_path: Path
) -> None:
    original = bundled_documents()["trigger-dev-runs"].read_text()
    document = tmp_path / "runs.yaml"
    document.write_text(original)
    with serving(
        str(document),
        *ANY_PORTS,
        "--no-audit-log",
        "--log-format",
        "json",
        "--base-uri",
        f"management-runs={upstream.url}",
        env=ENV,
    ) as (process, lines):
        rest = rest_url(lines)
        mcp = next(line for line in lines if "MCP server ready" in line).split("ready on ")[1].split()[0]
        assert process.stderr is not None
        log = LogLines(process.stderr)
        async with aiohttp.ClientSession() as session:

            async def status(path: str) -> int:
                async with session.get(rest + path) as response:
                    return response.status

            assert await status("/v2/api/v1/runs") == 404
            upstream.reply(200, {"id": RUN}, delay=1.0)
            in_flight = asyncio.create_task(status(f"/v1/api/v3/runs/{RUN}"))
            await wait_for(lambda: upstream.requests)
            document.write_text(original.replace("- path: /v1/api/v1/runs\n", "- path: /v2/api/v1/runs\n", 1))
            process.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while await status("/v2/api/v1/runs") != 200:
                assert time.monotonic() < deadline, "the edited document was not swapped in"
                await asyncio.sleep(0.05)  # between polls, within the deadline above
            assert await status("/v1/api/v1/runs") == 404
            assert await in_flight == 200  # a call inside the old document finished on it
            async with Client(mcp) as client:  # the MCP adapter was swapped too, and serves
                assert len((await client.list_tools()).tools) == 11
            document.write_text("naftiko: 1.0.0-alpha2\ncapability: [broken\n")
            process.send_signal(signal.SIGHUP)
            refused = log.wait_for("reload refused")  # the reload is over, and the log says why
            assert await status("/v2/api/v1/runs") == 200  # the broken edit changed nothing
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    messages = [line for line in log.close() if "capgate.reload" in line]
    assert "reloaded" in messages[0] and messages[1] == refused
    assert "reload refused, still serving the previous document" in refused
    assert "runs.yaml:3: (document): YAML syntax error" in refused  # what was wrong, where


async def test_a_call_that_outlives_a_reloads_grace_gets_503_and_the_log_no_traceback(
    upstream: RecordingUpstream, tmp_path: Path
) -> None:
    document = tmp_path / "runs.yaml"
    document.write_text(bundled_documents()["trigger-dev-runs"].read_text())
    upstream.reply(200, {"id": RUN}, delay=3.0)
    args = (str(document), *ANY_PORTS, *upstream_at(upstream.url), "--no-audit-log", "--shutdown-grace", "0.3")
    with serving(*args, env=ENV) as (process, lines):
        assert process.stderr is not None
        log = LogLines(process.stderr)
        async with aiohttp.ClientSession() as session:
            in_flight = asyncio.create_task(session.get(f"{rest_url(lines)}/v1/api/v3/runs/{RUN}"))
            await wait_for(lambda: upstream.requests)
            process.send_signal(signal.SIGHUP)
            log.wait_for("reloaded")
            async with await in_flight as answer:
                status, problem = answer.status, await answer.json(content_type=None)
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    assert status == 503 and "--shutdown-grace" in problem["detail"] and "call again" in problem["detail"]
    written = "".join(log.close())
    assert "Traceback" not in written and "KeyError" not in written


async def test_the_control_port_stays_ready_after_a_reload_that_renames_an_adapter(
    upstream: RecordingUpstream, tmp_path: Path
) -> None:
    control = Path(__file__).resolve().parents[1] / "conformance" / "naftiko" / "v1.0.0-alpha2" / "src" / "test"
    control = control / "resources" / "control" / "control-capability.yaml"
    document = tmp_path / "runs.yaml"
    document.write_text(bundled_documents()["trigger-dev-runs"].read_text())
    args = (str(document), str(control), *ANY_PORTS, "--port", "control=0", *upstream_at(upstream.url))
    with serving(*args, "--no-audit-log", env=ENV) as (process, lines):
        assert process.stderr is not None
        log = LogLines(process.stderr)
        seen = "".join(lines)
        for adapter in ("control port", "MCP server"):  # the control port serves before the MCP server does
            seen += "" if f"{adapter} ready" in seen else log.wait_for(f"{adapter} ready")
        base = seen.split("control port ready on ")[1].split()[0]
        async with aiohttp.ClientSession() as session:

            async def readiness() -> tuple[int, str, dict[str, str]]:
                async with session.get(f"{base}/health/ready") as response:
                    answer = await response.json()
                    states = {adapter["namespace"]: adapter["state"] for adapter in answer["adapters"]}
                    return response.status, answer["status"], states

            before = await readiness()
            document.write_text(document.read_text().replace("namespace: management-runs-rest", "namespace: runs-rest"))
            process.send_signal(signal.SIGHUP)
            log.wait_for("reloaded")
            after = await readiness()
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    assert before[:2] == after[:2] == (200, "UP")
    assert before[2]["management-runs-rest"] == "started" and "runs-rest" not in before[2]
    assert after[2]["runs-rest"] == "started" and "management-runs-rest" not in after[2]


async def test_the_grace_period_bounds_the_drain(upstream: RecordingUpstream) -> None:
    upstream.reply(200, {}, delay=5.0)
    with serving(
        *ANY_PORTS,
        *upstream_at(upstream.url),
        "--no-audit-log",
        "--shutdown-grace",
        "0.5",
        env=ENV,
    ) as (process, lines):
        rest = rest_url(lines)
        async with aiohttp.ClientSession() as session:
            stuck = asyncio.create_task(session.get(f"{rest}/v1/api/v3/runs/{RUN}"))
            await wait_for(lambda: upstream.requests)
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            process.wait(10)
            assert time.monotonic() - started < 5
            # Cut off after the grace period: a 5xx if uvicorn could still answer, else a dropped connection.
            with contextlib.suppress(aiohttp.ClientError):
                assert (await stuck).status >= 500


def test_a_sighup_during_start_up_waits_for_it_and_reloads(upstream: RecordingUpstream) -> None:
    """REST is ready before the MCP server (capgate.serve.server): a SIGHUP in between must neither kill capgate (the
    default action of SIGHUP) nor reload half of it."""
    process = subprocess.Popen(
        [
            *CAPGATE,
            "serve",
            *ANY_PORTS,
            "--no-audit-log",
            "--log-format",
            "json",
            "--base-uri",
            f"management-runs={upstream.url}",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | ENV,
    )
    try:
        assert process.stderr is not None
        assert "REST facade ready" in process.stderr.readline()
        process.send_signal(signal.SIGHUP)
        following = [process.stderr.readline() for _ in range(2)]
        assert "MCP server ready" in following[0] and "reloaded" in following[1], following
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


async def test_sigusr1_reopens_the_audit_log_and_sighup_still_reloads(
    upstream: RecordingUpstream, tmp_path: Path
) -> None:
    """logrotate renames the file and sends SIGUSR1: the next entries go to a new file at the path, nothing is
    lost, and `capgate audit` reads both."""
    audit = tmp_path / "audit.jsonl"
    with serving(
        *ANY_PORTS,
        "--audit-log",
        str(audit),
        "--log-format",
        "json",
        "--base-uri",
        f"management-runs={upstream.url}",
        env=ENV,
    ) as (process, lines):
        assert process.stderr is not None
        rest = rest_url(lines)
        log = LogLines(process.stderr)
        async with aiohttp.ClientSession() as session:
            for run in ("run_before", "run_after"):
                async with session.post(f"{rest}/v1/api/v1/runs/{run}/replay") as response:
                    assert response.status == 200
                if run == "run_before":
                    audit.rename(tmp_path / "audit.jsonl.1")
                    process.send_signal(signal.SIGUSR1)
                    line = await asyncio.to_thread(log.wait_for, "reopening the audit log", 10)
                    assert str(audit) in line
            process.send_signal(signal.SIGHUP)
            assert "reloaded" in await asyncio.to_thread(log.wait_for, "capgate.reload", 10)
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    assert [row["resource"]["runId"] for row in read_rows(audit)] == ["run_before", "run_after"]
    assert len(audit.read_text().splitlines()) == len((tmp_path / "audit.jsonl.1").read_text().splitlines()) == 2
