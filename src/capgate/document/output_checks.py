"""Checks of what shapes an MCP result: output mappings, their `text` layouts and `link`s, and MCP resources.
Each problem names the field and what to write instead."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping

from capgate.core.errors import Problem
from capgate.core.http import SAFE_METHODS
from capgate.document.jsonpath import is_valid
from capgate.document.models import (
    ConsumedOperation,
    ConsumedResource,
    ConsumesHttp,
    ExposesMcp,
    McpResource,
    OutputParameter,
)
from capgate.document.references import input_key, input_reference, path_variables
from capgate.document.source import Path, SourceMap
from capgate.document.templates import placeholders

Operations = Mapping[str, tuple[ConsumesHttp, ConsumedResource, ConsumedOperation]]
VERBOSE = "verbose"  # the input capgate adds to every MCP tool that maps its output
_WHOLE = ("$", "$.")


def check_mcp_results(adapter: ExposesMcp, base: Path, operations: Operations, source: SourceMap) -> Iterator[Problem]:
    """The adapter's resources, and each tool's output mapping, text layout and links."""
    resources = {resource.name: resource for resource in adapter.resources}
    yield from _check_resources(adapter, base, operations, source)
    for t, tool in enumerate(adapter.tools):
        where: Path = (*base, "tools", t)
        for o, output in enumerate(tool.output_parameters):
            yield from _check_output(output, (*where, "outputParameters", o), resources, source, root=o == 0)
        exposed = {input_key(parameter.name) for parameter in tool.input_parameters} | {
            input_key(reference)
            for value in (tool.with_ or {}).values()
            if (reference := input_reference(value, adapter.namespace)) is not None
        }
        if tool.output_parameters and _maps(tool.output_parameters[0]) and VERBOSE in exposed:
            yield source.problem(
                (*where, "with"),
                f"capgate adds a `{VERBOSE}` input to tools that map their output; rename the tool's own {VERBOSE}",
            )


def _maps(output: OutputParameter) -> bool:
    return output.value is not None or bool(output.properties) or output.items is not None or not _whole(output)


def _whole(output: OutputParameter) -> bool:
    return output.mapping is None or output.mapping in _WHOLE


def _check_output(
    output: OutputParameter, where: Path, resources: Mapping[str, McpResource], source: SourceMap, *, root: bool
) -> Iterator[Problem]:
    if output.mapping is not None and output.mapping not in _WHOLE and not is_valid(output.mapping):
        yield source.problem((*where, "mapping"), f"{output.mapping!r} is not a JSONPath such as $.data or $.id")
    if output.link is not None:
        yield from _check_link(output, where, resources, source)
    if output.text is not None:
        yield from _check_text(output, where, source, root=root)
    for name, child in (output.properties or {}).items():
        yield from _check_output(child, (*where, "properties", name), resources, source, root=False)
    if output.items is not None:
        yield from _check_output(output.items, (*where, "items"), resources, source, root=False)


def _check_link(
    output: OutputParameter, where: Path, resources: Mapping[str, McpResource], source: SourceMap
) -> Iterator[Problem]:
    link = output.link
    assert link is not None
    if output.type != "object" or not output.properties:
        yield source.problem((*where, "link"), "only an object output with `properties` can link to a resource")
        return
    resource = resources.get(link.resource)
    if resource is None:
        known = ", ".join(resources) or "none declared; add one under the adapter's `resources`"
        yield source.problem((*where, "link", "resource"), f"{link.resource!r} names no resource (known: {known})")
        return
    variables = path_variables(resource.uri)
    for variable in variables:
        field = (link.with_ or {}).get(variable, variable)
        if _field(output, field) is None:
            yield source.problem(
                (*where, "link"),
                f"the URI {resource.uri} needs {{{variable}}}, and the object has no field {field!r}; map it in "
                f"`link.with` ({variable}: <field>)",
            )
    for variable in link.with_ or {}:
        if variable not in variables:
            yield source.problem(
                (*where, "link", "with", variable), f"{resource.uri} has no variable {{{variable}}} to fill"
            )


def _check_text(output: OutputParameter, where: Path, source: SourceMap, *, root: bool) -> Iterator[Problem]:
    text = output.text
    assert text is not None
    if not root or output.type != "object" or not output.properties:
        yield source.problem(
            (*where, "text"), "`text` lays out a tool's result: put it on the tool's first output, an object"
        )
        return
    described = output
    if text.items is not None:
        items = (output.properties or {}).get(text.items)
        if items is None or items.type != "array" or items.items is None or not items.items.properties:
            yield source.problem(
                (*where, "text", "items"), f"{text.items!r} is not an array of objects in this output's properties"
            )
            return
        described = items.items
    for position, name in enumerate(text.fields):
        if _field(described, name, through_arrays=True) is None:
            known = ", ".join(described.properties or {})
            yield source.problem(
                (*where, "text", "fields", position), f"{name!r} is not a field here (fields: {known})"
            )


def _field(output: OutputParameter, dotted: str, *, through_arrays: bool = False) -> OutputParameter | None:
    """The output parameter at `dotted` (`error.message`) inside an object output, or None. A text field may step
    through an array into its elements (`exceptions.message`); a link's field names one value, so it may not."""
    current: OutputParameter | None = output
    for part in dotted.split("."):
        if through_arrays and current is not None and current.type == "array" and current.items is not None:
            current = current.items
        current = (current.properties or {}).get(part) if current is not None else None
    return current


