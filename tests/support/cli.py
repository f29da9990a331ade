"""Run `capgate` through its real entry point, as a user does."""

from __future__ import annotations

import os
import queue
import re
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from tests.support.gateway import TEST_KEY

CAPGATE = [sys.executable, "-m", "capgate.cli"]
ANY_PORTS = ("--rest-port", "0", "--mcp-port", "0")  # `serve` on ports the kernel picks


def upstream_at(url: str) -> tuple[str, str]:
    """`serve` arguments that send the default document's calls to `url` (a recording upstream)."""
    return "--base-uri", f"management-runs={url}"


def cli_env(**extra: str) -> dict[str, str]:
    """The test process's environment without the user's own secrets or colour settings, the canary key bound."""
    drop = {"TRIGGER_DEV_API_KEY", "NO_COLOR", "COLUMNS", "LINES"}
    environ = {name: value for name, value in os.environ.items() if name not in drop and not name.startswith("OTEL_")}
    return environ | {"TRIGGER_DEV_API_KEY": TEST_KEY, "TERM": "xterm-256color"} | extra


def capgate(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """`capgate ARGS` with its output piped (so not a terminal)."""
    return subprocess.run([*CAPGATE, *args], capture_output=True, text=True, env=env or cli_env(), timeout=timeout)


def ready_url(process: subprocess.Popen[str], adapter: str, timeout: float = 20) -> str:
    """The URL in the `capgate: ADAPTER ready on URL` line of a `capgate serve` started with stderr piped."""
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        assert line, "capgate serve stopped before it was ready"
        found = re.search(rf"{adapter} ready on (\S+)", line)
        if found:
            return found.group(1)
    raise AssertionError(f"no '{adapter} ready' line within {timeout} s")


def capgate_into_a_closed_pipe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`capgate ARGS` writing to a pipe whose reader is gone before it starts, as `capgate ARGS | head -c1` can
    be by the time it writes (closing the reader first: a small output would fit the pipe and hide the fault)."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(
            [*CAPGATE, *args], stdout=writer, stderr=subprocess.PIPE, text=True, env=env or cli_env(), timeout=30
        )
    finally:
        os.close(writer)


class LogLines:
    """The lines a running process writes to a pipe, read by a thread, so a test can wait for one with a bound."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.seen.append(line)
            self._queue.put(line)

    def wait_for(self, fragment: str, timeout: float = 20) -> str:
        """The next line holding `fragment` (lines before it are skipped); fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                raise AssertionError(f"no line with {fragment!r} within {timeout} s") from None
            if fragment in line:
                return line

    def close(self, timeout: float = 15) -> list[str]:
        """Every line, once the stream has ended (the process exited)."""
        self._thread.join(timeout)
        return self.seen


@contextmanager
def serving(
    *args: str, env: dict[str, str], address_space_mib: int | None = None
) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """`capgate serve ARGS` until its two ready lines; yields the process and the stderr lines read so far.

    `address_space_mib` caps the process's memory (RLIMIT_AS), for tests that feed it something hostile."""

    def limit() -> None:
        if address_space_mib is not None:
            cap = address_space_mib * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    process = subprocess.Popen(
        [*CAPGATE, "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | env,
        preexec_fn=limit,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 20
        while sum("ready on" in line for line in lines) < 2 and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
        assert sum("ready on" in line for line in lines) == 2, lines
        yield process, lines
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
