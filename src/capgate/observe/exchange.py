"""One HTTP request through an adapter, as the access log reports it, handed down in the ASGI scope.

The guard (`capgate.exposes.inbound.guard`) puts an `Exchange` in the scope before anything else runs; the adapters
start each operation call through `start_call`, which gives the `CallRecord` who is calling (the token id or the
access token's subject, and its client) and links it to the exchange, so the access log line can name the
operation and the upstream status.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from capgate.observe.records import CallRecord

SCOPE_KEY = "capgate.exchange"


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the inbound credential says: its id (what logs and the audit log show, never the
    credential), whether it may change anything, and for an OAuth access token the client it was issued to."""

    id: str  # a static token's id, or an access token's `sub`
    can_write: bool
    client: str | None = None  # the OAuth client id (`client_id`, `azp`…), None for a static token
    oauth: bool = False  # an OAuth access token rather than a static token

    @property
    def bind_keys(self) -> tuple[str, ...]:
        """The names `--caller-binds` may give this caller, most specific first: `token:ID`, else `sub:SUBJECT`
        then `client:CLIENT_ID`."""
        if not self.oauth:
            return (f"token:{self.id}",)
        return (f"sub:{self.id}", *([f"client:{self.client}"] if self.client else []))


@dataclass
class Exchange:
    """What the access log says about one request; never holds a credential, only who presented it."""

    adapter: str
    method: str
    path: str
    route: str | None = None  # the route template or MCP method and tool, once known
    caller: Caller | None = None
    status: int | None = None
    refused: str | None = None  # why the guard answered itself, if it did
    calls: list[CallRecord] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0

    @property
    def read_only(self) -> bool:
        """Whether the caller may only read (tokens are configured and this one has the read scope)."""
        return self.caller is not None and not self.caller.can_write


def exchange_of(scope: Mapping[str, Any] | None) -> Exchange | None:
    return scope.get(SCOPE_KEY) if scope is not None else None


def start_call(scope: Mapping[str, Any] | None, adapter: str, target: str) -> CallRecord:
    """A CallRecord for one operation call of the request in `scope` (None: no HTTP request, e.g. MCP over stdio)."""
    exchange = exchange_of(scope)
    caller = exchange.caller if exchange is not None else None
    call = CallRecord(adapter, target)
    if caller is not None:
        call.caller, call.client, call.caller_keys = caller.id, caller.client, caller.bind_keys
    if exchange is not None:
        exchange.route = exchange.route or target.removeprefix(f"{exchange.method} ")  # REST: "GET /path"
        exchange.calls.append(call)
    return call
