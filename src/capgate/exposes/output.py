"""Output mappings: `$` passes the upstream body through untouched; other JSONPaths project it.

A projection is compiled once, with the JSON Schema (2020-12) of what it returns, and the two agree by
construction: a mapped value that is absent, `null` or not of its declared type is left out, an array's
elements that do not fit its `items` are dropped, so whatever the upstream sends, the result validates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from capgate.core.jsonpath import ABSENT, Getter, compile_path
from capgate.document.models import OutputParameter

Projection = Callable[[Any], Any]
WHOLE = ("$", "$.")

_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda value: isinstance(value, str),
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    "boolean": lambda value: isinstance(value, bool),
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
}


@dataclass(frozen=True)
class OutputMapping:
    """A compiled output mapping: `project` turns the parsed upstream body into the mapped value, which
    `schema` describes; `spec` is the declaration, for what adapters read from it (text layout, links)."""

    project: Projection
    schema: dict[str, Any]
    spec: OutputParameter


@dataclass(frozen=True)
class _Node:
    extract: Callable[[Any], Any]  # the parent's value -> this value, or ABSENT
    schema: dict[str, Any]
    always: bool  # present in every result (so `required` in the schema)


def compile_output(outputs: list[OutputParameter]) -> OutputMapping | None:
    """The mapping of the first output parameter, or None when the body passes through as bytes."""
    if not outputs or _passes_through(outputs[0]):
        return None
    node = _node(outputs[0])
    extract = node.extract

    def project(body: Any) -> Any:
        value = extract(body)
        if value is ABSENT:  # a body that does not fit the root: the mapping of an empty object, which conforms
            value = extract({})
        return None if value is ABSENT else value

    return OutputMapping(project, node.schema, outputs[0])


def apply_output(mapping: OutputMapping, body: bytes) -> bytes:
    """The projected body; a body that is not JSON is returned as it came."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    return orjson.dumps(mapping.project(parsed))


def _passes_through(output: OutputParameter) -> bool:
    """`{type: object, mapping: $.}` means the whole body, not `{}` as the reference engine gives."""
    return output.value is None and not output.properties and output.items is None and _whole(output.mapping)


def _whole(mapping: str | None) -> bool:
    return mapping is None or mapping in WHOLE


def _node(output: OutputParameter) -> _Node:
    if output.value is not None:
        return _constant(output)
    source = None if _whole(output.mapping) else compile_path(output.mapping or "$")
    if output.type == "object" and output.properties:
        return _object(output, source)
    if output.type == "array":
        return _array(output, source)
    return _value(output, source)


def _constant(output: OutputParameter) -> _Node:
    constant = output.value
    schema = _described({"const": constant} | ({"type": output.type} if output.type else {}), output)
    return _Node(lambda _body: constant, schema, always=True)


def _object(output: OutputParameter, source: Getter | None) -> _Node:
    fields = [(name, _node(child)) for name, child in (output.properties or {}).items()]
    extractors = [(name, node.extract) for name, node in fields]

    def extract(parent: Any) -> Any:
        value = parent if source is None else source(parent)
        if not isinstance(value, dict):
            return ABSENT
        result = {}
        for name, field in extractors:
            found = field(value)
            if found is not ABSENT:
                result[name] = found
        return result

    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: node.schema for name, node in fields},
        "additionalProperties": False,
    }
    required = [name for name, node in fields if node.always]
    if required:
        schema["required"] = required
    return _Node(extract, _described(schema, output), always=source is None)


def _array(output: OutputParameter, source: Getter | None) -> _Node:
    item = _node(output.items) if output.items is not None else None
    each = item.extract if item is not None else None

    def extract(parent: Any) -> Any:
        value = parent if source is None else source(parent)
        if not isinstance(value, list):
            return []
        if each is None:
            return value
        return [item for item in map(each, value) if item is not ABSENT]

    schema: dict[str, Any] = {"type": "array"}
    if item is not None:
        schema["items"] = item.schema
    return _Node(extract, _described(schema, output), always=True)


def _value(output: OutputParameter, source: Getter | None) -> _Node:
    fits = _TYPES.get(output.type or "")

    def extract(parent: Any) -> Any:
        value = parent if source is None else source(parent)
        if value is None or (fits is not None and not fits(value)):
            return ABSENT
        return value

    schema = {"type": output.type} if output.type in _TYPES else {}
    return _Node(extract, _described(schema, output), always=False)


def _described(schema: dict[str, Any], output: OutputParameter) -> dict[str, Any]:
    return {**schema, "description": output.description} if output.description else schema
