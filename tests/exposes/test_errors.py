"""Upstream errors pass back; bad input and path-shape attacks never reach the upstream; failures are explained."""

from __future__ import annotations

import asyncio
import socket

import orjson
import pytest
from mcp import Client

from capgate.consumes.client import ClientSettings, Timeouts
from capgate.consumes.resilience import RetryPolicy
from tests.exposes.conftest import Stack, passed_back
from tests.support.gateway import RUN, TEST_KEY, gateway_config, running_gateway
from tests.support.http import rest_call
from tests.support.servers import free_port

pytestmark = pytest.mark.anyio

UPSTREAM_ERRORS = [
    (404, {"error": "Not found"}, {"x-should-retry": "false"}),
    (422, {"error": "Runs can only have 10 tags, you're trying to set 11."}, {}),
    (
        429,
        {"title": "Rate Limit Exceeded", "status": 429, "error": "Rate limit exceeded 0/750 requests remaining."},
        {"x-ratelimit-reset": "1764361000000", "retry-after": "1"},
    ),
    (500, {"error": "Internal Server Error"}, {}),
]


@pytest.mark.parametrize("status,body,headers", UPSTREAM_ERRORS, ids=[str(e[0]) for e in UPSTREAM_ERRORS])
async def test_rest_passes_upstream_errors_back_unchanged(
    fresh: Stack, status: int, body: dict[str, object], headers: dict[str, str]
) -> None:
    for _ in range(RetryPolicy().attempts):  # a 429 to a GET is retried before it is passed back
        fresh.upstream.reply(status, body, headers=headers)
    got_status, got_headers, content = await rest_call(fresh.gateway.rest, "GET", f"/v1/api/v1/runs/{RUN}")
    assert (got_status, orjson.loads(content)) == (status, body)
    expected = passed_back(fresh, headers)
    assert {name: got_headers.get(name) for name in headers} == {name: expected.get(name) for name in headers}


@pytest.mark.parametrize("status,body,headers", UPSTREAM_ERRORS, ids=[str(e[0]) for e in UPSTREAM_ERRORS])
async def test_mcp_reports_upstream_errors_as_tool_errors(
    fresh: Stack, status: int, body: dict[str, object], headers: dict[str, str]
) -> None:
    for _ in range(RetryPolicy().attempts):  # a 429 to a GET is retried before it is passed back
        fresh.upstream.reply(status, body, headers=headers)
    async with Client(fresh.gateway.mcp) as client:
        result = await client.call_tool("retrieve-run", {"runId": RUN})
    assert result.is_error is True
    text = result.content[0].text
    assert f"HTTP {status}" in text and str(body["error"]) in text


BAD_INPUT = [
    ("page.size", {"page.size": "many"}, "page[size]=many", "must be an integer"),
    ("filter.isTest", {"filter.isTest": "maybe"}, "filter[isTest]=maybe", "must be true or false"),
]


