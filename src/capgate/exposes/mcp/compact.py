"""The compact text of a tool result, laid out as the document's `text` declares: what a model reads.

A list is a header naming the columns, then one line per item with its fields' values separated by spaces
(a value with spaces in it is JSON-quoted, an absent one is `-`); one object is one `name: value` line per
field it has. A dotted field reads nested objects (`error.message`) and, through an array, each element's
value (`exceptions.message`: the message of every exception). This text departs on purpose from the spec's
SHOULD that the text repeat the structured content as JSON: the JSON is in `structuredContent`, and
`capgate serve --mcp-text json` restores it here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from capgate.document.jsonpath import ABSENT, Getter
from capgate.document.models import TextLayout

_NEEDS_QUOTES = re.compile(r'[\s"]').search


def field_getter(name: str) -> Getter:
    """A getter for a field of a mapped object, dotted for nested objects (`error.message`); through an array, the
    list of what its elements hold there (`exceptions.message`)."""
    if "." not in name:
        return lambda value: value.get(name, ABSENT) if type(value) is dict else ABSENT
    keys = tuple(name.split("."))
    return lambda value: _nested(value, keys)


def _nested(value: Any, keys: tuple[str, ...]) -> Any:
    for position, key in enumerate(keys):
        if type(value) is list:  # each element's value, one list for all (an element's own list spread into it)
            found = [_nested(element, keys[position:]) for element in value]
            values = [item for each in found if each is not ABSENT for item in (each if type(each) is list else [each])]
            return values or ABSENT
        if type(value) is not dict or key not in value:
            return ABSENT
        value = value[key]
    return value


@dataclass(frozen=True)
class Layout:
    """A `text` declaration, compiled."""

    fields: list[tuple[str, Getter]]
    items: str | None
    label: str

    @classmethod
    def compile(cls, spec: TextLayout) -> Layout:
        return cls([(name, field_getter(name)) for name in spec.fields], spec.items, spec.label or spec.items or "")

    def render(self, mapped: Any) -> list[str]:
        """The text's lines for a mapped result."""
        if self.items is None:
            return [f"{name}: {_value(found)}" for name, get in self.fields if (found := get(mapped)) is not ABSENT]
        items = mapped.get(self.items) if isinstance(mapped, dict) else None
        items = items if isinstance(items, list) else []
        if not items:
            return [f"0 {self.label}."]
        header = f"{len(items)} {self.label} ({' '.join(name for name, _ in self.fields)}):"
        names = [name for name, _ in self.fields]
        if not any("." in name for name in names):  # items are mapped objects: the fields are their keys
            return [header, *(" ".join([_cell(item.get(name, ABSENT)) for name in names]) for item in items)]
        getters = [get for _, get in self.fields]
        return [header, *(" ".join([_cell(get(item)) for get in getters]) for item in items)]


def _cell(value: Any) -> str:
    """One value in a line of values: never empty, never with a space that would split it."""
    if type(value) is str:
        text = value
    elif value is ABSENT or value is None or value == []:
        return "-"
    elif type(value) is list:
        text = ",".join([item if type(item) is str else _scalar(item) for item in value])
    else:
        text = _scalar(value)
    if not text or text == "-":
        return "-" if not text else '"-"'
    return orjson.dumps(text).decode() if _NEEDS_QUOTES(text) else text


def _value(value: Any) -> str:
    """One value on a line of its own."""
    if value is None or value == "" or value == []:
        return "-"
    text = ", ".join(_scalar(item) for item in value) if isinstance(value, list) else _scalar(value)
    return orjson.dumps(text).decode() if "\n" in text or "\r" in text else text


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()  # numbers, booleans, null and nested objects or lists, as JSON
