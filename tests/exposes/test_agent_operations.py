"""Trigger, trace, events, metadata and replay overrides (issue 13.5) through REST and MCP.

Against a recording upstream, each reaches it exactly as the live API expects; against the emulator, an
agent can find a failed run, read why it failed, replay it with a fixed payload and follow the new run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from mcp import Client

from tests.exposes.conftest import Stack
from tests.support.emulator import Emulator
from tests.support.gateway import RUN, TEST_KEY, Running, gateway_config, running_gateway
from tests.support.http import rest_call
from tests.support.upstream import recording_upstream

pytestmark = pytest.mark.anyio

OPERATIONS = [
    {"type": "set", "key": "progress", "value": 0.5},
    {"type": "append", "key": "$.log.lines", "value": "step 2"},
    {"type": "increment", "key": "retries", "value": 1},
]
OVERRIDES = {"payload": {"userId": "u_2"}, "tags": ["retry"], "machine": "large-1x", "delay": "10m"}


@dataclass(frozen=True)
class Case:
    tool: str
    arguments: dict[str, Any]  # MCP arguments
    rest: tuple[str, str, str, Any]  # method, path, query, JSON body (None: no body)
    upstream: tuple[str, str, str, Any]  # method, path, query, body


CASES = [
    Case(
        "trigger-task",
        {"taskIdentifier": "send-welcome-email", "payload": {"userId": "u1"},
         "options": {"tags": ["vip"], "idempotencyKey": "order-42", "ttl": 3600}},
        ("POST", "/v1/api/v1/tasks/send-welcome-email/trigger", "",
         {"payload": {"userId": "u1"}, "options": {"tags": ["vip"], "idempotencyKey": "order-42", "ttl": 3600}}),
        ("POST", "/api/v1/tasks/send-welcome-email/trigger", "",
         {"payload": {"userId": "u1"}, "options": {"tags": ["vip"], "idempotencyKey": "order-42", "ttl": 3600}}),
    ),
    Case(
        "get-run-trace",
        {"runId": RUN, "page.size": 20, "page.after": "eyJ0IjoxfQ"},
        ("GET", f"/v1/api/v1/runs/{RUN}/trace", "page[size]=20&page[after]=eyJ0IjoxfQ", None),
        ("GET", f"/api/v1/runs/{RUN}/trace", "page%5Bsize%5D=20&page%5Bafter%5D=eyJ0IjoxfQ", None),
    ),
    Case(
        "get-run-events",
        {"runId": RUN},
        ("GET", f"/v1/api/v1/runs/{RUN}/events", "", None),
        ("GET", f"/api/v1/runs/{RUN}/events", "", None),
    ),
    Case(
        "update-run-metadata",
        {"runId": RUN, "operations": OPERATIONS, "rootOperations": [{"type": "increment", "key": "done", "value": 1}]},
        ("PUT", f"/v1/api/v1/runs/{RUN}/metadata", "",
         {"operations": OPERATIONS, "rootOperations": [{"type": "increment", "key": "done", "value": 1}]}),
        ("PUT", f"/api/v1/runs/{RUN}/metadata", "",
         {"operations": OPERATIONS, "rootOperations": [{"type": "increment", "key": "done", "value": 1}]}),
    ),
    Case(
        "replay-run",
        {"runId": RUN, "body": OVERRIDES},
        ("POST", f"/v1/api/v1/runs/{RUN}/replay", "", OVERRIDES),
        ("POST", f"/api/v1/runs/{RUN}/replay", "", OVERRIDES),
    ),
]  # fmt: skip
ANSWER = {"id": "run_cm9new0def0ghi0jkl0mno0pq", "isCached": False}


def assert_reached_upstream(stack: Stack, expected: tuple[str, str, str, Any]) -> None:
    method, path, query, body = expected
    assert len(stack.upstream.requests) == 1
    seen = stack.upstream.last
    assert (seen.method, seen.path, seen.query) == (method, path, query)
    assert seen.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert seen.headers["x-trigger-api-version"] == "2025-07-16"
    if body is None:
        assert seen.body == b""
    else:
        assert seen.json() == body and seen.headers["content-type"] == "application/json"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The default document in front of a recording upstream (this module's operations are not in the seed)."""
    with recording_upstream() as upstream, running_gateway(gateway_config("trigger-dev-runs", upstream.url)) as gw:
        yield Stack("trigger-dev-runs", upstream, gw)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.tool)
async def test_rest_route_reaches_upstream_and_passes_the_answer_back(fresh: Stack, case: Case) -> None:
    fresh.upstream.reply(200, ANSWER)
    method, path, query, body = case.rest
    status, _, content = await rest_call(fresh.gateway.rest, method, path, query, body)
    assert (status, orjson.loads(content)) == (200, ANSWER)
    assert_reached_upstream(fresh, case.upstream)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.tool)
