"""The MCP server: one tool per document tool, served over Streamable HTTP (both protocol eras) or stdio."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from opentelemetry import trace
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from capgate import __version__
from capgate.core.bounds import DEFAULT_MAX_BODY_BYTES
from capgate.core.errors import ArgumentError, AuditUnavailable, UpstreamError
from capgate.core.http import SAFE_METHODS
from capgate.core.secret_key import SecretKey
from capgate.core.types import UpstreamResult
from capgate.document.models import Document, ExposesMcp, McpPrompt, McpResource, McpTool
from capgate.document.references import input_key, property_name
from capgate.document.wait_checks import TIMEOUT
from capgate.exposes import catalog
from capgate.exposes.inbound.callers import CallerLimit
from capgate.exposes.inbound.origins import Origins
from capgate.exposes.mcp import MCP_PATH, TextMode
from capgate.exposes.mcp.compact import Layout
from capgate.exposes.mcp.consent import Consent, Question, StateSeal
from capgate.exposes.mcp.files import StaticResource
from capgate.exposes.mcp.paging import compile_paging
from capgate.exposes.mcp.prompts import Prompts
from capgate.exposes.mcp.resources import Links, ResourceTarget, find_resource, resource_target
from capgate.exposes.mcp.results import VERBOSE, VERBOSE_SCHEMA, ResultShape, error_result
from capgate.exposes.mcp.sdk import CacheHint, MCPError, Server, ServerRequestContext, TransportSecuritySettings, types
from capgate.exposes.mcp.transport import Routes
from capgate.exposes.mcp.waiting import WaitPlan, with_statement
from capgate.exposes.mcp.wire import encode_answers_with_orjson, results_as_built
from capgate.exposes.runnable import Runnable
from capgate.observe.exchange import exchange_of, start_call

INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
RATE_LIMITED = -32010  # implementation-defined (-32000..-32019): a resource read over the caller's budget


@dataclass(frozen=True)
class McpTarget:
    """A tool as served: its MCP description, the binding that runs it and how its results are built."""

    tool: types.Tool
    binding: Runnable
    properties: dict[str, str]  # advertised property name -> input key
    result: ResultShape
    wait: WaitPlan | None = None  # the tool's `wait`: it polls its operation until the answer says so
    input_keys: frozenset[str] = field(init=False)  # the values of `properties`, computed once
    advertised: dict[str, str] = field(init=False)  # input key -> advertised property name

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_keys", frozenset(self.properties.values()))
        object.__setattr__(self, "advertised", {key: name for name, key in self.properties.items()})


@dataclass(frozen=True)
class Serving:
    """How `capgate serve` was asked to answer: the text of mapped results, each caller's budget, consent before
    destructive calls, and the key that seals request state (None: one of this process's own)."""

    text: TextMode = "compact"
    callers: CallerLimit | None = None
    consent: Consent = field(default_factory=Consent)
    state_key: SecretKey | None = None


def describe_resource(spec: McpResource, binding: Runnable) -> ResourceTarget:
    """A resource as served, read through `binding`."""
    return resource_target(spec, binding)


def describe_tool(spec: McpTool, binding: Runnable, resources: list[ResourceTarget] | None = None) -> McpTarget:
    """The tool's MCP description: title from label, the four hints stated, an input schema from the document,
    an output schema from its output mapping; `resources` are the adapter's, which its results may link to."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    keys: dict[str, str] = {}
    if spec.input_parameters:
        declared = [(p.name, p.schema_keywords(), p.required is not False) for p in spec.input_parameters]
    else:  # derived from the `with` references, typed by the consumed operation's parameters
        declared = [(name, parameter.schema, parameter.required) for name, parameter in binding.inputs()]
    for name, schema, is_required in declared:
        advertised = property_name(name)
        properties[advertised] = {"type": "string", **schema}
        keys[advertised] = input_key(name)
        if is_required:
            required.append(advertised)
    shape = result_shape(spec, binding, resources or [])
    if shape.mapping is not None:
        properties[VERBOSE] = VERBOSE_SCHEMA
    wait = WaitPlan.compile(spec.name, spec.wait) if spec.wait is not None else None
    if wait is not None:
        properties[TIMEOUT] = wait.timeout_schema
    input_schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        input_schema["required"] = required
    hints = spec.stated_hints()
    annotations = types.ToolAnnotations(
        read_only_hint=hints.read_only,
        destructive_hint=hints.destructive,
        idempotent_hint=hints.idempotent,
        open_world_hint=hints.open_world,
    )
    tool = types.Tool(
        name=spec.name,
        title=spec.label,
        description=spec.description or spec.label or spec.name,
        input_schema=input_schema,
        output_schema=shape.output_schema,
        annotations=annotations,
    )
    return McpTarget(tool, binding, keys, shape, wait)


def result_shape(spec: McpTool, binding: Runnable, resources: list[ResourceTarget]) -> ResultShape:
    """How the tool's results are built, from its output mapping and its operation's pagination."""
    mapping = binding.output
    root = mapping.spec if mapping is not None else None
    links = Links(root, {resource.spec.name: resource for resource in resources}) if root is not None else None
    layout = Layout.compile(root.text) if root is not None and root.text is not None else None
    return ResultShape(mapping, layout, links, compile_paging(spec.name, binding))


def describe_tools(document: Document, adapters: list[McpAdapter]) -> list[catalog.Tool]:
    """Every tool of `adapters` (the document's MCP adapters, built), as plain data, in document order."""
    targets = [target for adapter in adapters for target in adapter.targets.values()]
    described = []
    for spec, target in zip(catalog.document_tools(document), targets, strict=True):  # both in document order
        tool = target.tool
        schema = tool.input_schema
        required = set(schema.get("required", []))
        inputs = [
            catalog.Input(
                name,
                "argument",
                name in required,
                catalog.without_description(property_schema),
                property_schema.get("description", ""),
            )
            for name, property_schema in schema.get("properties", {}).items()
            if name in target.properties  # the document's inputs; capgate's own `verbose` is documented once
        ]
        described.append(
            catalog.Tool(
                tool.name,
                tool.title or tool.name,
                tool.description or "",
                target.binding.operation_name,
                target.binding.upstream,
                inputs,
                catalog.tool_hints(spec),
            )
        )
    return described


class McpAdapter:
    """Serves the tools and resources of one `mcp` adapter (or of several, `joined`) through the official SDK's
    low-level Server, named after the adapter's namespace and instructed by its description unless told."""

    def __init__(
        self,
        spec: ExposesMcp,
        targets: list[McpTarget],
        resources: list[ResourceTarget] | None = None,
        files: list[StaticResource] | None = None,
        *,
        prompts: list[McpPrompt] | None = None,
        name: str | None = None,
    ) -> None:
        self.spec = spec
        self.targets = {target.tool.name: target for target in targets}
        self.resources = resources or []
        self._seal = StateSeal(spec.namespace)
        self.files = files or []  # static resources: the files of a directory
        self.prompts = Prompts(spec.prompts if prompts is None else prompts)
        self._serving = Serving()
        self._tools = types.ListToolsResult(tools=[target.tool for target in targets])
        # With `get_tool_input_schema`, a 2026-07-28 call carrying arguments is checked against its tool's schema
        # directly; without it, the SDK runs the whole `tools/list` handler and dumps its result on every such call.
        self.server: Server[Any] = Server(
            name or spec.namespace,
            version=__version__,
            instructions=spec.description,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            get_tool_input_schema=self._input_schema,
            # A run changes from one read to the next, and what a caller may read depends on its token.
            cache_hints={"resources/read": CacheHint(ttl_ms=0, scope="private")},
            **self._resource_handlers(),
            **self._prompt_handlers(),
        )
        if not _spans_recorded():  # the SDK's one default middleware opens a span per message (~2% of a call)
            self.server.middleware.clear()
        self.server.middleware.append(self._seal)  # seals and verifies the request state of consent questions
        self._as_built = results_as_built(self.server, self._call_tool)  # over HTTP (`asgi_app`) only
        encode_answers_with_orjson()

    @property
    def serving(self) -> Serving:
        """How to answer; `capgate serve` sets its own (capgate.gateway.apps)."""
        return self._serving

    @serving.setter
    def serving(self, serving: Serving) -> None:
        self._serving = serving
        if serving.state_key is not None:
            self._seal.use(serving.state_key)

    @property
    def write_tools(self) -> frozenset[str]:
        """Tools a read-scoped caller may neither see nor call."""
        return frozenset(name for name, target in self.targets.items() if not _read_only(target))

    def asgi_app(
        self,
        *,
        host: str,
        allowed_hosts: list[str] | None = None,
        allowed_origins: list[str] | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        sessions: bool = True,
    ) -> ASGIApp:
        """Streamable HTTP at /mcp, one endpoint for both protocol eras: stateless with JSON answers, streamed
        answers for calls that asked for progress, and 2025-11-25 sessions for clients that can be asked for
        consent when `sessions` (one process holds the port; capgate.exposes.mcp.transport)."""
        security = transport_security(host, allowed_hosts, allowed_origins)
        if self._as_built not in self.server.middleware:  # stateless: no handshake to wait for
            self.server.middleware.append(self._as_built)
        app = self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            transport_security=security,
            host=host,
            max_request_body_size=max_body_bytes,
        )
        routes = Routes(
            self.server,
            self.server.session_manager,
            security=security,
            max_body_bytes=max_body_bytes,
            sessions=sessions,
        )
        routes.around(app)
        return _Endpoint(app, routes)

    async def run_stdio(self) -> None:
        """Serve over stdin/stdout; the SDK routes stray output away from the protocol stream."""
        from mcp.server.stdio import stdio_server

        async with stdio_server() as (read, write):
            await self.server.run(read, write, self.server.create_initialization_options())

    def _input_schema(self, name: str) -> dict[str, Any] | None:
        target = self.targets.get(name)
        return target.tool.input_schema if target is not None else None

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        exchange = exchange_of(_scope(ctx))
        if exchange is not None and exchange.read_only:
            return types.ListToolsResult(tools=[t.tool for t in self.targets.values() if _read_only(t)])
        return self._tools

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> Any:  # a CallToolResult, or the same as a plain dict (the SDK accepts both)
        target = self.targets.get(params.name)
        scope = _scope(ctx)
        exchange = exchange_of(scope)
        if target is not None and exchange is not None and exchange.read_only and not _read_only(target):
            target = None  # the guard refuses this with 403 first; a tool a caller cannot see does not exist
        if target is None:
            read_only = exchange is not None and exchange.read_only
            known = ", ".join(name for name, t in self.targets.items() if not read_only or _read_only(t))
            raise MCPError(INVALID_PARAMS, f"unknown tool {params.name!r}; this server has: {known}")
        try:
            values, verbose, timeout = _arguments(params.arguments or {}, target)
        except ValueError as exc:
            return error_result(f"Invalid arguments: {exc}.")
        if self.serving.callers is not None and (refusal := await self.serving.callers.admit(scope)) is not None:
            return error_result(refusal.message)
        named = {target.advertised[key]: value for key, value in values.items()}
        if (asked := await self._consent(ctx, params, target, values, named)) is not None:
            return asked
        try:
            result, statement = await self._run(ctx, target, values, timeout)
        except ArgumentError as exc:
            return error_result(
                f"Invalid arguments, nothing was sent upstream: {exc}. Fix the argument(s) and call "
                f"{params.name} again."
            )
        except UpstreamError as exc:
            return error_result(f"{exc.title}: the upstream call {exc.method} {exc.url} failed: {exc.reason}.")
        except AuditUnavailable as exc:
            return error_result(f"{exc.title}: {exc}.")
        return self._answer(target, result, named, verbose, statement)

    def _answer(
        self, target: McpTarget, result: UpstreamResult, named: dict[str, Any], verbose: bool, statement: str | None
    ) -> dict[str, Any]:
        """The tool result of the upstream's answer; `statement` says what a wait came to."""
        if result.status >= 400:
            text = result.body.decode("utf-8", errors="replace")
            return error_result(f"Upstream answered HTTP {result.status}{_upstream_message(result.body)}.\n{text}")
        if verbose:
            named[VERBOSE] = True
        built = target.result.build(result.body, named, verbose=verbose, text=self.serving.text)
        if statement is None or built.get("isError"):
            return built
        return with_statement(built, statement, separate=verbose or self.serving.text == "json")

    async def _run(
        self, ctx: ServerRequestContext[Any], target: McpTarget, values: dict[str, Any], timeout: float | None
    ) -> tuple[UpstreamResult, str | None]:
        """The upstream's answer to one call or, for a tool that waits, the last of its polls and what the wait
        came to."""
        scope = _scope(ctx)

        async def call() -> UpstreamResult:
            record = start_call(scope, "mcp", target.tool.name)
            return await target.binding.invoke(values.get, record, display=property_name, mapped=False)

        if target.wait is None:
            return await call(), None
        waited = await target.wait.run(call, _reporter(ctx), timeout)
        return waited.result, target.wait.statement(waited)

    async def _consent(
        self,
        ctx: ServerRequestContext[Any],
        params: types.CallToolRequestParams,
        target: McpTarget,
        values: dict[str, Any],
        named: dict[str, Any],
    ) -> dict[str, Any] | None:
        """None when the call may go ahead (it is not destructive, or consent was given); else the question to
        ask, or why it does not."""
        if not _destructive(target):
            return None
        try:
            arguments = target.binding.check(values.get, property_name)
        except ArgumentError:
            return None  # the call refuses it, before anything is sent, and records that as it always does
        question = Question(target.tool.name, target.tool.title or target.tool.name, named)
        return await self.serving.consent.check(ctx, params, question, target.binding, arguments)

    def _resource_handlers(self) -> dict[str, Any]:
        """The SDK handlers for `resources/*`, when the adapter declares resources (so the capability shows)."""
        if not self.resources and not self.files:
            return {}
        fixed = [resource.listing() for resource in self.resources if not resource.uri.is_template]
        templates = [resource.listing() for resource in self.resources if resource.uri.is_template]
        templated = types.ListResourceTemplatesResult.model_validate({"resourceTemplates": templates})

        async def list_resources(ctx: ServerRequestContext[Any], params: Any) -> types.ListResourcesResult:
            files = [entry for static in self.files for entry in static.listing()]  # as the directory is now
            return types.ListResourcesResult.model_validate({"resources": [*fixed, *files]})

        async def list_templates(ctx: ServerRequestContext[Any], params: Any) -> types.ListResourceTemplatesResult:
            return templated

        return {
            "on_list_resources": list_resources,
            "on_list_resource_templates": list_templates,
            "on_read_resource": self._read_resource,
        }

    async def _read_resource(self, ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams) -> Any:
        scope = _scope(ctx)
        static = next((static for static in self.files if static.owns(params.uri)), None)
        if static is None:
            target, values = find_resource(self.resources, params.uri)
            exchange = exchange_of(scope)
            if exchange is not None and exchange.read_only and target.binding.method not in SAFE_METHODS:
                raise MCPError(
                    INVALID_PARAMS, f"reading {params.uri} calls {target.binding.upstream}: it needs a write token"
                )
        if self.serving.callers is not None and (refusal := await self.serving.callers.admit(scope)) is not None:
            raise MCPError(RATE_LIMITED, refusal.message)
        if static is not None:
            return await asyncio.to_thread(static.read, params.uri)  # a file read never stalls the other calls
        return await target.read(params.uri, values, start_call(scope, "mcp", f"resources/read {target.spec.name}"))

    def _prompt_handlers(self) -> dict[str, Any]:
        """The SDK handlers for `prompts/*`, when the adapter declares prompts (so the capability shows)."""
        if not self.prompts:
            return {}
        listed = types.ListPromptsResult.model_validate(self.prompts.listing())

        async def list_prompts(ctx: ServerRequestContext[Any], params: Any) -> types.ListPromptsResult:
            return listed

        async def get_prompt(ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams) -> Any:
            return types.GetPromptResult.model_validate(self.prompts.get(params.name, params.arguments))

        return {"on_list_prompts": list_prompts, "on_get_prompt": get_prompt}


def joined(adapters: list[McpAdapter], *, name: str | None = None) -> McpAdapter:
    """One server for the tools, resources and prompts of `adapters` (names unique across them, capgate.document.
    cross_checks), served as the first one is and instructed by its description; named `name`, else as it is."""
    if len(adapters) == 1 and name is None:
        return adapters[0]
    first = adapters[0]
    targets = [target for adapter in adapters for target in adapter.targets.values()]
    resources = [resource for adapter in adapters for resource in adapter.resources]
    files = [file for adapter in adapters for file in adapter.files]
    prompts = [prompt for adapter in adapters for prompt in adapter.spec.prompts]
    return McpAdapter(first.spec, targets, resources, files, prompts=prompts, name=name)


class _Endpoint:
    """The SDK's app, with requests to /mcp handed straight to its session manager: the Starlette router and
    error middleware the SDK puts in front of that one route cost ~1% of a call. The lifespan (which runs the
    session manager) and every other path still go through the SDK's app.

    The endpoint takes POST only, and the DELETE that ends a session (`Routes.takes`): a GET would open a
    stream that no message ever reaches (the SDK keeps it open for good, ~75 kB each); a session's questions
    travel on its calls' own streams. The spec lets a server answer 405.
    """

    def __init__(self, app: Starlette, routes: Routes) -> None:
        self._app = app
        self._routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == MCP_PATH:
            if self._routes.takes(scope):
                await self._routes(scope, receive, send)
            else:
                await _POST_ONLY(scope, receive, send)
        else:
            await self._app(scope, receive, send)


_POST_ONLY = Response(
    orjson.dumps(
        {
            "jsonrpc": "2.0",
            "id": None,
            "error": {
                "code": INVALID_REQUEST,
                "message": "Method Not Allowed: this stateless endpoint takes POST only; it has no stream to GET "
                "and no session to DELETE",
            },
        }
    ),
    status_code=405,
    headers={"Allow": "POST"},
    media_type="application/json",
)


def _spans_recorded() -> bool:
    """Whether an OpenTelemetry tracer provider is installed (by `capgate.observe.tracing` or the operator's own)."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider | trace.NoOpTracerProvider)


def _arguments(given: dict[str, Any], target: McpTarget) -> tuple[dict[str, Any], bool, float | None]:
    """The call's values by input key, whether it asked for `verbose`, and the `timeout` of a tool that waits
    (None: its default); ValueError says what is wrong."""
    verbose = False
    if target.result.mapping is not None and VERBOSE in given:  # an input of capgate's, not the document's
        flag = _verbose(given[VERBOSE])
        if flag is None:
            raise ValueError(f"verbose must be true or false, not {given[VERBOSE]!r}")
        verbose = flag
        given = {name: value for name, value in given.items() if name != VERBOSE}
    timeout = None
    if target.wait is not None and TIMEOUT in given:  # capgate's too
        timeout = target.wait.timeout_of(given[TIMEOUT])
        given = {name: value for name, value in given.items() if name != TIMEOUT}
    keyed = _keyed(given, target)
    unknown = [name for name, key in keyed.items() if key is None]
    if unknown:
        accepted = ", ".join(target.tool.input_schema["properties"]) or "no arguments"
        raise ValueError(f"unknown argument(s) {', '.join(unknown)}. {target.tool.name} accepts: {accepted}")
    return {key: given[name] for name, key in keyed.items() if key is not None}, verbose, timeout


def _verbose(value: Any) -> bool | None:
    """The `verbose` argument: a boolean, or its text as a query string would carry it; None if neither."""
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(value) if isinstance(value, str) else None


def _keyed(arguments: dict[str, Any], target: McpTarget) -> dict[str, str | None]:
    """Argument name as sent -> input key; the bracket spelling (`filter[status]`) is accepted too."""
    keyed: dict[str, str | None] = {}
    for name in arguments:
        key = target.properties.get(name) or input_key(name)
        keyed[name] = key if key in target.input_keys else None
    return keyed


def transport_security(
    host: str, allowed_hosts: list[str] | None = None, allowed_origins: list[str] | None = None
) -> TransportSecuritySettings:
    """The Host and Origin values accepted: the same lists the REST guard checks (`capgate.exposes.inbound.origins`)."""
    allowed = Origins.allowed(host, allowed_hosts, allowed_origins)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=list(allowed.hosts), allowed_origins=list(allowed.origins)
    )


def _read_only(target: McpTarget) -> bool:
    return bool(target.tool.annotations and target.tool.annotations.read_only_hint)


def _destructive(target: McpTarget) -> bool:
    """Hinted destructive (the hints are stated on every tool: an unstated one is destructive unless read-only)."""
    annotations = target.tool.annotations
    return bool(annotations and annotations.destructive_hint and not annotations.read_only_hint)


def _reporter(ctx: ServerRequestContext[Any]) -> Callable[[float, str], Awaitable[None]]:
    """Progress notifications for the call in `ctx`; the SDK sends nothing when the caller gave no token."""

    async def report(progress: float, message: str) -> None:
        await ctx.session.report_progress(progress, None, message)

    return report


def _scope(ctx: ServerRequestContext[Any]) -> dict[str, Any] | None:
    """The ASGI scope of the HTTP request behind a tool call (None over stdio)."""
    request = getattr(ctx, "request", None)
    return getattr(request, "scope", None)


def _upstream_message(body: bytes) -> str:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    parsed = parsed if isinstance(parsed, dict) else {}
    message = parsed.get("error") or parsed.get("message") or parsed.get("detail")
    return f": {message}" if isinstance(message, str) else ""
