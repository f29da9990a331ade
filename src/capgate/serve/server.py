"""Run every adapter of the documents in one process: start-up, readiness lines, signals, clean shutdown."""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from capgate.core.errors import ConfigurationError
from capgate.document.models import ExposesControl, ExposesMcp, ExposesSkill
from capgate.gateway.apps import ServedApp, catalogue_apps, mcp_apps, over_stdio, rest_apps
from capgate.gateway.assembly import Gateway
from capgate.gateway.reload import Reloader, Swappable
from capgate.gateway.safeguards import Safeguards
from capgate.serve.config import ServeConfig
from capgate.serve.connections import ConnectionGate, ConnectionLimits
from capgate.serve.http_server import HttpServer

if TYPE_CHECKING:  # imported when the MCP adapters are built, after the REST facade answers
    from capgate.exposes.mcp.server import McpAdapter

Announce = Callable[[str], None]


def announce_on_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass
class _Listener:
    served: ServedApp
    sock: socket.socket


async def serve(
    config: ServeConfig,
    announce: Announce = announce_on_stderr,
    stop: asyncio.Event | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    """Load, bind, serve until `stop` is set (by default: SIGINT or SIGTERM), then shut down.

    Start-up, in order: the process-wide safeguards (budget, audit log), the document loaded into a gateway
    that shares them, one socket per HTTP adapter, then the servers: REST first, MCP once its SDK is imported.
    Every user error raises before anything is bound. `ready` is called once every adapter serves and SIGHUP
    reloads the document, after the last ready line.
    """
    safeguards = await Safeguards.start(
        config.hardening, host=config.host, allowed_hosts=config.allowed_hosts, allowed_origins=config.allowed_origins
    )
    try:
        gateway = _load(config, safeguards)
        ports = _ports(gateway, config)
        upstream = config.client_settings.max_connections * len(gateway.clients)
        limits = config.connections.resolved(max(len(ports), 1), upstream)
        sockets = [config.listen(config.host, port, flag) for port, flag in ports]
    except BaseException:
        await safeguards.close()
        raise
    await gateway.open()
    servers = _Servers(config.hardening.shutdown_grace, announce, limits, gateway.started)
    reloader = Reloader(
        gateway,
        servers.swappables,
        grace=config.hardening.shutdown_grace,
        load=lambda: _load(config, safeguards),
        build=lambda new: _http_apps(new, config, safeguards),
    )
    signals = _Signals(reloader, stop, safeguards.reopen_audit)
    try:
        unbound = iter(sockets)
        await servers.start(_on(unbound, _rest_apps(gateway, config, safeguards)))
        # REST answers while the MCP SDK is imported (~0.5 s) in a thread; MCP calls wait in the listen backlog.
        if await _unless_stopped(asyncio.to_thread(lambda: gateway.mcp), signals.stop):
            http, stdio = _mcp_apps(gateway, config, safeguards)
            await servers.start(_on(unbound, http))
            servers.serve_stdio(stdio)
            signals.serving.set()
            if ready is not None:
                ready()
        await servers.run_until(signals.stop)
    finally:
        await servers.close()
        await signals.close()
        for sock in sockets:
            sock.close()
        await reloader.gateway.close()
        await safeguards.close()


SETTLE_AFTER = 1.0  # seconds from the last ready line to the heap's settling (`_settle_heap`)


def run(config: ServeConfig, announce: Announce = announce_on_stderr, ready: Callable[[], None] | None = None) -> None:
    """`serve` on uvloop when it is installed, with the garbage collector tuned for serving soon after it is ready.

    The heap settles `SETTLE_AFTER` seconds after every adapter serves, not at once: its full collection takes
    ~60 ms, and done at once it held the first calls that were waiting in the listen backlog (the first MCP
    answer came 60 ms later, bench/PROFILE.md).
    """

    def serving() -> None:
        asyncio.get_running_loop().call_later(SETTLE_AFTER, _settle_heap)
        if ready is not None:
            ready()

    run_on_uvloop(serve(config, announce, ready=serving))


def _settle_heap() -> None:
    """Keep the start-up heap out of the collector's walks, and collect less often (and at all: the command line
    keeps the collector off while it starts, `capgate.cli.main`).

    The MCP SDK's stateless requests leave reference cycles behind (task groups, cancel scopes, streams), so
    collections are frequent, and each full one walked every object start-up made (~90 MB, most of it the
    imported SDK): frozen, and with a larger first generation, MCP calls cost 11% less CPU at 25 runs and 24%
    less at 100 (2025-11-25 era, c=32, bench/PROFILE.md); peak RSS did not change beyond noise.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    gc.enable()


def run_on_uvloop(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` to completion on uvloop when it is installed, else on asyncio's own loop."""
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main)


