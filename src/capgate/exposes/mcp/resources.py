"""MCP resources read through consumed operations, and the resource links tool results carry to them.

A document's `resources` name a URI (`trigger://runs/{runId}`: a `{variable}` makes it a template) and the
operation that reads it. `resources/read` matches the URI against each, fills the operation's inputs from the
variables, and answers its JSON. An object output that declares `link: {resource: …}` gets, in every tool
result, a `resource_link` content block to that resource, its variables filled from the object's fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from capgate.core.errors import ArgumentError, UpstreamError
from capgate.document.jsonpath import Getter
from capgate.document.models import McpResource, OutputParameter
from capgate.document.references import path_pieces
from capgate.exposes.mcp.compact import field_getter
from capgate.exposes.mcp.sdk import MCPError
from capgate.exposes.runnable import Runnable
from capgate.observe.records import CallRecord

INVALID_PARAMS = -32602  # also what SEP-2164 (2026-07-28) answers for a resource that does not exist
INTERNAL_ERROR = -32603
JSON_MIME_TYPE = "application/json"
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch  # what a URI segment holds without percent-encoding


class UriTemplate:
    """A resource URI with `{variable}`s (RFC 6570 level 1): matched against read URIs and filled for links."""

    def __init__(self, template: str) -> None:
        self.template = template
        pieces = path_pieces(template)
        self.variables = [variable for _, variable in pieces if variable is not None]
        self._pieces = pieces
        pattern = "".join(re.escape(literal) + ("([^/?#]+)" if variable else "") for literal, variable in pieces)
        self._pattern = re.compile(pattern + r"\Z")

    @property
    def is_template(self) -> bool:
        return bool(self.variables)

    def match(self, uri: str) -> dict[str, str] | None:
        """The variables' values in `uri` (percent-decoded), or None when it is not one of this template's."""
        found = self._pattern.match(uri)
        if found is None:
            return None
        return {variable: unquote(value) for variable, value in zip(self.variables, found.groups(), strict=True)}

    def fill(self, values: Sequence[str]) -> str:
        """The URI for `values` (in the order of `variables`), each percent-encoded so it stays one segment."""
        filled = iter(values)
        return "".join(literal + (_encoded(next(filled)) if var else "") for literal, var in self._pieces)


@dataclass(frozen=True)
class ResourceTarget:
    """A resource as served: its declaration, its URI template and the binding that reads it."""

    spec: McpResource
    uri: UriTemplate
    binding: Runnable

    @property
    def mime_type(self) -> str:
        return self.spec.mime_type or JSON_MIME_TYPE

    def listing(self) -> dict[str, Any]:
        """Its entry in `resources/list` (a fixed URI) or `resources/templates/list` (a template)."""
        entry: dict[str, Any] = {"name": self.spec.name, "mimeType": self.mime_type}
        entry["uriTemplate" if self.uri.is_template else "uri"] = self.spec.uri
        if self.spec.label:
            entry["title"] = self.spec.label
        if self.spec.description:
            entry["description"] = self.spec.description
        return entry

    async def read(self, uri: str, values: dict[str, str], record: CallRecord) -> dict[str, Any]:
        """The `resources/read` result for `uri`; an MCPError that says what failed otherwise."""
        try:
            result = await self.binding.invoke(values.get, record)
        except ArgumentError as exc:
            raise MCPError(INVALID_PARAMS, f"{uri} is not a resource this server can read: {exc}") from None
        except UpstreamError as exc:
            message = f"{exc.title}: reading {uri}, {exc.method} {exc.url} failed: {exc.reason}"
            raise MCPError(INTERNAL_ERROR, message) from None
        text = result.body.decode("utf-8", errors="replace")
        if result.status == 404:
            raise MCPError(INVALID_PARAMS, f"resource {uri} does not exist (the upstream answered 404): {text[:200]}")
        if result.status >= 400:
            code = INVALID_PARAMS if result.status < 500 else INTERNAL_ERROR
            raise MCPError(code, f"reading {uri}: the upstream answered HTTP {result.status}: {text[:200]}")
        return {"contents": [{"uri": uri, "mimeType": self.mime_type, "text": text}], "resultType": "complete"}


def resource_target(spec: McpResource, binding: Runnable) -> ResourceTarget:
    return ResourceTarget(spec, UriTemplate(spec.uri), binding)


def find_resource(targets: list[ResourceTarget], uri: str) -> tuple[ResourceTarget, dict[str, str]]:
    """The resource `uri` names and its variables; an MCPError listing what this server reads otherwise."""
    for target in targets:
        values = target.uri.match(uri)
        if values is not None:
            return target, values
    known = ", ".join(target.spec.uri for target in targets) or "none"
    raise MCPError(INVALID_PARAMS, f"no resource {uri!r} on this server; it reads: {known}")


@dataclass(frozen=True)
class _LinkSite:
    """Where in a mapped result the objects that link to a resource are, and how their fields fill its URI."""

    path: tuple[str | None, ...]  # property names, and None for every element of an array
    target: ResourceTarget
    fields: tuple[Getter, ...]  # for each URI variable, in order, the object's field that fills it


class Links:
    """The resource links of a tool's results, found where its output mapping declares `link`."""

    def __init__(self, output: OutputParameter, resources: Mapping[str, ResourceTarget]) -> None:
        self._sites = list(_sites(output, resources, ()))

    def __bool__(self) -> bool:
        return bool(self._sites)

    def of(self, mapped: Any) -> list[dict[str, Any]]:
        """A `resource_link` content block per linked object in `mapped`, in order, each URI once."""
        links: dict[str, dict[str, Any]] = {}
        for site in self._sites:
            for found in _objects(mapped, site.path):
                values = [_segment(get(found)) for get in site.fields]
                if "" not in values:
                    uri = site.target.uri.fill(values)
                    if uri not in links:
                        links[uri] = _link(uri, "/".join(values))
        return list(links.values())


def _sites(
    output: OutputParameter, resources: Mapping[str, ResourceTarget], path: tuple[str | None, ...]
) -> Iterator[_LinkSite]:
    if output.link is not None:
        target = resources[output.link.resource]  # checked at load time
        named = output.link.with_ or {}
        fields = tuple(field_getter(named.get(variable, variable)) for variable in target.uri.variables)
        yield _LinkSite(path, target, fields)
    for name, child in (output.properties or {}).items():
        yield from _sites(child, resources, (*path, name))
    if output.items is not None:
        yield from _sites(output.items, resources, (*path, None))


def _objects(value: Any, path: tuple[str | None, ...]) -> list[Any]:
    """The objects at `path` in `value`."""
    found = [value]
    for step in path:
        if step is None:
            found = [item for current in found if type(current) is list for item in current]
        else:
            found = [current[step] for current in found if type(current) is dict and step in current]
    return [current for current in found if type(current) is dict]


def _segment(value: Any) -> str:
    """A field's value as a URI variable's: text or a whole number; "" for anything else (no link)."""
    if type(value) is str:
        return value
    return str(value) if type(value) is int else ""


def _link(uri: str, name: str) -> dict[str, Any]:
    # No mimeType: the resource's listing says it once, and each field of each link costs the SDK's checks.
    return {"type": "resource_link", "uri": uri, "name": name}


def _encoded(value: str) -> str:
    return value if _UNRESERVED(value) else quote(value, safe="")
