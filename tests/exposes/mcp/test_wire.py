"""Tool results over HTTP are sent as capgate builds them (capgate.exposes.mcp.wire): each one, in both protocol
eras, must be exactly what the SDK's own check and dump of it would send — a fixed point of
`serialize_server_result` — so skipping that pass changes no byte a client reads."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from capgate.exposes.mcp.sdk import SERVER_INFO_META_KEY, serialize_server_result
from tests.exposes.mcp.conftest import Served, fetch
from tests.support.emulator import http

ERAS = ("2025-11-25", "2026-07-28")
ENVELOPE_2026 = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}


def call(url: str, era: str, tool: str, arguments: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One `tools/call` as a bare JSON-RPC POST in protocol era `era`: the HTTP status and JSON-RPC response."""
    params: dict[str, Any] = {"name": tool, "arguments": arguments}
    headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": era}
    if era == "2026-07-28":
        params["_meta"] = ENVELOPE_2026
        headers.update({"mcp-method": "tools/call", "mcp-name": tool})
    status, body = http("POST", url, {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params}, headers)
    answer: dict[str, Any] = orjson.loads(body)
    return status, answer


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
