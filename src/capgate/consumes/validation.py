"""Validate and coerce argument values against the JSON-Schema keywords a document declares.

A compiled validator returns the value in its canonical type (REST query strings become numbers, booleans
and lists) or raises Invalid with a message that says what is allowed. Only the keywords documents use are
supported; the rest are ignored, as JSON Schema ignores unknown keywords.

Sizes are always bounded: an array or string whose schema states no `maxItems` / `maxLength` gets capgate's
(`capgate.core.bounds`), and so does every array and string inside a part of a value that the schema does not
describe (an object's undeclared properties, an array without `items`, a value of no declared type).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from capgate.core.bounds import DEFAULT_MAX_ITEMS, DEFAULT_MAX_LENGTH

Validator = Callable[[Any], Any]

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")
_DEFAULT_BOUND = "; capgate's bound where the document states none"
# Keywords that describe what a value holds; a schema of no type with none of them describes nothing.
_STRUCTURE = {"anyOf", "oneOf", "enum", "const", "properties", "items", "required", "additionalProperties"}


class Invalid(ValueError):
    """A value does not satisfy its schema; `path` locates it inside the value (`[2]`, `.tags`)."""

    def __init__(self, reason: str, path: str = "", *, wrong_type: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path
        self.wrong_type = wrong_type  # the value is not even of the schema's type


def compile_schema(schema: Mapping[str, Any]) -> Validator:
    """Build a validator once, at load time; calling it does no parsing of the schema."""
    checks: list[Validator] = []
    if "anyOf" in schema or "oneOf" in schema:
        checks.append(_alternatives([compile_schema(s) for s in schema.get("anyOf", schema.get("oneOf", []))]))
    kind = schema.get("type")
    if kind:
        checks.append(_type_check(kind if isinstance(kind, list) else [kind]))
    if "enum" in schema:
        checks.append(_enum(list(schema["enum"])))
    if "const" in schema:
        checks.append(_enum([schema["const"]]))
    checks += _string_checks(schema) + _number_checks(schema) + _array_checks(schema) + _object_checks(schema)
    if not kind and not _STRUCTURE & set(schema):
        checks.append(_bounded)  # nothing says what this is: only its size is checked

    def validate(value: Any) -> Any:
        for check in checks:
            value = check(value)
        return value

    return validate


def _alternatives(options: list[Validator]) -> Validator:
    def check(value: Any) -> Any:
        failures: list[Invalid] = []
        for option in options:
            try:
                return option(value)
            except Invalid as exc:
                failures.append(exc)
        # An option of the value's own type explains the problem best ("at most 10 items", not "must be a string").
        relevant = [exc for exc in failures if not exc.wrong_type] or failures
        if len(relevant) == 1:
            raise relevant[0]
        reasons = [
            (f"item {e.path} " if e.path.startswith("[") else (f"{e.path[1:]} " if e.path else "")) + e.reason
            for e in relevant
        ]
        raise Invalid(", or ".join(dict.fromkeys(reasons)), wrong_type=all(e.wrong_type for e in relevant))

    return check


def _type_check(kinds: list[str]) -> Validator:
    def check(value: Any) -> Any:
        for kind in kinds:
            coerced = _coerce(value, kind)
            if coerced is not _NO:
                return coerced
        got = type(value).__name__ if not isinstance(value, str) else repr(value)
        raise Invalid(f"must be {' or '.join(_ARTICLE.get(k, k) for k in kinds)} (got {got})", wrong_type=True)

    return check


_NO = object()
_ARTICLE = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}


def _coerce(value: Any, kind: str) -> Any:
    """`value` as `kind`, accepting the text forms a query string or a model may send; _NO if impossible."""
    coerce = _COERCERS.get(kind)
    return value if coerce is None else coerce(value)


def _to_string(value: Any) -> Any:
    return value if isinstance(value, str) else _NO


def _to_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    return _NO


def _to_number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return _NO
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else _NO


def _to_integer(value: Any) -> Any:
    number = _to_number(value)
    if isinstance(number, float):
        return int(number) if number.is_integer() else _NO
    return number


def _to_array(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return list(value)
    return value.split(",") if isinstance(value, str) else _NO


def _to_object(value: Any) -> Any:
    if isinstance(value, str):  # some clients send an object as its JSON text
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return _NO
    return value if isinstance(value, dict) else _NO


def _to_null(value: Any) -> Any:
    return value if value is None else _NO


_COERCERS: dict[str, Validator] = {
    "string": _to_string,
    "boolean": _to_boolean,
    "number": _to_number,
    "integer": _to_integer,
    "array": _to_array,
    "object": _to_object,
    "null": _to_null,
}


def _enum(allowed: list[Any]) -> Validator:
    shown = ", ".join(str(a) for a in allowed)

    def check(value: Any) -> Any:
        if value not in allowed:
            raise Invalid(f"must be one of {shown} (got {value!r})")
        return value

    return check


def _string_checks(schema: Mapping[str, Any]) -> list[Validator]:
    checks: list[Validator] = []
    low, high = schema.get("minLength"), schema.get("maxLength", _default_for(schema, "string", DEFAULT_MAX_LENGTH))
    whose = "" if "maxLength" in schema else _DEFAULT_BOUND
    if low is not None or high is not None:

        def length(value: Any) -> Any:
            if isinstance(value, str):
                if low is not None and len(value) < low:
                    raise Invalid(f"must be at least {low} characters long (got {len(value)})")
                if high is not None and len(value) > high:
                    raise Invalid(f"must be at most {high} characters long (got {len(value)}){whose}")
            return value

        checks.append(length)
    if "pattern" in schema:
        pattern = re.compile(schema["pattern"])

        def matches(value: Any) -> Any:
            if isinstance(value, str) and not pattern.search(value):
                raise Invalid(f"must match {pattern.pattern} (got {value!r})")
            return value

        checks.append(matches)
    return checks


def _number_checks(schema: Mapping[str, Any]) -> list[Validator]:
    bounds: list[tuple[Any, Callable[[Any, Any], bool], str]] = [
        (schema.get("minimum"), operator.ge, "at least"),
        (schema.get("maximum"), operator.le, "at most"),
        (schema.get("exclusiveMinimum"), operator.gt, "greater than"),
        (schema.get("exclusiveMaximum"), operator.lt, "less than"),
    ]
    active = [(bound, test, words) for bound, test, words in bounds if bound is not None]
    if not active:
        return []

    def check(value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            for bound, test, words in active:
                if not test(value, bound):
                    raise Invalid(f"must be {words} {bound} (got {value})")
        return value

    return [check]


def _array_checks(schema: Mapping[str, Any]) -> list[Validator]:
    item = compile_schema(schema["items"]) if isinstance(schema.get("items"), Mapping) else _bounded
    low, high = schema.get("minItems"), schema.get("maxItems", _default_for(schema, "array", DEFAULT_MAX_ITEMS))
    whose = "" if "maxItems" in schema else _DEFAULT_BOUND
    if item is _bounded and low is None and high is None:
        return []

    def check(value: Any) -> Any:
        if not isinstance(value, list):
            return value
        if low is not None and len(value) < low:
            raise Invalid(f"must have at least {low} items (got {len(value)})")
        if high is not None and len(value) > high:
            raise Invalid(f"must have at most {high} items (got {len(value)}){whose}")
        result = []
        for index, element in enumerate(value):
            try:
                result.append(item(element))
            except Invalid as exc:
                raise Invalid(exc.reason, f"[{index}]{exc.path}") from None
        return result

    return [check]


def _object_checks(schema: Mapping[str, Any]) -> list[Validator]:
    properties = {name: compile_schema(s) for name, s in (schema.get("properties") or {}).items()}
    required = list(schema.get("required") or [])
    closed = schema.get("additionalProperties") is False
    if not properties and not required and not closed and not _declares(schema, "object"):
        return []

    def check(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        for name in required:
            if name not in value:
                raise Invalid("is required", f".{name}")
        if closed and (unknown := sorted(set(value) - set(properties))):
            raise Invalid(f"is not allowed (allowed: {', '.join(properties) or 'none'})", f".{unknown[0]}")
        result = dict(value)
        for name, item in value.items():
            try:
                result[name] = properties.get(name, _bounded)(item)
            except Invalid as exc:
                raise Invalid(exc.reason, f".{name}{exc.path}") from None
        return result

    return [check]


def _declares(schema: Mapping[str, Any], kind: str) -> bool:
    declared = schema.get("type")
    return kind in declared if isinstance(declared, list) else declared == kind


def _default_for(schema: Mapping[str, Any], kind: str, bound: int) -> int | None:
    """capgate's bound for a schema of `kind` that states none; None for other schemas."""
    return bound if _declares(schema, kind) else None


def _bounded(value: Any) -> Any:
    """`value`, if no array inside it has more than DEFAULT_MAX_ITEMS items nor any string more than
    DEFAULT_MAX_LENGTH characters; else Invalid, located."""
    pending: list[tuple[Any, str]] = [(value, "")]
    while pending:
        node, where = pending.pop()
        if isinstance(node, str):
            _check_size(len(node), DEFAULT_MAX_LENGTH, "characters long", where)
            continue
        if isinstance(node, list):
            _check_size(len(node), DEFAULT_MAX_ITEMS, "items", where)
            children: Any = ((f"{where}[{index}]", item) for index, item in enumerate(node))
        elif isinstance(node, dict):
            children = ((f"{where}.{key}", item) for key, item in node.items())
        else:
            continue
        pending.extend((item, path) for path, item in children if isinstance(item, (str, list, dict)))
    return value


def _check_size(size: int, bound: int, unit: str, where: str) -> None:
    if size > bound:
        verb = "have" if unit == "items" else "be"
        raise Invalid(f"must {verb} at most {bound} {unit} (got {size}){_DEFAULT_BOUND}", where)
