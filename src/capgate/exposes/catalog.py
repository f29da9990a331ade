"""What a gateway exposes, as plain data: every REST route and MCP tool, with its inputs and hints.

`capgate tools`, the OpenAPI document and the docs page (through the OpenAPI document) all read this, so
they never disagree with each other or with what the adapters do. The REST routes are described by
`capgate.exposes.rest.routes`, the tools by `capgate.exposes.mcp.server.describe_tools`, from what each
adapter serves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from capgate.document.models import Document, ExposesMcp, McpTool


@dataclass(frozen=True)
class Hints:
    """What a call may do, as MCP annotations say it; derived from the HTTP method for routes with no tool."""

    read_only: bool
    destructive: bool
    idempotent: bool


@dataclass(frozen=True)
class Input:
    """One input of a route or tool, named as its caller spells it."""

    name: str
    location: str  # path, query, field (of the JSON body) or body (the whole JSON body); "argument" for tools
    required: bool
    schema: dict[str, Any]  # JSON-Schema keywords, description left out
    description: str


@dataclass(frozen=True)
class Route:
    """One method of one REST resource."""

    method: str
    path: str  # with `{x}` variables, as Starlette and OpenAPI write them
    name: str  # unique within the adapter
    description: str
    operation: str  # the consumed operation, `management-runs.listruns`
    upstream: str  # the consumed method and path, `GET /api/v1/runs`
    inputs: list[Input]
    hints: Hints

    @property
    def body(self) -> Input | None:
        """The whole-body input, or one object input gathering the body fields; None without a body."""
        whole = next((i for i in self.inputs if i.location == "body"), None)
        fields = [i for i in self.inputs if i.location == "field"]
        if whole is not None or not fields:
            return whole
        schema = {"type": "object", "properties": {f.name: {**f.schema, "description": f.description} for f in fields}}
        required = [f.name for f in fields if f.required]
        return Input("body", "body", bool(required), {**schema, "required": required} if required else schema, "")


@dataclass(frozen=True)
class Tool:
    """One MCP tool as `tools/list` advertises it."""

    name: str
    title: str
    description: str
    operation: str
    upstream: str
    inputs: list[Input]
    hints: Hints


def document_tools(document: Document) -> Iterator[McpTool]:
    """The document's MCP tools, read without building the MCP adapters (the REST facade's docs need them)."""
    for adapter in document.capability.exposes:
        if isinstance(adapter, ExposesMcp):
            yield from adapter.tools


def tool_hints(tool: McpTool) -> Hints:
    stated = tool.stated_hints()
    return Hints(stated.read_only, stated.destructive, stated.idempotent)


def without_description(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key != "description"}