class _Signals:
    """Without a `stop` from the caller: SIGINT and SIGTERM set `stop`; SIGHUP loads the document again and
    swaps it in (or keeps the old one, saying why) once every adapter serves — one during start-up waits; and
    SIGUSR1 reopens the audit log (after logrotate renamed it)."""

    def __init__(self, reloader: Reloader, stop: asyncio.Event | None, reopen_audit: Callable[[], None]) -> None:
        self.handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1) if stop is None else ()
        self.stop = stop or asyncio.Event()
        self.serving = asyncio.Event()
        self._reloader = reloader
        self._reloads: set[asyncio.Task[bool]] = set()
        self._loop = asyncio.get_running_loop()
        handlers = {signal.SIGHUP: self._reload_soon, signal.SIGUSR1: reopen_audit}
        for signum in self.handled:
            self._loop.add_signal_handler(signum, handlers.get(signum, self.stop.set))

    def _reload_soon(self) -> None:
        self._reloads.add(asyncio.create_task(self._reload()))

    async def _reload(self) -> bool:
        await self.serving.wait()
        return await self._reloader.reload()

    async def close(self) -> None:
        for signum in self.handled:
            self._loop.remove_signal_handler(signum)
        if not self.serving.is_set():  # reloads waiting for a start that did not happen
            for task in self._reloads:
                task.cancel()
        await asyncio.gather(*self._reloads, return_exceptions=True)


