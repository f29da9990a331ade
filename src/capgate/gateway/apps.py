"""The ASGI app each listener serves: its adapters' app, behind capgate's routes and the guard.

A listener serves one adapter, or with several documents the adapters of every later document beside the first
document's (`capgate.document.combined.served_together`): one REST port, one MCP endpoint. Built here, from the
loaded gateway and the process-wide safeguards, so that the server only binds sockets and runs servers; a
reload builds the same apps from the new gateway and swaps them in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.types import ASGIApp

from capgate.document.models import ExposesControl, ExposesMcp, ExposesSkill
from capgate.exposes.control.app import build_control_app
from capgate.exposes.mcp import MCP_PATH, TextMode
from capgate.exposes.rest.app import RestAdapter, build_rest_app
from capgate.exposes.rest.facade import instrument, rest_facade
from capgate.exposes.rest.openapi import build_openapi
from capgate.exposes.rest.probes import Readiness
from capgate.exposes.skill.app import build_skill_app
from capgate.gateway.assembly import Gateway
from capgate.gateway.safeguards import Safeguards

if TYPE_CHECKING:  # the MCP SDK is imported when the MCP adapters are built, after the REST facade answers
    from capgate.exposes.mcp.server import McpAdapter

# The OpenAPI document names the server each request came to (`/openapi.json` rewrites it); this is the
# stand-in it is built with.
_SERVER_URL = "http://127.0.0.1"


@dataclass(frozen=True)
class ServedApp:
    """One HTTP adapter as a listener serves it, and what its ready line says."""

    label: str  # "REST facade", "MCP server", "skill catalogue" or "control port"
    app: ASGIApp
    path: str  # after host:port in the ready line: "" or "/mcp"
    detail: str  # "management-runs-rest, 13 routes"
    namespaces: tuple[str, ...] = ()  # its adapters', which the control port reports started once they serve


def rest_apps(gateway: Gateway, safeguards: Safeguards) -> list[ServedApp]:
    """Each REST listener: its adapters' routes, capgate's own beside them, the guard in front."""
    document = gateway.loaded.document
    readiness = Readiness(gateway.operations, [consumes.namespace for consumes in document.capability.consumes])
    served = []
    for adapters in gateway.loaded.served_together(gateway.rest, _spec_of):
        operations = [operation for adapter in adapters for operation in adapter.operations]
        routes = len({(operation.path, operation.method) for operation in operations})
        forwards = [forward for adapter in adapters for forward in adapter.forwards or []]
        routed = build_rest_app(operations, forwards=forwards, body_limits=safeguards.body_limits)
        app = rest_facade(
            routed, description=build_openapi(document, *adapters, server_url=_SERVER_URL), readiness=readiness
        )
        namespaces = [adapter.spec.namespace for adapter in adapters]
        served.append(
            ServedApp(
                "REST facade",
                safeguards.guard_rest(app, namespaces),
                "",
                f"{_listed(namespaces)}, {routes} routes",
                tuple(namespaces),
            )
        )
    return served


def catalogue_apps(gateway: Gateway, safeguards: Safeguards) -> list[ServedApp]:
    """Each skill adapter's catalogue and each control adapter's management routes, guarded as REST is."""
    document = gateway.loaded.document
    served = []
    for adapter in document.capability.exposes:
        if isinstance(adapter, ExposesSkill):
            app = instrument(build_skill_app(document, adapter), "skill")
            detail = f"{adapter.namespace}, {len(adapter.skills)} skills"
            guarded = safeguards.guard_rest(app, [adapter.namespace])
            served.append(ServedApp("skill catalogue", guarded, "", detail, (adapter.namespace,)))
        elif isinstance(adapter, ExposesControl):
            app = instrument(build_control_app(document, adapter, lambda: gateway.started), "control")
            served.append(
                ServedApp(
                    "control port",
                    safeguards.guard_rest(app, [adapter.namespace]),
                    "",
                    "control, management routes",
                    ("control",),
                )
            )
    return served


def mcp_apps(
    gateway: Gateway,
    safeguards: Safeguards,
    *,
    transport: str | None = None,
    text: TextMode = "compact",
    name: str | None = None,
) -> tuple[list[ServedApp], list[McpAdapter]]:
    """The MCP servers served over HTTP, guarded, and those served over stdio (`transport` overrides each
    adapter's own); `text` is how mapped results are written for a model (`--mcp-text`); `name` is the first
    server's (`--name`; else its first adapter's namespace, whose description is its instructions)."""
    # The SDK is imported by now: gateway.mcp built the adapters.
    from capgate.exposes.mcp.consent import Consent
    from capgate.exposes.mcp.server import Serving, joined

    hardening = safeguards.hardening
    consent = Consent(hardening.confirm_destructive, safeguards.record_consent)
    served, stdio = [], []
    for index, adapters in enumerate(gateway.loaded.served_together(gateway.mcp, _spec_of)):
        adapter = joined(adapters, name=name if index == 0 else None)
        adapter.serving = Serving(text, safeguards.callers, consent, safeguards.state_key)
        if over_stdio(adapter.spec, transport):
            stdio.append(adapter)
            continue
        app = instrument(
            adapter.asgi_app(
                host=safeguards.host,
                allowed_hosts=safeguards.allowed_hosts,
                allowed_origins=safeguards.allowed_origins,
                max_body_bytes=hardening.max_body_bytes,
                sessions=hardening.mcp_sessions,
            ),
            "mcp",
        )
        served.append(
            ServedApp(
                "MCP server",
                safeguards.guard_mcp(app, adapter, [part.spec.namespace for part in adapters]),
                MCP_PATH,
                f"{_listed([part.spec.namespace for part in adapters])}, {len(adapter.targets)} tools",
                tuple(part.spec.namespace for part in adapters),
            )
        )
    return served, stdio


def over_stdio(spec: ExposesMcp, transport: str | None) -> bool:
    return (transport or spec.transport) == "stdio"


def _spec_of(adapter: RestAdapter | McpAdapter) -> object:
    return adapter.spec


def _listed(namespaces: list[str]) -> str:
    """The adapters of a listener, for its ready line: `management-runs-rest` or `management-runs-rest and 8 more`."""
    return namespaces[0] if len(namespaces) == 1 else f"{namespaces[0]} and {len(namespaces) - 1} more"
