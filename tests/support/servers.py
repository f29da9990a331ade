"""Run ASGI apps on real loopback sockets for tests, each in a thread with its own event loop."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_listening(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    """Return once something accepts connections on `port` (another process starting up); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listened on {host}:{port} within {timeout} s") from None
            time.sleep(0.01)  # a connection attempt, then a pause: there is no event to wait on across processes


class _ThreadedServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test process owns signals
        pass


@contextmanager
def serve_app(app: Any, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0) -> Iterator[str]:
    """Serve `app` on a loopback socket in a background thread; yield its base URL (no trailing slash).

    Waits on `server.started`, never a sleep, and shuts the server down on exit.
    """
    # IPPROTO_TCP so that asyncio turns Nagle off on accepted connections (capgate.serve.sockets explains).
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", loop="asyncio", timeout_graceful_shutdown=2)
    server = _ThreadedServer(config)
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with asyncio.Runner() as runner:  # cancels what is still pending at the end (tests/support/gateway.py)
                runner.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # surfaced to the test below
            failure.append(exc)
        finally:
            started.set()

    thread = threading.Thread(target=run, name=f"server:{bound_port}", daemon=True)
    thread.start()
    deadline = timeout
    while not server.started and not failure and deadline > 0:
        started.wait(0.01)
        deadline -= 0.01
    if failure or not server.started:
        raise RuntimeError(f"test server did not start: {failure[0] if failure else 'timeout'}")
    try:
        display_host = f"[{host}]" if ":" in host else host
        yield f"http://{display_host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
