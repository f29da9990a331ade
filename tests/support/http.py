"""HTTP calls of the tests, made with a real client (aiohttp) against real loopback servers."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson


async def rest_call(
    base: str, method: str, path: str, query: str = "", body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request; its status, headers (lower-case names) and body."""
    url = base + path + ("?" + query if query else "")
    data = None if body is None else orjson.dumps(body)
    labelled = {"content-type": "application/json"} if body is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, data=data, headers=labelled | (headers or {})) as response,
    ):
        return response.status, {k.lower(): v for k, v in response.headers.items()}, await response.read()
