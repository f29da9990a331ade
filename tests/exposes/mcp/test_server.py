"""How capgate builds the SDK's MCP server: per-call work the SDK is spared, and what must not change with it."""

from __future__ import annotations

import signal
import subprocess

import aiohttp
import pytest
from mcp import Client
from opentelemetry import trace

from capgate.gateway.assembly import load_gateway
from tests.exposes.conftest import Stack
from tests.support.cli import CAPGATE, cli_env, ready_url
from tests.support.gateway import TEST_KEY
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.anyio


def test_the_sdk_gets_each_tools_input_schema_by_name_instead_of_listing_the_tools() -> None:
    adapter = load_gateway("trigger-dev-runs", environ={"TRIGGER_DEV_API_KEY": TEST_KEY}).mcp[0]
    lookup = adapter.server.get_tool_input_schema
    assert lookup is not None
    for name, target in adapter.targets.items():
        assert lookup(name) == target.tool.input_schema
    assert lookup("no-such-tool") is None


def test_without_a_tracer_provider_the_sdk_opens_no_span_per_message() -> None:
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider), "this test process traces nothing"
    adapter = load_gateway("trigger-dev-runs", environ={"TRIGGER_DEV_API_KEY": TEST_KEY}).mcp[0]
    assert [type(middleware).__name__ for middleware in adapter.server.middleware] == ["StateSeal"]  # consent


async def test_the_mcp_port_answers_other_paths_as_the_sdk_does(stack: Stack) -> None:
    base = stack.gateway.mcp.removesuffix("/mcp")
    async with aiohttp.ClientSession() as session, session.get(f"{base}/elsewhere") as response:
        assert response.status == 404


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
async def test_the_stateless_endpoint_takes_post_only_and_opens_no_stream(stack: Stack, method: str) -> None:
    """A GET used to open an event stream no message ever reached, kept open for good (150 MB for 2000)."""
    headers = {"accept": "text/event-stream", "mcp-protocol-version": "2025-11-25"}
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.request(method, stack.gateway.mcp, headers=headers) as response,
    ):
        answer = await response.json()
    assert response.status == 405 and response.headers["allow"] == "POST"
    assert answer["error"]["code"] == -32600 and "POST only" in answer["error"]["message"]


async def test_clients_of_both_protocol_eras_work_without_a_stream(stack: Stack) -> None:
    served = next(line for line in stack.gateway.lines if "MCP server ready" in line)
    for mode in ("auto", "legacy"):
        async with Client(stack.gateway.mcp, mode=mode) as client:
            assert f", {len((await client.list_tools()).tools)} tools)" in served


async def test_with_traces_on_each_tool_call_gets_the_sdks_mcp_span(upstream: RecordingUpstream) -> None:
    env = cli_env(OTEL_EXPORTER_OTLP_ENDPOINT=upstream.url, OTEL_BSP_SCHEDULE_DELAY="50")
    process = subprocess.Popen(
        [*CAPGATE, "serve", "--rest-port", "0", "--mcp-port", "0", "--base-uri", f"management-runs={upstream.url}"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        # the upstream answers with its default JSON echo
        async with Client(ready_url(process, "MCP server")) as client:
            result = await client.call_tool("list-runs", {"page.size": 5})
        assert result.is_error is False
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(15)
    exported = b"".join(r.body for r in upstream.requests if r.method == "POST" and r.path == "/v1/traces")
    assert b"tools/call list-runs" in exported
