"""Run `capgate` through its real entry point, as a user does."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.gateway import TEST_KEY

CAPGATE = [sys.executable, "-m", "capgate.cli"]


def cli_env(**extra: str) -> dict[str, str]:
    """The test process's environment without the user's own secrets or colour settings, the canary key bound."""
    drop = {"TRIGGER_DEV_API_KEY", "NO_COLOR", "COLUMNS", "LINES"}
    environ = {name: value for name, value in os.environ.items() if name not in drop and not name.startswith("OTEL_")}
    return environ | {"TRIGGER_DEV_API_KEY": TEST_KEY, "TERM": "xterm-256color"} | extra


def capgate(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """`capgate ARGS` with its output piped (so not a terminal)."""
    return subprocess.run([*CAPGATE, *args], capture_output=True, text=True, env=env or cli_env(), timeout=timeout)
