"""`capgate serve` and `capgate validate` through the real entry point, as a user runs them."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from mcp import Client, StdioServerParameters

from capgate.document.bundled import bundled_documents
from tests.support.cli import ANY_PORTS, serving, upstream_at
from tests.support.gateway import RUN, TEST_KEY
from tests.support.upstream import RecordingUpstream

CAPGATE = [sys.executable, "-m", "capgate.cli"]


def capgate(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "TRIGGER_DEV_API_KEY"} | (env or {})
    return subprocess.run([*CAPGATE, *args], capture_output=True, text=True, env=environ, timeout=timeout)


def test_validate_accepts_both_bundled_documents() -> None:
    for name in ("trigger-dev-runs", "trigger-dev-runs-seed"):
        result = capgate("validate", name, env={"TRIGGER_DEV_API_KEY": "x"})
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout == ""


def test_validate_prints_file_line_problems_and_exits_1(tmp_path: Path) -> None:
    text = (
        bundled_documents()["trigger-dev-runs-seed"]
        .read_text()
        .replace("call: management-runs.cancelrun", "call: nowhere.cancel", 1)
    )
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    result = capgate("validate", str(path))
    assert result.returncode == 1
    assert re.search(
        rf"^{re.escape(str(path))}:\d+: capability\.exposes\[0\]\.resources\[2\]\.operations\[0\]\.call: "
        r"'nowhere\.cancel' names no consumed operation",
        result.stdout,
        re.MULTILINE,
    )
    assert "warning: environment variable TRIGGER_DEV_API_KEY is not set" in result.stdout


def test_serve_without_the_key_exits_2_naming_it() -> None:
    result = capgate("serve", "--rest-port", "0", "--mcp-port", "0")
    assert result.returncode == 2
    assert "TRIGGER_DEV_API_KEY is not set" in result.stderr and "export TRIGGER_DEV_API_KEY=" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_on_a_taken_port_exits_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = capgate("serve", "--rest-port", str(port), "--mcp-port", "0", env={"TRIGGER_DEV_API_KEY": TEST_KEY})
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr and "--rest-port" in result.stderr


def test_serve_bad_base_uri_exits_2() -> None:
    result = capgate("serve", "--base-uri", "nowhere=http://x", env={"TRIGGER_DEV_API_KEY": TEST_KEY})
    assert result.returncode == 2 and "no namespace 'nowhere' (it has: management-runs)" in result.stderr


def test_serve_announces_both_adapters_serves_and_stops_cleanly_on_sigterm(upstream: RecordingUpstream) -> None:
    import urllib.request

    upstream.reply(200, {"id": RUN})
    with serving(
        *ANY_PORTS,
        *upstream_at(upstream.url),
        env={"TRIGGER_DEV_API_KEY": TEST_KEY},
    ) as (process, lines):
        rest = re.search(r"REST facade ready on (\S+)", "".join(lines)).group(1)  # type: ignore[union-attr]
        assert re.search(
            r"MCP server ready on http://127\.0\.0\.1:\d+/mcp \(management-runs-mcp, 11 tools\)", "".join(lines)
        )
        with urllib.request.urlopen(f"{rest}/v1/api/v3/runs/{RUN}", timeout=10) as response:
            assert orjson.loads(response.read()) == {"id": RUN}
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=15)
        assert process.returncode == 0
        assert TEST_KEY not in stdout + stderr + "".join(lines)
    assert upstream.last.path == f"/api/v3/runs/{RUN}"


@pytest.mark.anyio
async def test_a_stdio_document_speaks_mcp_on_stdout_and_logs_on_stderr(
    tmp_path: Path, upstream: RecordingUpstream
) -> None:
    text = bundled_documents()["trigger-dev-runs"].read_text()
    assert "    port: 9090\n    transport: http\n" in text
    path = tmp_path / "stdio.yaml"
    path.write_text(text.replace("    port: 9090\n    transport: http\n", "    transport: stdio\n"))
    upstream.reply(200, {"data": [], "pagination": {}})
    parameters = StdioServerParameters(
        command=sys.executable,
        args=[
            "-m",
            "capgate.cli",
            "serve",
            str(path),
            "--rest-port",
            "0",
            "--base-uri",
            f"management-runs={upstream.url}",
        ],
        env={**os.environ, "TRIGGER_DEV_API_KEY": TEST_KEY},
    )
    async with Client(parameters) as client:
        listed = await client.list_tools()
        assert len(listed.tools) == 11
        result = await client.call_tool("list-runs", {"page.size": 5})
    assert result.is_error is False and result.structured_content == {"data": [], "pagination": {}}
    assert upstream.last.query == "page%5Bsize%5D=5"


def test_a_document_that_would_send_the_key_to_the_metadata_service_is_refused(tmp_path: Path) -> None:
    text = bundled_documents()["trigger-dev-runs"].read_text()
    path = tmp_path / "shared.yaml"
    shared = text.replace("baseUri: https://api.trigger.dev", "baseUri: http://169.254.169.254", 1)
    path.write_text(shared)
    line = shared.splitlines().index("    baseUri: http://169.254.169.254") + 1
    env = {"TRIGGER_DEV_API_KEY": TEST_KEY}
    checked = capgate("validate", str(path), env=env)
    assert checked.returncode == 1
    assert (
        f"{path}:{line}: capability.consumes[0].baseUri: 169.254.169.254 is a cloud metadata service" in checked.stdout
    )
    assert capgate("validate", str(path), "--allow-private-upstream", "169.254.169.254", env=env).returncode == 0
    served = capgate("serve", str(path), "--rest-port", "0", "--mcp-port", "0", env=env)
    assert served.returncode == 2 and "--allow-private-upstream 169.254.169.254" in served.stderr
    assert "Traceback" not in served.stderr and TEST_KEY not in served.stderr
    with serving(
        str(path), "--rest-port", "0", "--mcp-port", "0", "--allow-private-upstream", "169.254.169.254", env=env
    ) as (process, lines):
        assert any("warning: plain http to 169.254.169.254" in line for line in lines)
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0


def test_a_base_uri_with_credentials_is_refused() -> None:
    result = capgate(
        "serve", "--base-uri", "management-runs=http://admin:pw@127.0.0.1:3030", env={"TRIGGER_DEV_API_KEY": TEST_KEY}
    )
    assert result.returncode == 2
    assert "--base-uri management-runs=http://admin:pw@127.0.0.1:3030: holds a user name or password" in result.stderr
