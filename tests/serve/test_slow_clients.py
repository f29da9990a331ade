"""Slow clients cannot take the gateway down: 1100 connections from one address that each send part of a request
and wait, against `capgate serve` under `ulimit -n 1024`, leave both ports answering a fresh connection from the
same address within 15 s. The caps keep the descriptors from running out; the header timeout closes the idle.
"""

from __future__ import annotations

import http.client
import resource
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from tests.support.cli import CAPGATE, cli_env, ready_url
from tests.support.upstream import RecordingUpstream

FILE_LIMIT = 1024
SLOW_CONNECTIONS = 1100
WITHIN = 15.0  # seconds from the last slow connection to a 200 on both ports
PARTIAL_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # no blank line: the headers never end
RESET, HUNG = 0, -1  # what `_request` answers when no status came
TOOLS_LIST = b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}'


@dataclass
class Gateway:
    process: subprocess.Popen[str]
    rest: str
    mcp: str
    stderr: list[str] = field(default_factory=list)


def test_1100_slow_connections_from_one_address_leave_both_ports_serving(upstream: RecordingUpstream) -> None:
    _allow_this_process(SLOW_CONNECTIONS + 200)
    with _gateway_limited_to(FILE_LIMIT, upstream.url) as gateway, _held(gateway, SLOW_CONNECTIONS) as slow:
        held_since = time.monotonic()
        rss = _rss_kib(gateway.process.pid)
        rest, mcp = _first_200s(
            lambda: _get(gateway.rest + "/healthz"), lambda: _post_mcp(gateway.mcp), since=held_since
        )
        answers = [_answer(sock) for sock in slow]
        assert gateway.process.poll() is None
    refused, timed_out = answers.count(503), answers.count(408)
    print(
        f"\n{SLOW_CONNECTIONS} slow connections under ulimit -n {FILE_LIMIT}: {refused} answered 503 at once, "
        f"{timed_out} held until the header timeout, then answered 408; gateway RSS {rss // 1024} MiB while "
        f"holding them; a fresh connection's first 200: REST after {rest.seconds:.1f} s, MCP after {mcp.seconds:.1f} s "
        f"(answers before it: REST {dict(Counter(rest.before))}, MCP {dict(Counter(mcp.before))})"
    )
    assert rest.seconds < WITHIN and mcp.seconds < WITHIN
    # Refused meanwhile, each was answered at once: 503, or (when too many were refused at once) a reset. None hung.
    assert set(rest.before + mcp.before) <= {503, RESET}
    assert refused > 0 and timed_out > 0  # the cap answered some at once; the others were held, then timed out
    log = "".join(gateway.stderr)
    assert "Traceback" not in log and "Too many open files" not in log, log[-3000:]


@dataclass
class FirstSuccess:
    seconds: float
    before: list[int]  # the statuses answered before the first 200 (0: no answer)


def _first_200s(*calls: Callable[[], int], since: float) -> list[FirstSuccess]:
    """Each call tried on a fresh connection every tenth of a second until it answers 200 (or for WITHIN + 5 s)."""
    found: list[FirstSuccess | None] = [None] * len(calls)
    before: list[list[int]] = [[] for _ in calls]
    while None in found and time.monotonic() - since < WITHIN + 5:
        for index, call in enumerate(calls):
            if found[index] is None:
                status = call()
                if status == 200:
                    found[index] = FirstSuccess(time.monotonic() - since, before[index])
                else:
                    before[index].append(status)
        time.sleep(0.1)  # no event says when the cap has room: a fresh attempt each tenth of a second
    return [success or FirstSuccess(float("inf"), before[index]) for index, success in enumerate(found)]


def _get(url: str) -> int:
    return _request(url, "GET", None, {})


def _post_mcp(url: str) -> int:
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2025-11-25",
    }
    return _request(url, "POST", TOOLS_LIST, headers)


def _request(url: str, method: str, body: bytes | None, headers: dict[str, str]) -> int:
    """The status of one request on a fresh connection; RESET if the connection was reset, HUNG if no answer
    came within 2 s."""
    host, _, rest = url.removeprefix("http://").partition("/")
    name, port = host.rsplit(":", 1)
    connection = http.client.HTTPConnection(name, int(port), timeout=2)
    try:
        connection.request(method, "/" + rest, body, headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except TimeoutError:
        return HUNG
    except OSError:
        return RESET
    finally:
        connection.close()


@contextmanager
def _held(gateway: Gateway, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections from 127.0.0.1, alternately to each port, each with half a request sent."""
    ports = [int(url.removeprefix("http://").split("/")[0].rsplit(":", 1)[1]) for url in (gateway.rest, gateway.mcp)]
    held: list[socket.socket] = []
    try:
        for index in range(count):
            sock = socket.create_connection(("127.0.0.1", ports[index % 2]), timeout=5)
            sock.sendall(PARTIAL_REQUEST)
            held.append(sock)
        yield held
    finally:
        for sock in held:
            sock.close()


def _answer(sock: socket.socket) -> int:
    """The status the gateway answered on `sock`, if it has; 0 if not (or if it reset the connection)."""
    sock.setblocking(False)  # what has come already, without waiting
    try:
        head = sock.recv(64, socket.MSG_PEEK)
    except OSError:
        return 0
    return int(head.split()[1]) if head.startswith(b"HTTP/1.1 ") else 0


@contextmanager
def _gateway_limited_to(files: int, upstream_url: str) -> Iterator[Gateway]:
    """`capgate serve` with defaults, in a process that may open `files` files; its stderr read as it comes."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

    command = [*CAPGATE, "serve", "--rest-port", "0", "--mcp-port", "0", "--no-audit-log", "--log-format", "text"]
    process = subprocess.Popen(
        [*command, "--base-uri", f"management-runs={upstream_url}"],
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        preexec_fn=limit,
    )
    try:
        rest = ready_url(process, "REST facade")
        mcp = ready_url(process, "MCP server")
        gateway = Gateway(process, rest, mcp)
        assert process.stderr is not None
        reader = threading.Thread(target=lambda: gateway.stderr.extend(process.stderr), daemon=True)  # type: ignore[arg-type]
        reader.start()
        yield gateway
    finally:
        process.terminate()
        process.wait(20)


def _allow_this_process(files: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= files:
        return
    if hard != resource.RLIM_INFINITY and hard < files:
        pytest.skip(f"this test holds {files} sockets; the file limit allows {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (files, hard))


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
