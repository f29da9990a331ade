"""An Ikanos document and its alpha2 twin serve identically: the Shipyard tutorial's eleven steps, as
naftiko/framework (alpha2) and naftiko/ikanos (beta3, beta4, beta5) publish them, each served by capgate in front of
the same recording upstream, give the same tools, resources, prompts and REST routes, the same answers, and send
the same requests upstream, through MCP and REST."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from capgate.document.load import load_document
from capgate.document.models import ExposesMcp, ExposesRest
from tests.conformance import ikanos_suite
from tests.conformance.serving import Served, routed_upstream, serving
from tests.conformance.shipyard import VOYAGE, answer_as_the_shipyard, mcp_client
from tests.conformance.suite import TUTORIAL2, path
from tests.support.http import rest_call

pytestmark = pytest.mark.anyio
ALPHA2 = path(TUTORIAL2)
VALUES: dict[str, Any] = {  # a value for each input name the tutorial uses
    "imo": "IMO-9321483",
    "imo_number": "IMO-9321483",
    "status": "active",
    "voyageId": "VOY-2026-042",
    **{k: VOYAGE[k] for k in ("shipImo", "departurePort", "arrivalPort", "departureDate", "arrivalDate")},
    "crewIds": ["CREW-001", "CREW-003"],
    "cargoIds": ["CARGO-2024-0451"],
}


async def _transcript(document: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What serving `document` shows a caller, answers, and sends upstream, for every tool and route."""
    monkeypatch.chdir(document.parent)  # the tutorial's binds are read from the working directory
    spec = load_document(str(document)).document
    transcript: dict[str, Any] = {}
    with routed_upstream() as upstream:
        answer_as_the_shipyard(upstream)
        with serving(str(document), upstream.url) as served:
            for adapter in spec.capability.exposes:
                if isinstance(adapter, ExposesMcp):
                    transcript[adapter.namespace] = await _mcp(served, adapter.namespace)
                elif isinstance(adapter, ExposesRest):
                    transcript[adapter.namespace] = await _rest(served, adapter)
        transcript["upstream"] = [
            (r.method, r.path, r.query, r.body, {k: v for k, v in r.headers.items() if k != "host"})
            for r in upstream.requests
        ]
    return transcript


async def _mcp(served: Served, namespace: str) -> dict[str, Any]:
    async with mcp_client(served.urls[namespace]) as client:
        tools = (await client.list_tools()).tools
        answers = []
        for tool in tools:
            names = tool.input_schema.get("properties", {})
            result = await client.call_tool(tool.name, {name: VALUES[name] for name in names if name in VALUES})
            answers.append((tool.name, result.is_error, [item.model_dump() for item in result.content]))
        listed = {"tools": [tool.model_dump() for tool in tools], "answers": answers}
        for kind, list_them in (("resources", client.list_resources), ("prompts", client.list_prompts)):
            try:
                listed[kind] = (await list_them()).model_dump()
            except MCPError as exc:  # an adapter that declares none offers none
                listed[kind] = exc.error.message
    return listed


async def _rest(served: Served, adapter: ExposesRest) -> list[Any]:
    answers = []
    for resource in adapter.resources:
        route = re.sub(r"\{\{?(\w+)\}?\}", lambda match: str(VALUES.get(match.group(1), "x")), resource.path)
        for operation in resource.operations:
            body = (
                {k: v for k, v in VALUES.items() if k in VOYAGE or k.endswith("Ids")}
                if operation.method != "GET"
                else None
            )
            status, _, answer = await rest_call(served.urls[adapter.namespace], operation.method, route, body=body)
            answers.append((operation.method, resource.path, route, status, answer))
    return answers


@pytest.mark.parametrize("number", range(1, 12))
async def test_each_tutorial_step_serves_as_its_alpha2_twin(number: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The alpha2 step is served once, and each Ikanos version's twin compared with it."""
    alpha2 = next(ALPHA2.glob(f"step-{number}-*.yml"))
    expected = await _transcript(alpha2, monkeypatch)
    adapters = [key for key in expected if key != "upstream"]
    assert adapters, "the step exposes nothing to compare"
    answered = [
        answer
        for key in adapters
        for answer in (expected[key]["answers"] if isinstance(expected[key], dict) else expected[key])
    ]
    assert answered, "no tool or route was called"
    for version in ikanos_suite.VERSIONS:
        ikanos = next(ikanos_suite.path(f"{version}/{ikanos_suite.DOCS_TUTORIAL}").glob(f"step-{number}-*.yml"))
        assert load_document(str(ikanos)).document.dialect == f"ikanos {version.removeprefix('v')}"
        assert await _transcript(ikanos, monkeypatch) == expected, f"{version}: {ikanos.name}"
