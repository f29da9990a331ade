"""An upstream that misbehaves on purpose, on a real socket: it drops a connection after reading the request,
sends a gzip bomb, a redirect elsewhere, or a protocol switch nobody asked for. Each call ends with a clear
answer, no request is sent twice unless capgate decided to retry it, memory stays bounded, and the gateway
goes on serving.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import orjson
import pytest

from capgate.consumes.client import ClientSettings, Timeouts
from tests.support.gateway import Running
from tests.support.http import rest_call
from tests.support.notes import notes_gateway as notes_in_front_of
from tests.support.raw_upstream import DROP, OK, RawUpstream, answer, gzip_of_zeros, raw_upstream

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024


def notes_gateway(upstream: RawUpstream) -> AbstractContextManager[Running]:
    return notes_in_front_of(upstream.url, ClientSettings(timeouts=Timeouts(connect=2, read=20, total=30)))


@pytest.fixture
def hostile() -> Iterator[RawUpstream]:
    with raw_upstream() as upstream:
        yield upstream


async def test_a_put_marked_not_idempotent_reaches_the_upstream_once_when_the_connection_drops(
    hostile: RawUpstream,
) -> None:
    with notes_gateway(hostile) as running:
        hostile.then(DROP)
        status, _, content = await rest_call(running.rest, "PUT", "/notes/n1", body={"text": "v2"})
        assert status == 502 and "the connection was closed before an answer" in orjson.loads(content)["detail"]
        assert hostile.request_lines() == ["PUT /v2/notes/n1 HTTP/1.1"]  # never resent behind capgate's back
        # A PUT the document leaves idempotent (by its method) is capgate's to retry: it does, and says so.
        hostile.requests.clear()
        hostile.then(DROP)
        status, _, _ = await rest_call(running.rest, "PUT", "/notes/n1/touch")
        assert status == 200 and hostile.request_lines() == ["PUT /v2/notes/n1 HTTP/1.1"] * 2


def peak_rss_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


def reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM starts again from the current RSS


async def test_a_gzip_bomb_is_a_502_and_memory_stays_bounded(hostile: RawUpstream) -> None:
    bomb = gzip_of_zeros(1024)  # 1 GiB once inflated, about 1 MiB on the wire
    assert len(bomb) < 2 * MIB
    headers = {"content-type": "application/json", "content-encoding": "gzip", "connection": "close"}
    with notes_gateway(hostile) as running:
        hostile.then(answer("200 OK", headers, bomb))
        reset_peak_rss()
        before = peak_rss_kib()
        status, headers_back, content = await rest_call(running.rest, "GET", "/notes/n1")
        grown = (peak_rss_kib() - before) * 1024
        assert grown < 96 * MIB, f"the process grew by {grown / MIB:.0f} MiB reading a bomb"
        problem = orjson.loads(content)
        assert status == 502 and headers_back["content-type"] == "application/problem+json"
        assert "larger than 16777216 bytes once inflated (content-encoding: gzip)" in problem["detail"]
        assert (await rest_call(running.rest, "GET", "/notes/n2"))[0] == 200  # still serving


REDIRECT = answer("302 Found", {"location": "https://attacker.example/steal?key=x", "connection": "close"})
SWITCH = answer("101 Switching Protocols", {"transfer-encoding": "chunked"}, b"0\r\n\r\n", length=False)


@pytest.mark.parametrize(
    "reply,said",
    [
        (REDIRECT, "the upstream answered HTTP 302 Found, a redirect to https://attacker.example; capgate follows"),
        (SWITCH, "the upstream answered HTTP 101 Switching Protocols, switching protocols, which capgate did not ask"),
        (
            answer("301 Moved Permanently", {"location": "/v3/notes/n1", "connection": "close"}),
            "HTTP 301 Moved Permanently, a redirect within the upstream",
        ),
    ],
    ids=["302", "101", "301"],
)
async def test_a_redirect_or_a_protocol_switch_is_a_502_saying_what_the_upstream_did(
    hostile: RawUpstream, reply: bytes, said: str
) -> None:
    with notes_gateway(hostile) as running:
        hostile.then(reply)
        status, headers, content = await rest_call(running.rest, "GET", "/notes/n1")
        assert status == 502 and "location" not in headers
        detail = orjson.loads(content)["detail"]
        assert said in detail and "steal" not in detail
        hostile.then(OK)
        assert (await rest_call(running.rest, "GET", "/notes/n2"))[0] == 200  # the next call is answered as usual
