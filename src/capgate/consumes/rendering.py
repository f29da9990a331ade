"""`{{ name }}` templates filled per call: request bodies, parameter values, step `with` values, mock outputs.

The format's templates are Mustache: `{{a.b}}` walks into `a`, a list or an object renders as JSON, and the
reference engine renders a missing name as nothing. Three renderings, by what the text becomes:
- `render_text`: plain text; a missing name renders empty, or makes the whole text missing (`strict`), which
  is how a query or header whose value names an absent input is left out rather than sent empty;
- `render_json`: a JSON body template, aware of JSON strings: inside quotes a value is escaped as JSON string
  content, outside quotes it is encoded as a JSON value (a missing one as `null`), so no input can break out
  of its place in the document (the reference engine pastes text, and `"a": {{missing}}` is not JSON);
- `render_data`: a structured body (`{type: json, data: {...}}`): a string that is one placeholder takes the
  value itself, with its type; other strings are rendered as text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson

Lookup = Callable[[str], Any]  # a name -> its value, or None when absent

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")


def resolve(name: str, lookup: Lookup) -> Any:
    """The value of a dotted name: the whole name first, else its first part, walked into by the rest."""
    value = lookup(name)
    if value is not None or "." not in name:
        return value
    head, _, rest = name.partition(".")
    found = lookup(head)
    for part in rest.split("."):
        if isinstance(found, Mapping):
            found = found.get(part)
        elif isinstance(found, list) and part.isdigit() and int(part) < len(found):
            found = found[int(part)]
        else:
            return None
    return found


def as_text(value: Any) -> str:
    """A value as a template writes it: text as is, booleans lower-case, lists and objects as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return orjson.dumps(value).decode()
    return str(value)


def render_text(template: str, lookup: Lookup, *, strict: bool = False) -> str | None:
    """`template` with each placeholder filled; None when `strict` and a name is absent."""
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        value = resolve(match.group(1), lookup)
        if value is None:
            missing = True
            return ""
        return as_text(value)

    rendered = _PLACEHOLDER.sub(fill, template)
    return None if strict and missing else rendered


def render_json(template: str, lookup: Lookup) -> str:
    """A JSON body template filled so that each value stays in its place (see the module docstring)."""
    out: list[str] = []
    position = 0
    in_string = False
    for match in _PLACEHOLDER.finditer(template):
        literal = template[position : match.start()]
        in_string = _inside_string_after(literal, in_string)
        out.append(literal)
        value = resolve(match.group(1), lookup)
        if in_string:
            text = "" if value is None else as_text(value)
            out.append(orjson.dumps(text).decode()[1:-1])
        else:
            out.append(orjson.dumps(value).decode())
        position = match.end()
    out.append(template[position:])
    return "".join(out)


def render_data(data: Any, lookup: Lookup) -> Any:
    """A structured body with its strings filled: a lone placeholder keeps its value's type."""
    if isinstance(data, str):
        whole = _PLACEHOLDER.fullmatch(data.strip())
        if whole is not None:
            return resolve(whole.group(1), lookup)
        return render_text(data, lookup)
    if isinstance(data, dict):
        return {key: render_data(value, lookup) for key, value in data.items()}
    if isinstance(data, list):
        return [render_data(item, lookup) for item in data]
    return data


def _inside_string_after(literal: str, in_string: bool) -> bool:
    """Whether a JSON text that started inside a string (or not) ends inside one after `literal`."""
    escaped = False
    for char in literal:
        if escaped:
            escaped = False
        elif char == "\\" and in_string:
            escaped = True
        elif char == '"':
            in_string = not in_string
    return in_string
