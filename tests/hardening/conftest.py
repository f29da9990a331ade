"""Fixtures of the hardening tests: the emulator with its fault controls, a real redis-server, HTTP helpers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from tests.support.gateway import TEST_KEY
from tests.support.servers import free_port, serve_app
from trigger_emulator.app import create_app
from trigger_emulator.config import EmulatorConfig

RUN = "run_cm1abc0def0ghi0jkl0mno0pq"


@dataclass
class Emulator:
    """The Trigger.dev emulator on loopback, with `/_emulator/` fault controls, holding the canary key."""

    url: str

    def fault(self, **spec: Any) -> None:
        status, body = http("POST", self.url + "/_emulator/faults", spec)
        assert status == 201, body

    def reset(self) -> None:
        http("POST", self.url + "/_emulator/reset")
        http("DELETE", self.url + "/_emulator/requests")

    def requests(self, method: str | None = None, path_suffix: str = "") -> list[dict[str, Any]]:
        """The requests that reached the emulator (faulted ones included), oldest first."""
        _, body = http("GET", self.url + "/_emulator/requests")
        return [r for r in orjson.loads(body)["requests"]
                if (method is None or r["method"] == method) and r["path"].endswith(path_suffix)]

    def run_ids(self, count: int) -> list[str]:
        status, body = http("GET", self.url + f"/api/v1/runs?page%5Bsize%5D={count}",
                            headers={"authorization": f"Bearer {TEST_KEY}"})
        assert status == 200, body
        return [run["id"] for run in orjson.loads(body)["data"]]


def emulator_config(**overrides: Any) -> EmulatorConfig:
    settings: dict[str, Any] = {"db": ":memory:", "api_keys": (TEST_KEY,), "test_controls": True,
                                "rate_limit_max": 100_000, "rate_limit_refill": 100_000, "rate_limit_interval_s": 1.0,
                                "request_log_size": 100_000}
    return EmulatorConfig(**(settings | overrides))


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with serve_app(create_app(emulator_config())) as url:
        yield Emulator(url)


@pytest.fixture
def clean(emulator: Emulator) -> Emulator:
    emulator.reset()
    return emulator


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 10.0) -> tuple[int, bytes]:
    """A blocking HTTP call with the standard library (test-control calls, outside any event loop)."""
    import urllib.error
    import urllib.request

    data = orjson.dumps(body) if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free loopback port, installed with apt-get if it is missing."""
    binary = shutil.which("redis-server") or _install_redis()
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.02)
        else:
            pytest.fail("redis-server did not start listening within 10 s")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def _install_redis() -> str:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "redis-server"]):
            subprocess.run(command, check=True, capture_output=True, timeout=300, env=env)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"redis-server is not installed and `apt-get install -y redis-server` failed ({exc}); "
                    "install it to run the shared-limiter tests")
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is still missing after apt-get install")
    return binary
