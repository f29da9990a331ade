"""A small real-HTTP client for the emulator tests, and the assertions they share."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from typing import Any

from tests.support.servers import serve_app
from trigger_emulator.app import create_app
from trigger_emulator.config import DEFAULT_API_KEY, EmulatorConfig
from trigger_emulator.emulator import Emulator
from trigger_emulator.models import Environment

KEY = DEFAULT_API_KEY
OTHER_KEY = "tr_prod_emulator0000000000000002"
CURRENT = {"x-trigger-api-version": "2025-07-16"}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


@dataclass
class Reply:
    """A response: status, headers and raw body."""

    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass
class Api:
    """A running emulator: its base URL and its `Emulator` (for the store and `advance`)."""

    base: str
    emulator: Emulator

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        key: str | None = KEY,
        current: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one request; `key=None` sends no Authorization header, `current` sends the 2025-07-16 header."""
        sent: dict[str, str] = {}
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        if current:
            sent.update(CURRENT)
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with _OPENER.open(request, timeout=10) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Reply(error.code, error.headers, error.read())

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.call("POST", path, body, **kwargs)

    def env(self, key: str = KEY) -> Environment:
        return self.emulator.keys.environments[key]

    def trigger(self, task: str = "send-welcome-email", payload: Any = None, **options: Any) -> str:
        """Trigger a run through the API and return its id."""
        reply = self.post(f"/api/v1/tasks/{task}/trigger", {"payload": payload or {"n": 1}, "options": options})
        assert reply.status == 200, reply.body
        return str(reply.json()["id"])

    def retrieve(self, run_id: str, **kwargs: Any) -> dict[str, Any]:
        reply = self.get(f"/api/v3/runs/{run_id}", **kwargs)
        assert reply.status == 200, reply.body
        result: dict[str, Any] = reply.json()
        return result


@contextmanager
def running(**settings: Any) -> Iterator[Api]:
    """Serve a fresh emulator (in-memory database, two keys, test controls on unless overridden)."""
    settings.setdefault("db", ":memory:")
    settings.setdefault("api_keys", (KEY, OTHER_KEY))
    settings.setdefault("test_controls", True)
    app = create_app(EmulatorConfig(**settings))
    with serve_app(app) as base:
        yield Api(base, app.state.emulator)


def assert_no_none(value: Any, path: str = "$") -> None:
    """Fail if `null` appears anywhere in a JSON value (optional fields must be omitted instead)."""
    assert value is not None, f"null at {path}"
    if isinstance(value, dict):
        for key, item in value.items():
            assert_no_none(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_no_none(item, f"{path}[{index}]")
