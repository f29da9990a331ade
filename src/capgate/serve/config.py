"""What `capgate serve` was asked for, as one value; nothing is loaded or bound until the server runs it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from capgate.consumes.client import DEFAULT_CLIENT_SETTINGS, ClientSettings
from capgate.document.bundled import DEFAULT_DOCUMENT
from capgate.exposes.mcp import TextMode
from capgate.gateway.safeguards import Hardening
from capgate.serve.connections import ConnectionLimits
from capgate.serve.sockets import Listen, listen


@dataclass
class ServeConfig:
    """What `capgate serve` was asked for; nothing is loaded or bound until `serve` runs."""

    documents: tuple[str, ...] = (DEFAULT_DOCUMENT,)  # paths, bundled names or folders, served together
    host: str = "127.0.0.1"
    rest_port: int | None = None  # None: the document's port
    mcp_port: int | None = None
    adapter_ports: dict[str, int] = field(default_factory=dict)  # by adapter namespace (`control` for a control
    # adapter): the skill and control adapters' ports
    base_uris: dict[str, str] = field(default_factory=dict)
    allowed_hosts: list[str] = field(default_factory=list)
    allowed_origins: list[str] = field(default_factory=list)
    client_settings: ClientSettings = DEFAULT_CLIENT_SETTINGS
    environ: Mapping[str, str] | None = None  # None: the process environment
    mcp_transport: str | None = None  # "http" or "stdio" overrides the document's MCP transport
    mcp_text: TextMode = "compact"  # "json": the text of mapped MCP results is their JSON, as the spec suggests
    mcp_name: str | None = None  # the (first) MCP server's name; None: its first adapter's namespace
    hardening: Hardening = field(default_factory=Hardening)  # timeouts, retries, limits, tokens, audit log
    connections: ConnectionLimits = field(default_factory=ConnectionLimits)  # per port and client, head timeout
    serve_rest: bool = True  # False: no REST facade (an MCP client launching capgate over stdio needs none)
    listen: Listen = listen  # opens each adapter's socket; `serve --workers` shares them (capgate.serve.workers)
