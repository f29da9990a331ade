"""`{{ name }}` templates over binds and inputs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")


def placeholders(text: str) -> list[str]:
    """The names a template refers to, in order."""
    return _PLACEHOLDER.findall(text)


def render(text: str, lookup: Callable[[str], str | None]) -> str:
    """Replace each `{{name}}` with lookup(name); a name lookup does not know is left as written."""

    def substitute(match: re.Match[str]) -> str:
        value = lookup(match.group(1))
        return match.group(0) if value is None else value

    return _PLACEHOLDER.sub(substitute, text)


def template_names(value: Any) -> list[str]:
    """The names every `{{ }}` template in `value` (text, or lists and mappings of it, keys included) uses."""
    if isinstance(value, str):
        return placeholders(value)
    if isinstance(value, dict):
        return [name for key, item in value.items() for name in [*template_names(key), *template_names(item)]]
    if isinstance(value, list):
        return [name for item in value for name in template_names(item)]
    return []
