"""`capgate serve --workers N`: N processes serving the same ports, started and watched by a supervisor.

The supervisor is the process the user started. It checks the document, imports what a worker needs, then
forks the workers, which therefore start in a fraction of a second and share that memory copy-on-write (it
runs no thread and no event loop, so forking it is safe). Each worker runs the ordinary `serve` on sockets of
its own bound with SO_REUSEPORT, and the kernel spreads new connections between them.

The first worker starts alone: a user error (a missing secret, a taken port, a budget too small to divide)
is printed once, by that worker, exactly as `capgate serve` prints it, and nothing else starts; and a port
0 becomes the port every other worker binds. The supervisor then holds each port with a socket that does
not listen, which is handed no connections, so that a restarted worker finds its port free.

Workers report over a pipe: the ports they found, their ready lines, that they are ready. The supervisor
prints the ready lines once every worker is ready; forwards SIGTERM and SIGINT (each worker drains, then
exits; the supervisor exits 0 when all have), SIGHUP (each worker reloads the document) and SIGUSR1 (each
worker reopens the audit log); and starts a new worker when one dies, unless workers keep dying right after
they start.

Their metrics meet in the directory of capgate.serve.metrics_directory, which the supervisor names before it imports
prometheus_client (and this module): each worker keeps its values in files there, and /metrics sums them.
When a worker dies, the supervisor drops its gauges (in flight, circuit state) and keeps its counts.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from prometheus_client.multiprocess import mark_process_dead

from capgate.core.errors import ConfigurationError
from capgate.core.secret_key import SecretKey
from capgate.document.combined import load_documents
from capgate.document.models import ExposesMcp
from capgate.serve.config import ServeConfig
from capgate.serve.server import Announce, announce_on_stderr
from capgate.serve.sockets import bind, free_port, listen

logger = logging.getLogger("capgate.workers")

STEADY = 5.0  # seconds; a worker that dies sooner after its start is dying "right after it starts"
QUICK_DEATHS = 3  # that many in a row and the supervisor stops everything instead of starting another
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGCHLD)
_PR_SET_PDEATHSIG = 1  # prctl(2)


@dataclass
class Worker:
    """What one worker process serves: `run(worker.config, worker.announce, worker.ready)`."""

    config: ServeConfig
    announce: Announce
    ready: Callable[[], None]


def start_workers(config: ServeConfig, count: int) -> Worker | int:
    """Fork `count` workers serving `config` and supervise them. Like `os.fork`, this returns in every process.

    In each worker it returns the `Worker` to run; in the supervisor, once every worker has stopped, the exit
    code. ConfigurationError, before anything starts, when `config` cannot be served by several processes.
    Call it inside `capgate.serve.metrics_directory.metrics_directory()`.
    """
    _check(config, count)
    return _Supervisor(_share_mcp_state(_divide_budget(config, count)), count).run()


def _check(config: ServeConfig, count: int) -> None:
    if count < 1:
        raise ConfigurationError(f"--workers {count}: must be 1 or more")
    if not sys.platform.startswith("linux") or not hasattr(socket, "SO_REUSEPORT"):
        raise ConfigurationError(
            "--workers needs Linux, whose SO_REUSEPORT spreads the connections of one port "
            "between processes; here, run one capgate per core behind a load balancer "
            "(docs/deploying.md)"
        )
    document = load_documents(config.documents).document  # a broken document stops here, before any worker
    mcp = [adapter for adapter in document.capability.exposes if isinstance(adapter, ExposesMcp)]
    if any((config.mcp_transport or adapter.transport) == "stdio" for adapter in mcp):
        raise ConfigurationError(
            "--workers cannot serve MCP over stdio: several processes cannot share one "
            "stdin; serve MCP over HTTP (--mcp-transport http) or run one process"
        )
    if mcp:  # imported once here and shared, instead of by each worker after the fork
        import capgate.exposes.mcp.server  # noqa: F401


def _divide_budget(config: ServeConfig, count: int) -> ServeConfig:
    """Without Redis, each worker spends 1/count of each upstream budget, so that together they keep within it."""
    resilience = config.hardening.resilience
    if resilience.redis_url:
        return config
    return replace(config, hardening=replace(config.hardening, resilience=replace(resilience, budget_parts=count)))


def _share_mcp_state(config: ServeConfig) -> ServeConfig:
    """One key seals MCP request state in every worker, so a consent answer that reaches another worker than
    its question verifies; and no 2025-11-25 sessions, whose next request might reach another worker."""
    hardening = config.hardening
    key = hardening.request_state_key or SecretKey.generate()  # before the fork: every worker inherits it
    return replace(config, hardening=replace(hardening, request_state_key=key, mcp_sessions=False))


class _Channel:
    """A worker's end of its pipe: one JSON line per message, each written at once (shorter than PIPE_BUF)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def send(self, kind: str, value: Any = None) -> None:
        os.write(self._fd, orjson.dumps([kind, value]) + b"\n")


