"""MCP prompts declared by a document: `prompts/list` and `prompts/get`, as the format's engine renders them.

A prompt is inline `template` messages (`role`, `content`) or the text of a `location` file, which is one
user message. `{{argument}}` placeholders are replaced by the caller's arguments, once: an argument's own
`{{…}}` is not read again, so an argument cannot pull another in. A required argument that is missing is an
invalid-params error naming it (the engine would leave its placeholder in the text).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from capgate.core.datafile import read_text_within
from capgate.core.locations import LocationError, file_location
from capgate.document.models import McpPrompt
from capgate.exposes.mcp.sdk import MCPError

INVALID_PARAMS = -32602
_PLACEHOLDER = re.compile(r"\{\{([a-zA-Z0-9_]+)\}\}")


class Prompts:
    """The prompts of one MCP adapter."""

    def __init__(self, prompts: list[McpPrompt]) -> None:
        self._prompts = {prompt.name: prompt for prompt in prompts}

    def __bool__(self) -> bool:
        return bool(self._prompts)

    def listing(self) -> dict[str, Any]:
        return {"prompts": [_listed(prompt) for prompt in self._prompts.values()]}

    def get(self, name: str, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        prompt = self._prompts.get(name)
        if prompt is None:
            known = ", ".join(self._prompts) or "none"
            raise MCPError(INVALID_PARAMS, f"unknown prompt {name!r}; this server has: {known}")
        given = {key: str(value) for key, value in (arguments or {}).items() if value is not None}
        missing = [argument.name for argument in prompt.arguments if argument.required and argument.name not in given]
        if missing:
            raise MCPError(INVALID_PARAMS, f"prompt {name} needs the argument(s) {', '.join(missing)}")
        if prompt.location is not None:
            messages = [("user", _file_text(prompt))]
        else:
            messages = [(message.role, message.content) for message in prompt.template]
        rendered = [
            {"role": role, "content": {"type": "text", "text": _filled(text, given)}} for role, text in messages
        ]
        result: dict[str, Any] = {"messages": rendered}
        if prompt.description:
            result["description"] = prompt.description
        return result


def _listed(prompt: McpPrompt) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": prompt.name}
    if prompt.label:
        entry["title"] = prompt.label
    if prompt.description:
        entry["description"] = prompt.description
    if prompt.arguments:
        entry["arguments"] = [
            {
                key: value
                for key, value in {
                    "name": a.name,
                    "title": a.label,
                    "description": a.description,
                    "required": a.required,
                }.items()
                if value is not None
            }
            for a in prompt.arguments
        ]
    return entry


def _filled(template: str, arguments: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda match: arguments.get(match.group(1), match.group(0)), template)


def _file_text(prompt: McpPrompt) -> str:
    assert prompt.location is not None
    try:
        return read_text_within(file_location(prompt.location), errors="replace")
    except (LocationError, OSError) as exc:
        raise MCPError(INVALID_PARAMS, f"prompt {prompt.name}: cannot read {prompt.location}: {exc}") from None
