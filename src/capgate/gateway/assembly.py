"""Assemble loaded documents into live parts: secrets, upstream clients, operations and adapter bindings.

Several documents are served as the one document they make together (`capgate.document.combined`). Everything
a user can get wrong (a document, two that collide, a missing secret, an unknown namespace) fails here, before
any socket is bound.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from capgate.consumes.binds import Secrets, resolve_binds
from capgate.consumes.caller_binds import CallerBinds, load_caller_binds
from capgate.consumes.client import DEFAULT_CLIENT_SETTINGS, ClientSettings
from capgate.consumes.forward import Forwarder
from capgate.consumes.limiter import Limiter, LocalLimiter
from capgate.consumes.operation import Operation
from capgate.consumes.resilience import (
    DEFAULT_RESILIENCE,
    ResilienceSettings,
    ResilientClient,
    resilient_client,
    resolve_timeouts,
    tool_hinted_idempotent,
)
from capgate.core.errors import ConfigurationError, DocumentError
from capgate.document.aggregates import aggregate_functions
from capgate.document.check import usable_base_uri
from capgate.document.combined import LoadedDocuments, load_documents
from capgate.document.cross_checks import budget_problems, origin_budgets, secret_origin_problems, with_origin_budget
from capgate.document.destinations import destination_problems
from capgate.document.models import (
    Document,
    Executable,
    ExposesMcp,
    ExposesRest,
    Forward,
    McpTool,
)
from capgate.exposes.binding import Binding
from capgate.exposes.mock import Mock
from capgate.exposes.referenced import Referenced
from capgate.exposes.rest.app import RestAdapter, RestForward, RestOperation
from capgate.exposes.runnable import Runnable, declared_inputs
from capgate.exposes.steps import Orchestration
from capgate.observe.records import Observers

if TYPE_CHECKING:
    from capgate.exposes.mcp.server import McpAdapter

_BASE_URI = re.compile(r"^https?://[^/?#]+(/[^?#]*)?$")
logger = logging.getLogger("capgate.gateway")


@dataclass
class Gateway:
    """Documents ready to serve. Open it before serving and close it after."""

    loaded: LoadedDocuments  # `loaded.document` is what they serve together
    secrets: Secrets
    clients: dict[str, ResilientClient]
    operations: dict[str, Operation]
    observers: Observers = field(default_factory=Observers)
    rest: list[RestAdapter] = field(default_factory=list)
    callers: CallerBinds = field(default_factory=CallerBinds)  # callers with upstream values of their own
    started: set[str] = field(default_factory=set)  # the namespaces of the adapters serving now

    @cached_property
    def mcp(self) -> list[McpAdapter]:
        """The MCP adapters, built on first use: that imports the MCP SDK (~0.5 s), which the REST facade and
        the CLI's other commands do without, so `capgate serve` answers REST calls while it loads."""
        from capgate.exposes.mcp.files import static_resource
        from capgate.exposes.mcp.server import McpAdapter, describe_resource, describe_tool

        adapters = []
        for adapter in self.loaded.document.capability.exposes:
            if isinstance(adapter, ExposesMcp):
                dynamic = [r for r in adapter.resources if r.location is None]
                resources = [describe_resource(r, self.binding(r, adapter.namespace)) for r in dynamic]
                files = [static_resource(r) for r in adapter.resources if r.location is not None]
                tools = [describe_tool(t, self.binding(t, adapter.namespace), resources) for t in adapter.tools]
                adapters.append(McpAdapter(adapter, tools, resources, files))
        return adapters

    def binding(self, node: Executable, namespace: str) -> Runnable:
        """What one exposed tool, resource or REST operation runs, and how its inputs and output are wired."""
        tool = isinstance(node, McpTool)
        declared = declared_inputs(node.input_parameters, required_by_default=tool)
        if node.ref is not None:
            function = aggregate_functions(self.loaded.document)[node.ref]
            with_function_outputs = function.model_copy(
                update={"output_parameters": function.output_parameters or node.output_parameters}
            )
            inner = self.binding(with_function_outputs, node.ref.partition(".")[0])
            return Referenced(inner, with_=node.with_, namespace=namespace, declared=declared)
        if node.steps:
            return Orchestration(
                node.steps,
                node.mappings,
                node.output_parameters,
                namespace=namespace,
                operations=self.operations,
                secrets=self.secrets,
                with_=node.with_,
                declared=declared,
                observers=self.observers,
                callers=self.callers,
            )
        if node.call is None:
            return Mock(
                node.output_parameters,
                namespace=namespace,
                secrets=self.secrets,
                with_=node.with_,
                declared=declared,
                observers=self.observers,
            )
        return Binding(
            self.operations[node.call],
            node.with_,
            namespace,
            node.output_parameters,
            self.secrets,
            self.observers,
            self.callers,
            declared if not tool else None,  # a tool's arguments are checked against its input schema
        )

    async def open(self) -> None:
        for client in self.clients.values():
            await client.open()

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()


