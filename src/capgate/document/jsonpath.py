"""The JSONPaths of output mappings, compiled once into getters.

Nearly every such path is a member path (`$.data`, `$.error.message`, `$['odd key']`, `$.items[0]`: the grammar
of `capgate.document.member_paths`), or one with a wildcard at its end (`$.data[*]`): those compile to a walk
over keys and indexes, a fraction of what jsonpath-ng's `find` costs on every call. Anything else (filters,
slices, unions, recursive descent, wildcards inside) goes to jsonpath-ng.

A getter returns what the path finds: for a path that names one place, the value there or `ABSENT`; for one
that can match many, the list of matches, possibly empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Final

from capgate.document.member_paths import parse_member_path

Getter = Callable[[Any], Any]
Steps = Sequence[str | int]


class _Absent:
    """Nothing there: not even `null`."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()

_TRAILING_WILDCARD = re.compile(r"(\[\*\]|\.\*)\Z")
_MANY = re.compile(r"\*|\.\.|\[\?|:|,")  # what makes a jsonpath-ng expression match many places


def compile_path(expression: str) -> Getter:
    """A getter for `expression`; a JsonPathParserError (a ValueError) if jsonpath-ng cannot parse it either."""
    steps = _member_steps(expression)
    if steps is not None:
        return lambda value: _walk(value, steps)
    wildcard = _TRAILING_WILDCARD.search(expression)
    before = _member_steps(expression[: wildcard.start()]) if wildcard is not None else None
    if before is not None:
        return _elements_getter(before)
    return _library_getter(expression)


def plain_key(expression: str) -> str | None:
    """The key of a path that names one key of the value itself (`$.id`, `$['id']`), else None."""
    steps = _member_steps(expression)
    return steps[0] if steps is not None and len(steps) == 1 and isinstance(steps[0], str) else None


def is_valid(expression: str) -> bool:
    """Whether `expression` compiles (for `capgate validate`)."""
    try:
        compile_path(expression)
    except Exception:  # jsonpath-ng raises its own errors and, on some inputs, plain ones
        return False
    return True


def _member_steps(expression: str) -> Steps | None:
    try:
        return parse_member_path(expression).steps
    except ValueError:
        return None


def _walk(value: Any, steps: Steps) -> Any:
    for step in steps:
        if isinstance(step, str):
            if type(value) is not dict or step not in value:
                return ABSENT
        elif type(value) is not list or step >= len(value):
            return ABSENT
        value = value[step]
    return value


def _elements_getter(steps: Steps) -> Getter:
    """What a trailing wildcard after `steps` matches: every element of a list, every value of an object."""

    def elements(value: Any) -> list[Any]:
        found = _walk(value, steps)
        if type(found) is list:
            return list(found)
        return list(found.values()) if type(found) is dict else []

    return elements


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
