"""`ref: namespace.function`: adapters that reuse an aggregate function, settled once the document is read.

As the reference engine's AggregateRefResolver does: a tool or REST operation that names no `name` or
`description` takes the function's, and a tool's MCP hints are derived from the function's semantics (`safe`
gives readOnly and not destructive, `idempotent` is copied), each hint the tool states itself winning. How
the function runs stays with the function (`capgate.exposes`); an unknown ref is an error naming the known ones.
"""

from __future__ import annotations

from capgate.core.errors import Problem
from capgate.document.models import (
    AggregateFunction,
    Document,
    Executable,
    Exposes,
    ExposesMcp,
    ExposesRest,
    McpHints,
    McpTool,
    Semantics,
)
from capgate.document.source import SourceMap


def aggregate_functions(document: Document) -> dict[str, AggregateFunction]:
    """`namespace.function` -> the function, for every aggregate of the document."""
    return {
        f"{aggregate.namespace}.{function.name}": function
        for aggregate in document.capability.aggregates
        for function in aggregate.functions
    }


def resolve_refs(document: Document, source: SourceMap) -> tuple[Document, list[Problem]]:
    """The document with every `ref` adapter's metadata settled, and the refs that name no function."""
    functions = aggregate_functions(document)
    problems: list[Problem] = []
    seen: set[str] = set()
    for a, aggregate in enumerate(document.capability.aggregates):
        for f, function in enumerate(aggregate.functions):
            key = f"{aggregate.namespace}.{function.name}"
            if key in seen:
                path = ("capability", "aggregates", a, "functions", f, "name")
                problems.append(source.problem(path, f"duplicate aggregate function ref: {key!r}"))
            seen.add(key)
    exposes: list[Exposes] = []
    for index, adapter in enumerate(document.capability.exposes):
        if isinstance(adapter, ExposesMcp):
            tools = []
            for t, tool in enumerate(adapter.tools):
                used = _function(tool, functions, ("capability", "exposes", index, "tools", t), source, problems)
                tools.append(_inherit_tool(tool, used) if used else tool)
            exposes.append(adapter.model_copy(update={"tools": tools}))
        elif isinstance(adapter, ExposesRest):
            resources = []
            for r, resource in enumerate(adapter.resources):
                operations = []
                for o, operation in enumerate(resource.operations):
                    where = ("capability", "exposes", index, "resources", r, "operations", o)
                    used = _function(operation, functions, where, source, problems)
                    operations.append(operation.model_copy(update=_inherited(operation, used)))
                resources.append(resource.model_copy(update={"operations": operations}))
            exposes.append(adapter.model_copy(update={"resources": resources}))
        else:
            exposes.append(adapter)
    capability = document.capability.model_copy(update={"exposes": exposes})
    return document.model_copy(update={"capability": capability}), problems


def _function(
    node: Executable,
    functions: dict[str, AggregateFunction],
    where: tuple[str | int, ...],
    source: SourceMap,
    problems: list[Problem],
) -> AggregateFunction | None:
    if node.ref is None:
        return None
    function = functions.get(node.ref)
    if function is None:
        known = ", ".join(sorted(functions)) or "none"
        problems.append(
            source.problem((*where, "ref"), f"unknown aggregate function ref: {node.ref!r} (available refs: {known})")
        )
    return function


def _inherited(node: Executable, function: AggregateFunction | None) -> dict[str, object]:
    if function is None:
        return {}
    return {"name": node.name or function.name, "description": node.description or function.description}


def _inherit_tool(tool: McpTool, function: AggregateFunction) -> McpTool:
    update = _inherited(tool, function)
    if function.semantics is not None:
        update["hints"] = _merged(derived_hints(function.semantics), tool.hints)
    return tool.model_copy(update=update)


def derived_hints(semantics: Semantics) -> McpHints:
    """MCP hints from transport-neutral semantics: `safe` means read-only and not destructive."""
    if semantics.safe is True:
        return McpHints(read_only=True, destructive=False, idempotent=semantics.idempotent)
    return McpHints(read_only=False if semantics.safe is False else None, idempotent=semantics.idempotent)


def _merged(derived: McpHints, stated: McpHints | None) -> McpHints:
    if stated is None:
        return derived
    return derived.model_copy(update={key: value for key, value in stated.model_dump().items() if value is not None})
