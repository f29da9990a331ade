"""A tool's result, built from the upstream's answer as the document's output mapping says.

With a mapping: `structuredContent` is the mapped result (the tool declares its schema as `outputSchema`),
the text is its compact rendering (`text` layout) or else its JSON, each linked object adds a
`resource_link`, and a paged list adds the paging hint. `verbose: true` puts the upstream's whole answer in
`structuredContent` and in the text instead. Without a mapping, both carry the upstream JSON as it came.

Everything that can be worked out from the document is, at load time; per call there is one JSON parse,
the projection, and the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from capgate.consumes.formats import FormatError
from capgate.core.redaction import redact
from capgate.exposes.mcp import TextMode
from capgate.exposes.mcp.compact import Layout
from capgate.exposes.mcp.paging import Paging
from capgate.exposes.mcp.resources import Links
from capgate.exposes.output import OutputMapping

VERBOSE = "verbose"  # the input of every mapped tool that asks for the upstream's whole answer
VERBOSE_SCHEMA = {
    "type": "boolean",
    "description": "true: the upstream's whole answer, as structuredContent and as JSON text, instead of the "
    "mapped result",
}
_WHOLE_ANSWER_SCHEMA = {"type": "object", "description": "verbose: true: the upstream's whole answer, as it came"}


@dataclass(frozen=True)
class ResultShape:
    """How one tool's results are built."""

    mapping: OutputMapping | None
    layout: Layout | None
    links: Links | None
    paging: Paging | None

    @property
    def output_schema(self) -> dict[str, Any] | None:
        """The `outputSchema`: the mapped result's schema or, with `verbose`, any object (the upstream's)."""
        if self.mapping is None or self.mapping.schema.get("type") != "object":
            return None
        return {"type": "object", "anyOf": [self.mapping.schema, _WHOLE_ANSWER_SCHEMA]}

    def build(self, body: bytes, arguments: Mapping[str, Any], *, verbose: bool, text: TextMode) -> dict[str, Any]:
        """The result of a 2xx answer `body`; `arguments` are the caller's, by advertised name (for paging)."""
        if self.mapping is None:
            return self._unmapped(body, _parsed(body), arguments)
        parsed = _read(self.mapping, body)
        if parsed is _NOT_JSON:
            return error_result(
                "The upstream answered 2xx with a body that is not JSON, so the document's output mapping cannot "
                f"read it: {body[:200].decode('utf-8', errors='replace')}"
            )
        mapped = self.mapping.project(parsed)
        structured = parsed if verbose and isinstance(parsed, dict) else mapped
        paging = self.paging.lines(parsed, arguments) if self.paging is not None else []
        if verbose:
            blocks = [body.decode("utf-8", errors="replace"), *_joined(paging)]
        elif text == "json" or self.layout is None:
            blocks = [orjson.dumps(structured).decode(), *_joined(paging)]
        else:
            blocks = ["\n".join([*self.layout.render(mapped), *paging])]
        content: list[dict[str, Any]] = [{"type": "text", "text": block} for block in blocks]
        if self.links:
            content += self.links.of(mapped)
        return _answer(content, structured if isinstance(structured, dict) else None)

    def _unmapped(self, body: bytes, parsed: Any, arguments: Mapping[str, Any]) -> dict[str, Any]:
        content = [{"type": "text", "text": body.decode("utf-8", errors="replace")}]
        if self.paging is not None and parsed is not _NOT_JSON:
            content += [{"type": "text", "text": block} for block in _joined(self.paging.lines(parsed, arguments))]
        return _answer(content, parsed if isinstance(parsed, dict) else None)


def error_result(text: str) -> dict[str, Any]:
    """A tool error a model reads and acts on; any secret in `text` is redacted."""
    return {"content": [{"type": "text", "text": redact(text)}], "isError": True, "resultType": "complete"}


_NOT_JSON = object()


def _read(mapping: OutputMapping, body: bytes) -> Any:
    """The answer as JSON data in its declared format (`outputRawFormat`), or _NOT_JSON."""
    try:
        return mapping.read(body)
    except FormatError:
        return _NOT_JSON


def _parsed(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return _NOT_JSON


def _joined(lines: list[str]) -> list[str]:
    return ["\n".join(lines)] if lines else []


def _answer(content: list[dict[str, Any]], structured: dict[str, Any] | None) -> dict[str, Any]:
    # A plain dict: the SDK still checks it against the protocol, but skips dumping a pydantic model, which
    # measured ~30% of the MCP path's CPU (bench/PROFILE.md).
    answer: dict[str, Any] = {"content": content, "isError": False, "resultType": "complete"}
    if structured is not None:
        answer["structuredContent"] = structured
    return answer
