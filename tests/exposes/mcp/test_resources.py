"""Runs as MCP resources: the template listed, a link on every run of a result, each link read back through the
retrieve operation, and URIs that are not runs refused before anything reaches the upstream."""

from __future__ import annotations

import httpx2
import orjson
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from capgate.gateway.safeguards import Hardening
from tests.exposes.mcp.conftest import Served, fetch, links
from tests.support.emulator import Emulator
from tests.support.gateway import TEST_KEY, gateway_config, running_gateway

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]
READ = "read-token-0123456789abcdef"


@pytest.mark.parametrize("mode", MODES)
async def test_the_run_template_is_listed_and_no_fixed_resource(served: Served, mode: str) -> None:
    async with Client(served.gateway.mcp, mode=mode) as client:
        assert client.server_capabilities.resources is not None
        templates = (await client.list_resource_templates()).resource_templates
        fixed = (await client.list_resources()).resources
    assert [(t.name, t.uri_template, t.mime_type) for t in templates] == [
        ("run", "trigger://runs/{runId}", "application/json")
    ]
    assert templates[0].title == "A run" and templates[0].description
    assert fixed == []


@pytest.mark.parametrize("mode", MODES)
async def test_every_run_of_a_list_links_to_its_resource_which_reads_back(served: Served, mode: str) -> None:
    served.emulator.reset()
    async with Client(served.gateway.mcp, mode=mode) as client:
        result = await client.call_tool("list-runs", {"page.size": 5})
        uris = links(result)
        assert uris == [f"trigger://runs/{run['id']}" for run in result.structured_content["data"]]  # type: ignore[index]
        for uri in uris:
            read = await client.read_resource(uri)
            [content] = read.contents
            _, run = fetch(served.emulator, "/api/v3/runs/" + uri.removeprefix("trigger://runs/"))
            assert (content.uri, content.mime_type) == (uri, "application/json")
            assert orjson.loads(content.text) == run, "the whole run, as the retrieve operation answers it"  # type: ignore[union-attr]


async def test_a_retrieved_run_links_to_itself_and_its_relatives(served: Served) -> None:
    _, page = fetch(served.emulator, "/api/v1/runs?page%5Bsize%5D=100")
    children = [run for run in page["data"] if run["depth"] > 0]
    assert children, "the seed has child runs"
    _, child = fetch(served.emulator, f"/api/v3/runs/{children[0]['id']}")
    related = child["relatedRuns"]
    async with Client(served.gateway.mcp) as client:
        result = await client.call_tool("retrieve-run", {"runId": child["id"]})
    expected = [child["id"], *(related[key]["id"] for key in ("root", "parent") if key in related)]
    expected += [run["id"] for run in related["children"]]
    assert links(result) == [f"trigger://runs/{run_id}" for run_id in dict.fromkeys(expected)]


@pytest.mark.parametrize(
    "uri",
    [
        "trigger://runs/..%2F..%2Fapi%2Fv1%2Fruns",  # a value that would change the upstream path's shape
        "trigger://runs/run_a/extra",
        "trigger://runs/not-a-run-id",  # the operation's pattern refuses it
        "trigger://runs/",
        "file:///etc/passwd",
        "trigger://runs/%00",
    ],
)
async def test_a_uri_that_is_not_a_run_is_refused_and_nothing_is_sent(served: Served, uri: str) -> None:
    served.emulator.reset()
    async with Client(served.gateway.mcp) as client:
        with pytest.raises(MCPError) as refused:
            await client.read_resource(uri)
    assert refused.value.error.code == -32602
    assert served.emulator.requests() == []


async def test_a_run_that_does_not_exist_is_a_clear_error(served: Served) -> None:
    async with Client(served.gateway.mcp) as client:
        with pytest.raises(MCPError) as missing:
            await client.read_resource("trigger://runs/run_doesnotexist00000000000001")
    assert missing.value.error.code == -32602
    assert "does not exist" in missing.value.error.message and "404" in missing.value.error.message


async def test_a_read_token_reads_runs(emulator: Emulator) -> None:
    environ = {"TRIGGER_DEV_API_KEY": TEST_KEY, "CAPGATE_TOKENS": f"dash:read:{READ}"}
    config = gateway_config("trigger-dev-runs", emulator.url, environ=environ, hardening=Hardening(audit_log=None))
    run_id = emulator.run_ids(1)[0]
    with running_gateway(config) as gateway:
        transport = streamable_http_client(
            gateway.mcp, http_client=httpx2.AsyncClient(headers={"authorization": f"Bearer {READ}"})
        )
        async with Client(transport) as client:
            read = await client.read_resource(f"trigger://runs/{run_id}")
    assert orjson.loads(read.contents[0].text)["id"] == run_id  # type: ignore[union-attr]
