"""One record per call through any adapter, handed to every observer (access log, metrics, audit).

Both adapters go through `Binding.invoke`, which fills a `CallRecord`, awaits each `sending` observer once the
arguments are valid and before anything is sent upstream, and each `finished` observer before it returns. So
an observer that must finish before the request leaves (the audit log's intent) or before the caller is
answered (its outcome) can rely on that; a `sending` observer that raises stops the call unsent.
"""

from __future__ import annotations

import itertools
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from capgate.core.types import UpstreamResult

Observer = Callable[["CallRecord"], Awaitable[None]]

_START = secrets.token_hex(3)  # tells this run's call ids from an earlier run's, whose process ids may repeat
_numbers = itertools.count(1)


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
    error: BaseException | None = None
    sent: bool = False  # the request was handed to the upstream client (every `sending` observer agreed)

    @cached_property
    def id(self) -> str:
        """Unique among the calls of every process and run writing one audit log: `3fa2c1-4711-17`."""
        return f"{_START}-{os.getpid()}-{next(_numbers)}"

    @property
    def upstream_status(self) -> int | None:
        return self.result.status if self.result is not None else None

    @property
    def seconds(self) -> float:
        return (self.finished or time.perf_counter()) - self.started


class Observers:
    """The observers of a gateway, called in registration order: before a call is sent, and after each call."""

    def __init__(self) -> None:
        self._finished: list[Observer] = []
        self._sending: list[Observer] = []

    def add(self, finished: Observer | None = None, *, sending: Observer | None = None) -> None:
        if finished is not None:
            self._finished.append(finished)
        if sending is not None:
            self._sending.append(sending)

    def __bool__(self) -> bool:
        return bool(self._finished or self._sending)

    async def sending(self, call: CallRecord) -> None:
        """Before the request leaves; an observer that raises stops it (nothing is sent)."""
        for observer in self._sending:
            await observer(call)
        call.sent = True

    async def finished(self, call: CallRecord) -> None:
        call.finished = time.perf_counter()
        for observer in self._finished:
            await observer(call)
