"""Output mappings: `$` passes the upstream body through untouched; other JSONPaths project it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from capgate.document.models import OutputParameter

Projection = Callable[[Any], Any]
WHOLE = ("$", "$.")


def compile_output(outputs: list[OutputParameter]) -> Projection | None:
    """A function from the parsed body to the response value, or None when the body passes through as bytes."""
    if not outputs:
        return None
    return _compile(outputs[0])


def _compile(output: OutputParameter) -> Projection | None:
    if output.value is not None:
        constant = output.value
        return lambda _body: constant
    if output.type == "object" and output.properties:
        fields = {name: _compile(child) or _identity for name, child in output.properties.items()}
        source = _path(output.mapping) if output.mapping and output.mapping not in WHOLE else _identity
        return lambda body: {name: project(source(body)) for name, project in fields.items()}
    if output.type == "array" and output.items is not None and output.mapping and output.mapping not in WHOLE:
        each = _compile(output.items) or _identity
        source = _path(output.mapping)
        return lambda body: [each(item) for item in (source(body) or [])]
    if output.mapping is None or output.mapping in WHOLE:
        return None  # `{type: object, mapping: $.}` means the whole body, not `{}` as the reference engine gives
    return _path(output.mapping)


def _identity(body: Any) -> Any:
    return body


def _path(expression: str) -> Projection:
    from jsonpath_ng.ext.parser import parse  # imported only by documents that project, to keep start-up fast

    compiled = parse(expression)

    def find(body: Any) -> Any:
        matches = [match.value for match in compiled.find(body)]
        return matches[0] if len(matches) == 1 else (matches or None)

    return find


def apply_output(projection: Projection, body: bytes) -> bytes:
    """The projected body; a body that is not JSON is returned as it came."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    return orjson.dumps(projection(parsed))
