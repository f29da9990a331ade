"""`{{ name }}` templates over binds and inputs."""

from __future__ import annotations

import re
from collections.abc import Callable

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
