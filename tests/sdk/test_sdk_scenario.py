"""The official Trigger.dev SDK (npm `@trigger.dev/sdk` 4.8.3) drives the emulator, directly and through
the gateway's REST facade, and must not be able to tell it from the live service.

The scenario itself is `scenario.mjs` (Node); these tests install its packages, start real servers on
loopback (the emulator and `capgate serve` as subprocesses), run it, and report every failed step.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.support.node import NodeProgram, npm_installed

pytestmark = pytest.mark.timeout(120)

SDK_DIR = Path(__file__).resolve().parent

EMULATOR_KEY = "tr_dev_emulator0000000000000001"  # the emulator's default key
OTHER_ENV_KEY = "tr_dev_emulator0000000000000002"  # a second environment on the same emulator
# Through the gateway the SDK's own key is never forwarded (the gateway holds the real one).
GATEWAY_CLIENT_KEY = "tr_dev_sdkclient000000000000000"

EMULATOR_READY = re.compile(r"trigger-emulator: ready on (http://\S+)")
REST_READY = re.compile(r"capgate: REST facade ready on (http://\S+)")
MCP_READY = re.compile(r"capgate: MCP server ready on (http://\S+)")

STARTUP_TIMEOUT = 30.0
SCENARIO_TIMEOUT = 90.0
STOP_TIMEOUT = 5.0

# Variables the SDK reads on its own (base URL, keys, branch, version lock): never inherit them.
_SDK_ENV_PREFIXES = ("TRIGGER_",)
_SDK_ENV_NAMES = {"VERCEL_GIT_COMMIT_REF"}


# ---------------------------------------------------------------------------------------------------------
# Subprocess servers


class ServerProcess:
    """A server started as a subprocess; its combined output is drained by a thread and kept for errors."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str]) -> None:
        self.name = name
        self.argv = list(argv)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=env,
        )
        self._reader = threading.Thread(target=self._drain, name=f"{name}-output", daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, patterns: dict[str, re.Pattern[str]], timeout: float) -> dict[str, str]:
        """Wait until every pattern has matched a line of output; return each one's first group."""
        found: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while len(found) < len(patterns):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail(f"did not print its ready line(s) within {timeout:.0f} s")
            try:
                line = self._queue.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:
                self.process.wait(timeout=STOP_TIMEOUT)
                self._fail(f"exited with status {self.process.returncode} before it was ready")
            for key, pattern in patterns.items():
                match = pattern.search(line)
                if match and key not in found:
                    found[key] = match.group(1).rstrip("/")
        return found

    def _fail(self, why: str) -> None:
        output = "\n".join(self.lines[-40:]) or "(no output)"
        pytest.fail(f"{self.name} {why}.\ncommand: {' '.join(self.argv)}\noutput:\n{output}", pytrace=False)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM, to this process only
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        self._reader.join(timeout=STOP_TIMEOUT)


def _server_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SDK_ENV_PREFIXES) and k not in _SDK_ENV_NAMES}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@contextmanager
def emulator_process(*extra_args: str, keys: Sequence[str] = (EMULATOR_KEY,)) -> Iterator[str]:
    """Start `python -m trigger_emulator` on a free port with an in-memory database; yield its base URL."""
    argv = [sys.executable, "-m", "trigger_emulator", "--host", "127.0.0.1", "--port", "0", "--db", ":memory:"]
    for key in keys:
        argv += ["--api-key", key]
    argv += list(extra_args)
    server = ServerProcess("trigger emulator", argv, _server_env())
    try:
        yield server.wait_for({"url": EMULATOR_READY}, STARTUP_TIMEOUT)["url"]
    finally:
        server.stop()


def _capgate_argv() -> list[str]:
    script = Path(sys.executable).with_name("capgate")
    if script.exists():
        return [str(script)]
    found = shutil.which("capgate")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from capgate.cli.program import main; sys.exit(main())"]


@contextmanager
def gateway_process(emulator_url: str, api_key: str = EMULATOR_KEY) -> Iterator[str]:
    """Start `capgate serve trigger-dev-runs` in front of the emulator; yield its REST facade base URL."""
    argv = _capgate_argv() + [
        "serve",
        "trigger-dev-runs",
        "--host",
        "127.0.0.1",
        "--rest-port",
        "0",
        "--mcp-port",
        "0",
        "--base-uri",
        f"management-runs={emulator_url}",
    ]
    server = ServerProcess("capgate gateway", argv, _server_env(TRIGGER_DEV_API_KEY=api_key))
    try:
        urls = server.wait_for({"rest": REST_READY, "mcp": MCP_READY}, STARTUP_TIMEOUT)
        yield urls["rest"]
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------------------
# Node packages and the scenario


@pytest.fixture(scope="session")
def sdk() -> NodeProgram:
    """scenario.mjs beside @trigger.dev/sdk, as `npm ci` installed it in the test cache (outside the checkout,
    reused between runs)."""
    return npm_installed(SDK_DIR)


