"""The parts of the MCP SDK capgate serves with, imported without the SDK's package `__init__` modules.

`import mcp` runs `mcp/__init__.py`, which imports the SDK's client side (sessions, transports, the client
itself), and `mcp/server/__init__.py` imports the high-level `MCPServer`: together ~0.25 s of start-up and
~11 MiB of memory that a server built on the low-level `Server` never uses. So the two packages are put in
`sys.modules` with their search paths only, and their `__init__` runs on the first attribute the SDK's
modules do not provide (e.g. `from mcp import ClientSession` elsewhere in the process), so nothing that
imports `mcp` the usual way notices. The request-state boundary (`mcp.server.request_state`, which imports
`cryptography`: ~7 MiB) is not here: `capgate.exposes.mcp.consent.StateSeal` imports it when a call needs it.
"""

from __future__ import annotations

from capgate.core.imports import defer_package_init

defer_package_init("mcp")
defer_package_init("mcp.server")

import mcp.server._streamable_http_modern as modern_http  # noqa: E402  (after the deferral above, by design)
import mcp.types as types  # noqa: E402
from mcp.server.caching import CacheHint  # noqa: E402
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext  # noqa: E402
from mcp.server.lowlevel import Server  # noqa: E402
from mcp.server.streamable_http import StreamableHTTPServerTransport  # noqa: E402
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager  # noqa: E402
from mcp.server.transport_security import TransportSecuritySettings  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402
from mcp_types import CORE_RESULT_TYPES, SERVER_INFO_META_KEY  # noqa: E402
from mcp_types.jsonrpc import JSONRPCError, JSONRPCMessage, JSONRPCResponse  # noqa: E402
from mcp_types.methods import is_input_required, serialize_server_result, validate_client_request  # noqa: E402
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS, is_version_at_least  # noqa: E402

__all__ = [
    "CORE_RESULT_TYPES",
    "HANDSHAKE_PROTOCOL_VERSIONS",
    "MODERN_PROTOCOL_VERSIONS",
    "SERVER_INFO_META_KEY",
    "CacheHint",
    "CallNext",
    "HandlerResult",
    "JSONRPCError",
    "JSONRPCMessage",
    "JSONRPCResponse",
    "MCPError",
    "Server",
    "ServerRequestContext",
    "StreamableHTTPServerTransport",
    "StreamableHTTPSessionManager",
    "TransportSecuritySettings",
    "is_input_required",
    "is_version_at_least",
    "modern_http",
    "serialize_server_result",
    "types",
    "validate_client_request",
]
