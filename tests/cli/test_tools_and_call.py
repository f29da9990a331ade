"""`capgate tools` and `capgate call` through the real entry point: piped, and on a terminal (a pty)."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from capgate.cli.program import main
from capgate.observe.audit_rows import read_rows
from tests.support.cli import CAPGATE, capgate, cli_env
from tests.support.gateway import TEST_KEY
from tests.support.terminal import run_in_terminal
from tests.support.upstream import RecordingUpstream

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TOOLS = [
    "list-runs", "retrieve-run", "wait-for-run", "cancel-run", "replay-run", "reschedule-run", "add-tags-run",
    "trigger-task", "get-run-trace", "get-run-events", "update-run-metadata",
]  # fmt: skip


def run(id_: str, status: str, task: str, duration_ms: int, tags: list[str]) -> dict[str, Any]:
    return {
        "id": id_,
        "status": status,
        "taskIdentifier": task,
        "version": "20261127.2",
        "createdAt": "2026-11-28T20:36:30.995Z",
        "durationMs": duration_ms,
        "tags": tags,
        "env": {"id": "env_1", "name": "dev"},
        "isTest": False,
    }


PAGE_ONE = {
    "data": [
        run("run_aaa1", "COMPLETED", "send-welcome-email", 1234, ["campaign:onboarding", "locale:en"]),
        run("run_aaa2", "FAILED", "resize-image", 125000, []),
    ],
    "pagination": {"next": "cursor-2"},
}
PAGE_TWO = {"data": [run("run_aaa3", "QUEUED", "resize-image", 0, ["vip"])], "pagination": {"next": "cursor-3"}}
PAGE_THREE = {"data": [run("run_aaa4", "CANCELED", "send-welcome-email", 50, [])], "pagination": {}}


def plain(text: str) -> str:
    return ANSI.sub("", text)


def test_tools_prints_every_tool_and_route_with_hints_and_parameters() -> None:
    result = capgate("tools")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "MCP tools · management-runs-mcp (11)"
    assert lines[1].split() == ["name", "upstream", "read-only", "destructive", "idempotent", "parameters"]
    rows = {line.split()[0]: line.split() for line in lines[2 : 2 + len(TOOLS)]}
    assert list(rows) == TOOLS
    assert rows["cancel-run"][1:7] == ["POST", "/api/v2/runs/{runId}/cancel", "no", "yes", "yes", "runId*"]
    assert rows["list-runs"][3:6] == ["yes", "no", "yes"] and "page.after," in rows["list-runs"]
    assert rows["trigger-task"][1:6] == ["POST", "/api/v1/tasks/{taskId}/trigger", "no", "no", "no"]
    assert "REST routes · management-runs-rest (13)" in lines
    assert any(line.split()[:3] == ["addtagstorun", "PUT", "/v1/api/v1/runs/{runid}/tags"] for line in lines)
    assert "\x1b[" not in result.stdout  # no colour when piped


def test_tools_json_lists_the_same_with_every_input_schema(capsys: pytest.CaptureFixture[str]) -> None:
    # In-process: the same entry point, without the cost of another interpreter.
    assert main(["tools", "trigger-dev-runs", "--json"]) == 0
    listing = orjson.loads(capsys.readouterr().out)
    assert [tool["name"] for tool in listing["tools"]] == TOOLS
    assert len(listing["routes"]) == 13
    retrieve = listing["tools"][1]
    assert retrieve["hints"] == {"read_only": True, "destructive": False, "idempotent": True}
    assert retrieve["inputs"] == [
        {
            "name": "runId",
            "location": "argument",
            "required": True,
            "schema": {"type": "string", "pattern": "^run_[a-z0-9]+$"},
            "description": "The run's id, run_ followed by lower-case letters and digits.",
        }
    ]


def test_call_piped_prints_the_upstream_json_and_sends_what_the_mcp_tool_would(upstream: RecordingUpstream) -> None:
    upstream.reply(200, PAGE_ONE)
    result = capgate(
        "call",
        "list-runs",
        "filter.status=FAILED,CRASHED",
        "--base-uri",
        f"management-runs={upstream.url}",
        "filter[tag]=vip",
        "page.size=2",
    )
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout) == PAGE_ONE
    sent = upstream.last
    assert (sent.method, sent.path) == ("GET", "/api/v1/runs")
    assert sent.query == "filter%5Bstatus%5D=FAILED%2CCRASHED&filter%5Btag%5D=vip&page%5Bsize%5D=2"
    assert sent.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert TEST_KEY not in result.stdout + result.stderr


def test_call_on_a_terminal_shows_a_coloured_table_of_runs(upstream: RecordingUpstream) -> None:
    upstream.reply(200, PAGE_ONE)
    shown = run_in_terminal(
        [*CAPGATE, "call", "list-runs", "--base-uri", f"management-runs={upstream.url}"], env=cli_env()
    )
    assert shown.returncode == 0, shown.output
    lines = plain(shown.output).splitlines()
    assert lines[0].split() == ["id", "task", "status", "created", "duration", "tags"]
    assert lines[1].split() == [
        "run_aaa1",
        "send-welcome-email",
        "COMPLETED",
        "2026-11-28",
        "20:36:30",
        "1.2s",
        "campaign:onboarding,",
        "locale:en",
    ]
    assert lines[2].split() == ["run_aaa2", "resize-image", "FAILED", "2026-11-28", "20:36:30", "2m", "05s"]
    assert lines[3] == "2 items; more with --all, or page.after=cursor-2"
    assert "\x1b[32mCOMPLETED\x1b[0m" in shown.output and "\x1b[31mFAILED\x1b[0m" in shown.output


def test_call_all_follows_pagination_next_with_progress_on_a_terminal(upstream: RecordingUpstream) -> None:
    for page in (PAGE_ONE, PAGE_TWO, PAGE_THREE):
        upstream.reply(200, page)
    shown = run_in_terminal(
        [*CAPGATE, "call", "list-runs", "--all", "page.size=2", "--base-uri", f"management-runs={upstream.url}"],
        env=cli_env(),
    )
    assert shown.returncode == 0, shown.output
    assert [request.query for request in upstream.requests] == [
        "page%5Bsize%5D=2",
        "page%5Bsize%5D=2&page%5Bafter%5D=cursor-2",
        "page%5Bsize%5D=2&page%5Bafter%5D=cursor-3",
    ]
    assert "list-runs: 2 page(s), 3 items…" in shown.output
    text = plain(shown.output)
    assert [line.split()[0] for line in text.splitlines() if line.startswith("run_")] == [
        "run_aaa1",
        "run_aaa2",
        "run_aaa3",
        "run_aaa4",
    ]
    assert "4 items from 3 page(s)" in text


def test_call_all_piped_prints_every_item_as_one_json_document(upstream: RecordingUpstream) -> None:
    for page in (PAGE_ONE, PAGE_THREE):
        upstream.reply(200, page)
    result = capgate("call", "list-runs", "--all", "--json", "--base-uri", f"management-runs={upstream.url}")
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout) == {"data": [*PAGE_ONE["data"], *PAGE_THREE["data"]]}
    assert result.stderr == ""  # no progress line when stderr is not a terminal


def test_call_refuses_an_invalid_value_with_exit_2_and_sends_nothing(upstream: RecordingUpstream) -> None:
    result = capgate("call", "list-runs", "filter.status=NOPE", "--base-uri", f"management-runs={upstream.url}")
    assert result.returncode == 2
    assert result.stderr.startswith(
        "capgate: invalid arguments, nothing was sent upstream: filter.status[0]: must be "
        "one of PENDING_VERSION, QUEUED,"
    )
    assert upstream.requests == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["colour=red"], "capgate: list-runs has no input 'colour'; it accepts: filter.status, "),
        (["page.size"], "capgate: 'page.size': expected NAME=VALUE"),
        (
            ["--all"],
            "capgate: --all follows the cursor an operation's `pagination` declares (docs/format.md), and "
            "retrieve-run calls management-runs.getrunbyid, which declares none; call it without --all",
        ),
    ],
)
def test_call_names_what_is_wrong_with_the_command_line(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIGGER_DEV_API_KEY", TEST_KEY)
    tool = "retrieve-run" if arguments == ["--all"] else "list-runs"
    assert main(["call", tool, *arguments]) == 2
    assert capsys.readouterr().err.startswith(message)


def test_call_an_upstream_error_status_exits_1_with_the_body(upstream: RecordingUpstream) -> None:
    upstream.reply(404, {"error": "Run not found"})
    result = capgate("call", "retrieve-run", "runId=run_missing", "--base-uri", f"management-runs={upstream.url}")
    assert result.returncode == 1
    assert orjson.loads(result.stdout) == {"error": "Run not found"}
    assert "retrieve-run: the upstream answered HTTP 404" in result.stderr
    assert upstream.last.path == "/api/v3/runs/run_missing"


def test_a_mutating_call_from_the_shell_is_audited(upstream: RecordingUpstream, tmp_path: Any) -> None:
    upstream.reply(200, {"id": "run_new1"})
    env = {**cli_env(), "XDG_DATA_HOME": str(tmp_path)}
    result = capgate("call", "replay-run", "runId=run_old1", "--base-uri", f"management-runs={upstream.url}", env=env)
    assert result.returncode == 0, result.stderr
    log = tmp_path / "capgate" / "audit.jsonl"
    assert [(e["adapter"], e["operation"], e["resource"], e.get("new_id")) for e in read_rows(log)] == [
        ("cli", "management-runs.replayrun", {"runId": "run_old1"}, "run_new1")
    ]
    assert [orjson.loads(line)["phase"] for line in log.read_text().splitlines()] == ["intent", "outcome"]
    listed = capgate("call", "list-runs", "--base-uri", f"management-runs={upstream.url}", env=env)
    assert listed.returncode == 0 and len(log.read_text().splitlines()) == 2
