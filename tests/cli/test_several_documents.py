"""Every command takes several documents (bundled names, paths and folders mixed), as a user types them:
validate checks them together, serve serves them on one REST port and one MCP endpoint and reloads the folder
on SIGHUP, and tools, openapi, mcp-config and call see what serve serves."""

from __future__ import annotations

import shutil
import signal
import sys
import time
from pathlib import Path

import orjson
import pytest
from mcp import Client, StdioServerParameters

from capgate.document.bundled import bundled_documents
from tests.support.cli import capgate, cli_env, serving
from tests.support.management import (
    MANAGEMENT,
    NINE,
    NINE_TOOLS,
    RUNS_TOOLS,
    base_uri_flags,
    line_of,
    one_route,
    tool_count,
)
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.anyio

RUNS = bundled_documents()["trigger-dev-runs"]


def colliding_tasks(folder: Path) -> Path:
    """The tasks surface as a generated document has it: its trigger-task tool is the runs document's."""
    path = folder / "tasks.yaml"
    path.write_text(one_route("management-tasks", tool="trigger-task", route="/v1/api/v1/tasks/batch", method="POST"))
    return path


def test_validate_checks_each_document_then_all_of_them_together(tmp_path: Path) -> None:
    result = capgate("validate", *NINE)
    assert result.returncode == 0, result.stdout + result.stderr
    notes = result.stdout.splitlines()
    assert len(notes) == 16 and all(": note: port " in note for note in notes)
    assert result.stderr.splitlines()[-1] == "9 documents served together: 0 errors, 0 warnings, 16 notes"
    tasks = colliding_tasks(tmp_path)
    result = capgate("validate", "trigger-dev-runs", str(tasks))
    assert result.returncode == 1
    assert (
        f"{tasks}:{line_of(tasks, '- name: trigger-task')}: capability.exposes[1].tools[0].name: tool 'trigger-task' "
        f"is also declared at {RUNS}:{line_of(RUNS, '- name: trigger-task')}; one MCP endpoint serves"
    ) in result.stdout
    assert f"{tasks} (naftiko 1.0.0-alpha2): 0 errors, 0 warnings" in result.stderr  # alone it is fine
    assert "2 documents served together: 1 error, 0 warnings" in result.stderr


def test_serve_refuses_documents_that_collide_naming_both_places(tmp_path: Path) -> None:
    tasks = colliding_tasks(tmp_path)
    result = capgate("serve", "trigger-dev-runs", str(tasks), "--rest-port", "0", "--mcp-port", "0")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{tasks}:{line_of(tasks, '- name: trigger-task')}: " in result.stderr
    assert f"also declared at {RUNS}:{line_of(RUNS, '- name: trigger-task')}" in result.stderr


async def test_serve_a_name_and_a_folder_then_sighup_reads_the_folder_again(tmp_path: Path) -> None:
    folder = tmp_path / "documents"
    folder.mkdir()
    shutil.copy(MANAGEMENT / "batches.yaml", folder)
    # Nothing is called: the documents keep their base URI, which every --base-uri must name at each reload.
    flags = ["--rest-port", "0", "--mcp-port", "0", "--no-audit-log", "--name", "trigger-dev"]
    with serving("trigger-dev-runs", str(folder), *flags, env=cli_env()) as (process, lines):
        assert (
            "(management-runs-rest and 1 more, " in lines[-2]
            and f"(management-runs-mcp and 1 more, {RUNS_TOOLS + tool_count(folder / 'batches.yaml')} tools)"
            in lines[-1]
        )
        mcp = lines[-1].split("ready on ")[1].split()[0]

        async def tools() -> set[str]:
            async with Client(mcp) as client:
                assert client.server_info is not None and client.server_info.name == "trigger-dev"
                return {tool.name for tool in (await client.list_tools()).tools}

        assert "retrieve-batch" in await tools()
        shutil.copy(MANAGEMENT / "queues.yaml", folder)  # a document more in the folder, then SIGHUP
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "list-queues" not in (served := await tools()):
            assert time.monotonic() < deadline, "the folder's new document was not served"
        assert len(served) == RUNS_TOOLS + tool_count(folder / "batches.yaml") + tool_count(folder / "queues.yaml")

        tasks = colliding_tasks(folder)  # one that collides: the reload is refused and says why
        process.send_signal(signal.SIGHUP)
        assert process.stderr is not None
        while "reload refused" not in (line := process.stderr.readline()):
            assert line, "capgate stopped"
        assert f"{tasks}:{line_of(tasks, '- name: trigger-task')}: capability.exposes[1].tools[0].name" in line
        assert await tools() == served  # the three documents before it, still


def test_tools_openapi_and_call_describe_and_call_what_serve_serves(upstream: RecordingUpstream) -> None:
    listed = capgate("tools", *NINE, "--json")
    assert listed.returncode == 0, listed.stderr
    listing = orjson.loads(listed.stdout)
    assert len(listing["tools"]) == NINE_TOOLS and {"retrieve-batch", "list-runs"} <= {
        t["name"] for t in listing["tools"]
    }
    assert "/v1/api/v1/schedules/{scheduleId}/activate" in {route["path"] for route in listing["routes"]}
    described = capgate("openapi", *NINE)
    assert described.returncode == 0, described.stderr
    openapi = orjson.loads(described.stdout)
    assert openapi["servers"][0]["url"] == "http://127.0.0.1:8080"
    assert {"/v1/api/v1/runs", "/v1/api/v1/queues/{queue}/pause"} <= set(openapi["paths"])
    upstream.reply(200, {"id": "batch_1", "status": "COMPLETED"})
    called = capgate(
        "call",
        "retrieve-batch",
        "batchId=batch_1",
        "-d",
        "trigger-dev-runs",
        "-d",
        str(MANAGEMENT),
        "--json",
        *base_uri_flags(upstream.url),
    )
    assert called.returncode == 0, called.stderr
    assert orjson.loads(called.stdout) == {"id": "batch_1", "status": "COMPLETED"}
    assert upstream.last.path == "/api/v1/batches/batch_1"


async def test_mcp_config_launches_every_document_over_stdio_as_one_server(upstream: RecordingUpstream) -> None:
    made = capgate("mcp-config", *NINE, "--client", "claude-code", "--stdio", *base_uri_flags(upstream.url))
    assert made.returncode == 0, made.stderr
    server = orjson.loads(made.stdout)["mcpServers"]["trigger-dev-runs"]
    assert server["args"][:6] == ["-m", "capgate.cli", "serve", "trigger-dev-runs", str(MANAGEMENT), "--mcp-transport"]
    assert server["env"] == {"TRIGGER_DEV_API_KEY": "${TRIGGER_DEV_API_KEY}"}  # once, for the nine that bind it
    launch = StdioServerParameters(command=sys.executable, args=server["args"], env=cli_env())
    async with Client(launch) as client:
        assert len((await client.list_tools()).tools) == NINE_TOOLS
        result = await client.call_tool("execute-query", {"query": "SELECT 1"})
    assert not result.is_error and upstream.last.json() == {"query": "SELECT 1"}
