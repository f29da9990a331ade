"""SIGHUP reads the `--caller-binds` file again with the document and the tokens; a broken edit changes
nothing and the error log says what was wrong (never a value)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.support.cli import serving
from tests.support.gateway import RUN, TEST_KEY
from tests.support.http import rest_call
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.anyio

OPS = "ops-token-0123456789abcdef"
FIRST_KEY = "tr_dev_firstFIRSTfirst000000001"
SECOND_KEY = "tr_dev_secondSECONDsecond000001"


async def test_sighup_reloads_the_caller_binds(upstream: RecordingUpstream, tmp_path: Path) -> None:
    binds = tmp_path / "binds.yaml"
    binds.write_text(f"callers:\n  token:ops: {{TRIGGER_DEV_API_KEY: {FIRST_KEY}}}\n")
    env = {"TRIGGER_DEV_API_KEY": TEST_KEY, "CAPGATE_TOKENS": f"ops:write:{OPS}"}
    flags = ["--rest-port", "0", "--mcp-port", "0", "--base-uri", f"management-runs={upstream.url}"]
    with serving(*flags, "--no-audit-log", "--caller-binds", str(binds), env=env) as (process, lines):
        rest = next(line for line in lines if "REST facade ready" in line).split("ready on ")[1].split()[0]

        async def key_used() -> str:
            headers = {"authorization": f"Bearer {OPS}"}
            status, _, _ = await rest_call(rest, "GET", f"/v1/api/v3/runs/{RUN}", headers=headers)
            assert status == 200
            return upstream.last.headers["authorization"]

        assert await key_used() == f"Bearer {FIRST_KEY}"
        binds.write_text(f"callers:\n  token:ops: {{TRIGGER_DEV_API_KEY: {SECOND_KEY}}}\n")
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while await key_used() != f"Bearer {SECOND_KEY}":
            assert time.monotonic() < deadline, "the edited caller binds were not loaded"
        binds.write_text("callers:\n  token:nobody: {TRIGGER_DEV_API_KEY: tr_dev_neverNEVERnever000000001}\n")
        process.send_signal(signal.SIGHUP)
        assert process.stderr is not None
        while "reload refused" not in (line := process.stderr.readline()):
            assert line, "capgate stopped"
        assert "token:nobody names no inbound token" in line and "tr_dev_never" not in line
        assert await key_used() == f"Bearer {SECOND_KEY}"  # the broken edit changed nothing
