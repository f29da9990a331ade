"""One emulator instance: its configuration, keys, database, limiter, faults, request log and simulation."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from typing import Any

from trigger_emulator.auth import KeyRing
from trigger_emulator.config import EmulatorConfig
from trigger_emulator.dates import now_ms
from trigger_emulator.faults import Faults
from trigger_emulator.ratelimit import TokenBucket
from trigger_emulator.seed import seed_environment
from trigger_emulator.simulation import advance, run_forever
from trigger_emulator.store import Store


class Emulator:
    """Everything the request pipeline and the handlers share. `start()` opens the database; `stop()` closes it."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.keys = KeyRing.from_keys(config.api_keys)
        self.limiter = TokenBucket(
            config.rate_limit_max, config.rate_limit_refill, int(config.rate_limit_interval_s * 1000)
        )
        self.faults = Faults()
        self.requests: deque[dict[str, Any]] = deque(maxlen=config.request_log_size)
        self.rng = random.Random()  # fresh ids only need to be unique
        self.tick_ms = max(1, int(config.tick_s * 1000))
        self._store: Store | None = None
        self._simulation: asyncio.Task[None] | None = None

    @property
    def store(self) -> Store:
        """The open database; using it before `start()` or after `stop()` is a programming error."""
        if self._store is None:
            raise RuntimeError("the emulator is not running: its database opens in start() (the app's lifespan)")
        return self._store

    def open(self) -> None:
        """Open the database and seed every environment it has not seen yet (the first key gets the main set)."""
        self._store = Store.open(self.config.db_path)
        anchor = now_ms()
        for index, env in enumerate(self.keys.environments.values()):
            if not self._store.environment_exists(env.id):
                seed_environment(
                    self._store, env, seed=self.config.seed, now=anchor, main=index == 0, empty=self.config.empty
                )

    async def start(self) -> None:
        """Open the database and, with `simulate`, start moving runs along in the background."""
        self.open()
        if self.config.simulate:
            self._simulation = asyncio.create_task(run_forever(self.store, self.config.tick_s))

    async def stop(self) -> None:
        """Stop the simulation and close the database."""
        if self._simulation is not None:
            self._simulation.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._simulation
            self._simulation = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def advance(self, now: int | None = None) -> int:
        """Apply the simulation up to `now` (epoch ms, default the current time); returns how many runs moved."""
        return advance(self.store, now_ms() if now is None else now, self.tick_ms)