@dataclass
class _SharedPorts:
    """A worker's `listen`: each adapter on the port the first worker found for it, shared with SO_REUSEPORT."""

    found: list[int]
    channel: _Channel
    opened: int = 0

    def __call__(self, host: str, port: int | None, flag: str) -> socket.socket:
        known = self.opened < len(self.found)
        port = self.found[self.opened] if known else free_port(host, port, flag)
        sock = listen(host, port, flag, reuse_port=True)
        if not known:
            self.channel.send("port", [host, port, flag])
        self.opened += 1
        return sock


@dataclass
class _Slot:
    """One worker's place, and the process in it now."""

    number: int  # 1..N, as messages name workers
    pid: int = 0  # 0: no process
    pipe: int = -1  # the read end of its pipe; -1 once closed
    pending: bytes = b""  # a message not read whole yet
    lines: list[str] = field(default_factory=list)
    started: float = 0.0  # time.monotonic()
    ready: bool = False


class _Supervisor:
    """Starts the workers, relays what they say and the signals it gets, and replaces those that die."""

    def __init__(self, config: ServeConfig, count: int) -> None:
        self.config = config
        self.slots = [_Slot(number) for number in range(1, count + 1)]
        self.ports: list[int] = []  # found by the first worker, in the order `serve` opens them
        self.holders: list[socket.socket] = []
        self.selector = selectors.DefaultSelector()
        self.woken, self.wakeup = os.pipe()  # signal numbers, written by Python's C-level signal handler
        self.handlers: dict[int, Any] = {}  # the handlers before ours, restored in each worker
        self.ports_found = False  # the first worker was ready once: the others may start on its ports
        self.serving = False  # every worker was ready once and the ready lines are out
        self.stopping: int | None = None  # the signal that stops the workers
        self.exit_code = 0
        self.quick_deaths = 0

    def run(self) -> Worker | int:
        """Supervise until every worker has stopped. No `finally` here: a worker returns through this frame."""
        self._catch_signals()
        gc.enable()  # the supervisor's start-up is over (the command line kept the collector off while it ran)
        while True:
            for slot in self._due():
                worker = self._fork(slot)
                if worker is not None:
                    return worker
            if self.stopping is not None and not any(slot.pid for slot in self.slots):
                break
            self._wait()
        self._release()
        return self.exit_code

    def _catch_signals(self) -> None:
        os.set_blocking(self.wakeup, False)
        signal.set_wakeup_fd(self.wakeup, warn_on_full_buffer=False)
        for signum in _SIGNALS:  # a Python handler, so that the signal reaches the wakeup pipe; it does nothing
            self.handlers[signum] = signal.signal(signum, lambda signum, frame: None)
        self.selector.register(self.woken, selectors.EVENT_READ)

    def _due(self) -> list[_Slot]:
        """The slots to start a worker in now: the first alone, the others once it is ready (its ports known)."""
        if self.stopping is not None:
            return []
        return [slot for slot in self.slots if not slot.pid and (self.ports_found or slot.number == 1)]

    def _fork(self, slot: _Slot) -> Worker | None:
        supervisor = os.getpid()
        reader, writer = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        gc.freeze()  # a worker's collections then leave the supervisor's objects, and their pages, untouched
        pid = os.fork()
        if pid == 0:
            os.close(reader)
            self._release()
            _die_with(supervisor)
            channel = _Channel(writer)
            return Worker(
                replace(self.config, listen=_SharedPorts(list(self.ports), channel)),
                announce=lambda line: channel.send("line", line),
                ready=lambda: channel.send("ready"),
            )
        os.close(writer)
        slot.pid, slot.pipe, slot.pending, slot.lines, slot.started, slot.ready = (
            pid,
            reader,
            b"",
            [],
            time.monotonic(),
            False,
        )
        self.selector.register(reader, selectors.EVENT_READ, slot)
        return None

    def _release(self) -> None:
        """Give back what supervising holds: signals, pipes, ports. A worker does it first thing, too."""
        signal.set_wakeup_fd(-1)
        for signum, handler in self.handlers.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self.selector.close()  # closing, not unregistering: after a fork the epoll set is the supervisor's too
        for fd in [self.woken, self.wakeup, *(slot.pipe for slot in self.slots if slot.pipe >= 0)]:
            os.close(fd)
        for holder in self.holders:
            holder.close()

    def _wait(self) -> None:
        for key, _ in self.selector.select():
            if key.data is None:
                self._on_signals(os.read(self.woken, 512))
            else:
                self._read(key.data)
        self._reap()

    def _read(self, slot: _Slot) -> None:
        data = os.read(slot.pipe, 65536)
        if not data:  # the worker has exited (or closed its end)
            self.selector.unregister(slot.pipe)
            os.close(slot.pipe)
            slot.pipe = -1
            return
        *messages, slot.pending = (slot.pending + data).split(b"\n")
        for message in messages:
            kind, value = orjson.loads(message)
            self._on_message(slot, kind, value)

    def _on_message(self, slot: _Slot, kind: str, value: Any) -> None:
        if kind == "port":
            host, port, flag = value
            self.holders.append(bind(host, port, flag, reuse_port=True))
            self.ports.append(port)
        elif kind == "line":
            slot.lines.append(value)
        elif kind == "ready":
            slot.ready = True
            self.ports_found = True
            if self.serving:
                logger.warning("worker %d is serving again (pid %d)", slot.number, slot.pid)
            elif all(other.ready for other in self.slots):
                self.serving = True
                for line in self.slots[0].lines:
                    announce_on_stderr(line)
                pids = ", ".join(str(other.pid) for other in self.slots)
                announce_on_stderr(f"capgate: {len(self.slots)} workers share these ports (pids {pids})")

    def _on_signals(self, numbers: bytes) -> None:
        for signum in numbers:
            if signum in (signal.SIGHUP, signal.SIGUSR1):
                # A worker still starting reads the document and opens the audit log as they are now anyway.
                self._send(signum, [slot for slot in self.slots if slot.ready])
            elif signum in (signal.SIGINT, signal.SIGTERM):
                if self.stopping is None:
                    self.stopping = signum
                self._send(signum, self.slots)

    def _send(self, signum: int, slots: list[_Slot]) -> None:
        for slot in slots:
            if slot.pid:
                os.kill(slot.pid, signum)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if not pid:
                return
            slot = next((slot for slot in self.slots if slot.pid == pid), None)
            if slot is None:
                continue
            while slot.pipe >= 0:  # what it said before it died, up to the end of its pipe
                self._read(slot)
            slot.pid = 0
            # Drop its gauges (requests in flight, circuit states); its counts stay in the totals.
            mark_process_dead(pid)  # type: ignore[no-untyped-call]
            self._on_exit(slot, pid, os.waitstatus_to_exitcode(status))

    def _on_exit(self, slot: _Slot, pid: int, code: int) -> None:
        """A worker has exited (`code` < 0: killed by signal -code): carry on stopping, give up, or replace it."""
        how = f"exited with status {code}" if code >= 0 else f"was killed by {signal.Signals(-code).name}"
        if self.stopping is not None:
            if code not in (0, -self.stopping, 128 + self.stopping):
                logger.error("worker %d (pid %d) %s while stopping", slot.number, pid, how)
                self.exit_code = self.exit_code or 1
            return
        if not self.serving:  # during start-up: a worker that exited has said why on stderr, as serve does
            if code < 0:
                logger.error("worker %d (pid %d) %s during start-up", slot.number, pid, how)
            self._stop(128 - code if code < 0 else code or 1)
            return
        quick = not slot.ready or time.monotonic() - slot.started < STEADY
        self.quick_deaths = self.quick_deaths + 1 if quick else 0
        if self.quick_deaths >= QUICK_DEATHS:
            logger.error(
                "worker %d (pid %d) %s; workers keep dying right after they start (%d times in a row), so "
                "capgate stops",
                slot.number,
                pid,
                how,
                self.quick_deaths,
            )
            self._stop(1)
        else:
            logger.error("worker %d (pid %d) %s; starting a new one", slot.number, pid, how)

    def _stop(self, exit_code: int) -> None:
        self.stopping, self.exit_code = signal.SIGTERM, exit_code
        self._send(signal.SIGTERM, self.slots)


def _die_with(supervisor: int) -> None:
    """Have the kernel send this worker SIGTERM when the supervisor dies, even by SIGKILL: no orphan serves on."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
    if os.getppid() != supervisor:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)
