"""The Shipyard registry and legacy dockyard the format's tutorial calls, as a routed upstream answers them.

The tutorial's engine tests call a public mock server; these answers are the project's own, shaped as the
tutorial's output mappings read them (`imo_number`, `vessel_name`, `assignedCrew`…).
"""

from __future__ import annotations

from pathlib import Path

import httpx2
import yaml
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conformance.serving import RoutedUpstream

SHIPS = [
    {
        "imo_number": "IMO-9321483",
        "vessel_name": "Northern Star",
        "vessel_type": "cargo",
        "flag_code": "NO",
        "operational_status": "active",
    },
    {
        "imo_number": "IMO-9762845",
        "vessel_name": "Sea Breeze",
        "vessel_type": "tanker",
        "flag_code": "PA",
        "operational_status": "laid_up",
    },
]
SHIP = {
    **SHIPS[0],
    "year_built": 2015,
    "gross_tonnage": 42000,
    "dimensions": {"length_overall": 229.5},
    "assignedCrew": ["CREW-001", "CREW-003"],
}
CREW = [
    {"crewId": "CREW-001", "fullName": "Ingrid Hansen", "role": "captain"},
    {"crewId": "CREW-002", "fullName": "Ola Berg", "role": "engineer"},
    {"crewId": "CREW-003", "fullName": "Kari Lunde", "role": "first-officer"},
]
CARGO = [
    {
        "cargoId": "CARGO-2024-0451",
        "type": "containers",
        "description": "Machine parts",
        "weight": 1200,
        "hazardous": False,
    },
]
VOYAGE = {
    "voyageId": "VOY-2026-042",
    "shipImo": "IMO-9321483",
    "departurePort": "Oslo",
    "arrivalPort": "Singapore",
    "departureDate": "2026-04-10",
    "arrivalDate": "2026-05-02",
    "crewIds": ["CREW-001", "CREW-003"],
    "cargoIds": ["CARGO-2024-0451"],
    "status": "planned",
}
LEGACY_XML = b"""<vessels>
  <vessel><vesselCode>LEGACY-4012</vesselCode><vesselName>Old Faithful</vesselName><category>cargo</category>
    <flagState>GB</flagState><operationalStatus>active</operationalStatus></vessel>
  <vessel><vesselCode>LEGACY-2087</vesselCode><vesselName>Iron Maiden</vesselName><category>bulk_carrier</category>
    <flagState>PA</flagState><operationalStatus>laid_up</operationalStatus></vessel>
</vessels>"""


def answer_as_the_shipyard(upstream: RoutedUpstream) -> None:
    upstream.route("GET", "/ships", SHIPS)
    upstream.route("GET", "/ships/IMO-9321483", SHIP)
    upstream.route("GET", "/crew", CREW)
    upstream.route("GET", "/cargo", CARGO)
    upstream.route("POST", "/voyages", VOYAGE, status=201)
    upstream.route("GET", "/voyages/VOY-2026-042", VOYAGE)
    upstream.route("GET", "/vessels", raw=LEGACY_XML, content_type="application/xml")


def mcp_client(url: str) -> Client:
    """An MCP client that presents the tutorial's MCP server token (`mcp-server-token` of shared/secrets.yaml in
    the working directory, the tutorial's folder), as the engine's AbstractShipyardMcpClientIntegrationTest does:
    the steps whose MCP adapter declares `authentication: bearer` admit only it."""
    token = yaml.safe_load(Path("shared/secrets.yaml").read_text())["mcp-server-token"]
    headers = {"authorization": f"Bearer {token}"}
    return Client(streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers)))
