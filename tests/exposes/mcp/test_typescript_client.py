"""The official TypeScript MCP client (npm `@modelcontextprotocol/sdk` 1.32.2, the 2025-11-25 era) against the
default document in front of the simulating emulator: schemas it validates itself, progress in order while a run
finishes, consent asked in a session (decline, cancel, accept each doing what it says upstream), a resource read
back, and a client that cannot be asked served by the policy. The client's side is `typescript/scenario.mjs`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from capgate.gateway.safeguards import Hardening
from capgate.observe.audit_rows import read_rows
from tests.exposes.mcp.test_waiting import FINAL, TICK, trigger
from tests.support.emulator import Emulator, emulator_config
from tests.support.gateway import Running, gateway_config, running_gateway
from tests.support.node import NodeProgram, npm_installed
from tests.support.servers import serve_app
from trigger_emulator.app import create_app

pytestmark = pytest.mark.timeout(120)

HERE = Path(__file__).resolve().parent / "typescript"
SCENARIO_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def program() -> NodeProgram:
    return npm_installed(HERE)


@pytest.fixture
def living(tmp_path: Path) -> Iterator[tuple[Emulator, Running, Path]]:
    log = tmp_path / "audit.jsonl"
    with serve_app(create_app(emulator_config(simulate=True, tick_s=TICK))) as url:
        config = gateway_config("trigger-dev-runs", url, hardening=Hardening(audit_log=log))
        with running_gateway(config) as gateway:
            yield Emulator(url), gateway, log


def run_scenario(program: NodeProgram, *arguments: str) -> dict[str, Any]:
    result = subprocess.run(
        [program.node, str(program.folder / "scenario.mjs"), *arguments],
        cwd=program.folder,
        capture_output=True,
        text=True,
        timeout=SCENARIO_TIMEOUT,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith('{"scenario":"mcp-typescript"')]
    assert result.returncode == 0 and lines, (
        f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    summary: dict[str, Any] = orjson.loads(lines[-1])
    failed = [f"{step['name']}: {step['error']}" for step in summary["steps"] if not step["ok"]]
    assert failed == [], "\n".join(failed)
    return summary


def test_the_typescript_client_waits_with_progress_and_is_asked_before_a_cancel(
    program: NodeProgram, living: tuple[Emulator, Running, Path]
) -> None:
    emulator, gateway, log = living
    # Delayed, so that it is still changing once node has started and connected (node takes a few seconds to
    # start on a busy machine; with 3 s the run was sometimes done before the first poll).
    waited, cancelled = trigger(emulator, delay="6s"), trigger(emulator, delay="1h")
    observed = run_scenario(program, gateway.mcp, waited, cancelled)["observed"]

    values = [note["progress"] for note in observed["progress"]]
    assert len(values) >= 2 and values == sorted(set(values)), "progress values strictly increase"
    statuses = [note["message"].split(" ", 1)[0] for note in observed["progress"]]
    assert statuses[-1] == observed["finalStatus"] in FINAL and not FINAL & set(statuses[:-1])
    assert observed["waitText"].startswith("Finished after ")

    assert len(observed["questions"]) == 3 and all(
        q["requestedSchema"]["required"] == ["confirm"] for q in observed["questions"]
    )
    answers = observed["answers"]
    assert answers["decline"]["isError"] and answers["cancel"]["isError"] and not answers["accept"]["isError"]
    assert "the user declined cancel-run" in answers["decline"]["text"][0]
    assert "the user dismissed the question about cancel-run" in answers["cancel"]["text"][0]
    # Upstream: one cancel for the user's yes, one for the policy's allow; none for the decline or the cancel.
    assert len(emulator.requests("POST", f"/api/v2/runs/{cancelled}/cancel")) == 2
    consent = [(e["asked"], e["answer"], e["mcp_client"]) for e in read_rows(log) if e.get("event") == "consent"]
    assert consent == [
        ("elicitation", "decline", "capgate-ts-asking 1.0.0"),
        ("elicitation", "cancel", "capgate-ts-asking 1.0.0"),
        ("elicitation", "accept", "capgate-ts-asking 1.0.0"),
        ("policy", "allow", None),  # stateless: the client's name is not known
    ]
