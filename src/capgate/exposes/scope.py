"""The parameters steps, aggregate functions and mocks see, as the format's engine builds them.

A `Scope` is a read-only mapping by name: values set on it (a `with`, the steps' outputs) over the binds (only
where a scope is given them: steps, whose values go upstream, never a mock, whose values are the answer) over
the caller's inputs, which are only looked up when a name is asked for. `with` values follow the format: a reference
(`<adapter namespace>.x`, or capgate's `rest.x`, `tools.x`, `mcp.x`) takes input `x`; a string that is one
placeholder (`{{x}}`) takes the value itself, with its type; any other string is a template over the scope and
the binds; anything else is a literal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from capgate.consumes.binds import Secrets
from capgate.consumes.rendering import render_text, resolve
from capgate.document.references import input_key, input_reference
from capgate.exposes.runnable import Lookup

_LONE = re.compile(r"^\{\{\s*([^{}\s]+)\s*\}\}$")


class Scope(Mapping[str, Any]):
    """Values by name over a caller's lookup; see the module docstring."""

    def __init__(
        self,
        lookup: Lookup,
        values: Mapping[str, Any] | None = None,
        secrets: Secrets | None = None,
        bound: frozenset[str] | None = None,
    ) -> None:
        self._lookup = lookup
        self._values = dict(values or {})
        self.secrets = secrets
        self._bound = bound if bound is not None else frozenset(secrets.names() if secrets else ())

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._values:
            return self._values[key]
        if self.secrets is not None and key in self._bound:
            return self.secrets.lookup(key)
        value = self._lookup(input_key(key))
        return default if value is None else value

    def __getitem__(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def over(self, values: Mapping[str, Any]) -> Scope:
        """This scope with `values` set over it."""
        return Scope(self._lookup, {**self._values, **values}, self.secrets, self._bound)

    def lookup(self, key: str) -> Any:
        """A Lookup (by input key) reading this scope, with dotted names walked into objects."""
        return resolve(key, self.get)


def with_applied(scope: Scope, with_: Mapping[str, Any] | None, namespace: str) -> Scope:
    """`scope` with each `with` target set from its value (see the module docstring); an absent reference sets
    nothing, as the reference engine leaves it."""
    if not with_:
        return scope
    values: dict[str, Any] = {}
    for target, raw in with_.items():
        value = with_value(raw, scope, namespace)
        if value is not None:
            values[target] = value
    return scope.over(values)


def with_value(raw: Any, scope: Scope, namespace: str) -> Any:
    reference = input_reference(raw, namespace)
    if reference is not None:
        return scope.get(reference)
    if not isinstance(raw, str):
        return raw
    lone = _LONE.match(raw.strip())
    if lone is not None:
        return scope.lookup(lone.group(1))
    return render_text(raw, scope.lookup)
