"""What a gateway exposes, as plain data: every REST route and MCP tool, with its inputs and hints.

`capgate tools`, the OpenAPI document and the docs page (through the OpenAPI document) all read this, so
they never disagree with each other or with what the adapters do.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from capgate.consumes.operation import WHOLE_BODY
from capgate.document.check import operation_index
from capgate.document.models import ExposedOperation, ExposedResource, ExposesMcp, McpTool
from capgate.document.references import input_key, path_variables
from capgate.exposes.binding import Binding
from capgate.gateway.assembly import Gateway, RestAdapter, load_gateway

_PATH_VARIABLE = re.compile(r"\{\{?\s*([^{}\s]+)\s*\}?\}")
_NOT_A_NAME = re.compile(r"[^a-zA-Z0-9]+")
READ_ONLY_METHODS = ("GET", "HEAD")


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
        schema = {"type": "object", "properties": {f.name: {**f.schema, "description": f.description}
                                                   for f in fields}}
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


def describe(document: str, *, base_uris: Mapping[str, str] | None = None) -> Gateway:
    """A gateway to describe, not to call: bound secrets are stand-ins, so no key is needed to list tools."""
    return load_gateway(document, base_uris=base_uris, environ=_StandIns())


def routes(gateway: Gateway, adapter: RestAdapter) -> list[Route]:
    """The adapter's routes in document order."""
    upstream = _upstream_paths(gateway)
    tool_hints = {tool.call: _tool_hints(tool) for tool in _tool_specs(gateway)}
    found = list(_exposed(adapter))
    names = Counter(_base_name(resource, operation) for resource, operation, _ in found)
    described = []
    for resource, operation, binding in found:
        method = operation.method.upper()
        path = _PATH_VARIABLE.sub(lambda match: "{" + match.group(1) + "}", resource.path)
        name = _base_name(resource, operation)
        if names[name] > 1:
            name = f"{name}-{_slug(resource.name or resource.path)}"
        hints = tool_hints.get(binding.operation.name) or _method_hints(method, binding)
        described.append(Route(method, path, name, operation.description or resource.description or name,
                               binding.operation.name, upstream[binding.operation.name],
                               list(_route_inputs(path, binding)), hints))
    return described


def tools(gateway: Gateway) -> list[Tool]:
    """Every MCP tool of every MCP adapter, in document order."""
    upstream = _upstream_paths(gateway)
    described = []
    targets = [target for adapter in gateway.mcp for target in adapter.targets.values()]
    for spec, target in zip(_tool_specs(gateway), targets, strict=True):  # both in document order
        tool = target.tool
        schema = tool.input_schema
        required = set(schema.get("required", []))
        inputs = [Input(name, "argument", name in required, _without_description(property_schema),
                        property_schema.get("description", ""))
                  for name, property_schema in schema.get("properties", {}).items()]
        operation = target.binding.operation.name
        described.append(Tool(tool.name, tool.title or tool.name, tool.description or "", operation,
                              upstream[operation], inputs, _tool_hints(spec)))
    return described


def _exposed(adapter: RestAdapter) -> Iterator[tuple[ExposedResource, ExposedOperation, Binding]]:
    # load_gateway builds adapter.operations from the same resources in the same order.
    specs = [(resource, operation) for resource in adapter.spec.resources for operation in resource.operations]
    for (resource, operation), built in zip(specs, adapter.operations, strict=True):
        yield resource, operation, built.binding


def _route_inputs(path: str, binding: Binding) -> Iterator[Input]:
    variables = {input_key(name).lower(): name for name in path_variables(path)}
    in_path = set()
    for name, parameter in binding.inputs():
        key = input_key(name)
        schema = _without_description(parameter.schema)
        description = parameter.schema.get("description", "")
        if key.lower() in variables:  # the REST adapter matches path variables case-insensitively
            variable = variables[key.lower()]
            in_path.add(variable)
            yield Input(variable, "path", True, schema, description)
        elif key == WHOLE_BODY:
            yield Input(name, "body", parameter.required, schema, description)
        elif parameter.location == "body":
            yield Input(name, "field", parameter.required, schema, description)
        else:
            yield Input(name, "query", parameter.required, schema, description)
    for variable in variables.values():  # a path variable no input reads still has to be in the URL
        if variable not in in_path:
            yield Input(variable, "path", True, {"type": "string"}, "")


def _tool_specs(gateway: Gateway) -> Iterator[McpTool]:
    """The document's MCP tools, read without building the MCP adapters (the REST facade's docs need them)."""
    for adapter in gateway.loaded.document.capability.exposes:
        if isinstance(adapter, ExposesMcp):
            yield from adapter.tools


def _tool_hints(tool: McpTool) -> Hints:
    stated = tool.stated_hints()
    return Hints(stated.read_only, stated.destructive, stated.idempotent)


def _method_hints(method: str, binding: Binding) -> Hints:
    return Hints(method in READ_ONLY_METHODS, method == "DELETE", binding.operation.idempotent)


def _upstream_paths(gateway: Gateway) -> dict[str, str]:
    return {name: f"{operation.method.upper()} {resource.path}"
            for name, (_, resource, operation) in operation_index(gateway.loaded.document).items()}


def _base_name(resource: ExposedResource, operation: ExposedOperation) -> str:
    return operation.name or f"{operation.method.lower()}-{_slug(resource.path)}"


def _slug(text: str) -> str:
    return _NOT_A_NAME.sub("-", text).strip("-").lower()


def _without_description(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key != "description"}


class _StandIns(Mapping[str, str]):
    """An environment in which every variable is set, to a value that is never sent anywhere."""

    def __getitem__(self, key: str) -> str:
        return "stand-in"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0
