"""The ASGI app each listener serves: an adapter's own app, behind capgate's routes and the guard.

Built here, from the loaded gateway and the process-wide safeguards, so that the server only binds sockets
and runs servers; a reload builds the same apps from the new gateway and swaps them in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.types import ASGIApp

from capgate.document.models import ExposesControl, ExposesMcp, ExposesSkill
from capgate.exposes.control.app import build_control_app
from capgate.exposes.mcp import MCP_PATH, TextMode
from capgate.exposes.rest.app import build_rest_app
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
    namespace: str = ""  # the adapter's, which the control port reports started once it serves


def rest_apps(gateway: Gateway, safeguards: Safeguards) -> list[ServedApp]:
    """Each REST adapter: its routes, capgate's own beside them, the guard in front."""
    document = gateway.loaded.document
    readiness = Readiness(gateway.operations, [consumes.namespace for consumes in document.capability.consumes])
    served = []
    for rest in gateway.rest:
        routes = len({(operation.path, operation.method) for operation in rest.operations})
        routed = build_rest_app(rest.operations, forwards=rest.forwards, body_limits=safeguards.body_limits)
        app = rest_facade(
            routed, description=build_openapi(document, rest, server_url=_SERVER_URL), readiness=readiness
        )
        served.append(
            ServedApp(
                "REST facade",
                safeguards.guard_rest(app),
                "",
                f"{rest.spec.namespace}, {routes} routes",
                rest.spec.namespace,
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
            served.append(ServedApp("skill catalogue", safeguards.guard_rest(app), "", detail, adapter.namespace))
        elif isinstance(adapter, ExposesControl):
            app = instrument(build_control_app(document, adapter, lambda: gateway.started), "control")
            served.append(
                ServedApp("control port", safeguards.guard_rest(app), "", "control, management routes", "control")
            )
    return served


def mcp_apps(
    gateway: Gateway, safeguards: Safeguards, *, transport: str | None = None, text: TextMode = "compact"
) -> tuple[list[ServedApp], list[McpAdapter]]:
    """The MCP adapters served over HTTP, guarded, and those served over stdio (`transport` overrides each
    adapter's own); `text` is how mapped results are written for a model (`--mcp-text`)."""
    # The SDK is imported by now: gateway.mcp built the adapters.
    from capgate.exposes.mcp.consent import Consent
    from capgate.exposes.mcp.server import Serving

    hardening = safeguards.hardening
    consent = Consent(hardening.confirm_destructive, safeguards.record_consent)
    served, stdio = [], []
    for adapter in gateway.mcp:
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
                safeguards.guard_mcp(app, adapter),
                MCP_PATH,
                f"{adapter.spec.namespace}, {len(adapter.targets)} tools",
                adapter.spec.namespace,
            )
        )
    return served, stdio


def over_stdio(spec: ExposesMcp, transport: str | None) -> bool:
    return (transport or spec.transport) == "stdio"
