"""The format's Shipyard tutorial at 1.0.0-alpha1, served as its engine's tests expect
(naftiko/framework v1.0.0-alpha1, src/test/java/io/naftiko/tutorial/Step*IntegrationTest.java)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from mcp import Client

from tests.conformance.serving import RoutedUpstream, routed_upstream, serving
from tests.conformance.shipyard import CARGO, SHIPS, answer_as_the_shipyard
from tests.conformance.suite import TUTORIAL1, path

pytestmark = pytest.mark.anyio
TUTORIAL = path(TUTORIAL1)


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[RoutedUpstream]:
    monkeypatch.chdir(TUTORIAL)  # `file:///./shared/secrets.yaml` is read from the working directory
    with routed_upstream() as upstream:
        answer_as_the_shipyard(upstream)
        yield upstream


async def call(document: str, upstream: RoutedUpstream, tool: str, arguments: dict[str, Any]) -> Any:
    with serving(str(next(TUTORIAL.glob(document))), upstream.url) as served:
        async with Client(served.urls["shipyard-tools"]) as client:
            result = await client.call_tool(tool, arguments)
    assert result.is_error is False, result.content
    return orjson.loads(result.content[0].text)  # type: ignore[union-attr]


async def test_step_1_the_first_capability_lists_ships(upstream: RoutedUpstream) -> None:
    ships = await call("step-1-*.yml", upstream, "list-ships", {})
    assert [ship["imo"] for ship in ships] == [ship["imo_number"] for ship in SHIPS]
    assert upstream.last.path == "/ships"


async def test_step_7_an_orchestrated_lookup(upstream: RoutedUpstream) -> None:
    ship = await call("step-7-*.yml", upstream, "get-ship-with-crew", {"imo": "IMO-9321483"})
    assert ship["crew"] == [
        {"fullName": "Ingrid Hansen", "role": "captain"},
        {"fullName": "Kari Lunde", "role": "first-officer"},
    ]
    assert upstream.sent("GET", "/ships/IMO-9321483")[0].headers["authorization"] == "Bearer dummy-token"


async def test_step_10_the_fleet_manifest_over_mcp(upstream: RoutedUpstream) -> None:
    manifest = await call("step-10-*.yml", upstream, "get-voyage-manifest", {"voyageId": "VOY-2026-042"})
    assert (manifest["voyageId"], manifest["shipName"], manifest["shipFlag"]) == ("VOY-2026-042", "Northern Star", "NO")
    assert manifest["cargo"] == [{k: CARGO[0][k] for k in ("type", "description", "weight", "hazardous")}]