def _check_resources(adapter: ExposesMcp, base: Path, operations: Operations, source: SourceMap) -> Iterator[Problem]:
    names = Counter(resource.name for resource in adapter.resources)
    uris = Counter(resource.uri for resource in adapter.resources)
    for r, resource in enumerate(adapter.resources):
        where: Path = (*base, "resources", r)
        if names[resource.name] > 1:
            yield source.problem((*where, "name"), f"resource {resource.name!r} is declared twice")
        if uris[resource.uri] > 1:
            yield source.problem((*where, "uri"), f"two resources have the URI {resource.uri}")
        if resource.location is not None:
            continue  # static: the files of a directory (capgate.exposes.mcp.files)
        if resource.call is None or resource.call not in operations:
            continue  # capgate.document.check reports a missing or unknown `call`
        consumes, consumed_resource, operation = operations[resource.call]
        if operation.method.upper() not in SAFE_METHODS:
            yield source.problem(
                (*where, "call"),
                f"{resource.call} is {operation.method.upper()}: only a caller who may write can read this resource "
                "(a read-scoped one is refused); point it at an operation that changes nothing (GET) to open it up",
                "warning",
            )
        declared = (consumes, consumed_resource, operation)
        yield from _check_variables(resource, adapter.namespace, declared, where, source)


def _check_variables(
    resource: McpResource,
    namespace: str,
    declared: tuple[ConsumesHttp, ConsumedResource, ConsumedOperation],
    where: Path,
    source: SourceMap,
) -> Iterator[Problem]:
    """Each URI variable feeds the operation: through `with` (a template or a reference), or the parameter of
    its name."""
    variables = {input_key(variable) for variable in path_variables(resource.uri)}
    if resource.with_ is not None:
        used = set()
        for value in resource.with_.values():
            reference = input_reference(value, namespace)
            names = [reference] if reference is not None else placeholders(value) if isinstance(value, str) else []
            used |= {input_key(name) for name in names}
        for variable in sorted(variables - used):
            yield source.problem(
                (*where, "uri"), f"{{{variable}}} feeds nothing: use it in `with`, as '{{{{{variable}}}}}'"
            )
        return
    consumes, consumed_resource, operation = declared
    parameters = [*consumes.input_parameters, *consumed_resource.input_parameters, *operation.input_parameters]
    inputs = {input_key(p.name) for p in parameters} | {input_key(v) for v in path_variables(consumed_resource.path)}
    for variable in sorted(variables - inputs):
        yield source.problem((*where, "uri"), f"{{{variable}}} is not an input of {resource.call}; map it in `with`")
