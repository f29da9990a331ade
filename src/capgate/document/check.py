"""Cross-field checks of a parsed document: what the models alone cannot see."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from capgate.core.errors import Problem
from capgate.core.http import CONNECTION_FIELDS, DECLARABLE_METHODS, FIELD_NAME
from capgate.document.member_paths import parse_member_path
from capgate.document.models import (
    ConsumedOperation,
    ConsumedResource,
    ConsumesHttp,
    Document,
    ExposesMcp,
    Pagination,
)
from capgate.document.output_checks import check_mcp_results
from capgate.document.references import input_key, input_reference, path_variables
from capgate.document.reserved import reserved_path_problems
from capgate.document.source import Path, SourceMap
from capgate.document.templates import placeholders
from capgate.document.wait_checks import check_waits

SUPPORTED_VERSIONS = ("0.5", "1.0.0-alpha1", "1.0.0-alpha2")
_BASE_URI = re.compile(r"^https?://[^/]+(/[^{]*)?$")
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
CLIENT_NAME_LIMIT = 64  # the longest tool name the Anthropic and OpenAI APIs accept (^[a-zA-Z0-9_-]{1,64}$)
CLIENT_TOOL_LIMIT = 40  # Cursor uses at most this many tools of all its servers together


def check(document: Document, source: SourceMap) -> list[Problem]:
    """Every problem found, errors and warnings, in document order."""
    problems = list(_check_version(document, source))
    problems += _check_binds(document, source)
    problems += _check_consumes(document, source)
    problems += _check_exposes(document, source)
    problems += reserved_path_problems(document, source)
    return problems


def bind_variables(document: Document) -> dict[str, str]:
    """Every name a `{{ }}` template may use for a secret -> the variable it reads."""
    names: dict[str, str] = {}
    for bind in [*document.binds, *document.capability.binds]:
        for variable in bind.keys:
            names[variable] = variable
            names[f"env.{variable}"] = variable
            names[f"{bind.namespace}.{variable}"] = variable
    return names


def operation_index(document: Document) -> dict[str, tuple[ConsumesHttp, ConsumedResource, ConsumedOperation]]:
    """`namespace.operation` -> where it is declared."""
    return {
        f"{consumes.namespace}.{operation.name}": (consumes, resource, operation)
        for consumes in document.capability.consumes
        for resource in consumes.resources
        for operation in resource.operations
    }


def _check_version(document: Document, source: SourceMap) -> Iterator[Problem]:
    if document.naftiko not in SUPPORTED_VERSIONS:
        supported = ", ".join(SUPPORTED_VERSIONS)
        yield source.problem(
            ("naftiko",), f"version {document.naftiko!r} is untested (capgate reads {supported})", "warning"
        )


def _check_binds(document: Document, source: SourceMap) -> Iterator[Problem]:
    known = bind_variables(document)
    for index, consumes in enumerate(document.capability.consumes):
        base: Path = ("capability", "consumes", index)
        templated: list[tuple[Path, str]] = []
        if consumes.authentication:
            auth = consumes.authentication
            for field in ("token", "key", "value", "username", "password"):
                text = getattr(auth, field)
                if isinstance(text, str):
                    templated.append(((*base, "authentication", field), text))
        for position, parameter in enumerate(consumes.input_parameters):
            if isinstance(parameter.value, str):
                templated.append(((*base, "inputParameters", position, "value"), parameter.value))
        for path, text in templated:
            for name in placeholders(text):
                if name not in known:
                    hint = ", ".join(sorted(v for v in known if "." not in v)) or "none declared"
                    yield source.problem(
                        path, f"{{{{{name}}}}} names no bind variable (declared: {hint}); add it under `binds[].keys`"
                    )


def _check_consumes(document: Document, source: SourceMap) -> Iterator[Problem]:
    namespaces = Counter(consumes.namespace for consumes in document.capability.consumes)
    for index, consumes in enumerate(document.capability.consumes):
        base: Path = ("capability", "consumes", index)
        if namespaces[consumes.namespace] > 1:
            yield source.problem((*base, "namespace"), f"namespace {consumes.namespace!r} is declared twice")
        if not _BASE_URI.match(consumes.base_uri):
            yield source.problem((*base, "baseUri"), "must be an absolute http(s) URI with no placeholders")
        elif consumes.base_uri.endswith("/"):
            yield source.problem((*base, "baseUri"), "ends with '/'; paths are appended to it as written", "warning")
        yield from _check_rate_limit(consumes, base, source)
        yield from _check_header_names(consumes, base, source)
        for r, resource in enumerate(consumes.resources):
            if not resource.path.startswith("/"):
                yield source.problem((*base, "resources", r, "path"), "must start with '/'")
            for o, operation in enumerate(resource.operations):
                where: Path = (*base, "resources", r, "operations", o)
                yield from _check_method(operation.method, where, source)
                if operation.pagination is not None:
                    yield from _check_pagination(
                        operation.pagination, consumes, resource, operation, (*where, "pagination"), source
                    )
                if operation.body is not None:
                    yield source.problem(
                        (*where, "body"),
                        "body templates are not supported by capgate yet; "
                        "declare an `in: body` input parameter instead",
                        "warning",
                    )


def _check_rate_limit(consumes: ConsumesHttp, base: Path, source: SourceMap) -> Iterator[Problem]:
    settings = consumes.rate_limit
    if settings is None:
        return
    where: Path = (*base, "rateLimit")
    budget = [settings.burst, settings.refill, settings.interval]
    if None in budget and any(value is not None for value in budget):
        yield source.problem(
            where,
            "burst, refill and interval go together: give all three for a request budget, or none of them "
            "(headers alone say how the upstream reports its budget)",
        )
    elif None in budget and settings.wait is not None:
        yield source.problem((*where, "wait"), "there is no budget (burst, refill, interval) to wait for", "warning")
    headers = settings.headers
    if headers is None:
        return
    if headers.limit is None and headers.remaining is None and headers.reset is None:
        yield source.problem((*where, "headers"), "names no header; give limit, remaining or reset")
    if headers.reset is None and "reset_format" in headers.model_fields_set:
        yield source.problem((*where, "headers", "resetFormat"), "there is no `reset` header for it to describe")


def _check_header_names(consumes: ConsumesHttp, base: Path, source: SourceMap) -> Iterator[Problem]:
    named: list[tuple[Path, str]] = []
    headers = consumes.rate_limit.headers if consumes.rate_limit else None
    if headers is not None:
        for field in ("limit", "remaining", "reset"):
            name = getattr(headers, field)
            if name is not None:
                named.append(((*base, "rateLimit", "headers", field), name))
    if consumes.retry_header is not None:
        named.append(((*base, "retryHeader"), consumes.retry_header))
    passed_back: list[tuple[Path, str]] = [
        ((*base, "passBackHeaders", index), name) for index, name in enumerate(consumes.pass_back_headers)
    ]
    for path, name in [*named, *passed_back]:
        if not FIELD_NAME.match(name):
            yield source.problem(path, f"{name!r} is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)")
    for path, name in passed_back:
        if name.lower() in CONNECTION_FIELDS:
            yield source.problem(
                path,
                f"{name} describes the connection to the upstream, not its answer, and cannot be passed back "
                "(the gateway writes its own towards the caller)",
            )


def _check_pagination(
    pagination: Pagination,
    consumes: ConsumesHttp,
    resource: ConsumedResource,
    operation: ConsumedOperation,
    where: Path,
    source: SourceMap,
) -> Iterator[Problem]:
    for field, text in (("next", pagination.next), ("previous", pagination.previous), ("items", pagination.items)):
        if text is None:
            continue
        try:
            path = parse_member_path(text)
        except ValueError as exc:
            yield source.problem((*where, field), str(exc))
            continue
        if field == "items" and not path.placeable:
            yield source.problem((*where, field), f"{text!r}: the items' place is named by member names only")
    if (pagination.previous is None) != (pagination.previous_input is None):
        yield source.problem(where, "previous and previousInput go together: give both or neither")
    inputs = _operation_inputs(consumes, resource, operation)
    constants = {
        input_key(p.name)
        for p in [*consumes.input_parameters, *resource.input_parameters, *operation.input_parameters]
        if p.value is not None
    }
    for field, name in (("nextInput", pagination.next_input), ("previousInput", pagination.previous_input)):
        if name is None:
            continue
        if input_key(name) not in inputs:
            known = ", ".join(sorted(inputs)) or "none"
            yield source.problem((*where, field), f"{name!r} is not an input of {operation.name} (inputs: {known})")
        elif input_key(name) in constants:
            yield source.problem((*where, field), f"{name!r} has a fixed `value`, so it cannot take a cursor")


def _operation_inputs(consumes: ConsumesHttp, resource: ConsumedResource, operation: ConsumedOperation) -> set[str]:
    """The input keys of an operation: its declared parameters at every level, and its path variables."""
    declared = [*consumes.input_parameters, *resource.input_parameters, *operation.input_parameters]
    return {input_key(p.name) for p in declared} | {input_key(v) for v in path_variables(resource.path)}


def _check_exposes(document: Document, source: SourceMap) -> Iterator[Problem]:
    operations = operation_index(document)
    ports = Counter(adapter.port for adapter in document.capability.exposes if adapter.port is not None)
    for index, adapter in enumerate(document.capability.exposes):
        base: Path = ("capability", "exposes", index)
        if adapter.port is not None and ports[adapter.port] > 1:
            yield source.problem((*base, "port"), f"port {adapter.port} is used by more than one adapter")
        if isinstance(adapter, ExposesMcp):
            yield from _check_mcp(adapter, base, operations, source)
            continue
        seen: set[tuple[str, str]] = set()
        for r, resource in enumerate(adapter.resources):
            if not resource.path.startswith("/"):
                yield source.problem((*base, "resources", r, "path"), "must start with '/'")
            for o, operation in enumerate(resource.operations):
                where: Path = (*base, "resources", r, "operations", o)
                route = (resource.path.lower(), operation.method.upper())
                if route in seen:
                    yield source.problem((*where, "method"), f"{operation.method} {resource.path} is declared twice")
                seen.add(route)
                yield from _check_method(operation.method, where, source)
                yield from _check_call(operation.call, operation.with_, adapter.namespace, where, operations, source)


def _check_method(method: str, where: Path, source: SourceMap) -> Iterator[Problem]:
    if method.upper() not in DECLARABLE_METHODS:
        yield source.problem((*where, "method"), f"{method!r} is not one of {', '.join(DECLARABLE_METHODS)}")


def _check_mcp(
    adapter: ExposesMcp,
    base: Path,
    operations: dict[str, tuple[ConsumesHttp, ConsumedResource, ConsumedOperation]],
    source: SourceMap,
) -> Iterator[Problem]:
    if adapter.transport == "http" and adapter.port is None:
        yield source.problem(base, "an MCP adapter with transport http needs a `port`")
    names = Counter(tool.name for tool in adapter.tools)
    if len(adapter.tools) > CLIENT_TOOL_LIMIT:
        yield source.problem(
            (*base, "tools"),
            f"{len(adapter.tools)} tools: Cursor uses at most {CLIENT_TOOL_LIMIT} (of all its servers together) and "
            "drops the rest; expose fewer, or split them between adapters a client can pick from",
            "warning",
        )
    for t, tool in enumerate(adapter.tools):
        where: Path = (*base, "tools", t)
        if names[tool.name] > 1:
            yield source.problem((*where, "name"), f"tool {tool.name!r} is declared twice")
        if not _TOOL_NAME.match(tool.name):
            yield source.problem((*where, "name"), "tool names are 1-128 characters of A-Z a-z 0-9 _ . -")
        yield from _check_tool_name(tool.name, where, source)
        if not tool.description:
            yield source.problem(
                (*where, "description"), "tools need a description: it is what the model reads", "warning"
            )
        yield from _check_call(tool.call, tool.with_, adapter.namespace, where, operations, source)
    for r, resource in enumerate(adapter.resources):
        if resource.location is None:
            where = (*base, "resources", r)
            yield from _check_call(resource.call, resource.with_, adapter.namespace, where, operations, source)
    yield from check_mcp_results(adapter, base, operations, source)
    yield from check_waits(adapter, base, operations, source)


def _check_tool_name(name: str, where: Path, source: SourceMap) -> Iterator[Problem]:
    """Names the format allows but clients refuse: they are served, and the warning says what breaks."""
    if len(name) > CLIENT_NAME_LIMIT:
        yield source.problem(
            (*where, "name"),
            f"the tool name is {len(name)} characters; clients that pass tools to the Anthropic or OpenAI APIs "
            f"refuse names over {CLIENT_NAME_LIMIT}: shorten it",
            "warning",
        )
    if "." in name:
        yield source.problem(
            (*where, "name"),
            "clients that pass tools to the Anthropic or OpenAI APIs refuse names with dots (both accept "
            "^[a-zA-Z0-9_-]{1,64}$): use - or _ instead",
            "warning",
        )


def _check_call(
    call: str | None,
    with_: dict[str, object] | None,
    namespace: str,
    where: Path,
    operations: dict[str, tuple[ConsumesHttp, ConsumedResource, ConsumedOperation]],
    source: SourceMap,
) -> Iterator[Problem]:
    if call is None:
        yield source.problem(
            where, "needs `call: namespace.operation` (steps, ref and mock modes are not supported by capgate)"
        )
        return
    if call not in operations:
        known = ", ".join(sorted(operations)) or "none"
        yield source.problem((*where, "call"), f"{call!r} names no consumed operation (known: {known})")
        return
    inputs = _operation_inputs(*operations[call])
    for target, value in (with_ or {}).items():
        if input_key(target) not in inputs:
            known = ", ".join(sorted(inputs)) or "none"
            yield source.problem((*where, "with", target), f"{target!r} is not an input of {call} (inputs: {known})")
        elif input_reference(value, namespace) is None and not isinstance(value, (str, int, float, bool)):
            yield source.problem(
                (*where, "with", target), "must be a reference (rest.x, tools.x), a template or a literal"
            )
