"""The serving layer's own connection defences (capgate.serve.connections), on asyncio's event loop and on
uvloop's: caps per port and per client address, the header timeout, the head bound, a gentle close after an
answer sent before the body was read, the body timeout and a client that leaves mid-body.
"""

from __future__ import annotations

import http.client
import logging
import resource
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import pytest
import uvloop

from capgate.gateway.safeguards import Hardening
from capgate.serve.connections import ConnectionLimits
from tests.support.cli import CAPGATE, cli_env
from tests.support.gateway import RUN, gateway_config, running_gateway
from tests.support.upstream import RecordingUpstream, recording_upstream

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
PER_PORT, PER_CLIENT = 8, 4
RESCHEDULE = f"/v1/api/v1/runs/{RUN}/reschedule"
MCP_HEADERS = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
TOOLS_LIST = b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}'


@dataclass
class Served:
    upstream: RecordingUpstream
    rest: tuple[str, int]
    mcp: tuple[str, int]

    def address(self, adapter: str) -> tuple[str, int]:
        return self.rest if adapter == "rest" else self.mcp


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    hardening = Hardening(audit_log=None, body_timeout=BODY_TIMEOUT)
    limits = ConnectionLimits(max_connections=PER_PORT, max_per_client=PER_CLIENT, header_timeout=HEADER_TIMEOUT)
    with recording_upstream() as upstream:
        config = gateway_config("trigger-dev-runs", upstream.url, hardening=hardening, connections=limits)
        loop_factory = uvloop.new_event_loop if request.param == "uvloop" else None
        with running_gateway(config, loop_factory=loop_factory) as gateway:
            yield Served(upstream, _host_port(gateway.rest), _host_port(gateway.mcp))


@pytest.fixture
def fresh(served: Served) -> Served:
    served.upstream.requests.clear()
    served.upstream.replies.clear()
    _wait_until_served(served, "rest")  # the connections of the test before are gone
    _wait_until_served(served, "mcp")
    return served