def run_scenario(
    sdk: NodeProgram,
    mode: str,
    *,
    base_url: str,
    secret_key: str,
    suite: str = "main",
    other_key: str | None = None,
) -> dict[str, Any]:
    """Run scenario.mjs; return its JSON summary, or fail the test listing every failed step."""
    env = _server_env(TRIGGER_API_URL=base_url, TRIGGER_SECRET_KEY=secret_key)
    if other_key:
        env["TRIGGER_OTHER_KEY"] = other_key
    try:
        result = subprocess.run(
            [sdk.node, str(sdk.folder / "scenario.mjs"), mode, "--suite", suite],
            cwd=sdk.folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=SCENARIO_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"the SDK scenario ({mode}/{suite}) did not finish within {SCENARIO_TIMEOUT:.0f} s\n"
            f"stderr:\n{(exc.stderr or '')[-4000:] if isinstance(exc.stderr, str) else exc.stderr!r}",
            pytrace=False,
        )
    summary = _summary(result.stdout)
    if result.returncode != 0 or summary is None or not summary.get("ok"):
        failed = [step for step in (summary or {}).get("steps", []) if step.get("ok") is False]
        lines = [f"the SDK scenario ({mode}/{suite}) failed: exit {result.returncode}, {len(failed)} step(s) failed"]
        lines += [f"- {step['name']}: {step.get('error')}" for step in failed]
        if summary is None:
            lines.append(f"no JSON summary on stdout:\n{result.stdout[-2000:]}")
        lines.append(f"stderr (tail):\n{result.stderr[-3000:]}")
        pytest.fail("\n".join(lines), pytrace=False)
    assert summary is not None
    return summary


def _summary(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and value.get("scenario") == "trigger-dev-sdk":
            return value
    return None


def _emulator_requests(emulator_url: str, method: str = "GET") -> list[dict[str, Any]]:
    """The requests the emulator received (`--test-controls`): [{method, path, query, headers, body}]."""
    request = urllib.request.Request(f"{emulator_url}/_emulator/requests", method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.load(response)
    return list(body.get("requests", [])) if method == "GET" else []


def _runs_api_requests(emulator_url: str) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """The API requests received, trigger calls included."""
    return [
        (request, {name.lower(): value for name, value in request["headers"]})
        for request in _emulator_requests(emulator_url)
        if request["path"].startswith("/api/")
    ]


# ---------------------------------------------------------------------------------------------------------
# Tests


@pytest.fixture(scope="session")
def emulator(sdk: NodeProgram) -> Iterator[str]:
    """One seeded emulator (two environments) shared by the direct and gateway scenarios.

    The scenario tags everything it creates with a fresh nonce and only mutates its own runs (plus a
    no-op cancel of a finished seeded run), so it can run any number of times against the same emulator.
    """
    with emulator_process("--test-controls", keys=(EMULATOR_KEY, OTHER_ENV_KEY)) as url:
        yield url


def test_the_sdk_is_installed_outside_the_checkout(sdk: NodeProgram) -> None:
    checkout = SDK_DIR.parents[1]
    assert (sdk.folder / "node_modules" / "@trigger.dev" / "sdk").is_dir() and checkout not in sdk.folder.parents
    assert (sdk.folder / "scenario.mjs").read_bytes() == (SDK_DIR / "scenario.mjs").read_bytes()
    assert not (SDK_DIR / "node_modules").exists()


def test_sdk_scenario_direct(sdk: NodeProgram, emulator: str) -> None:
    _emulator_requests(emulator, "DELETE")
    summary = run_scenario(
        sdk,
        "direct",
        base_url=emulator,
        secret_key=EMULATOR_KEY,
        other_key=OTHER_ENV_KEY,
    )
    assert summary["failed"] == 0 and summary["passed"] > 0

    # The headers @trigger.dev/core 4.8.3 sends on every call (apiClient/index.js #getHeaders, core.js
    # injectRequestIdempotencyKey); the emulator must see them as the live service would.
    received = _runs_api_requests(emulator)
    assert received, "the emulator recorded no runs-API requests"
    for request, headers in received:
        where = f"{request['method']} {request['path']}"
        assert headers.get("authorization", "").startswith("Bearer tr_dev_"), where
        assert headers.get("x-trigger-api-version") == "2025-07-16", where
        assert headers.get("trigger-version") == "4.8.3", where
        assert headers.get("x-trigger-source") == "sdk", where
        assert headers.get("x-trigger-realtime-streams-version") == "v2", where
        assert headers.get("content-type") == "application/json", where
        uuid.UUID(headers.get("x-trigger-request-idempotency-key", ""))
        assert "x-trigger-branch" not in headers, where


def test_sdk_scenario_through_gateway(sdk: NodeProgram, emulator: str) -> None:
    with gateway_process(emulator) as rest:
        _emulator_requests(emulator, "DELETE")
        summary = run_scenario(
            sdk,
            "gateway",
            base_url=f"{rest}/v1",
            secret_key=GATEWAY_CLIENT_KEY,
        )
    assert summary["failed"] == 0 and summary["passed"] > 0

    # The gateway calls upstream with its own key and must send the API-version header: without it the
    # live service answers legacy status names that the SDK's zod enum rejects (reference §0, §7).
    received = _runs_api_requests(emulator)
    assert received, "the gateway forwarded no runs-API requests to the emulator"
    for request, headers in received:
        where = f"{request['method']} {request['path']}?{request['query']}"
        assert headers.get("authorization") == f"Bearer {EMULATOR_KEY}", where
        assert headers.get("x-trigger-api-version") == "2025-07-16", where


RATE_LIMIT_ARGS = ("--empty", "--rate-limit-max", "3", "--rate-limit-refill", "1", "--rate-limit-interval", "60")


def test_sdk_rate_limit_direct(sdk: NodeProgram) -> None:
    with emulator_process(*RATE_LIMIT_ARGS) as url:
        summary = run_scenario(sdk, "direct", suite="ratelimit", base_url=url, secret_key=EMULATOR_KEY)
    assert summary["observed"]["rateLimitRemaining"] == [2, 1, 0]


def test_sdk_rate_limit_through_gateway(sdk: NodeProgram) -> None:
    with emulator_process(*RATE_LIMIT_ARGS) as url, gateway_process(url) as rest:
        summary = run_scenario(
            sdk,
            "gateway",
            suite="ratelimit",
            base_url=f"{rest}/v1",
            secret_key=GATEWAY_CLIENT_KEY,
        )
    assert summary["observed"]["rateLimitRemaining"] == [2, 1, 0]
