"""`capgate demo` gives a working REST facade and MCP server over a populated emulator, and its curls work."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import orjson
import pytest
from mcp import Client

pytestmark = pytest.mark.anyio


async def test_demo_prints_curls_that_work_as_printed_and_an_mcp_url_that_serves() -> None:
    if shutil.which("curl") is None:
        pytest.fail("curl is needed to run the demo's printed commands; install it (apt-get install -y curl)")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "capgate.cli",
            "demo",
            "--rest-port",
            "0",
            "--mcp-port",
            "0",
            "--emulator-port",
            "0",
            "--db",
            ":memory:",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    try:
        assert process.stdout is not None
        guide = ""
        deadline = time.monotonic() + 30
        while "Press Ctrl+C to stop." not in guide and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            guide += line
        curls = [line.strip() for line in guide.splitlines() if line.strip().startswith("curl ")]
        assert len(curls) == 2, guide
        listed = orjson.loads(
            subprocess.run(["bash", "-c", curls[0] + " -sS --fail"], capture_output=True, check=True, timeout=20).stdout
        )
        assert 1 <= len(listed["data"]) <= 3 and {run["status"] for run in listed["data"]} == {"COMPLETED"}
        retrieved = orjson.loads(
            subprocess.run(["bash", "-c", curls[1] + " -sS --fail"], capture_output=True, check=True, timeout=20).stdout
        )
        assert retrieved["id"] == curls[1].rsplit("/", 1)[1] and "payload" in retrieved
        mcp_url = re.search(r"MCP server\s+(\S+)", guide).group(1)  # type: ignore[union-attr]
        async with Client(mcp_url) as client:
            result = await client.call_tool("list-runs", {"page.size": 2})
        assert result.is_error is False and len(result.structured_content["data"]) == 2  # type: ignore[index]
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0
        assert process.stderr is not None
        farewell = process.stderr.read().split("capgate demo: stopped ", 1)
        assert len(farewell) == 2, "Ctrl-C must say what stopped"
        assert re.match(r"the gateway \(REST facade http://127\.0\.0\.1:\d+, MCP server http://", farewell[1])
        assert "and the Trigger.dev emulator (http://127.0.0.1:" in farewell[1]
        assert "The emulator's runs were kept in memory only: they are gone." in farewell[1]  # --db :memory:
        audit = os.path.join(os.environ["XDG_DATA_HOME"], "capgate", "audit.jsonl")
        assert f"The audit log of calls that changed runs stays in {audit}" in farewell[1]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
