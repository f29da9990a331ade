"""Property: no REST path or query and no MCP argument makes the upstream see a path outside the operation's own.

Run against the seed document, whose run ids are plain strings (the default document's pattern would refuse
most of what is generated here before it could reach the path builder).
"""

from __future__ import annotations

import http.client
import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.gateway import Running, gateway_config, running_gateway
from tests.support.upstream import RecordingUpstream, recording_upstream

RETRIEVE = re.compile(r"^/api/v1/runs/([^/?#]+)$")
LIST = "/api/v1/runs"
# derandomize: the same examples on every run, so that CI is stable (a new failure is found by changing them)
PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Stack:
    upstream: RecordingUpstream
    gateway: Running


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with (
        recording_upstream() as upstream,
        running_gateway(gateway_config("trigger-dev-runs-seed", upstream.url)) as gateway,
    ):
        yield Stack(upstream, gateway)


def raw_get(base: str, target: bytes) -> int:
    """Send a request line exactly as given: no client-side normalisation of the target."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET " + target + f" HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        status_line = sock.makefile("rb").readline()
    return int(status_line.split()[1]) if status_line else 0


def mcp_call(url: str, tool: str, arguments: dict[str, Any]) -> None:
    """Call `tool`; a lone surrogate (which no UTF-8 text can hold) must be refused as a JSON-RPC parse error."""
    host, port = url.removeprefix("http://").split("/")[0].rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    # json.dumps escapes lone surrogates (`\\ud800`), as a client written in JavaScript would send them.
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    )
    connection.request(
        "POST",
        "/mcp",
        body,
        {
            "content-type": "application/json",
            "mcp-protocol-version": "2025-11-25",
            "accept": "application/json, text/event-stream",
        },
    )
    response = connection.getresponse()
    answer = orjson.loads(response.read())
    connection.close()
    if _has_lone_surrogate(json.dumps(arguments, ensure_ascii=False)):
        assert (response.status, answer["error"]["code"]) == (400, -32700), answer
    else:
        assert response.status == 200 and "result" in answer, answer


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def assert_own_path(upstream: RecordingUpstream, sent: str | None) -> None:
    """Whatever reached the upstream is the retrieve path with exactly `sent` as its one segment."""
    for request in upstream.requests:
        match = RETRIEVE.match(request.path)
        assert match is not None, request.path
        segment = unquote(match[1])
        assert segment not in (".", "..") and segment == sent
    upstream.requests.clear()


# Anything, with the characters that change a path's shape over-represented.
values = st.text(
    alphabet=st.sampled_from(list("/\\?#%.:;@&=+ \t\r\n\x00\x7fé~_-aZ09")) | st.characters(), min_size=1, max_size=40
)


@PROPERTY
@given(value=values)
@example(value="\ud800")  # sent as the bytes ED A0 80, which are not UTF-8
def test_rest_path_values_stay_in_their_segment(stack: Stack, value: str) -> None:
    stack.upstream.requests.clear()
    raw = value.encode("utf-8", "surrogatepass")  # a lone surrogate becomes bytes that are not UTF-8, as sent
    for target in (quote(raw, safe=""), quote(raw, safe="/%."), raw.hex()):
        raw_get(stack.gateway.rest, f"/v1/api/v1/runs/{target}".encode("latin-1", "replace"))
        sent = [unquote(RETRIEVE.match(r.path)[1]) for r in stack.upstream.requests if RETRIEVE.match(r.path)]
        assert_own_path(stack.upstream, sent[0] if sent else None)


@PROPERTY
@given(query=st.text(min_size=1, max_size=200))
def test_rest_queries_never_change_the_path(stack: Stack, query: str) -> None:
    stack.upstream.requests.clear()
    raw_get(stack.gateway.rest, b"/v1/api/v1/runs?" + quote(query, safe="=&[]%/.?#").encode())
    assert all(request.path == LIST for request in stack.upstream.requests)


@PROPERTY
@given(run_id=values, extra=st.dictionaries(st.text(max_size=20), st.text(max_size=20), max_size=3))
@example(run_id="\ud800", extra={})  # a lone surrogate: no UTF-8 text holds it, so nothing can be sent
@example(run_id="run_a", extra={"\udfff": "x"})
def test_mcp_arguments_never_leave_the_operations_path(stack: Stack, run_id: str, extra: dict[str, str]) -> None:
    stack.upstream.requests.clear()
    mcp_call(stack.gateway.mcp, "retrieve-run", {**extra, "runId": run_id})
    assert_own_path(stack.upstream, run_id)
    mcp_call(stack.gateway.mcp, "list-runs", {"page.after": run_id, **extra})
    assert all(request.path == LIST for request in stack.upstream.requests)
