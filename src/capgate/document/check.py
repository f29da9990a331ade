"""Cross-field checks of a parsed document: what the models alone cannot see."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from capgate.core.errors import Problem
from capgate.core.http import CONNECTION_FIELDS, DECLARABLE_METHODS, FIELD_NAME
from capgate.document.member_paths import parse_member_path
from capgate.document.models import (
    Bind,
    CallStep,
    ConsumedOperation,
    ConsumedResource,
    ConsumesHttp,
    Document,
    Executable,
    Exposes,
    ExposesMcp,
    ExposesRest,
    ExposesSkill,
    LookupStep,
    Pagination,
    ScriptStep,
)
from capgate.document.output_checks import check_mcp_results
from capgate.document.references import input_key, input_reference, path_variables
from capgate.document.reserved import reserved_path_problems
from capgate.document.source import Path, SourceMap
from capgate.document.templates import placeholders, template_names
from capgate.document.wait_checks import check_waits

_BASE_URI = re.compile(r"^https?://[^/]+(/[^{]*)?$")
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
CLIENT_NAME_LIMIT = 64  # the longest tool name the Anthropic and OpenAI APIs accept (^[a-zA-Z0-9_-]{1,64}$)
CLIENT_TOOL_LIMIT = 40  # Cursor uses at most this many tools of all its servers together
BODY_TYPES = ("json", "text", "xml", "sparql", "formUrlEncoded")
Operations = dict[str, tuple[ConsumesHttp, ConsumedResource, ConsumedOperation]]


def check(document: Document, source: SourceMap) -> list[Problem]:
    """Every problem found, errors and warnings, in document order."""
    problems = list(_check_binds(document, source))
    problems += _check_consumes(document, source)
    problems += _check_exposes(document, source)
    problems += reserved_path_problems(document, source)
    return problems


def bind_variables(document: Document) -> dict[str, str]:
    """Every name a `{{ }}` template may use for a secret -> the variable it reads."""
    names: dict[str, str] = {}
    for bind in [*document.binds, *document.capability.binds, *environment_binds(document)]:
        for variable in bind.keys:
            names[variable] = variable
            names[f"env.{variable}"] = variable
            names[f"{bind.namespace}.{variable}"] = variable
    return names


def environment_binds(document: Document) -> list[Bind]:
    """A consumed parameter `in: environment` is a variable read from the environment variable of its name, one
    bind per namespace (the reference engine renders `{{name}}` in the namespace's authentication with it)."""
    binds = []
    for consumes in document.capability.consumes:
        declared = [
            parameter
            for parameter in [
                *consumes.input_parameters,
                *(p for resource in consumes.resources for p in resource.input_parameters),
                *(p for r in consumes.resources for o in r.operations for p in o.input_parameters),
            ]
            if parameter.location == "environment"
        ]
        if declared:
            binds.append(Bind(namespace=consumes.namespace, keys={p.name: p.name for p in declared}))
    return binds


def operation_index(document: Document) -> dict[str, tuple[ConsumesHttp, ConsumedResource, ConsumedOperation]]:
    """`namespace.operation` -> where it is declared."""
    return {
        f"{consumes.namespace}.{operation.name}": (consumes, resource, operation)
        for consumes in document.capability.consumes
        for resource in consumes.resources
        for operation in resource.operations
    }


def usable_base_uri(base_uri: str) -> bool:
    """Whether `base_uri` can be called as written: an absolute http(s) URI with no placeholder."""
    return bool(_BASE_URI.match(base_uri))


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
        if not usable_base_uri(consumes.base_uri):
            yield source.problem(
                (*base, "baseUri"),
                f"{consumes.base_uri!r} is not an absolute http(s) URI with no placeholders; `capgate serve` "
                f"needs --base-uri {consumes.namespace}=URL to call this namespace",
                "warning",
            )
        elif consumes.base_uri.endswith("/"):
            yield source.problem(
                (*base, "baseUri"), "ends with '/'; capgate drops it before appending each path", "warning"
            )
        yield from _check_rate_limit(consumes, base, source)
        yield from _check_header_names(consumes, base, source)
        for r, resource in enumerate(consumes.resources):
            if not resource.path.startswith("/"):
                yield source.problem(
                    (*base, "resources", r, "path"),
                    "does not start with '/'; capgate joins it to the baseUri with one "
                    "(the reference engine appends it as written)",
                    "warning",
                )
            for o, operation in enumerate(resource.operations):
                where: Path = (*base, "resources", r, "operations", o)
                yield from _check_method(operation.method, where, source)
                if operation.pagination is not None:
                    yield from _check_pagination(
                        operation.pagination, consumes, resource, operation, (*where, "pagination"), source
                    )
                yield from _check_body(operation.body, (*where, "body"), source)


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


def _check_body(body: object, where: Path, source: SourceMap) -> Iterator[Problem]:
    if body is None or isinstance(body, str):
        return
    kind = body.get("type", "json") if isinstance(body, dict) else None
    if kind not in BODY_TYPES:
        shown = "multipartForm bodies are not sent by capgate" if kind == "multipartForm" else f"{kind!r} is unknown"
        yield source.problem(
            where, f"{shown}; a body is a template text or {{type: {'|'.join(BODY_TYPES)}, data: ...}}"
        )


def _operation_inputs(consumes: ConsumesHttp, resource: ConsumedResource, operation: ConsumedOperation) -> set[str]:
    """The input keys of an operation: its declared parameters at every level, and its path variables."""
    declared = [*consumes.input_parameters, *resource.input_parameters, *operation.input_parameters]
    return {input_key(p.name) for p in declared} | {input_key(v) for v in path_variables(resource.path)}


def template_inputs(
    consumes: ConsumesHttp, resource: ConsumedResource, operation: ConsumedOperation, binds: set[str]
) -> set[str]:
    """The names an operation's templates take from its caller: its body's and its parameter values' `{{ }}`s
    that name no bind variable."""
    declared = [*consumes.input_parameters, *resource.input_parameters, *operation.input_parameters]
    names = template_names(operation.body) + template_names([p.value for p in declared if isinstance(p.value, str)])
    return {input_key(name) for name in names if name not in binds}


def _check_exposes(document: Document, source: SourceMap) -> Iterator[Problem]:
    operations = operation_index(document)
    binds = set(bind_variables(document))
    ports = Counter(adapter.port for adapter in document.capability.exposes if adapter.port is not None)
    for index, adapter in enumerate(document.capability.exposes):
        base: Path = ("capability", "exposes", index)
        if adapter.port is not None and ports[adapter.port] > 1:
            yield source.problem((*base, "port"), f"port {adapter.port} is used by more than one adapter")
        yield from _unchecked_authentication(adapter, base, source)
        if isinstance(adapter, ExposesMcp):
            yield from _check_mcp(adapter, base, operations, binds, source)
        elif isinstance(adapter, ExposesRest):
            yield from _check_rest(document, adapter, base, operations, binds, source)
        elif isinstance(adapter, ExposesSkill):
            yield from _check_skill(document, adapter, base, source)
        elif adapter.port is None:
            yield source.problem(base, "a control adapter needs a `port`")
    for a, aggregate in enumerate(document.capability.aggregates):
        for f, function in enumerate(aggregate.functions):
            where: Path = ("capability", "aggregates", a, "functions", f)
            yield from _check_executable(function, aggregate.namespace, where, operations, binds, source)


def _unchecked_authentication(adapter: Exposes, base: Path, source: SourceMap) -> Iterator[Problem]:
    """A warning for an exposed `authentication` capgate cannot check itself (capgate.gateway.declared_auth)."""
    auth = adapter.authentication
    if auth is None or not (auth.type in ("digest", "oauth2") or auth.placement == "query"):
        return
    kinds = {"oauth2": "OAuth access tokens", "digest": "digest authentication"}
    kind = kinds.get(auth.type, f"{auth.type} in the query")
    yield source.problem(
        (*base, "authentication"),
        f"capgate does not check {kind} itself: `capgate serve` refuses to serve this adapter open, so protect "
        "it with --oauth-issuer or capgate's inbound tokens (CAPGATE_TOKENS, --tokens-file); see docs/hardening.md",
        "warning",
    )


def _check_rest(
    document: Document, adapter: ExposesRest, base: Path, operations: Operations, binds: set[str], source: SourceMap
) -> Iterator[Problem]:
    if adapter.port is None:
        yield source.problem(base, "a REST adapter needs a `port`", "warning")
    namespaces = {consumes.namespace for consumes in document.capability.consumes}
    seen: set[tuple[str, str]] = set()
    for r, resource in enumerate(adapter.resources):
        at: Path = (*base, "resources", r)
        if not resource.path.startswith("/"):
            yield source.problem((*at, "path"), "must start with '/'")
        if resource.forward is not None and resource.forward.target_namespace not in namespaces:
            known = ", ".join(sorted(namespaces)) or "none"
            yield source.problem(
                (*at, "forward", "targetNamespace"),
                f"{resource.forward.target_namespace!r} names no consumed namespace (known: {known})",
            )
        if not resource.operations and resource.forward is None:
            yield source.problem(at, "a resource needs `operations` or a `forward`")
        for o, operation in enumerate(resource.operations):
            where: Path = (*at, "operations", o)
            route = (resource.path.lower(), operation.method.upper())
            if route in seen:
                yield source.problem((*where, "method"), f"{operation.method} {resource.path} is declared twice")
            seen.add(route)
            yield from _check_method(operation.method, where, source)
            yield from _check_executable(operation, adapter.namespace, where, operations, binds, source)


def _check_skill(document: Document, adapter: ExposesSkill, base: Path, source: SourceMap) -> Iterator[Problem]:
    if adapter.port is None:
        yield source.problem(base, "a skill adapter needs a `port`")
    siblings = {other.namespace for other in document.capability.exposes if isinstance(other, ExposesRest | ExposesMcp)}
    for s, skill in enumerate(adapter.skills):
        for t, tool in enumerate(skill.tools):
            where: Path = (*base, "skills", s, "tools", t)
            if (tool.from_ is None) == (tool.instruction is None):
                yield source.problem(where, f"skill tool {tool.name!r} needs exactly one of `from` and `instruction`")
            elif tool.from_ is not None and tool.from_.source_namespace not in siblings:
                known = ", ".join(sorted(siblings)) or "none"
                yield source.problem(
                    (*where, "from", "sourceNamespace"),
                    f"{tool.from_.source_namespace!r} names no sibling rest or mcp adapter (expected one of: {known})",
                )
            elif tool.instruction is not None and skill.location is None:
                yield source.problem(
                    (*where, "instruction"), f"skill {skill.name!r} has no `location` to read {tool.instruction!r} from"
                )


def _check_method(method: str, where: Path, source: SourceMap) -> Iterator[Problem]:
    if method.upper() not in DECLARABLE_METHODS:
        yield source.problem((*where, "method"), f"{method!r} is not one of {', '.join(DECLARABLE_METHODS)}")


def _check_mcp(
    adapter: ExposesMcp, base: Path, operations: Operations, binds: set[str], source: SourceMap
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
        yield from _check_executable(tool, adapter.namespace, where, operations, binds, source)
    yield from _check_mcp_sources(adapter, base, operations, binds, source)
    yield from check_mcp_results(adapter, base, operations, source)
    yield from check_waits(adapter, base, operations, source)


def _check_mcp_sources(
    adapter: ExposesMcp, base: Path, operations: Operations, binds: set[str], source: SourceMap
) -> Iterator[Problem]:
    """An MCP adapter's resources (read through its operations, or the files of a directory) and prompts."""
    for r, resource in enumerate(adapter.resources):
        where: Path = (*base, "resources", r)
        if resource.location is None:
            yield from _check_executable(resource, adapter.namespace, where, operations, binds, source)
        elif not resource.location.startswith("file:"):
            yield source.problem((*where, "location"), "a static resource's location is a file:/// directory")
    for p, prompt in enumerate(adapter.prompts):
        if prompt.location is not None and not prompt.location.startswith("file:"):
            yield source.problem((*base, "prompts", p, "location"), "a prompt's location is a file:/// file")


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


def _check_executable(
    node: Executable, namespace: str, where: Path, operations: Operations, binds: set[str], source: SourceMap
) -> Iterator[Problem]:
    """Whichever way `node` runs (call, steps, ref, mock), what it names exists."""
    if node.mode == "call":
        yield from _check_call(node.call, node.with_, namespace, where, operations, binds, source)
    elif node.mode == "steps":
        yield from _check_steps(node, namespace, where, operations, binds, source)
    elif node.mode == "mock" and not any(_has_value(output) for output in node.output_parameters):
        yield source.problem(
            where, "has no `call`, `steps`, `ref`, nor output `value`s: it answers an empty object", "warning"
        )


def _has_value(output: object) -> bool:
    value = getattr(output, "value", None)
    children = [*(getattr(output, "properties", None) or {}).values(), getattr(output, "items", None)]
    return value is not None or any(_has_value(child) for child in children if child is not None)


def _check_steps(
    node: Executable, namespace: str, where: Path, operations: Operations, binds: set[str], source: SourceMap
) -> Iterator[Problem]:
    earlier: set[str] = set()
    for s, step in enumerate(node.steps):
        at: Path = (*where, "steps", s)
        if isinstance(step, CallStep):
            yield from _check_call(step.call, step.with_, namespace, at, operations, binds, source, feeds_all=True)
        elif isinstance(step, LookupStep) and step.index not in earlier:
            yield source.problem(
                (*at, "index"), f"{step.index!r} names no earlier step (before it: {_listed(earlier)})"
            )
        elif isinstance(step, ScriptStep):
            yield source.problem(
                (*at, "type"),
                f"script steps ({step.language or 'any language'}) are not run by capgate: it runs no code a document "
                "brings; do the transformation with a lookup step and `mappings`, or upstream",
            )
        earlier.add(step.name)
    for m, mapping in enumerate(node.mappings):
        step_name = mapping.value.removeprefix("$.").split(".", 1)[0]
        if not mapping.value.startswith("$.") or step_name not in earlier:
            yield source.problem(
                (*where, "mappings", m, "value"),
                f"{mapping.value!r} names no step; write $.<step name>.<field> (steps: {_listed(earlier)})",
                "warning",
            )


def _listed(names: set[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def _check_call(
    call: str | None,
    with_: dict[str, object] | None,
    namespace: str,
    where: Path,
    operations: Operations,
    binds: set[str],
    source: SourceMap,
    *,
    feeds_all: bool = False,
) -> Iterator[Problem]:
    if call is None or call not in operations:
        known = ", ".join(sorted(operations)) or "none"
        yield source.problem((*where, "call"), f"{call!r} names no consumed operation (known: {known})")
        return
    inputs = _operation_inputs(*operations[call]) | template_inputs(*operations[call], binds)
    for target, value in (with_ or {}).items():
        if input_reference(value, namespace) is None and not isinstance(value, (str, int, float, bool)):
            yield source.problem(
                (*where, "with", target), "must be a reference (rest.x, tools.x), a template or a literal"
            )
        elif input_key(target) not in inputs and not feeds_all:
            known = ", ".join(sorted(inputs)) or "none"
            message = f"{target!r} is not an input of {call} (inputs: {known})"
            if input_reference(value, namespace) is not None:  # a caller's input wired to nothing: a typo
                yield source.problem((*where, "with", target), message)
            else:
                yield source.problem((*where, "with", target), f"{message}; it is ignored", "warning")
