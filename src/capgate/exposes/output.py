"""Output mappings: `$` passes the upstream body through untouched; other JSONPaths project it.

An answer in another format (`outputRawFormat`: XML, CSV, YAML, HTML, Markdown…) is read as JSON first
(`capgate.consumes.formats`); one that cannot be read passes through as it came, as the reference engine
answers it. Mock outputs (`value`s with `{{ }}` templates) build an answer with no upstream at all.

A projection is compiled once, with the JSON Schema (2020-12) of what it returns, and the two agree by
construction: a mapped value that is absent, `null` or not of its declared type is left out, an array's
elements that do not fit its `items` are dropped, so whatever the upstream sends, the result validates.

Projection runs on every MCP call, over every item of a page, so the common field (one key, a declared type,
as `{type: string, mapping: $.id}`) is a lookup and a type test inlined in its object's loop, not a chain of
calls. Values are parsed JSON, whose types are exactly these: the test is `type(value) in allowed`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from capgate.consumes.formats import FormatError, to_json
from capgate.consumes.rendering import Lookup, render_text
from capgate.document.jsonpath import ABSENT, Getter, compile_path, plain_key
from capgate.document.models import OutputParameter

Projection = Callable[[Any], Any]
WHOLE = ("$", "$.")

_TYPES: dict[str, frozenset[type]] = {
    "string": frozenset({str}),
    "integer": frozenset({int}),
    "number": frozenset({int, float}),
    "boolean": frozenset({bool}),
    "object": frozenset({dict}),
    "array": frozenset({list}),
}
_ANY = frozenset({str, int, float, bool, dict, list})  # an output without `type`: any value but null
_SCALARS = {"number": float, "integer": int}


@dataclass(frozen=True)
class OutputMapping:
    """A compiled output mapping: `project` turns the parsed upstream body into the mapped value, which
    `schema` describes; `spec` is the declaration, for what adapters read from it (text layout, links)."""

    project: Projection
    schema: dict[str, Any]
    spec: OutputParameter
    fmt: str = "json"  # the answer's format, `outputRawFormat`
    answer_schema: str | None = None  # its `outputSchema` (html: a CSS selector; markdown: a heading prefix)

    def read(self, body: bytes) -> Any:
        """The answer as JSON data, converted from its format; FormatError when it is not in that format."""
        return to_json(body, self.fmt, self.answer_schema)


@dataclass(frozen=True)
class _Node:
    extract: Callable[[Any], Any]  # the parent's value -> this value, or ABSENT
    schema: dict[str, Any]
    always: bool  # present in every result (so `required` in the schema)
    # A value taken as it is: from `key` of the parent (None: the parent itself), if its type is `allowed`.
    # The object and array loops inline these instead of calling `extract`.
    key: str | None = None
    allowed: frozenset[type] = _ANY
    plain: bool = False


def compile_output(
    outputs: list[OutputParameter], fmt: str = "json", answer_schema: str | None = None
) -> OutputMapping | None:
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

    return OutputMapping(project, node.schema, outputs[0], fmt, answer_schema)


def apply_output(mapping: OutputMapping, body: bytes) -> bytes:
    """The projected body; a body that cannot be read in its format is returned as it came."""
    try:
        parsed = mapping.read(body)
    except FormatError:
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
    nodes = [(name, _node(child)) for name, child in (output.properties or {}).items()]
    fields = [(name, node.key, node.allowed, None if node.plain else node.extract) for name, node in nodes]
    keyed = [(name, key, allowed) for name, key, allowed, field in fields if field is None and key is not None]

    def extract(parent: Any) -> Any:
        value = parent if source is None else source(parent)
        if type(value) is not dict:
            return ABSENT
        result = {}
        for name, key, allowed, field in fields:
            if field is None:  # a plain value, inlined (see _Node)
                found = value.get(key) if key is not None else value
                if type(found) in allowed:
                    result[name] = found
            elif (found := field(value)) is not ABSENT:
                result[name] = found
        return result

    def extract_keyed(parent: Any) -> Any:  # every field is one key of the object: one comprehension
        value = parent if source is None else source(parent)
        if type(value) is not dict:
            return ABSENT
        get = value.get
        return {name: found for name, key, allowed in keyed if type(found := get(key)) in allowed}

    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: node.schema for name, node in nodes},
        "additionalProperties": False,
    }
    required = [name for name, node in nodes if node.always]
    if required:
        schema["required"] = required
    chosen = extract_keyed if len(keyed) == len(fields) else extract
    return _Node(chosen, _described(schema, output), always=source is None)


def _array(output: OutputParameter, source: Getter | None) -> _Node:
    item = _node(output.items) if output.items is not None else None

    def extract(parent: Any) -> Any:
        value = parent if source is None else source(parent)
        if type(value) is not list:
            return []
        if item is None:
            return value
        if item.plain and item.key is None:  # elements taken as they are, if of their type
            allowed = item.allowed
            return [element for element in value if type(element) in allowed]
        each = item.extract
        return [found for found in map(each, value) if found is not ABSENT]

    schema: dict[str, Any] = {"type": "array"}
    if item is not None:
        schema["items"] = item.schema
    return _Node(extract, _described(schema, output), always=True)


def _value(output: OutputParameter, source: Getter | None) -> _Node:
    allowed = _TYPES.get(output.type or "", _ANY)

    def extract(parent: Any) -> Any:
        value = parent if source is None else source(parent)
        return value if type(value) in allowed else ABSENT  # None and ABSENT are of no allowed type

    schema = {"type": output.type} if output.type in _TYPES else {}
    key = plain_key(output.mapping) if source is not None and output.mapping else None
    plain = source is None or key is not None
    return _Node(extract, _described(schema, output), always=False, key=key, allowed=allowed, plain=plain)


def _described(schema: dict[str, Any], output: OutputParameter) -> dict[str, Any]:
    return {**schema, "description": output.description} if output.description else schema


def mock_answer(outputs: list[OutputParameter], lookup: Lookup) -> dict[str, Any] | None:
    """The answer of a mock: each output's `value` (templates filled from the inputs), by name; None if empty."""
    answer = {}
    for output in outputs:
        value = _mock_value(output, lookup)
        if value is not None:
            answer[output.name or "value"] = value
    return answer or None


def _mock_value(output: OutputParameter, lookup: Lookup) -> Any:
    if output.value is not None:
        text = render_text(output.value, lookup) if isinstance(output.value, str) else output.value
        return _typed(text, output.type)
    if output.type == "array":
        item = _mock_value(output.items, lookup) if output.items is not None else None
        return [] if item is None else [item]
    if output.type == "object":
        fields = {
            name: value
            for name, child in (output.properties or {}).items()
            if (value := _mock_value(child, lookup)) is not None
        }
        return fields or None
    return None


def _typed(value: Any, kind: str | None) -> Any:
    """A mock value as its declared type when the text says one unambiguously (the reference engine answers
    every value as a string)."""
    if not isinstance(value, str):
        return value
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    convert = _SCALARS.get(kind or "")
    if convert is not None:
        try:
            number = convert(value)
        except ValueError:
            return value
        return int(number) if kind == "number" and float(number).is_integer() and "." not in value else number
    return value
