"""A document's JSONPath expressions, compiled once into getters.

Nearly every expression a document holds is a plain path (`$.data`, `$.error.message`, `$.items[0].id`,
`$.data[*]`): those compile to a walk over keys and indexes, which costs a fraction of what jsonpath-ng's
`find` does on every call. Anything else (filters, slices, unions, recursive descent) goes to jsonpath-ng.

A getter returns what the path finds: for a path that names one place, the value there or `ABSENT`; for one
that can match many (`[*]`, `.*`, filters …), the list of matches, possibly empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

Getter = Callable[[Any], Any]


class _Absent:
    """Nothing there: not even `null`."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()

_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['([^'\\]*)'\]|\[\"([^\"\\]*)\"\]|(\.\*|\[\*\])")
_WILDCARD = object()  # a step that takes every element of a list or every value of an object
_MANY = re.compile(r"\*|\.\.|\[\?|:|,")  # what makes a jsonpath-ng expression match many places


def compile_path(expression: str) -> Getter:
    """A getter for `expression`; a JsonPathParserError (a ValueError) if jsonpath-ng cannot parse it."""
    steps = _plain_steps(expression)
    if steps is None:
        return _library_getter(expression)
    if _WILDCARD in steps:
        return lambda value: _matches(value, steps)
    return lambda value: _walk(value, steps)


def plain_key(expression: str) -> str | None:
    """The key of a path that names one key of the value itself (`$.id`, `$['id']`), else None."""
    steps = _plain_steps(expression)
    return steps[0] if steps is not None and len(steps) == 1 and isinstance(steps[0], str) else None


def keys_getter(keys: list[str]) -> Getter:
    """A getter for the value under `keys`, one object in another: `["error", "message"]`."""
    return lambda value: _walk(value, keys)


def is_valid(expression: str) -> bool:
    """Whether `expression` compiles (for `capgate validate`)."""
    try:
        compile_path(expression)
    except Exception:  # jsonpath-ng raises its own errors and, on some inputs, plain ones
        return False
    return True


def _plain_steps(expression: str) -> list[Any] | None:
    """The keys, indexes and wildcards of a plain path, or None when it is not one."""
    if not expression.startswith("$"):
        return None
    steps: list[Any] = []
    position = 1
    while position < len(expression):
        match = _STEP.match(expression, position)
        if match is None:
            return None
        name, index, quoted, double_quoted, wildcard = match.groups()
        if wildcard:
            steps.append(_WILDCARD)
        elif index is not None:
            steps.append(int(index))
        else:
            steps.append(name if name is not None else quoted if quoted is not None else double_quoted)
        position = match.end()
    return steps


def _walk(value: Any, steps: list[Any]) -> Any:
    for step in steps:
        if isinstance(step, str):
            if not isinstance(value, dict) or step not in value:
                return ABSENT
            value = value[step]
        elif isinstance(value, list) and step < len(value):
            value = value[step]
        else:
            return ABSENT
    return value


def _matches(value: Any, steps: list[Any]) -> list[Any]:
    found = [value]
    for step in steps:
        following: list[Any] = []
        for current in found:
            if step is _WILDCARD:
                if isinstance(current, list):
                    following.extend(current)
                elif isinstance(current, dict):
                    following.extend(current.values())
            else:
                child = _walk(current, [step])
                if child is not ABSENT:
                    following.append(child)
        found = following
    return found


def _library_getter(expression: str) -> Getter:
    from jsonpath_ng.ext.parser import parse  # imported only by documents that need it, to keep start-up fast

    compiled = parse(expression)
    many = bool(_MANY.search(expression))

    def find(value: Any) -> Any:
        matches = [match.value for match in compiled.find(value)]
        if many:
            return matches
        return matches[0] if matches else ABSENT

    return find