class _Servers:
    """The uvicorn servers (and stdio sessions) of one process: started in steps, stopped together."""

    def __init__(self, grace: float, announce: Announce, limits: ConnectionLimits, started: set[str]) -> None:
        self.swappables: list[Swappable] = []  # what a reload swaps, one per HTTP adapter in socket order
        self._grace = grace
        self._announce = announce
        self._limits = limits
        self._gates: list[ConnectionGate] = []
        self._started = started
        self._servers: list[HttpServer] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self._stdio: list[asyncio.Task[None]] = []

    async def start(self, listeners: list[_Listener]) -> None:
        """Serve each listener's app on its socket; announce them once all answer."""
        started = []
        for listener in listeners:
            swappable = Swappable(listener.served.app)
            gate = ConnectionGate(self._limits)
            server = HttpServer(swappable, gate=gate, grace=self._grace)
            self._gates.append(gate)
            self.swappables.append(swappable)
            self._servers.append(server)
            started.append(server)
            self._tasks.append(asyncio.create_task(server.serve(listener.sock)))
        while not all(server.started for server in started):
            failed = [task for task in self._tasks if task.done()]
            if failed:
                failed[0].result()  # re-raises the cause
                raise ConfigurationError("a server stopped during start-up; see the log above")
            await asyncio.sleep(0.005)
        for listener in listeners:
            host, port = listener.sock.getsockname()[:2]
            shown = f"[{host}]" if ":" in host else host
            served = listener.served
            self._started.update(served.namespaces)
            self._announce(f"capgate: {served.label} ready on http://{shown}:{port}{served.path} ({served.detail})")

    def serve_stdio(self, adapters: list[McpAdapter]) -> None:
        self._stdio = [asyncio.create_task(adapter.run_stdio()) for adapter in adapters]
        self._started.update(adapter.spec.namespace for adapter in adapters)
        self._tasks += self._stdio

    async def run_until(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set or a server ends; raise what made a server fail."""
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait([stopper, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        outcomes = await self.close()
        failures = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, asyncio.CancelledError)]
        if failures:
            raise failures[0]

    async def close(self) -> list[Any]:
        """Let every server drain (up to the grace period), stop reading stdio, and return how each ended."""
        for server in self._servers:
            server.stop()
        for task in self._stdio:  # stdio ends with its input; on a signal, stop reading it
            task.cancel()
        outcomes = await asyncio.gather(*self._tasks, return_exceptions=True)
        for gate in self._gates:
            gate.close()
        return outcomes


async def _unless_stopped(work: Coroutine[Any, Any, Any], stop: asyncio.Event) -> bool:
    """Run `work` unless `stop` is set first; True when it finished (its exception, if any, is raised)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([task, stopper], return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if not task.done():
        return False  # a thread cannot be interrupted: the import finishes in the background, unused
    task.result()
    return True


def _ports(gateway: Gateway, config: ServeConfig) -> list[tuple[int | None, str]]:
    """The port of each HTTP listener, REST facades first, each with the flag that sets it: the port of its
    first adapter, or for the first listener of each kind the flag's."""
    ports: list[tuple[int | None, str]] = []
    rest = gateway.loaded.served_together(gateway.rest, lambda adapter: adapter.spec)
    for index, adapters in enumerate(rest if config.serve_rest else []):
        port = config.adapter_ports.get(adapters[0].spec.namespace, adapters[0].spec.port)
        ports.append((config.rest_port if index == 0 and config.rest_port is not None else port, "--rest-port"))
    exposes = gateway.loaded.document.capability.exposes
    ports += [
        (config.adapter_ports.get(other.namespace, other.port), f"--port {other.namespace}=N")
        for other in exposes
        if isinstance(other, ExposesSkill | ExposesControl)
    ]
    specs = [spec for spec in exposes if isinstance(spec, ExposesMcp)]
    for index, together in enumerate(gateway.loaded.served_together(specs, lambda spec: spec)):
        if not over_stdio(together[0], config.mcp_transport):
            port = config.adapter_ports.get(together[0].namespace, together[0].port)
            ports.append((config.mcp_port if index == 0 and config.mcp_port is not None else port, "--mcp-port"))
    return ports


def _rest_apps(gateway: Gateway, config: ServeConfig, safeguards: Safeguards) -> list[ServedApp]:
    """The apps served before the MCP SDK is imported: the REST facades, the skill and control adapters."""
    return [*(rest_apps(gateway, safeguards) if config.serve_rest else []), *catalogue_apps(gateway, safeguards)]


def _mcp_apps(
    gateway: Gateway, config: ServeConfig, safeguards: Safeguards
) -> tuple[list[ServedApp], list[McpAdapter]]:
    return mcp_apps(gateway, safeguards, transport=config.mcp_transport, text=config.mcp_text, name=config.mcp_name)


def _http_apps(gateway: Gateway, config: ServeConfig, safeguards: Safeguards) -> list[ServedApp]:
    """Every HTTP listener's app, in the order of the sockets they were first served on (a reload keeps them)."""
    served_mcp, _ = _mcp_apps(gateway, config, safeguards)
    return [*_rest_apps(gateway, config, safeguards), *served_mcp]


def _on(sockets: Iterator[socket.socket], served: list[ServedApp]) -> list[_Listener]:
    return [_Listener(app, _next(sockets)) for app in served]


def _next(sockets: Iterator[socket.socket]) -> socket.socket:
    sock = next(sockets, None)
    if sock is None:
        raise ConfigurationError(
            "the document now has more HTTP adapters than when capgate started; restart capgate to change its adapters"
        )
    return sock


def _load(config: ServeConfig, safeguards: Safeguards) -> Gateway:
    """The documents loaded, at start-up or on SIGHUP, sharing the process-wide limiter, observers and audit log."""
    return safeguards.load(
        *config.documents,
        base_uris=config.base_uris,
        environ=config.environ,
        client_settings=config.client_settings,
        serves_http=config.serve_rest or config.mcp_transport != "stdio",
    )
