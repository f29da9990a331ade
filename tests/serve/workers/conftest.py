"""Helpers of the workers tests: `capgate serve --workers N` in front of the emulator, and what /proc says of it."""

from __future__ import annotations

import http.client
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.cli import CAPGATE, cli_env
from tests.support.emulator import Emulator, emulator_config
from tests.support.servers import serve_app
from trigger_emulator.app import create_app

READY = "workers share these ports"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with serve_app(create_app(emulator_config())) as url:
        yield Emulator(url)


@dataclass
class Stderr:
    """A process's stderr, read line by line in a thread (a pipe nobody drains could block the process)."""

    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def follow(self, stream: Iterator[str]) -> None:
        for line in stream:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()

    def count(self, text: str) -> int:
        with self.changed:
            return sum(text in line for line in self.lines)

    def wait_for(self, text: str, times: int = 1, timeout: float = 30) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: sum(text in line for line in self.lines) >= times, timeout), "".join(
                self.lines
            )

    @property
    def text(self) -> str:
        with self.changed:
            return "".join(self.lines)


@dataclass
class Supervised:
    process: subprocess.Popen[str]
    stderr: Stderr
    rest_port: int

    def workers(self) -> set[int]:
        return children(self.process.pid)


@contextmanager
def supervised(emulator: Emulator, *args: str, workers: int = 2, **environ: str) -> Iterator[Supervised]:
    """`capgate serve --workers N ARGS` on free ports, once every worker is ready; killed if still running."""
    process = subprocess.Popen(
        [
            *CAPGATE,
            "serve",
            "--workers",
            str(workers),
            "--rest-port",
            "0",
            "--mcp-port",
            "0",
            "--base-uri",
            f"management-runs={emulator.url}",
            "--log-format",
            "text",
            "--no-access-log",
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(**environ),
    )
    assert process.stderr is not None
    stderr = Stderr()
    reader = threading.Thread(target=stderr.follow, args=(process.stderr,), daemon=True)
    reader.start()
    try:
        stderr.wait_for(READY)
        port = int(stderr.text.split("REST facade ready on http://127.0.0.1:")[1].split(" ")[0])
        yield Supervised(process, stderr, port)
    finally:
        if process.poll() is None:
            process.kill()  # its workers get SIGTERM from the kernel (PR_SET_PDEATHSIG)
        process.wait(10)
        reader.join(10)


def children(pid: int) -> set[int]:
    """The live processes whose parent is `pid`."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry))
    return found


def until(check: Callable[[], bool], timeout: float = 15) -> None:
    """Poll another process's state until `check` holds (there is no event to wait on across processes)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)  # between polls, within the deadline above


def connection_owners(pids: set[int], server_port: int, client_ports: set[int]) -> dict[int, int]:
    """How many of the connections from `client_ports` to `server_port` each process holds the server end of."""
    inodes = {}
    for pid in pids:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes[target[8:-1]] = pid
    owners = dict.fromkeys(pids, 0)
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16), fields[9]
        if local == server_port and remote in client_ports and inode in inodes:
            owners[inodes[inode]] += 1
    return owners


def accepted_by(pids: set[int], server_port: int, client_port: int) -> int:
    """The process of `pids` that accepts the connection from `client_port`, once one has."""
    owners: dict[int, int] = {}

    def accepted() -> bool:
        owners.update(connection_owners(pids, server_port, {client_port}))
        return any(owners.values())

    until(accepted)
    return max(owners, key=owners.__getitem__)


def on_fresh_connections(
    gateway: Supervised, count: int, call: Callable[[http.client.HTTPConnection, int], int], stack: ExitStack
) -> tuple[list[int], dict[int, int]]:
    """`call(connection, index)` on `count` connections opened at once, so that the kernel hands them to every
    worker, kept open until `stack` closes: the statuses, and how many of the connections each worker holds."""
    workers = gateway.workers()
    opened = [http.client.HTTPConnection("127.0.0.1", gateway.rest_port, timeout=10) for _ in range(count)]
    for connection in opened:
        connection.connect()
        stack.callback(connection.close)
    with ThreadPoolExecutor(count) as pool:
        statuses = list(pool.map(call, opened, range(count)))
    client_ports = {connection.sock.getsockname()[1] for connection in opened}
    return statuses, connection_owners(workers, gateway.rest_port, client_ports)


def connection_to_each(gateway: Supervised, stack: ExitStack) -> dict[int, http.client.HTTPConnection]:
    """A connection to each worker, by pid: new ones are opened until the kernel has handed one to every worker."""
    workers = gateway.workers()
    held: dict[int, http.client.HTTPConnection] = {}
    for _ in range(64):
        connection = http.client.HTTPConnection("127.0.0.1", gateway.rest_port, timeout=10)
        connection.connect()
        stack.callback(connection.close)
        held.setdefault(accepted_by(workers, gateway.rest_port, connection.sock.getsockname()[1]), connection)
        if held.keys() == workers:
            return held
    raise AssertionError(f"64 connections, and some of the workers {workers} got none: {set(held)}")