def load_gateway(
    *documents: str,
    base_uris: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    client_settings: ClientSettings = DEFAULT_CLIENT_SETTINGS,
    resilience: ResilienceSettings = DEFAULT_RESILIENCE,
    limiter: Limiter | None = None,
    observers: Observers | None = None,
    caller_binds: str | None = None,
    caller_binds_required: bool = False,
    sends: bool = True,
) -> Gateway:
    """Load `documents` (paths, bundled names or folders) into one Gateway; raise a CapgateError on any user
    error.

    `limiter` and `observers` outlive a reload when the caller passes the same ones again. `caller_binds` is
    the `--caller-binds` file of each caller's own values for the binds (`capgate.consumes.caller_binds`). A
    gateway that `sends` requests with real secrets must send them only where the document may
    (capgate.document.destinations): an error there stops it, a warning is logged.
    """
    loaded = load_documents(documents)
    spec = loaded.document
    overrides = dict(base_uris or {})
    _check_base_uris(loaded, overrides)
    if sends:
        _check_destinations(loaded, overrides, client_settings.allowed_private)
    declared = resilience.rate_limit is None and resilience.rate_limiting  # else --rate-limit gives every one
    if declared and (disagreeing := budget_problems(loaded.documents, overrides)):
        raise DocumentError(disagreeing)
    secrets = resolve_binds(spec, environ)
    callers = load_caller_binds(caller_binds, spec, secrets, environ, required=caller_binds_required)
    limiter = limiter or LocalLimiter()
    budgets = origin_budgets(spec, overrides)
    base_uris_of = {c.namespace: overrides.get(c.namespace, c.base_uri).rstrip("/") for c in spec.capability.consumes}
    clients = {
        consumes.namespace: resilient_client(
            with_origin_budget(consumes, budgets, base_uris_of[consumes.namespace]),
            client_settings,
            resilience,
            limiter,
        )
        for consumes in spec.capability.consumes
    }
    hinted = tool_hinted_idempotent(spec)
    operations: dict[str, Operation] = {}
    for consumes in spec.capability.consumes:
        base_uri = base_uris_of[consumes.namespace]
        for resource in consumes.resources:
            for operation in resource.operations:
                compiled = Operation(
                    consumes,
                    resource,
                    operation,
                    base_uri=base_uri,
                    secrets=secrets,
                    client=clients[consumes.namespace],
                    timeouts=resolve_timeouts(consumes, operation, client_settings.timeouts, resilience.timeouts),
                    hinted_idempotent=f"{consumes.namespace}.{operation.name}" in hinted,
                )
                operations[compiled.name] = compiled
    observers = observers if observers is not None else Observers()  # an empty one is falsy: test for None
    gateway = Gateway(loaded, secrets, clients, operations, observers, callers=callers)
    for adapter in spec.capability.exposes:
        if isinstance(adapter, ExposesRest):
            rest_operations = [
                RestOperation(
                    resource.path, operation.method, gateway.binding(operation, adapter.namespace), resource, operation
                )
                for resource in adapter.resources
                for operation in resource.operations
            ]
            forwards = [
                RestForward(
                    resource.path, _forwarder(gateway, spec, resource.forward, overrides, client_settings), observers
                )
                for resource in adapter.resources
                if resource.forward is not None and not resource.operations
            ]
            gateway.rest.append(RestAdapter(adapter, rest_operations, forwards))
    return gateway


def _check_base_uris(loaded: LoadedDocuments, overrides: Mapping[str, str]) -> None:
    """Each `--base-uri` names a namespace of the documents, and an http(s) URL."""
    namespaces = [consumes.namespace for consumes in loaded.document.capability.consumes]
    for namespace, url in overrides.items():
        if namespace not in namespaces:
            consume, have = (
                ("the documents consume", "they have")
                if len(loaded.documents) > 1
                else ("the document consumes", "it has")
            )
            raise ConfigurationError(
                f"--base-uri {namespace}=…: {consume} no namespace {namespace!r} ({have}: {', '.join(namespaces)})"
            )
        if not _BASE_URI.match(url):
            raise ConfigurationError(f"--base-uri {namespace}={url}: not an http(s) URL such as http://127.0.0.1:3030")
    for consumes in loaded.document.capability.consumes:
        if not usable_base_uri(consumes.base_uri) and consumes.namespace not in overrides:
            raise ConfigurationError(
                f"namespace {consumes.namespace!r} has no usable baseUri ({consumes.base_uri!r}); pass "
                f"--base-uri {consumes.namespace}=URL"
            )


def _forwarder(
    gateway: Gateway, spec: Document, forward: Forward, overrides: Mapping[str, str], settings: ClientSettings
) -> Forwarder:
    consumes = next(c for c in spec.capability.consumes if c.namespace == forward.target_namespace)
    return Forwarder(
        consumes,
        forward.trusted_headers,
        base_uri=overrides.get(consumes.namespace, consumes.base_uri).rstrip("/"),
        secrets=gateway.secrets,
        client=gateway.clients[consumes.namespace],
        timeouts=settings.timeouts,
    )


def describing_gateway(*documents: str, base_uris: Mapping[str, str] | None = None) -> Gateway:
    """A gateway to describe, not to call: bound secrets are stand-ins, so no key is needed to list tools."""
    return load_gateway(*documents, base_uris=base_uris, environ=_StandIns(), sends=False)


def _check_destinations(loaded: LoadedDocuments, base_uris: Mapping[str, str], allowed: frozenset[str]) -> None:
    """Where each document sends its secrets (capgate.document.destinations), and each secret to one origin
    across the documents."""
    problems = [
        problem
        for document in loaded.documents
        for problem in destination_problems(
            document.document, document.source, base_uris=base_uris, allowed_private=allowed
        )
    ]
    problems += secret_origin_problems(loaded.documents, base_uris)
    errors = [problem for problem in problems if problem.severity == "error"]
    if errors:
        raise DocumentError(errors)
    for problem in problems:
        logger.warning("%s", problem)


class _StandIns(Mapping[str, str]):
    """An environment in which every variable is set, to a value that is never sent anywhere."""

    def __getitem__(self, key: str) -> str:
        return "stand-in"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0
