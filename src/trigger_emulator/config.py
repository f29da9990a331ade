"""What the emulator was asked to do: plain data, checked once, no I/O beyond naming the default database path."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_API_KEY = "tr_dev_emulator0000000000000001"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3030

# The live service's key prefixes (apps/webapp/app/utils/apiKeys.ts): the prefix names the environment.
_KEY_PATTERN = re.compile(r"^tr_(dev|stg|prod|preview)_[A-Za-z0-9_]+$")


def default_db_path() -> str:
    """`$XDG_DATA_HOME/capgate/trigger-emulator.db` (else under `~/.local/share`); creates the folder."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    folder = Path(base) / "capgate"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / "trigger-emulator.db")


@dataclass(frozen=True)
class EmulatorConfig:
    """Settings for one emulator instance; `create_app(config)` serves it.

    `db=None` means the default file (see `default_db_path`); `":memory:"` keeps everything in memory.
    Each API key is its own environment; the first one gets the main seed data set.
    `retry_not_found` sets `x-should-retry` on the 404s of retrieve, trace and events: the live service sends
    `true`, which makes the official SDK retry for ~9 s, so the emulator defaults to `false`.
    `tick_s` is the simulation step: a triggered run is dequeued one tick after it is queued, starts executing
    one tick later and finishes 2-4 ticks after that.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    db: str | None = None
    api_keys: tuple[str, ...] = (DEFAULT_API_KEY,)
    simulate: bool = False
    seed: int = 1
    empty: bool = False
    test_controls: bool = False
    rate_limit_max: int = 750
    rate_limit_refill: int = 250
    rate_limit_interval_s: float = 10.0
    retry_not_found: bool = False
    tick_s: float = 1.0
    request_log_size: int = field(default=1000)

    def __post_init__(self) -> None:
        if not self.api_keys:
            raise ValueError("EmulatorConfig.api_keys is empty: give at least one key, e.g. " + DEFAULT_API_KEY)
        for key in self.api_keys:
            if not _KEY_PATTERN.match(key):
                raise ValueError(
                    f"API key {key[:12]!r}... does not look like a Trigger.dev secret key: "
                    "use tr_dev_..., tr_stg_..., tr_prod_... or tr_preview_... followed by letters and digits"
                )
        if len(set(self.api_keys)) != len(self.api_keys):
            raise ValueError("EmulatorConfig.api_keys repeats a key: each key is its own environment")
        if self.rate_limit_max < 1 or self.rate_limit_refill < 1 or self.rate_limit_interval_s <= 0:
            raise ValueError("rate limit settings must be positive (max >= 1, refill >= 1, interval > 0)")
        if self.tick_s <= 0:
            raise ValueError("tick_s must be positive")

    @property
    def db_path(self) -> str:
        """The database location to open: the configured one, else the default file."""
        return self.db if self.db is not None else default_db_path()
