"""The format's Shipyard tutorial (1.0.0-alpha2, steps 1 to 11), served by capgate as its engine's tests expect
(naftiko/framework src/test/java/io/naftiko/tutorial/Step*IntegrationTest.java): the same tools and answers,
and upstream exactly the requests the tutorial's mock server answers. Each test runs on the alpha2 step and on
its Ikanos twins (naftiko/ikanos's tutorial at beta3, beta4 and beta5, the same steps rewritten): they must serve
identically."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conformance import ikanos_suite
from tests.conformance.serving import RoutedUpstream, Served, routed_upstream, serving
from tests.conformance.shipyard import CARGO, SHIPS, VOYAGE, answer_as_the_shipyard, mcp_client
from tests.conformance.suite import TUTORIAL2, path
from tests.support.http import rest_call

pytestmark = pytest.mark.anyio
TUTORIALS = {
    "naftiko-alpha2": path(TUTORIAL2),
    **{f"ikanos-{v[-5:]}": ikanos_suite.path(f"{v}/{ikanos_suite.DOCS_TUTORIAL}") for v in ikanos_suite.VERSIONS},
}
Step = Callable[[int], str]  # a step's number -> its document, in the dialect the test runs with
VOYAGE_ARGUMENTS = {k: VOYAGE[k] for k in ("shipImo", "departurePort", "arrivalPort", "departureDate", "arrivalDate")}
VOYAGE_ARGUMENTS |= {"crewIds": ["CREW-001", "CREW-003"], "cargoIds": ["CARGO-2024-0451"]}
MAPPED_SHIPS = [
    {
        "imo": s["imo_number"],
        "name": s["vessel_name"],
        "type": s["vessel_type"],
        "flag": s["flag_code"],
        "status": s["operational_status"],
    }
    for s in SHIPS
]


@pytest.fixture(params=list(TUTORIALS.values()), ids=list(TUTORIALS))
def tutorial(request: pytest.FixtureRequest) -> Path:
    folder: Path = request.param
    return folder


@pytest.fixture
def upstream(tutorial: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RoutedUpstream]:
    # The tutorial binds `file:///./shared/secrets.yaml`, which its engine reads from the working directory.
    monkeypatch.chdir(tutorial)
    with routed_upstream() as upstream:
        answer_as_the_shipyard(upstream)
        yield upstream


@pytest.fixture
def step(tutorial: Path) -> Step:
    return lambda number: str(next(tutorial.glob(f"step-{number}-*.yml")))


async def call(served: Served, tool: str, arguments: dict[str, Any]) -> Any:
    async with mcp_client(served.urls["shipyard-tools"]) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error is False, result.content
    return orjson.loads(result.content[0].text)  # type: ignore[union-attr]


async def test_step_1_a_mock_answers_without_any_upstream(upstream: RoutedUpstream, step: Step) -> None:
    with serving(step(1), upstream.url) as served:
        async with mcp_client(served.urls["shipyard-tools"]) as client:
            tools = (await client.list_tools()).tools
            result = await client.call_tool("get-ship", {"imo_number": "IMO-1234567"})
    assert [tool.name for tool in tools] == ["get-ship"]
    assert tools[0].input_schema["required"] == ["imo_number"]
    assert orjson.loads(result.content[0].text) == {  # type: ignore[union-attr]
        "imo": "IMO-1234567",
        "name": "Northern Star",
        "type": "cargo",
        "flag": "NO",
        "status": "active",
    }
    assert upstream.requests == []


async def test_step_2_wiring_renames_inputs_and_maps_outputs(upstream: RoutedUpstream, step: Step) -> None:
    with serving(step(2), upstream.url) as served:
        ships = await call(served, "list-ships", {})
        await call(served, "list-ships", {"status": "active"})
        ship = await call(served, "get-ship", {"imo": "IMO-9321483"})
    assert ships == MAPPED_SHIPS
    assert [(r.path, r.query) for r in upstream.requests] == [
        ("/ships", ""),
        ("/ships", "status=active"),
        ("/ships/IMO-9321483", ""),
    ]
    assert ship == MAPPED_SHIPS[0]


async def test_step_3_binds_from_a_relative_file_authenticate_upstream(upstream: RoutedUpstream, step: Step) -> None:
    with serving(step(3), upstream.url) as served:
        await call(served, "get-ship", {"imo": "IMO-9321483"})
    sent = upstream.last.headers
    assert sent["authorization"] == "Bearer dummy-token"  # shared/secrets.yaml, read from the working directory
    assert sent["registry-version"] == "1.0.0-alpha2"


async def test_step_4_nested_objects_are_shaped(upstream: RoutedUpstream, step: Step) -> None:
    with serving(step(4), upstream.url) as served:
        ship = await call(served, "get-ship", {"imo": "IMO-9321483"})
    assert ship == {**MAPPED_SHIPS[0], "specs": {"yearBuilt": 2015, "tonnage": 42000, "length": 229.5}}


async def test_step_5_imported_namespaces_and_an_xml_upstream(upstream: RoutedUpstream, step: Step) -> None:
    with serving(step(5), upstream.url) as served:
        vessels = await call(served, "list-legacy-vessels", {"status": "active"})
    assert vessels[0] == {
        "vesselCode": "LEGACY-4012",
        "name": "Old Faithful",
        "type": "cargo",
        "flag": "GB",
        "status": "active",
    }
    assert len(vessels) == 2
    sent = upstream.sent("GET", "/vessels")[0]
    assert (sent.query, sent.headers["x-dock-key"]) == ("status=active", "dummy-dockyard-key")


async def test_step_6_a_body_template_carries_the_arguments(upstream: RoutedUpstream, step: Step) -> None:
    with serving(step(6), upstream.url) as served:
        voyage = await call(served, "create-voyage", VOYAGE_ARGUMENTS)
    sent = upstream.sent("POST", "/voyages")[0]
    assert sent.headers["content-type"] == "application/json"
    assert sent.json() == VOYAGE_ARGUMENTS
    assert voyage["route"] == {"from": "Oslo", "to": "Singapore"}
    assert voyage["dates"] == {"departure": "2026-04-10", "arrival": "2026-05-02"}
    assert voyage["crewIds"] == ["CREW-001", "CREW-003"]


async def test_step_6_an_absent_optional_array_is_sent_as_null(upstream: RoutedUpstream, step: Step) -> None:
    without_cargo = {k: v for k, v in VOYAGE_ARGUMENTS.items() if k != "cargoIds"}
    with serving(step(6), upstream.url) as served:
        await call(served, "create-voyage", without_cargo)
    assert upstream.sent("POST", "/voyages")[0].json() == {**without_cargo, "cargoIds": None}


CREW_OF_SHIP = [
    {"fullName": "Ingrid Hansen", "role": "captain"},
    {"fullName": "Kari Lunde", "role": "first-officer"},
]
SHIP_WITH_CREW = {**MAPPED_SHIPS[0], "yearBuilt": 2015, "tonnage": 42000, "length": 229.5, "crew": CREW_OF_SHIP}


async def test_step_7_steps_and_a_lookup_assemble_the_answer(upstream: RoutedUpstream, step: Step) -> None:
    with serving(step(7), upstream.url) as served:
        ship = await call(served, "get-ship-with-crew", {"imo": "IMO-9321483"})
    assert ship == SHIP_WITH_CREW
    assert sorted(r.path for r in upstream.requests) == ["/crew", "/ships/IMO-9321483"]


async def test_step_8_the_skill_catalogue_points_at_the_mcp_tools(upstream: RoutedUpstream, step: Step) -> None:
    with serving(step(8), upstream.url) as served:
        base = served.urls["shipyard-skills"]
        listed = orjson.loads((await rest_call(base, "GET", "/skills"))[2])
        status, _, body = await rest_call(base, "GET", "/skills/fleet-ops")
        missing = await rest_call(base, "GET", "/skills/no-such-skill")
    assert listed["count"] == 2 and [s["name"] for s in listed["skills"]] == ["fleet-ops", "voyage-ops"]
    detail = orjson.loads(body)
    assert status == 200 and detail["name"] == "fleet-ops"
    assert {tool["type"] for tool in detail["tools"]} == {"derived"}
    assert {tool["invocationRef"]["targetNamespace"] for tool in detail["tools"]} == {"shipyard-tools"}
    assert {tool["invocationRef"]["mode"] for tool in detail["tools"]} == {"mcp"}
    assert missing[0] == 404


async def test_step_9_an_aggregate_function_serves_the_tool_with_derived_hints(
    upstream: RoutedUpstream, step: Step
) -> None:
    with serving(step(9), upstream.url) as served:
        async with mcp_client(served.urls["shipyard-tools"]) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        ship = await call(served, "get-ship-with-crew", {"imo": "IMO-9321483"})
    hints = tools["get-ship-with-crew"].annotations
    assert hints is not None and (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (
        True,
        False,
        True,
    )
    assert tools["get-ship-with-crew"].input_schema["required"] == ["imo"]
    assert ship == SHIP_WITH_CREW


async def test_step_10_the_rest_adapter_serves_the_same_operations(upstream: RoutedUpstream, step: Step) -> None:
    with serving(step(10), upstream.url) as served:
        base = served.urls["shipyard-api"]
        ships = await rest_call(base, "GET", "/ships")
        created = await rest_call(base, "POST", "/voyages", body=VOYAGE_ARGUMENTS)
    assert (ships[0], orjson.loads(ships[2])) == (200, MAPPED_SHIPS)
    assert created[0] == 201
    assert orjson.loads(created[2])["route"] == {"from": "Oslo", "to": "Singapore"}
    assert upstream.sent("POST", "/voyages")[0].json() == VOYAGE_ARGUMENTS


async def test_step_11_the_fleet_manifest_joins_four_calls(upstream: RoutedUpstream, step: Step) -> None:
    with serving(step(11), upstream.url) as served:
        status, _, body = await rest_call(served.urls["shipyard-api"], "GET", "/voyages/VOY-2026-042/manifest")
    assert status == 200
    manifest = orjson.loads(body)
    assert manifest == {
        "voyageId": "VOY-2026-042",
        "status": "planned",
        "departurePort": "Oslo",
        "arrivalPort": "Singapore",
        "shipName": "Northern Star",
        "shipType": "cargo",
        "shipFlag": "NO",
        "crew": CREW_OF_SHIP,
        "cargo": [{k: CARGO[0][k] for k in ("type", "description", "weight", "hazardous")}],
    }
    # step 11's shared file names its token without braces: the engine sends that text as it is
    assert upstream.sent("GET", "/voyages/VOY-2026-042")[0].headers["authorization"] == "Bearer REGISTRY_TOKEN"
