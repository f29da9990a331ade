"""One record per call through any adapter, handed to every observer (access log, metrics, audit).

Both adapters go through `Binding.invoke`, which fills a `CallRecord` and awaits each observer before it returns,
so an observer that must finish before the caller is answered (the audit log) can rely on that.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from capgate.core.types import UpstreamResult

Observer = Callable[["CallRecord"], Awaitable[None]]


@dataclass
class CallRecord:
    """What one call asked for and how it ended. Holds no secret: arguments are the caller's inputs."""

    adapter: str  # "rest", "mcp" or "cli"
    target: str  # the route ("GET /v1/api/v1/runs/{runid}") or the tool name
    operation: str = ""  # the consumed operation, "management-runs.cancelrun"
    caller: str | None = None  # the inbound credential's id (token id or `sub`), never the credential
    client: str | None = None  # the OAuth client the caller's access token was issued to
    caller_keys: tuple[str, ...] = ()  # the names `--caller-binds` may give the caller (`Caller.bind_keys`)
    arguments: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    result: UpstreamResult | None = None
    error: Exception | None = None

    @property
    def upstream_status(self) -> int | None:
        return self.result.status if self.result is not None else None

    @property
    def seconds(self) -> float:
        return (self.finished or time.perf_counter()) - self.started


class Observers:
    """The observers of a gateway, called in registration order after each call."""

    def __init__(self) -> None:
        self._observers: list[Observer] = []

    def add(self, observer: Observer) -> None:
        self._observers.append(observer)

    def __bool__(self) -> bool:
        return bool(self._observers)

    async def finished(self, call: CallRecord) -> None:
        call.finished = time.perf_counter()
        for observer in self._observers:
            await observer(call)
