from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator
from mcp import Client

from tests.support.emulator import Emulator, http
from tests.support.gateway import TEST_KEY, Running, gateway_config, running_gateway


@dataclass
class Served:
    """The default document served in front of the emulator."""

    emulator: Emulator
    gateway: Running


@pytest.fixture(scope="module")
def served(emulator: Emulator) -> Iterator[Served]:
    with running_gateway(gateway_config("trigger-dev-runs", emulator.url)) as gateway:
        yield Served(emulator, gateway)


def texts(result: Any) -> list[str]:
    """The text blocks of a tool result."""
    return [block.text for block in result.content if block.type == "text"]


def links(result: Any) -> list[str]:
    """The URIs of a tool result's resource links."""
    return [block.uri for block in result.content if block.type == "resource_link"]


async def validators(client: Client) -> dict[str, Draft202012Validator]:
    """Each tool's output schema, checked as JSON Schema 2020-12 and ready to validate results."""
    found = {}
    for tool in (await client.list_tools()).tools:
        if tool.output_schema is not None:
            Draft202012Validator.check_schema(tool.output_schema)
            found[tool.name] = Draft202012Validator(tool.output_schema)
    return found


def fetch(emulator: Emulator, path: str) -> tuple[bytes, Any]:
    """What the emulator answers the gateway's own request for `path`: its body, raw and parsed."""
    status, body = http(
        "GET",
        emulator.url + path,
        headers={"authorization": f"Bearer {TEST_KEY}", "x-trigger-api-version": "2025-07-16"},
    )
    assert status == 200, body
    return body, orjson.loads(body)
