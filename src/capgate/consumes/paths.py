"""Fill a path template with percent-encoded values, refusing values that would change the path's shape."""

from __future__ import annotations

import re
from urllib.parse import quote

from capgate.document.references import input_key, path_pieces

# A value may not add segments, climb out of its segment, or start a query or fragment.
_SHAPE_CHANGING = re.compile(r"[/\\?#\x00-\x1f\x7f]")
# An upstream or proxy that decodes twice would turn `%2F` into `/`: encoded sequences are refused too.
_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")


class PathTemplate:
    """A consumed resource path such as `/api/v3/runs/{runId}`, split once into literals and variables."""

    def __init__(self, template: str) -> None:
        self.template = template
        # (literal text, input key of the variable after it)
        self.pieces = [
            (literal, input_key(variable) if variable else None) for literal, variable in path_pieces(template)
        ]
        self.variables = [key for _, key in self.pieces if key is not None]

    def fill(self, values: dict[str, str]) -> str:
        """The path with each variable's value percent-encoded; values were checked with `shape_problem`."""
        return "".join(literal + (quote(values[key], safe="") if key else "") for literal, key in self.pieces)


def shape_problem(value: str) -> str | None:
    """Why `value` cannot stand in a path segment, or None when it can."""
    if value in ("", ".", ".."):
        return "must not be empty, '.' or '..'"
    if _SHAPE_CHANGING.search(value):
        return "must not contain '/', '\\', '?', '#' or control characters"
    if _ENCODED.search(value):
        return "must not contain percent-encoded characters; send the value decoded"
    return None
