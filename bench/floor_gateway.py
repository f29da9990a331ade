"""The floor: the thinnest Python pass-through on capgate's stack, as in reference/perf-baselines.md (uv_aiohttp_raw).

Starlette + uvicorn (uvloop, httptools, one worker, no access log) and one shared aiohttp session; the upstream
body passes through as bytes; no validation, no limiter, no metrics. It is not a product: the bench runs it so
that "capgate ÷ floor" shows what capgate's own features cost on the same machine in the same run.

    python bench/floor_gateway.py --upstream http://127.0.0.1:P --port Q
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PASSED_BACK = ("content-type", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after")


def build(upstream: str, key: str) -> Starlette:
    state: dict[str, Any] = {}
    headers = {"authorization": f"Bearer {key}", "x-trigger-api-version": "2025-07-16"}

    async def forward(method: str, path: str, query: str, body: bytes | None) -> Response:
        session: aiohttp.ClientSession = state["session"]
        url = upstream + path + ("?" + query if query else "")
        async with session.request(method, url, headers=headers, data=body) as answer:
            content = await answer.read()
            passed = {k: answer.headers[k] for k in PASSED_BACK if k in answer.headers}
            return Response(content, status_code=answer.status, headers=passed)

    async def list_runs(request: Request) -> Response:
        return await forward("GET", "/api/v1/runs", request.url.query, None)

    async def cancel(request: Request) -> Response:
        return await forward("POST", f"/api/v2/runs/{request.path_params['run']}/cancel", "", None)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["session"] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=512, keepalive_timeout=60),
            skip_auto_headers=("User-Agent", "Content-Type"),
        )
        yield
        await state["session"].close()

    return Starlette(
        routes=[
            Route("/v1/api/v1/runs", list_runs, methods=["GET"]),
            Route("/v1/api/v2/runs/{run}/cancel", cancel, methods=["POST"]),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", default="tr_dev_bench")
    options = parser.parse_args()
    uvicorn.run(
        build(options.upstream, options.key),
        host="127.0.0.1",
        port=options.port,
        loop="uvloop",
        http="httptools",
        workers=1,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
