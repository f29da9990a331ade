"""How names and `with` values refer to inputs: the rules both adapters and the checker share."""

from __future__ import annotations

import re

# `rest.x`, `tools.x` and `mcp.x` are the conventions of generated documents; the adapter's own namespace
# (`management-runs-mcp.x`) is the spec's spelling. All of them name the adapter's input `x`.
GENERIC_PREFIXES = ("rest", "tools", "mcp")

_BRACKET = re.compile(r"\[([^\[\]]*)\]")
_UNSAFE_PROPERTY_CHARACTERS = re.compile(r"[^a-zA-Z0-9_.-]")
# The path template grammar, for every layer: a variable is `{x}` or `{{x}}`, spaces inside the braces allowed.
PATH_VARIABLE = re.compile(r"\{\{?\s*([^{}\s]+)\s*\}?\}")


def input_key(name: str) -> str:
    """The dotted form that identifies an input whatever its spelling.

    `filter[createdAt][from]`, `filter[createdAt.from]` and `filter.createdAt.from` are one input. The dotted
    form is also the MCP property name, since brackets are not allowed there by every client.
    """
    return _BRACKET.sub(lambda match: "." + match.group(1), name)


def property_name(name: str) -> str:
    """An input's MCP property name, safe for every major client (`^[a-zA-Z0-9_.-]{1,64}$`):
    `filter[status]` -> `filter.status`."""
    return _UNSAFE_PROPERTY_CHARACTERS.sub("_", input_key(name))[:64]


def input_reference(value: object, namespace: str) -> str | None:
    """The input name a `with` value refers to, or None when the value is a template or a literal."""
    if not isinstance(value, str):
        return None
    prefix, dot, rest = value.partition(".")
    if dot and rest and (prefix in GENERIC_PREFIXES or prefix == namespace):
        return rest
    return None


def path_variables(path: str) -> list[str]:
    """The `{x}` and `{{x}}` variables of a path template, in order."""
    return PATH_VARIABLE.findall(path)


def path_pieces(path: str) -> list[tuple[str, str | None]]:
    """`/runs/{id}/tags` -> [("/runs/", "id"), ("/tags", None)]: each literal and the variable after it."""
    pieces: list[tuple[str, str | None]] = []
    position = 0
    for match in PATH_VARIABLE.finditer(path):
        pieces.append((path[position : match.start()], match.group(1)))
        position = match.end()
    pieces.append((path[position:], None))
    return pieces


def braced_path(path: str) -> str:
    """`/runs/{{ id }}` -> `/runs/{id}`, the spelling of Starlette routes and OpenAPI paths."""
    return "".join(literal + ("{" + variable + "}" if variable else "") for literal, variable in path_pieces(path))
