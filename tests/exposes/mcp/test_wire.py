"""Tool results over HTTP are sent as capgate builds them (capgate.exposes.mcp.wire): each one, in both protocol
eras, must be exactly what the SDK's own check and dump of it would send — a fixed point of
`serialize_server_result` — so skipping that pass changes no byte a client reads."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import orjson
import pytest

from capgate.exposes.mcp.sdk import (
    SERVER_INFO_META_KEY,
    JSONRPCResponse,
    StreamableHTTPServerTransport,
    modern_http,
    serialize_server_result,
)
from capgate.exposes.mcp.wire import encode_answers_with_orjson
from tests.exposes.mcp.conftest import Served, fetch
from tests.support.emulator import http

ERAS = ("2025-11-25", "2026-07-28")
ENVELOPE_2026 = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}


def call(url: str, era: str, tool: str, arguments: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One `tools/call` as a bare JSON-RPC POST in protocol era `era`: the HTTP status and JSON-RPC response."""
    status, body = call_raw(url, era, tool, arguments)
    answer: dict[str, Any] = orjson.loads(body)
    return status, answer


def call_raw(url: str, era: str, tool: str, arguments: dict[str, Any]) -> tuple[int, bytes]:
    """The same call: the HTTP status and the bytes of the answer."""
    params: dict[str, Any] = {"name": tool, "arguments": arguments}
    headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": era}
    if era == "2026-07-28":
        params["_meta"] = ENVELOPE_2026
        headers.update({"mcp-method": "tools/call", "mcp-name": tool})
    status, body = http("POST", url, {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params}, headers)
    return status, body if isinstance(body, bytes) else body.encode()


@pytest.mark.parametrize("era", ERAS)
def test_every_kind_of_tool_result_is_what_the_sdk_would_send(served: Served, era: str) -> None:
    served.emulator.reset()
    _, page = fetch(served.emulator, "/api/v1/runs?page%5Bsize%5D=100")
    run = page["data"][0]["id"]
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list-runs", {}),
        ("list-runs", {"page.size": 2}),  # with a paging hint
        ("list-runs", {"filter.tag": ["no-such-tag"]}),  # an empty page
        ("list-runs", {"verbose": True}),  # the whole upstream answer
        ("retrieve-run", {"runId": run}),
        ("retrieve-run", {"runId": "run_doesnotexist0000000000"}),  # the upstream's 404: an error result
        ("retrieve-run", {"runId": "a/b"}),  # refused before sending: an error result
        ("list-runs", {"no-such-argument": 1}),  # an unknown argument: an error result
        ("get-run-trace", {"runId": run, "page.size": 2}),
    ]
    for tool, arguments in calls:
        status, answer = call(served.gateway.mcp, era, tool, arguments)
        assert status == 200, answer
        result = answer["result"]
        assert serialize_server_result("tools/call", era, result) == result, (tool, arguments)
        assert ("resultType" in result) == (era == "2026-07-28"), (tool, arguments)
        stamped = result.get("_meta", {}).get(SERVER_INFO_META_KEY)
        assert (stamped is not None) == (era == "2026-07-28"), (tool, arguments)


@pytest.mark.parametrize("era", ERAS)
def test_json_answers_are_what_the_sdk_would_send(served: Served, era: str) -> None:
    """JSON answers are encoded by orjson (`encode_answers_with_orjson`): in the 2025-11-25 era each must be the
    SDK's own `model_dump_json` of the same response, byte for byte; in the 2026-07-28 era the same JSON as the
    SDK's `json.dumps` of its dump."""
    for arguments in ({}, {"page.size": 100}, {"verbose": True}, {"no-such-argument": 1}):
        status, sent = call_raw(served.gateway.mcp, era, "list-runs", arguments)
        assert status == 200, sent
        message = JSONRPCResponse.model_validate_json(sent)
        if era == "2025-11-25":
            assert sent == message.model_dump_json(by_alias=True, exclude_unset=True).encode(), arguments
        else:
            dumped = json.dumps(
                message.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":")
            )
            assert orjson.loads(sent) == json.loads(dumped), arguments


@pytest.mark.parametrize(
    "result",
    [
        {
            "content": [{"type": "text", "text": 'é \u2028 "quoted" 😀'}],
            "structuredContent": {"n": [0.1, 1e-7, 1e22, -0.0]},
        },
        {"content": [], "structuredContent": {"big": 2**70}},  # beyond 64 bits: orjson refuses, pydantic writes it
        {"content": [], "structuredContent": {"when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)}},  # pydantic's
    ],
)
def test_the_transport_encodes_a_response_as_the_sdk_does(result: dict[str, Any]) -> None:
    encode_answers_with_orjson()
    encode_answers_with_orjson()  # once per process: a second call changes nothing
    transport = StreamableHTTPServerTransport(mcp_session_id=None, is_json_response_enabled=True)
    message = JSONRPCResponse(jsonrpc="2.0", id=3, result=result)
    response = transport._create_json_response(message)
    assert response.body == message.model_dump_json(by_alias=True, exclude_unset=True).encode()
    assert response.headers["content-type"] == "application/json"
    # the 2026-07-28 era's writer: the same JSON as the SDK's `json.dumps` of its dump, with status 200
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(event: dict[str, Any]) -> None:
        sent.append(event)

    asyncio.run(modern_http._write(message, {"type": "http"}, receive, send))
    start, body = sent
    assert start["status"] == 200 and (b"content-type", b"application/json") in start["headers"]
    dumped = json.dumps(message.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":"))
    assert json.loads(body["body"]) == json.loads(dumped)


@pytest.mark.parametrize("era", ERAS)
def test_an_unknown_tool_and_bad_params_stay_json_rpc_errors(served: Served, era: str) -> None:
    status, unknown = call(served.gateway.mcp, era, "no-such-tool", {})
    assert unknown["error"]["code"] == -32602 and "no-such-tool" in unknown["error"]["message"], (status, unknown)
    params: dict[str, Any] = {"name": 42}  # not a tool name: the request's own schema refuses it
    headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": era}
    if era == "2026-07-28":
        params["_meta"] = ENVELOPE_2026
        headers.update({"mcp-method": "tools/call", "mcp-name": "42"})
    status, body = http(
        "POST", served.gateway.mcp, {"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": params}, headers
    )
    answer = orjson.loads(body)
    assert "result" not in answer, (status, answer)
    assert answer["error"]["code"] in (-32602, -32600, -32020), (status, answer)  # -32020: the 2026 headers