async def test_mcp_tool_reaches_upstream_and_returns_the_answer(fresh: Stack, case: Case, mode: str) -> None:
    fresh.upstream.reply(200, ANSWER)
    async with Client(fresh.gateway.mcp, mode=mode) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        # A tool with an output mapping answers its mapped fields; `verbose` asks for the whole upstream answer.
        verbose = {"verbose": True} if "verbose" in listed[case.tool].input_schema["properties"] else {}
        result = await client.call_tool(case.tool, {**case.arguments, **verbose})
    assert result.is_error is False and result.structured_content == ANSWER
    assert_reached_upstream(fresh, case.upstream)


async def test_the_trace_tool_pages_for_a_model_and_the_rest_route_keeps_the_sdks_tree(fresh: Stack) -> None:
    async with Client(fresh.gateway.mcp) as client:
        await client.call_tool("get-run-trace", {"runId": RUN})
    assert fresh.upstream.last.query == "page%5Bsize%5D=50"  # the tool's declared default
    await rest_call(fresh.gateway.rest, "GET", f"/v1/api/v1/runs/{RUN}/trace")
    assert fresh.upstream.last.query == ""  # the SDK's retrieveRunTrace: the whole tree


async def test_a_replay_without_a_body_sends_none(fresh: Stack) -> None:
    await rest_call(fresh.gateway.rest, "POST", f"/v1/api/v1/runs/{RUN}/replay")
    async with Client(fresh.gateway.mcp) as client:
        await client.call_tool("replay-run", {"runId": RUN})
    assert [request.body for request in fresh.upstream.requests] == [b"", b""]


EXPECTED_HINTS = {  # read-only, destructive, idempotent, open world
    "trigger-task": (False, False, False, True),
    "get-run-trace": (True, False, True, True),
    "get-run-events": (True, False, True, True),
    "update-run-metadata": (False, True, False, True),
    "replay-run": (False, False, False, True),
}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_new_tools_are_listed_with_their_hints_and_inputs(fresh: Stack, mode: str) -> None:
    async with Client(fresh.gateway.mcp, mode=mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    for name, hints in EXPECTED_HINTS.items():
        annotations = tools[name].annotations
        assert annotations is not None
        stated = (annotations.read_only_hint, annotations.destructive_hint, annotations.idempotent_hint,
                  annotations.open_world_hint)  # fmt: skip
        assert stated == hints, name
    trigger = tools["trigger-task"].input_schema
    assert set(trigger["properties"]) == {"taskIdentifier", "payload", "options", "verbose"}  # verbose: capgate's
    assert trigger["required"] == ["taskIdentifier"]
    assert "idempotencyKey" in trigger["properties"]["options"]["properties"]
    trace = tools["get-run-trace"].input_schema["properties"]
    assert (trace["page.size"]["default"], trace["page.size"]["maximum"]) == (50, 1000)
    replay_body = tools["replay-run"].input_schema["properties"]["body"]
    assert replay_body["additionalProperties"] is False and "payload" in replay_body["properties"]
    metadata = tools["update-run-metadata"].input_schema["properties"]
    assert set(metadata) == {"runId", "metadata", "operations", "parentOperations", "rootOperations", "verbose"}
    assert metadata["operations"]["items"]["properties"]["type"]["enum"] == [
        "set", "delete", "append", "remove", "increment", "update",
    ]  # fmt: skip


REFUSED = [
    ("replay-run", {"runId": RUN, "body": {"payloud": {}}}, "body.payloud"),
    ("replay-run", {"runId": RUN, "body": {"maxAttempts": 0}}, "body.maxAttempts"),
    ("trigger-task", {"payload": {}}, "taskIdentifier"),
    ("trigger-task", {"taskIdentifier": "../admin"}, "taskIdentifier"),
    ("trigger-task", {"taskIdentifier": "t", "options": {"machine": "huge"}}, "options.machine"),
    ("get-run-trace", {"runId": RUN, "page.size": 5000}, "page.size"),
    ("get-run-events", {"runId": "not-a-run"}, "runId"),
    ("update-run-metadata", {"runId": RUN, "operations": [{"type": "rename", "key": "a"}]}, "operations"),
]


@pytest.mark.parametrize(("tool", "arguments", "named"), REFUSED, ids=lambda value: str(value)[:40])
async def test_bad_input_is_refused_before_any_upstream_call(
    fresh: Stack, tool: str, arguments: dict[str, Any], named: str
) -> None:
    async with Client(fresh.gateway.mcp) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error is True
    assert named in result.content[0].text  # type: ignore[union-attr]
    assert fresh.upstream.requests == []


async def test_a_rest_replay_with_a_misspelt_override_is_400_and_sends_nothing(fresh: Stack) -> None:
    status, headers, content = await rest_call(
        fresh.gateway.rest, "POST", f"/v1/api/v1/runs/{RUN}/replay", body={"payloud": {"x": 1}}
    )
    assert status == 400 and headers["content-type"].startswith("application/problem+json")
    assert [error["name"] for error in orjson.loads(content)["errors"]] == ["body.payloud"]
    assert fresh.upstream.requests == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", f"/v1/api/v1/runs/{RUN}/metadata", {"operations": OPERATIONS}),
        ("POST", "/v1/api/v1/tasks/send-welcome-email/trigger", {"payload": {}}),
    ],
)
async def test_trigger_and_metadata_updates_are_never_retried(fresh: Stack, method: str, path: str, body: Any) -> None:
    fresh.upstream.reply(503, {"error": "down"})
    status, _, _ = await rest_call(fresh.gateway.rest, method, path, body=body)
    assert status == 503 and len(fresh.upstream.requests) == 1  # a retry could start a second run, or add twice


