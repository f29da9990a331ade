"""Framework-free floors: the thinnest pass-through each HTTP server and upstream client can do, no framework.

Each is an app of a few lines with no routing, no validation and no features: `/v1/<path>` goes to the upstream
as `<path>` with the same query and body through one pooled client, and the answer's bytes come back with its
content type. The bench runs them beside `capgate serve` so that "capgate ÷ floor" shows what capgate's own code
and features cost over the bare stack, and the stack rows show what each server and client pair costs over the
nginx hop (the table of issue 15, reproduced in every run):

    uvicorn + aiohttp         capgate's stack (uvloop, httptools): the floor the REST targets are stated against
    granian-asgi + aiohttp    a Rust server, the same Python client
    granian-rsgi + aiohttp    Granian's own interface (no ASGI messages)
    granian-rsgi + pyreqwest  a Rust server and a Rust client

    python bench/floors.py --server uvicorn --client aiohttp --upstream http://127.0.0.1:P --port Q

Granian and pyreqwest are not capgate's dependencies: the bench installs them in their own venv
(bench/work/stacks-venv, `bench.infra.ensure_stacks`), and skips those rows where that cannot be done.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

UPSTREAM = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:1")
KEY = os.environ.get("BENCH_KEY", "tr_dev_bench")
HEADERS = {"authorization": f"Bearer {KEY}", "x-trigger-api-version": "2025-07-16"}
CLIENT = os.environ.get("BENCH_CLIENT", "aiohttp")
_state: dict[str, Any] = {}


async def forward(method: str, path: str, query: str, body: bytes) -> tuple[int, str, bytes]:
    """The upstream's status, content type and body for `/v1<path>`."""
    url = UPSTREAM + path[3:] + ("?" + query if query else "")
    if CLIENT == "pyreqwest":
        client = _state.get("client")
        if client is None:
            from pyreqwest.client import ClientBuilder

            client = _state["client"] = ClientBuilder().max_connections(512).build()
        builder = client.request(method, url).headers(HEADERS)
        response = await (builder.body_bytes(body) if body else builder).build().send()
        return response.status, response.get_header("content-type") or "", bytes(await response.bytes())
    session = _state.get("session")
    if session is None:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=512, keepalive_timeout=60)
        session = _state["session"] = aiohttp.ClientSession(connector=connector, skip_auto_headers=("User-Agent",))
    async with session.request(method, url, headers=HEADERS, data=body or None) as answer:
        return answer.status, answer.headers.get("content-type", ""), await answer.read()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """ASGI: the whole gateway."""
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    status, content_type, content = await forward(
        scope["method"], scope["path"], scope["query_string"].decode("latin-1"), body
    )
    headers = [(b"content-type", content_type.encode("latin-1")), (b"content-length", str(len(content)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


class Rsgi:
    """RSGI (Granian's own interface): the same gateway without ASGI messages."""

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        body = await protocol()
        status, content_type, content = await forward(scope.method, scope.path, scope.query_string, bytes(body))
        protocol.response_bytes(status, [("content-type", content_type)], content)


rsgi = Rsgi()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", choices=("uvicorn", "granian-asgi", "granian-rsgi"), default="uvicorn")
    parser.add_argument("--client", choices=("aiohttp", "pyreqwest"), default="aiohttp")
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", default="tr_dev_bench")
    options = parser.parse_args()
    os.environ.update(BENCH_UPSTREAM=options.upstream, BENCH_KEY=options.key, BENCH_CLIENT=options.client)
    if options.server == "uvicorn":
        import uvicorn

        uvicorn.run(
            "floors:app",
            app_dir=os.path.dirname(os.path.abspath(__file__)),
            host="127.0.0.1",
            port=options.port,
            loop="uvloop",
            http="httptools",
            access_log=False,
            log_level="warning",
        )
        return
    from granian import Granian

    interface = options.server.removeprefix("granian-")
    Granian(
        f"floors:{'app' if interface == 'asgi' else 'rsgi'}",
        address="127.0.0.1",
        port=options.port,
        interface=interface,
        workers=1,
        loop="uvloop",
        http="1",
        log_access=False,
        working_dir=Path(__file__).resolve().parent,
    ).serve()


if __name__ == "__main__":
    main()
