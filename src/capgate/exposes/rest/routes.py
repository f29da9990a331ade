"""The REST facade's routes as plain data (`capgate.exposes.catalog.Route`), from what the adapter serves."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from capgate.consumes.operation import WHOLE_BODY
from capgate.core.http import SAFE_METHODS
from capgate.document.models import Document, ExposedOperation, ExposedResource
from capgate.document.references import braced_path, input_key, path_variables
from capgate.exposes.catalog import Hints, Input, Route, document_tools, tool_hints, without_description
from capgate.exposes.rest.app import RestAdapter
from capgate.exposes.runnable import Runnable

_NOT_A_NAME = re.compile(r"[^a-zA-Z0-9]+")


def describe_routes(document: Document, adapter: RestAdapter) -> list[Route]:
    """The adapter's routes in document order; a route calling an operation a tool calls takes its hints."""
    hints_of = {tool.call: tool_hints(tool) for tool in document_tools(document) if tool.call}
    found = list(_exposed(adapter))
    names = Counter(_base_name(resource, operation) for resource, operation, _ in found)
    described = []
    for resource, operation, binding in found:
        method = operation.method.upper()
        path = braced_path(resource.path)
        name = _base_name(resource, operation)
        if names[name] > 1:
            name = f"{name}-{_slug(resource.name or resource.path)}"
        hints = hints_of.get(binding.operation_name) or _method_hints(method, binding)
        described.append(
            Route(
                method,
                path,
                name,
                operation.description or resource.description or name,
                binding.operation_name,
                binding.upstream,
                list(_route_inputs(path, binding)),
                hints,
            )
        )
    return described


def _exposed(adapter: RestAdapter) -> Iterator[tuple[ExposedResource, ExposedOperation, Runnable]]:
    # load_gateway builds adapter.operations from the same resources in the same order.
    specs = [(resource, operation) for resource in adapter.spec.resources for operation in resource.operations]
    for (resource, operation), built in zip(specs, adapter.operations, strict=True):
        yield resource, operation, built.binding


def _route_inputs(path: str, binding: Runnable) -> Iterator[Input]:
    variables = {input_key(name).lower(): name for name in path_variables(path)}
    in_path = set()
    for name, parameter in binding.inputs():
        key = input_key(name)
        schema = without_description(parameter.schema)
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


def _method_hints(method: str, binding: Runnable) -> Hints:
    return Hints(method in SAFE_METHODS, method == "DELETE", binding.idempotent)


def _base_name(resource: ExposedResource, operation: ExposedOperation) -> str:
    return operation.name or f"{operation.method.lower()}-{_slug(resource.path)}"


def _slug(text: str) -> str:
    return _NOT_A_NAME.sub("-", text).strip("-").lower()