# Against the emulator: the flow of an agent, every step through the gateway.


@pytest.fixture(scope="module")
def emulated(emulator: Emulator) -> Iterator[Running]:
    with running_gateway(gateway_config("trigger-dev-runs", emulator.url)) as gateway:
        yield gateway


def structured(result: Any) -> Any:
    assert result.is_error is False, result.content
    return result.structured_content


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_an_agent_reads_why_a_run_failed_replays_it_fixed_and_follows_the_new_run(
    clean: Emulator, emulated: Running, mode: str
) -> None:
    async with Client(emulated.mcp, mode=mode) as client:
        failed = structured(await client.call_tool("list-runs", {"filter.status": ["FAILED"], "page.size": 1}))
        run_id = failed["data"][0]["id"]
        run = structured(await client.call_tool("retrieve-run", {"runId": run_id}))
        spans: list[dict[str, Any]] = []
        arguments: dict[str, Any] = {"runId": run_id, "page.size": 2}
        while True:
            page = structured(await client.call_tool("get-run-trace", arguments))
            spans += page["data"]
            if "next" not in page["pagination"]:
                break
            arguments["page.after"] = page["pagination"]["next"]
        errors = [span["message"] for span in spans if span["level"] == "ERROR"]
        assert run["error"]["message"] in errors
        events = structured(await client.call_tool("get-run-events", {"runId": run_id}))["events"]
        exceptions = [exception for event in events for exception in event["exceptions"]]
        assert exceptions and exceptions[-1]["message"] == run["error"]["message"]
        replayed = structured(
            await client.call_tool("replay-run", {"runId": run_id, "body": {"payload": {"fixed": 1}}})
        )
        new_run = structured(await client.call_tool("retrieve-run", {"runId": replayed["id"]}))
        assert new_run["payload"] == {"fixed": 1} and new_run["taskIdentifier"] == run["taskIdentifier"]
        assert new_run["status"] == "QUEUED" and new_run["tags"] == run["tags"]
    replay_requests = clean.requests("POST", f"/api/v1/runs/{run_id}/replay")
    assert [orjson.loads(request["body"]) for request in replay_requests] == [{"payload": {"fixed": 1}}]
    paged = clean.requests("GET", f"/api/v1/runs/{run_id}/trace")
    assert paged and all(request["query"].startswith("page%5Bsize%5D=2") for request in paged)


async def test_an_agent_triggers_once_and_tracks_progress_in_metadata(clean: Emulator, emulated: Running) -> None:
    options = {"idempotencyKey": f"order-{id(clean)}", "tags": ["agent"], "metadata": {"step": 0}}
    async with Client(emulated.mcp) as client:
        first = structured(
            await client.call_tool(
                "trigger-task",
                {"taskIdentifier": "send-welcome-email", "payload": {"userId": "u_9"}, "options": options},
            )
        )
        again = structured(
            await client.call_tool(
                "trigger-task",
                {"taskIdentifier": "send-welcome-email", "payload": {"userId": "u_9"}, "options": options},
            )
        )
        assert first["isCached"] is False and again == {"id": first["id"], "isCached": True}
        updated = structured(
            await client.call_tool(
                "update-run-metadata",
                {
                    "runId": first["id"],
                    "operations": [
                        {"type": "increment", "key": "step", "value": 1},
                        {"type": "append", "key": "notes", "value": "sent"},
                    ],
                },
            )
        )
        assert updated == {"metadata": {"step": 1, "notes": ["sent"]}}
        run = structured(await client.call_tool("retrieve-run", {"runId": first["id"]}))
        assert run["metadata"] == {"step": 1, "notes": ["sent"]} and run["payload"] == {"userId": "u_9"}
    status, _, content = await rest_call(emulated.rest, "GET", f"/v1/api/v1/runs/{first['id']}/trace")
    assert status == 200 and orjson.loads(content)["trace"]["rootSpan"]["runId"] == first["id"]
    triggers = clean.requests("POST", "/api/v1/tasks/send-welcome-email/trigger")
    assert [orjson.loads(request["body"])["options"] for request in triggers] == [options, options]
    headers = {name.lower(): value for name, value in triggers[0]["headers"]}
    assert headers["authorization"] == f"Bearer {TEST_KEY}" and headers["x-trigger-api-version"] == "2025-07-16"
