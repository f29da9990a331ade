"""The parts of the MCP SDK capgate serves with, imported without the SDK's package `__init__` modules.

`import mcp` runs `mcp/__init__.py`, which imports the SDK's client side (sessions, transports, the client
itself), and `mcp/server/__init__.py` imports the high-level `MCPServer`: together ~0.25 s of start-up and
~11 MiB of memory that a server built on the low-level `Server` never uses. So the two packages are put in
`sys.modules` with their search paths only, and their `__init__` runs on the first attribute the SDK's
modules do not provide (e.g. `from mcp import ClientSession` elsewhere in the process), so nothing that
imports `mcp` the usual way notices.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any


def _defer_package_init(name: str) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return  # not a package we know how to defer: import it normally
    package = importlib.util.module_from_spec(spec)  # __path__ and __spec__ set, __init__ not run
    loader = spec.loader

    def complete(attribute: str) -> Any:
        del vars(package)["__getattr__"]  # runs once; __init__ then defines everything
        loader.exec_module(package)
        return getattr(package, attribute)

    vars(package)["__getattr__"] = complete  # a module's __getattr__ (PEP 562): called for missing names only
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:  # as an import would: `mcp.server` is an attribute of `mcp`
        setattr(sys.modules[parent], child, package)


_defer_package_init("mcp")
_defer_package_init("mcp.server")

import mcp.types as types  # noqa: E402  (after the deferral above, by design)
from mcp.server.caching import CacheHint  # noqa: E402
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext  # noqa: E402
from mcp.server.lowlevel import Server  # noqa: E402
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity  # noqa: E402
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager  # noqa: E402
from mcp.server.transport_security import TransportSecuritySettings  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, is_version_at_least  # noqa: E402

__all__ = [
    "HANDSHAKE_PROTOCOL_VERSIONS",
    "CacheHint",
    "CallNext",
    "HandlerResult",
    "MCPError",
    "RequestStateBoundary",
    "RequestStateSecurity",
    "Server",
    "ServerRequestContext",
    "StreamableHTTPSessionManager",
    "TransportSecuritySettings",
    "is_version_at_least",
    "types",
]
