"""The seed's six operations, through REST and through MCP, reach the upstream exactly as each document says.

The default document's further operations are in `test_agent_operations.py`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from mcp import Client

from tests.exposes.conftest import Stack, passed_back
from tests.support.gateway import RUN, TEST_KEY
from tests.support.http import rest_call

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Case:
    tool: str
    arguments: dict[str, Any]  # MCP arguments
    rest: tuple[str, str, str, Any]  # method, path, query, JSON body (None: no body)
    upstream: dict[str, tuple[str, str, str, Any]]  # document -> method, path, query, body


CASES = [
    Case(
        "list-runs",
        {
            "filter.status": ["QUEUED", "EXECUTING"],
            "page.size": 10,
            "filter.isTest": False,
            "filter.createdAt.from": "2026-11-01T00:00:00Z",
        },
        (
            "GET",
            "/v1/api/v1/runs",
            "filter[status]=QUEUED,EXECUTING&filter[isTest]=false&filter[createdAt.from]=2026-11-01T00:00:00Z"
            "&page[size]=10",
            None,
        ),
        {
            "trigger-dev-runs": (
                "GET",
                "/api/v1/runs",
                "filter%5Bstatus%5D=QUEUED%2CEXECUTING&filter%5BisTest%5D=false"
                "&filter%5BcreatedAt%5D%5Bfrom%5D=2026-11-01T00%3A00%3A00Z&page%5Bsize%5D=10",
                None,
            ),
            "trigger-dev-runs-seed": (
                "GET",
                "/api/v1/runs",
                "filter%5Bstatus%5D=QUEUED%2CEXECUTING&filter%5BisTest%5D=false"
                "&filter%5BcreatedAt.from%5D=2026-11-01T00%3A00%3A00Z&page%5Bsize%5D=10",
                None,
            ),
        },
    ),
    Case(
        "retrieve-run",
        {"runId": RUN},
        ("GET", f"/v1/api/v1/runs/{RUN}", "", None),
        {
            "trigger-dev-runs": ("GET", f"/api/v3/runs/{RUN}", "", None),
            "trigger-dev-runs-seed": ("GET", f"/api/v1/runs/{RUN}", "", None),
        },
    ),
    Case(
        "cancel-run",
        {"runId": RUN},
        ("POST", f"/v1/api/v1/runs/{RUN}/cancel", "", None),
        {
            "trigger-dev-runs": ("POST", f"/api/v2/runs/{RUN}/cancel", "", None),
            "trigger-dev-runs-seed": ("POST", f"/api/v1/runs/{RUN}/cancel", "", None),
        },
    ),
    Case(
        "replay-run",
        {"runId": RUN},
        ("POST", f"/v1/api/v1/runs/{RUN}/replay", "", None),
        {
            "trigger-dev-runs": ("POST", f"/api/v1/runs/{RUN}/replay", "", None),
            "trigger-dev-runs-seed": ("POST", f"/api/v1/runs/{RUN}/replay", "", None),
        },
    ),
    Case(
        "reschedule-run",
        {"runId": RUN, "body": {"delay": "1h30m"}},
        ("POST", f"/v1/api/v1/runs/{RUN}/reschedule", "", {"delay": "1h30m"}),
        {
            "trigger-dev-runs": ("POST", f"/api/v1/runs/{RUN}/reschedule", "", {"delay": "1h30m"}),
            "trigger-dev-runs-seed": ("POST", f"/api/v1/runs/{RUN}/reschedule", "", {"delay": "1h30m"}),
        },
    ),
    Case(
        "add-tags-run",
        {"runId": RUN, "body": {"tags": ["customer:42", "vip"]}},
        ("PUT", f"/v1/api/v1/runs/{RUN}/tags", "", {"tags": ["customer:42", "vip"]}),
        {
            "trigger-dev-runs": ("POST", f"/api/v1/runs/{RUN}/tags", "", {"tags": ["customer:42", "vip"]}),
            "trigger-dev-runs-seed": ("PUT", f"/api/v1/runs/{RUN}/tags", "", {"tags": ["customer:42", "vip"]}),
        },
    ),
]

UPSTREAM_ANSWER = {"id": RUN, "status": "COMPLETED", "tags": ["x"]}
RATE_HEADERS = {"x-ratelimit-limit": "750", "x-ratelimit-remaining": "749", "x-ratelimit-reset": "1764361000000"}


def assert_reached_upstream(stack: Stack, expected: tuple[str, str, str, Any]) -> None:
    method, path, query, body = expected
    assert len(stack.upstream.requests) == 1
    seen = stack.upstream.last
    assert (seen.method, seen.path, seen.query) == (method, path, query)
    assert seen.headers["authorization"] == f"Bearer {TEST_KEY}"
    if stack.document == "trigger-dev-runs":
        assert seen.headers["x-trigger-api-version"] == "2025-07-16"
    else:
        assert "x-trigger-api-version" not in seen.headers
    if body is None:
        assert seen.body == b""
    else:
        assert seen.json() == body
        assert seen.headers["content-type"] == "application/json"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.tool)
async def test_rest_route_reaches_upstream_and_passes_answer_back(fresh: Stack, case: Case) -> None:
    fresh.upstream.reply(200, UPSTREAM_ANSWER, headers=RATE_HEADERS)
    method, path, query, body = case.rest
    status, headers, content = await rest_call(fresh.gateway.rest, method, path, query, body)
    assert status == 200
    assert orjson.loads(content) == UPSTREAM_ANSWER
    assert headers["content-type"] == "application/json"
    expected = passed_back(fresh, RATE_HEADERS)
    assert {name: headers.get(name) for name in RATE_HEADERS} == {name: expected.get(name) for name in RATE_HEADERS}
    assert_reached_upstream(fresh, case.upstream[fresh.document])


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.tool)
async def test_mcp_tool_reaches_upstream_and_returns_structured_result(fresh: Stack, case: Case, mode: str) -> None:
    fresh.upstream.reply(200, UPSTREAM_ANSWER)
    # The default document maps every tool's output (tests/exposes/mcp/test_results.py); `verbose` asks for it whole.
    verbose = {"verbose": True} if fresh.document == "trigger-dev-runs" else {}
    async with Client(fresh.gateway.mcp, mode=mode) as client:
        result = await client.call_tool(case.tool, {**case.arguments, **verbose})
    assert result.is_error is False
    assert result.structured_content == UPSTREAM_ANSWER
    assert orjson.loads(result.content[0].text) == UPSTREAM_ANSWER
    assert_reached_upstream(fresh, case.upstream[fresh.document])


SDK_PATHS = [
    ("GET", f"/v1/api/v3/runs/{RUN}", None, ("GET", f"/api/v3/runs/{RUN}", "", None)),
    ("POST", f"/v1/api/v2/runs/{RUN}/cancel", None, ("POST", f"/api/v2/runs/{RUN}/cancel", "", None)),
    ("POST", f"/v1/api/v1/runs/{RUN}/tags", {"tags": "one"}, ("POST", f"/api/v1/runs/{RUN}/tags", "", {"tags": "one"})),
]


@pytest.mark.parametrize("stack", ["trigger-dev-runs"], indirect=True)
@pytest.mark.parametrize("method,path,body,expected", SDK_PATHS)
async def test_default_document_answers_the_sdk_paths(
    fresh: Stack, method: str, path: str, body: Any, expected: tuple[str, str, str, Any]
) -> None:
    status, _, _ = await rest_call(fresh.gateway.rest, method, path, body=body)
    assert status == 200
    assert_reached_upstream(fresh, expected)


async def test_rest_accepts_the_seed_and_the_live_date_filter_spellings(fresh: Stack) -> None:
    for spelling in ("filter[createdAt.to]", "filter[createdAt][to]"):
        fresh.upstream.requests.clear()
        status, _, _ = await rest_call(fresh.gateway.rest, "GET", "/v1/api/v1/runs", f"{spelling}=1764300000000")
        assert status == 200
        sent = "filter%5BcreatedAt%5D%5Bto%5D" if fresh.document == "trigger-dev-runs" else "filter%5BcreatedAt.to%5D"
        assert fresh.upstream.last.query == f"{sent}=1764300000000"


async def test_inbound_authorization_is_not_forwarded(fresh: Stack) -> None:
    await rest_call(fresh.gateway.rest, "GET", f"/v1/api/v1/runs/{RUN}", headers={"Authorization": "Bearer caller"})
    assert fresh.upstream.last.headers["authorization"] == f"Bearer {TEST_KEY}"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_both_protocol_eras_list_the_tools_with_stated_annotations(fresh: Stack, mode: str) -> None:
    async with Client(fresh.gateway.mcp, mode=mode) as client:
        listed = await client.list_tools()
    names = [tool.name for tool in listed.tools]
    seed = ["list-runs", "retrieve-run", "cancel-run", "replay-run", "reschedule-run", "add-tags-run"]
    agent = ["trigger-task", "get-run-trace", "get-run-events", "update-run-metadata"]
    default = [*seed[:2], "wait-for-run", *seed[2:], *agent]
    assert names == (default if fresh.document == "trigger-dev-runs" else seed)
    for tool in listed.tools:
        annotations = tool.annotations
        assert annotations is not None
        stated = (
            annotations.read_only_hint,
            annotations.destructive_hint,
            annotations.idempotent_hint,
            annotations.open_world_hint,
        )
        assert None not in stated, tool.name
        assert annotations.open_world_hint is True
        for name in tool.input_schema.get("properties", {}):
            assert name.replace(".", "").replace("_", "").replace("-", "").isalnum(), name
    by_name = {tool.name: tool for tool in listed.tools}
    assert by_name["list-runs"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert by_name["replay-run"].annotations.idempotent_hint is False  # type: ignore[union-attr]
    assert by_name["cancel-run"].input_schema["required"] == ["runId"]
    if fresh.document == "trigger-dev-runs":
        assert by_name["cancel-run"].annotations.idempotent_hint is True  # type: ignore[union-attr]
        status = by_name["list-runs"].input_schema["properties"]["filter.status"]
        assert "TIMED_OUT" in status["items"]["enum"] and len(status["items"]["enum"]) == 17
        assert by_name["list-runs"].title == "List runs"
