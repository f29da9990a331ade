"""The Trigger.dev emulator as the tests drive it: on loopback, with its fault controls, holding the canary key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from tests.support.gateway import TEST_KEY
from trigger_emulator.config import EmulatorConfig


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
        return [
            r
            for r in orjson.loads(body)["requests"]
            if (method is None or r["method"] == method) and r["path"].endswith(path_suffix)
        ]

    def run_ids(self, count: int) -> list[str]:
        status, body = http(
            "GET", self.url + f"/api/v1/runs?page%5Bsize%5D={count}", headers={"authorization": f"Bearer {TEST_KEY}"}
        )
        assert status == 200, body
        return [run["id"] for run in orjson.loads(body)["data"]]


def emulator_config(**overrides: Any) -> EmulatorConfig:
    settings: dict[str, Any] = {
        "db": ":memory:",
        "api_keys": (TEST_KEY,),
        "test_controls": True,
        "rate_limit_max": 100_000,
        "rate_limit_refill": 100_000,
        "rate_limit_interval_s": 1.0,
        "request_log_size": 100_000,
    }
    return EmulatorConfig(**(settings | overrides))


def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 10.0
) -> tuple[int, bytes]:
    """A blocking HTTP call with the standard library (test-control calls, outside any event loop)."""
    import urllib.error
    import urllib.request

    data = orjson.dumps(body) if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