@pytest.mark.parametrize("name,arguments,query,reason", BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
async def test_bad_input_is_refused_before_any_upstream_call(
    fresh: Stack, name: str, arguments: dict[str, object], query: str, reason: str
) -> None:
    status, headers, content = await rest_call(fresh.gateway.rest, "GET", "/v1/api/v1/runs", query)
    problem = orjson.loads(content)
    assert status == 400 and headers["content-type"] == "application/problem+json"
    assert problem["errors"][0]["name"] == query.split("=")[0] and reason in problem["errors"][0]["reason"]
    async with Client(fresh.gateway.mcp) as client:
        result = await client.call_tool("list-runs", arguments)
    assert result.is_error is True and name in result.content[0].text and reason in result.content[0].text
    assert fresh.upstream.requests == []


@pytest.mark.parametrize("stack", ["trigger-dev-runs"], indirect=True)
async def test_declared_enums_ranges_patterns_and_bodies_are_enforced(fresh: Stack) -> None:
    refused = [
        ("GET", "/v1/api/v1/runs", "filter[status]=QUEUED,RUNNING", None, "filter[status][1]"),
        ("GET", "/v1/api/v1/runs", "page[size]=101", None, "page[size]"),
        ("GET", "/v1/api/v1/runs/not-a-run", "", None, "runId"),
        ("POST", f"/v1/api/v1/runs/{RUN}/reschedule", "", {}, "body.delay"),
        ("POST", f"/v1/api/v1/runs/{RUN}/tags", "", {"tags": ["t"] * 11}, "body.tags"),
        ("POST", f"/v1/api/v1/runs/{RUN}/tags", "", {"tags": "x" * 129}, "body.tags"),
        ("POST", f"/v1/api/v1/runs/{RUN}/tags", "", {"tags": ["ok"], "extra": 1}, "body.extra"),
    ]
    for method, path, query, body, name in refused:
        status, _, content = await rest_call(fresh.gateway.rest, method, path, query, body)
        assert status == 400, (path, query, body)
        assert orjson.loads(content)["errors"][0]["name"] == name
    async with Client(fresh.gateway.mcp) as client:
        result = await client.call_tool("list-runs", {"filter.status": ["RUNNING"]})
        text = result.content[0].text
        assert result.is_error and "filter.status[0]" in text and "TIMED_OUT" in text
        result = await client.call_tool("list-runs", {"no.such": 1})
        assert result.is_error and "unknown argument" in result.content[0].text
        result = await client.call_tool("list-runs", {"filter[status]": ["FAILED"]})  # bracket spelling accepted
        assert result.is_error is False
    assert len(fresh.upstream.requests) == 1


PATH_ATTACKS = ["../x", "a/b", "..", "a?b", "a#b", "%2F", "%2e%2e", "a\\b", "a\x00b"]


@pytest.mark.parametrize("run_id", PATH_ATTACKS)
async def test_path_shape_attacks_never_reach_the_upstream(fresh: Stack, run_id: str) -> None:
    async with Client(fresh.gateway.mcp) as client:
        result = await client.call_tool("cancel-run", {"runId": run_id})
    assert result.is_error is True and "runId" in result.content[0].text
    raw_paths = [f"/v1/api/v1/runs/{run_id}/cancel"]
    for path in raw_paths:
        status = await raw_http_status(fresh.gateway.rest, "POST", path)
        assert status in (400, 404), path
    assert fresh.upstream.requests == []


async def raw_http_status(base: str, method: str, path: str) -> int:
    """Send a request line exactly as given (no client-side normalisation) and return the status."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    encoded = "".join(c if 0x21 <= ord(c) < 0x7F and c not in "?#" else f"%{ord(c):02X}" for c in path)
    writer.write(
        f"{method} {encoded} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


async def test_unreachable_upstream_gives_502_and_a_tool_error() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with running_gateway(gateway_config("trigger-dev-runs", closed)) as gateway:
        status, headers, content = await rest_call(gateway.rest, "GET", f"/v1/api/v1/runs/{RUN}")
        assert status == 502 and headers["content-type"] == "application/problem+json"
        assert "cannot connect" in orjson.loads(content)["detail"]
        async with Client(gateway.mcp) as client:
            result = await client.call_tool("retrieve-run", {"runId": RUN})
        assert result.is_error and "cannot connect" in result.content[0].text
        assert TEST_KEY not in content.decode() + result.content[0].text


async def test_slow_upstream_gives_504_and_a_tool_error(upstream) -> None:  # type: ignore[no-untyped-def]
    quick = ClientSettings(timeouts=Timeouts(connect=1.0, read=0.3, total=0.5))
    with running_gateway(gateway_config("trigger-dev-runs", upstream.url, client_settings=quick)) as gateway:
        upstream.reply(200, {"id": RUN}, delay=2.0)
        status, _, content = await rest_call(gateway.rest, "GET", f"/v1/api/v1/runs/{RUN}")
        assert status == 504 and "no answer in time" in orjson.loads(content)["detail"]
        upstream.reply(200, {"id": RUN}, delay=2.0)
        async with Client(gateway.mcp) as client:
            result = await client.call_tool("retrieve-run", {"runId": RUN})
        assert result.is_error and "no answer in time" in result.content[0].text


async def test_unknown_tool_is_a_protocol_error(fresh: Stack) -> None:
    from mcp.shared.exceptions import MCPError

    async with Client(fresh.gateway.mcp) as client:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("delete-everything", {})
    assert raised.value.code == -32602 and "list-runs" in raised.value.error.message


async def test_method_not_allowed_lists_the_allowed_ones(fresh: Stack) -> None:
    status, headers, content = await rest_call(fresh.gateway.rest, "DELETE", f"/v1/api/v1/runs/{RUN}/replay")
    assert status == 405 and headers["allow"] == "POST"
    assert orjson.loads(content)["status"] == 405
    status, _, _ = await rest_call(fresh.gateway.rest, "GET", "/v1/nothing/here")
    assert status == 404
    assert fresh.upstream.requests == []


async def test_oversized_and_malformed_bodies_are_refused(fresh: Stack) -> None:
    status, _, _ = await rest_call(
        fresh.gateway.rest, "POST", f"/v1/api/v1/runs/{RUN}/reschedule", body={"delay": "x" * (2 * 1024 * 1024)}
    )
    assert status == 413
    host, port = fresh.gateway.rest.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port))) as sock:
        body = b"{not json"
        sock.sendall(
            f"POST /v1/api/v1/runs/{RUN}/reschedule HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        answer = sock.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.1 400") and b"not valid JSON" in answer
    assert fresh.upstream.requests == []
