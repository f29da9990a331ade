"""Run every adapter of a document in one process: start-up, readiness lines, signals, clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from capgate.consumes.client import DEFAULT_CLIENT_SETTINGS, ClientSettings
from capgate.errors import ConfigurationError
from capgate.exposes.extras import instrument, rest_facade
from capgate.exposes.mcp import MCP_PATH
from capgate.exposes.rest import build_rest_app
from capgate.gateway import Gateway, load_gateway
from capgate.listen import listen
from capgate.metrics import record_call
from capgate.reload import Reloader, Swappable
from capgate.safeguards import Hardening, Safeguards
from capgate.spec import DEFAULT_DOCUMENT

Announce = Callable[[str], None]


@dataclass
class ServeConfig:
    """What `capgate serve` was asked for; nothing is loaded or bound until `serve` runs."""

    document: str = DEFAULT_DOCUMENT
    host: str = "127.0.0.1"
    rest_port: int | None = None  # None: the document's port
    mcp_port: int | None = None
    base_uris: dict[str, str] = field(default_factory=dict)
    allowed_hosts: list[str] = field(default_factory=list)
    allowed_origins: list[str] = field(default_factory=list)
    client_settings: ClientSettings = DEFAULT_CLIENT_SETTINGS
    environ: Mapping[str, str] | None = None  # None: the process environment
    mcp_transport: str | None = None  # "http" or "stdio" overrides the document's MCP transport
    hardening: Hardening = field(default_factory=Hardening)  # timeouts, retries, limits, tokens, audit log
    serve_rest: bool = True  # False: no REST facade (an MCP client launching capgate over stdio needs none)


def announce_on_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class ManagedServer(uvicorn.Server):
    """A uvicorn server whose signals capgate handles, once for every server of the process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class _Listener:
    label: str
    app: Any
    sock: socket.socket
    suffix: str = ""
    detail: str = ""


async def serve(config: ServeConfig, announce: Announce = announce_on_stderr,
                stop: asyncio.Event | None = None) -> None:
    """Load, bind, serve until `stop` is set (by default: SIGINT or SIGTERM), then shut down.

    Every user error raises before anything is bound.
    """
    safeguards = await Safeguards.start(config.hardening)
    try:
        gateway = _load(config, safeguards)
        gateway.observers.add(record_call)  # the observers are shared: a reload keeps them
        listeners, stdio = _listeners(gateway, config, safeguards)
    except BaseException:
        await safeguards.close()
        raise
    await gateway.open()
    swappables = [Swappable(listener.app) for listener in listeners]
    reloader = Reloader(gateway, swappables, grace=config.hardening.shutdown_grace, load=lambda: _load(
        config, safeguards), build=lambda new: [listener.app for listener in _listeners(
            new, config, safeguards, [listener.sock for listener in listeners])[0]])
    grace: Any = config.hardening.shutdown_grace  # uvicorn types it int, but waits any float (asyncio.wait_for)
    # log_config=None: uvicorn's records go to capgate's redacting handler (capgate.logs), not its own.
    servers = [ManagedServer(uvicorn.Config(swappable, lifespan="on", log_level="warning", access_log=False,
                                            log_config=None, timeout_graceful_shutdown=grace))
               for swappable in swappables]
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM) if stop is None else ()
    stop = stop or asyncio.Event()
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    reloads: set[asyncio.Task[bool]] = set()
    if signals:  # SIGHUP: load the document again and swap it in, or keep the old one and log why
        loop.add_signal_handler(signal.SIGHUP, lambda: reloads.add(asyncio.create_task(reloader.reload())))
    try:
        server_tasks = [asyncio.create_task(server.serve(sockets=[listener.sock]))
                        for server, listener in zip(servers, listeners, strict=True)]
        stdio_tasks = [asyncio.create_task(adapter.run_stdio()) for adapter in stdio]
        everything = server_tasks + stdio_tasks
        await _announce_when_started(servers, listeners, everything, announce)
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait([stopper, *everything], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        for server in servers:
            server.should_exit = True
        for task in stdio_tasks:  # stdio ends with its input; on a signal, stop reading it
            task.cancel()
        outcomes = await asyncio.gather(*everything, return_exceptions=True)
        failures = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, asyncio.CancelledError)]
        if failures:
            raise failures[0]
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        if signals:
            loop.remove_signal_handler(signal.SIGHUP)
        await asyncio.gather(*reloads, return_exceptions=True)
        for listener in listeners:
            listener.sock.close()
        await reloader.gateway.close()
        await safeguards.close()


