"""What the 2026-07-28 revision asks of a server, on the wire: `server/discover`, and cache hints on every
cacheable result (the SDK answers both; these tests keep them working as capgate adds resources)."""

from __future__ import annotations

from typing import Any

import httpx2
import orjson
import pytest
from mcp import Client

from tests.exposes.mcp.conftest import Served

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}


async def post(served: Served, method: str, params: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """One 2026-07-28 request as a client sends it; the JSON-RPC answer."""
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": MODERN,
        "mcp-method": method,
        **({"mcp-name": name} if name else {}),
    }
    message = {"jsonrpc": "2.0", "id": 7, "method": method, "params": {**params, "_meta": META}}
    async with httpx2.AsyncClient() as client:
        response = await client.post(served.gateway.mcp, content=orjson.dumps(message), headers=headers)
    assert response.status_code == 200, response.content
    answer: dict[str, Any] = orjson.loads(response.content)
    assert "error" not in answer, answer
    return answer["result"]


async def test_server_discover_names_the_versions_and_capabilities(served: Served) -> None:
    result = await post(served, "server/discover", {})
    assert MODERN in result["supportedVersions"]
    capabilities = result["capabilities"]
    assert "tools" in capabilities and "resources" in capabilities
    assert result["instructions"].startswith("Inspect and manage Trigger.dev runs.")
    async with Client(served.gateway.mcp) as client:  # the real client discovers, then speaks the modern era
        assert client.protocol_version == MODERN


async def test_every_cacheable_result_carries_cache_hints(served: Served) -> None:
    run_id = served.emulator.run_ids(1)[0]
    uri = f"trigger://runs/{run_id}"
    for method, params, name in [
        ("tools/list", {}, None),
        ("resources/list", {}, None),
        ("resources/templates/list", {}, None),
        ("resources/read", {"uri": uri}, uri),
    ]:
        result = await post(served, method, params, name)
        # Private: what a caller may see depends on its token. Read results are stale at once: runs move on.
        assert result["cacheScope"] == "private", method
        assert isinstance(result["ttlMs"], int) and result["ttlMs"] >= 0, method
        assert result["resultType"] == "complete", method
    read = await post(served, "resources/read", {"uri": uri}, uri)
    assert read["ttlMs"] == 0
    listed = await post(served, "tools/call", {"name": "list-runs", "arguments": {"page.size": 1}}, "list-runs")
    assert listed["isError"] is False and "ttlMs" not in listed, "a tool call is not cacheable"
