"""Tool results built from the default document's output mappings, against the emulator, with the real client in
both protocol eras: schemas that validate every result, compact text for a model, the whole answer on request."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator
from mcp import Client

from tests.exposes.mcp.conftest import Served, fetch, links, texts, validators
from tests.support.emulator import Emulator
from tests.support.gateway import gateway_config, running_gateway
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]  # 2026-07-28 and 2025-11-25


@pytest.mark.parametrize("mode", MODES)
async def test_every_result_validates_against_its_tools_output_schema(served: Served, mode: str) -> None:
    served.emulator.reset()
    _, page = fetch(served.emulator, "/api/v1/runs?page%5Bsize%5D=100")
    statuses = {run["status"]: run["id"] for run in page["data"]}
    assert {"FAILED", "COMPLETED", "DELAYED", "QUEUED", "EXECUTING"} <= statuses.keys(), "runs in every state"
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list-runs", {}),
        ("list-runs", {"page.size": 1}),
        ("list-runs", {"filter.status": ["FAILED"], "page.size": 100}),
        ("list-runs", {"filter.tag": ["no-such-tag"]}),  # an empty page
        *[("retrieve-run", {"runId": run_id}) for run_id in statuses.values()],
        ("wait-for-run", {"runId": statuses["FAILED"]}),  # finished: answered at once
        ("add-tags-run", {"runId": statuses["FAILED"], "body": {"tags": ["checked"]}}),
        ("reschedule-run", {"runId": statuses["DELAYED"], "body": {"delay": "2h"}}),
        ("replay-run", {"runId": statuses["FAILED"]}),
        ("cancel-run", {"runId": statuses["QUEUED"]}),
        ("trigger-task", {"taskIdentifier": "send-welcome-email", "payload": {"userId": "u_1"}}),
        ("get-run-trace", {"runId": statuses["FAILED"], "page.size": 2}),
        ("get-run-events", {"runId": statuses["FAILED"]}),
        ("update-run-metadata", {"runId": statuses["EXECUTING"], "metadata": {"checked": True}}),
    ]  # test_agent_tool_results.py checks the last four with every kind of run
    async with Client(served.gateway.mcp, mode=mode) as client:
        schemas = await validators(client)
        assert set(schemas) == {name for name, _ in calls}, "every tool of the default document maps its output"
        for name, arguments in calls:
            for verbose in (False, True):
                result = await client.call_tool(name, {**arguments, "verbose": verbose})
                assert result.is_error is False, (name, texts(result))
                errors = [error.message for error in schemas[name].iter_errors(result.structured_content)]
                assert errors == [], (name, verbose, errors)
                if not verbose:  # the mapped shape on its own, not only the union with the whole answer
                    mapped = Draft202012Validator(schemas[name].schema["anyOf"][0])
                    assert [error.message for error in mapped.iter_errors(result.structured_content)] == []


@pytest.mark.parametrize("mode", MODES)
async def test_a_25_run_page_is_one_line_per_run_at_most_a_quarter_of_the_upstream_bytes(
    served: Served, mode: str
) -> None:
    body, page = fetch(served.emulator, "/api/v1/runs?page%5Bsize%5D=25")
    async with Client(served.gateway.mcp, mode=mode) as client:
        result = await client.call_tool("list-runs", {"page.size": 25})
    [text] = texts(result)
    lines = text.splitlines()
    assert lines[0] == "25 runs (id status taskIdentifier createdAt finishedAt tags):"
    runs = page["data"]
    assert len(runs) == 25
    for run, line in zip(runs, lines[1:26], strict=True):
        # nothing an agent needs to act is lost: id, status, task, created and finished times, tags
        finished = run.get("finishedAt", "-")
        tags = ",".join(run["tags"]) or "-"
        assert line == f"{run['id']} {run['status']} {run['taskIdentifier']} {run['createdAt']} {finished} {tags}"
    assert lines[26].startswith('next page: list-runs {"page.size":25,"page.after":"')
    assert lines[27:] == ["no previous page"]
    ratio = len(text.encode()) / len(body)
    assert ratio <= 0.25, f"the text is {ratio:.0%} of the upstream's {len(body)} bytes"
    # The structure keeps every run, with what a program needs, under the upstream's own names.
    assert [run["id"] for run in result.structured_content["data"]] == [run["id"] for run in runs]  # type: ignore[index]
    assert result.structured_content["pagination"] == page["pagination"]  # type: ignore[index]


async def test_one_run_is_its_key_fields_one_per_line_with_its_error(served: Served) -> None:
    _, page = fetch(served.emulator, "/api/v1/runs?page%5Bsize%5D=100&filter%5Bstatus%5D=FAILED")
    _, run = fetch(served.emulator, f"/api/v3/runs/{page['data'][0]['id']}")
    assert run["error"]["message"]
    async with Client(served.gateway.mcp) as client:
        result = await client.call_tool("retrieve-run", {"runId": run["id"]})
    [text] = texts(result)
    fields = dict(line.split(": ", 1) for line in text.splitlines())
    assert fields["id"] == run["id"]
    assert fields["status"] == "FAILED"
    assert fields["taskIdentifier"] == run["taskIdentifier"]
    assert fields["error.message"] == run["error"]["message"]
    assert fields["finishedAt"] == run["finishedAt"]
    assert orjson.loads(fields["payload"]) == run["payload"]
    assert "stackTrace" not in text, "the stack trace stays in structuredContent"
    assert result.structured_content["error"] == run["error"]  # type: ignore[index]
    assert links(result) == [f"trigger://runs/{run['id']}"]


@pytest.mark.parametrize("mode", MODES)
async def test_verbose_returns_the_upstream_answer_whole(served: Served, mode: str) -> None:
    body, page = fetch(served.emulator, "/api/v1/runs?page%5Bsize%5D=3")
    async with Client(served.gateway.mcp, mode=mode) as client:
        result = await client.call_tool("list-runs", {"page.size": 3, "verbose": True})
        refused = await client.call_tool("list-runs", {"verbose": "sometimes"})
    assert result.structured_content == page
    assert orjson.loads(texts(result)[0]) == page
    assert texts(result)[1].startswith('next page: list-runs {"page.size":3,"verbose":true,"page.after":"')
    assert len(links(result)) == 3
    assert refused.is_error and "verbose must be true or false" in texts(refused)[0]


async def test_mcp_text_json_restores_the_json_text(emulator: Emulator) -> None:
    with running_gateway(gateway_config("trigger-dev-runs", emulator.url, mcp_text="json")) as gateway:
        async with Client(gateway.mcp) as client:
            result = await client.call_tool("list-runs", {"page.size": 2})
    body, structured = texts(result)
    assert orjson.loads(body) == result.structured_content
    assert structured.startswith("next page: list-runs ")
    assert len(links(result)) == 2


@pytest.mark.parametrize("mode", MODES)
async def test_the_seed_maps_nothing_and_answers_as_before(upstream: RecordingUpstream, mode: str) -> None:
    answer = {"data": [{"id": "run_a", "status": "QUEUED"}], "pagination": {"next": "c"}}
    upstream.reply(200, answer)
    with running_gateway(gateway_config("trigger-dev-runs-seed", upstream.url)) as gateway:
        async with Client(gateway.mcp, mode=mode) as client:
            tools = (await client.list_tools()).tools
            result = await client.call_tool("list-runs", {})
            unknown = await client.call_tool("list-runs", {"verbose": True})
    assert all(tool.output_schema is None and "verbose" not in tool.input_schema["properties"] for tool in tools)
    assert [block.type for block in result.content] == ["text"]
    assert orjson.loads(texts(result)[0]) == answer == result.structured_content
    assert unknown.is_error and "unknown argument(s) verbose" in texts(unknown)[0]