def run(config: ServeConfig, announce: Announce = announce_on_stderr) -> None:
    """`serve` on uvloop when it is installed."""
    run_on_uvloop(serve(config, announce))


def run_on_uvloop(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` to completion on uvloop when it is installed, else on asyncio's own loop."""
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main)


async def _announce_when_started(servers: list[ManagedServer], listeners: list[_Listener],
                                 tasks: list[asyncio.Task[Any]], announce: Announce) -> None:
    while not all(server.started for server in servers):
        failed = [task for task in tasks if task.done()]
        if failed:
            for server in servers:
                server.should_exit = True
            failed[0].result()  # re-raises the cause
            raise ConfigurationError("a server stopped during start-up; see the log above")
        await asyncio.sleep(0.005)
    for listener in listeners:
        host, port = listener.sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        announce(f"capgate: {listener.label} ready on http://{shown}:{port}{listener.suffix} ({listener.detail})")


def _listeners(gateway: Gateway, config: ServeConfig, safeguards: Safeguards,
               sockets: list[socket.socket] | None = None) -> tuple[list[_Listener], list[Any]]:
    """The HTTP adapters' apps, each on a new socket, or on `sockets` in order (a reload keeps its sockets)."""
    limits = config.hardening
    listeners: list[_Listener] = []
    stdio = []
    reused = iter(sockets or [])

    def bind(port: int | None, flag: str) -> socket.socket:
        if sockets is None:
            return listen(config.host, port, flag)
        sock = next(reused, None)
        if sock is None:
            raise ConfigurationError("the document now has more HTTP adapters than when capgate started; restart "
                                     "capgate to change its adapters")
        return sock

    for index, rest in enumerate(gateway.rest if config.serve_rest else []):
        port = config.rest_port if index == 0 and config.rest_port is not None else rest.spec.port
        routes = len({(op.path, op.method) for op in rest.operations})
        sock = bind(port, "--rest-port")
        app = rest_facade(gateway, rest, build_rest_app(rest.operations, max_body_bytes=limits.max_body_bytes))
        app = safeguards.guard_rest(app, host=config.host, allowed_hosts=config.allowed_hosts,
                                    allowed_origins=config.allowed_origins)
        listeners.append(_Listener("REST facade", app, sock, detail=f"{rest.spec.namespace}, {routes} routes"))
    for index, adapter in enumerate(gateway.mcp):
        if (config.mcp_transport or adapter.spec.transport) == "stdio":
            stdio.append(adapter)
            continue
        port = config.mcp_port if index == 0 and config.mcp_port is not None else adapter.spec.port
        app = instrument(adapter.asgi_app(host=config.host, allowed_hosts=config.allowed_hosts,
                                          allowed_origins=config.allowed_origins,
                                          max_body_bytes=limits.max_body_bytes), "mcp")
        app = safeguards.guard_mcp(app, adapter)
        listeners.append(_Listener("MCP server", app, bind(port, "--mcp-port"), MCP_PATH,
                                   f"{adapter.spec.namespace}, {len(adapter.targets)} tools"))
    return listeners, stdio


def _load(config: ServeConfig, safeguards: Safeguards) -> Gateway:
    """The document loaded, at start-up or on SIGHUP, sharing the process-wide limiter, observers and audit log."""
    gateway = load_gateway(config.document, base_uris=config.base_uris, environ=config.environ,
                           client_settings=config.client_settings, **safeguards.load_options())
    safeguards.admit(gateway, host=config.host, environ=config.environ,
                     serves_http=config.serve_rest or config.mcp_transport != "stdio")
    return gateway
