"""The paging hint of a tool result: whether there is a next and a previous page, and the exact call for each.

The consumed operation declares where its answer holds the cursors and which of its inputs take them back
(`pagination`, a capgate extension); the hint names the *tool's* input that feeds that parameter
(`page.after` for `page[after]`) and repeats the caller's other arguments, so an agent copies it as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from capgate.document.jsonpath import Getter, compile_path
from capgate.document.references import input_key, property_name
from capgate.exposes.binding import Binding
from capgate.exposes.runnable import Runnable


@dataclass(frozen=True)
class _Direction:
    label: str  # "next page"
    cursor: Getter  # the parsed upstream answer -> the cursor
    input: str  # the tool's input that takes it back, as advertised: `page.after`


@dataclass(frozen=True)
class Paging:
    """How one tool pages, compiled from its operation's `pagination` and its `with` wiring."""

    tool: str
    directions: tuple[_Direction, ...]
    cursor_inputs: frozenset[str]

    def lines(self, answer: Any, arguments: Mapping[str, Any]) -> list[str]:
        """One line per direction: the call that fetches that page, or that there is none."""
        kept = {name: value for name, value in arguments.items() if name not in self.cursor_inputs}
        lines = []
        for direction in self.directions:
            cursor = direction.cursor(answer)
            if isinstance(cursor, str | int) and not isinstance(cursor, bool) and cursor != "":
                call = orjson.dumps({**kept, direction.input: cursor}).decode()
                lines.append(f"{direction.label}: {self.tool} {call}")
            else:
                lines.append(f"no {direction.label}")
        return lines


def compile_paging(tool: str, binding: Runnable) -> Paging | None:
    """The paging of `tool`, or None when it calls no single operation, its operation declares none, or the
    tool has no cursor input."""
    if not isinstance(binding, Binding) or binding.operation.spec.pagination is None:
        return None
    spec = binding.operation.spec.pagination
    inputs = {
        wire.parameter.key: property_name(wire.input_name)
        for wire in binding.wires
        if wire.input_name is not None and not wire.implicit
    }
    directions = tuple(
        _Direction(label, compile_path(path), inputs[input_key(parameter)])
        for label, path, parameter in (
            ("next page", spec.next, spec.next_input),
            ("previous page", spec.previous, spec.previous_input),
        )
        if path is not None and parameter is not None and input_key(parameter) in inputs
    )
    if not directions:
        return None
    return Paging(tool, directions, frozenset(direction.input for direction in directions))