def test_a_request_whose_headers_never_end_gets_408_then_the_connection_closes(fresh: Served) -> None:
    with socket.create_connection(fresh.rest, timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        answer = _read_to_the_end(sock)
    assert answer.startswith(b"HTTP/1.1 408 ") and b"connection: close" in answer
    assert b"did not arrive within 1 seconds" in answer
    assert time.monotonic() - started >= HEADER_TIMEOUT * 0.9  # closed by the timeout, not at once


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(fresh: Served) -> None:
    with socket.create_connection(fresh.mcp, timeout=10) as sock:
        assert _read_to_the_end(sock) == b""


def test_the_header_timeout_runs_between_requests_only(fresh: Served) -> None:
    """A keep-alive connection carries requests whose answers take longer than the header timeout, and bodies."""
    fresh.upstream.reply(200, {"id": RUN}, delay=HEADER_TIMEOUT * 1.5)
    connection = http.client.HTTPConnection(*fresh.rest, timeout=10)
    try:
        statuses = []
        for method, path, body in [
            ("GET", f"/v1/api/v3/runs/{RUN}", None),  # slower than the header timeout
            ("POST", f"/v1/api/v1/runs/{RUN}/tags", b'{"tags": ["a"]}'),
            ("GET", "/healthz", None),
        ]:
            connection.request(method, path, body, {"content-type": "application/json"})
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
        connection.request("POST", f"/v1/api/v1/runs/{RUN}/tags", iter([b'{"tags": ', b'["b"]}']), encode_chunked=True)
        chunked = connection.getresponse()
        chunked.read()
    finally:
        connection.close()
    assert statuses == [200, 200, 200] and chunked.status == 200
    assert [request.json() for request in fresh.upstream.requests[1:]] == [{"tags": ["a"]}, {"tags": ["b"]}]


def test_pipelined_requests_are_all_answered(fresh: Served) -> None:
    with socket.create_connection(fresh.rest, timeout=10) as sock:
        request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        sock.sendall(request * 2 + request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        answer = _read_to_the_end(sock)
    assert answer.count(b"HTTP/1.1 200 ") == 3


@pytest.mark.parametrize("adapter", ["rest", "mcp"])
def test_one_client_address_may_hold_only_its_share_of_a_port(fresh: Served, adapter: str) -> None:
    address = fresh.address(adapter)
    held = [_half_request(address) for _ in range(PER_CLIENT)]
    try:
        with socket.create_connection(address, timeout=10) as one_more:
            answer = _read_to_the_end(one_more)
        other_client = _status(fresh, adapter, source="127.0.0.2")
    finally:
        for sock in held:
            sock.close()
    assert answer.startswith(b"HTTP/1.1 503 ") and b"retry-after: 1" in answer
    assert b"--max-connections-per-client" in answer and b"127.0.0.1 has 4 connections open" in answer
    assert other_client == 200  # another address still gets in
    _wait_until_served(fresh, adapter)  # and once the held ones close, so does this one


def test_a_port_takes_only_so_many_connections_from_all_clients(fresh: Served) -> None:
    held = [_half_request(fresh.rest, source=f"127.0.0.{2 + index // PER_CLIENT}") for index in range(PER_PORT)]
    try:
        with socket.create_connection(fresh.rest, timeout=10) as one_more:
            answer = _read_to_the_end(one_more)
        mcp = _status(fresh, "mcp")
    finally:
        for sock in held:
            sock.close()
    assert answer.startswith(b"HTTP/1.1 503 ") and b"--max-connections)" in answer
    assert mcp == 200  # each port has its own


def test_headers_larger_than_the_bound_get_431(fresh: Served) -> None:
    with socket.create_connection(fresh.rest, timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Padding: " + b"x" * 70_000 + b"\r\n\r\n")
        answer = _read_to_the_end(sock)
    assert answer.startswith(b"HTTP/1.1 431 ") and b"larger than 65536 bytes" in answer


@pytest.mark.parametrize("ended", [False, True], ids=["never-ending", "complete"])
def test_a_pipelined_head_over_the_bound_is_refused_after_the_answer_in_hand(fresh: Served, ended: bool) -> None:
    # While one request waits on its upstream, the next one's head must not grow without bound in the server.
    fresh.upstream.reply(200, {"id": RUN}, delay=0.5)
    padding = b"X-Padding: " + b"x" * 200_000 + (b"\r\n\r\n" if ended else b"")
    with socket.create_connection(fresh.rest, timeout=10) as sock:
        sock.sendall(f"GET /v1/api/v3/runs/{RUN} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        assert fresh.upstream.wait_for_requests(1)  # the first request is in hand
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + padding)
        answer = _read_to_the_end(sock)
    first, _, rest = answer.partition(b"HTTP/1.1 431 ")
    assert first.startswith(b"HTTP/1.1 200 ") and RUN.encode() in first  # the answer in hand, whole, first
    assert b"larger than 65536 bytes" in rest and b"HTTP/1.1 200 " not in rest  # the oversized one never served


@pytest.mark.parametrize("adapter", ["rest", "mcp"])
def test_a_413_reaches_a_client_that_sends_its_whole_body_before_reading(fresh: Served, adapter: str) -> None:
    """urllib sends `Connection: close` and the whole body first: the server reads and drops the rest before it
    closes, so the client reads the 413 instead of a broken pipe."""
    host, port = fresh.address(adapter)
    url = f"http://{host}:{port}" + (RESCHEDULE if adapter == "rest" else "/mcp")
    headers = {"content-type": "application/json", **MCP_HEADERS}
    request = urllib.request.Request(url, data=b" " * (20 * 1024 * 1024), headers=headers, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413
    assert "larger than 1048576 bytes" in orjson.loads(refused.value.read())["detail"]
    assert fresh.upstream.requests == []


def test_an_answer_given_before_the_body_was_read_closes_the_connection_after_it(fresh: Served) -> None:
    """What is left of the body would come before any next request: no next request comes on it."""
    with socket.create_connection(fresh.rest, timeout=10) as sock:
        body = b'{"tags": ["a"]}'
        sock.sendall(
            b"POST /v1/nothing/here HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body) + b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        )
        answer = _read_to_the_end(sock)
    assert answer.startswith(b"HTTP/1.1 404 ") and b"connection: close" in answer.lower()
    assert answer.count(b"HTTP/1.1 ") == 1


@pytest.mark.parametrize("adapter", ["rest", "mcp"])
def test_a_body_that_does_not_arrive_in_time_gets_408(fresh: Served, adapter: str) -> None:
    path = RESCHEDULE if adapter == "rest" else "/mcp"
    with socket.create_connection(fresh.address(adapter), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Accept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n{".encode()
        )
        answer = _read_to_the_end(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ") and b"connection: close" in head
    assert "did not arrive within 1 seconds of its headers" in orjson.loads(body)["detail"]
    assert fresh.upstream.requests == []


@pytest.mark.parametrize("adapter", ["rest", "mcp"])
def test_a_client_that_leaves_mid_body_leaves_one_access_line_and_no_traceback(
    fresh: Served, adapter: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = RESCHEDULE if adapter == "rest" else "/mcp"
    caplog.set_level(logging.INFO)
    with socket.create_connection(fresh.address(adapter), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            'Content-Length: 1000\r\n\r\n{"delay": '.encode()
        )
    deadline = time.monotonic() + 10
    while not any("client gone" in record.getMessage() for record in caplog.records):
        assert time.monotonic() < deadline, "no access line for the request"
        time.sleep(0.01)
    assert [record for record in caplog.records if record.exc_info or record.levelno >= logging.ERROR] == []
    line = next(record.getMessage() for record in caplog.records if "client gone" in record.getMessage())
    assert f"{adapter} POST" in line and " 499 " in line
    assert fresh.upstream.requests == []


def test_caps_that_do_not_fit_the_file_limit_stop_start_up() -> None:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    done = subprocess.run(
        [*CAPGATE, "serve", "--rest-port", "0", "--mcp-port", "0", "--no-audit-log", "--max-connections", "5000"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        preexec_fn=limit,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "this process may open 1024 files (ulimit -n)" in done.stderr and "--max-connections" in done.stderr


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split("/")[0].rsplit(":", 1)
    return host, int(port)


def _half_request(address: tuple[str, int], source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(address, timeout=10, source_address=(source, 0))
    sock.sendall(b"GET /healthz HTTP/1.1\r\n")
    return sock


def _read_to_the_end(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _status(served: Served, adapter: str, source: str = "127.0.0.1") -> int:
    """The status of a fresh connection's request for the REST probe, or for MCP's tools/list."""
    connection = http.client.HTTPConnection(*served.address(adapter), timeout=10, source_address=(source, 0))
    try:
        if adapter == "rest":
            connection.request("GET", "/healthz")
        else:
            connection.request("POST", "/mcp", TOOLS_LIST, {"content-type": "application/json", **MCP_HEADERS})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _wait_until_served(served: Served, adapter: str) -> None:
    """Until a fresh connection is answered 200: the server has seen the test's earlier connections close."""
    deadline = time.monotonic() + 10
    while _status(served, adapter) != 200:
        assert time.monotonic() < deadline, f"the {adapter} port still refuses fresh connections"
        time.sleep(0.05)  # no event says when the server has seen a close: ask again
