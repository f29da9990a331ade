"""Hostile request bodies and arguments, on both adapters: each gets a clear answer before anything is sent
upstream — too deep (400), not JSON as RFC 8259 has it (400), not labelled JSON (415), a compressed body bounded
by its inflated size (413), a header parameter carrying CR/LF (400), arguments larger than any bound the
document states (capgate's defaults).
"""

from __future__ import annotations

import functools
import gzip
import resource
import zlib
from collections.abc import Iterator
from typing import Any

import httpx2
import orjson
import pytest

from capgate.gateway.safeguards import Hardening
from tests.support.gateway import RUN, Running, gateway_config, running_gateway
from tests.support.upstream import RecordingUpstream, recording_upstream

pytestmark = pytest.mark.anyio

RESCHEDULE = f"/v1/api/v1/runs/{RUN}/reschedule"
MCP_HEADERS = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
ADAPTERS = ["rest", "mcp"]


@pytest.fixture(scope="module")
def upstream_for_module() -> Iterator[RecordingUpstream]:
    with recording_upstream() as upstream:
        yield upstream


@pytest.fixture(scope="module", params=["trigger-dev-runs", "trigger-dev-runs-seed"])
def gateway(request: pytest.FixtureRequest, upstream_for_module: RecordingUpstream) -> Iterator[Running]:
    config = gateway_config(request.param, upstream_for_module.url, hardening=Hardening(audit_log=None))
    with running_gateway(config) as running:
        yield running


@pytest.fixture
def upstream(upstream_for_module: RecordingUpstream) -> RecordingUpstream:
    upstream_for_module.requests.clear()
    upstream_for_module.replies.clear()
    return upstream_for_module


def reschedule(adapter: str, body: bytes) -> tuple[str, bytes]:
    """The URL path and raw body that reschedule a run with `body` (raw JSON text) on `adapter`."""
    if adapter == "rest":
        return RESCHEDULE, body
    call = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"reschedule-run","arguments":'
    return "/mcp", call + b'{"runId":"' + RUN.encode() + b'","body":' + body + b"}}}"


async def send(
    gateway: Running, adapter: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    path, content = reschedule(adapter, body)
    base = gateway.rest if adapter == "rest" else gateway.mcp.removesuffix("/mcp")
    sent = {"content-type": "application/json", **MCP_HEADERS, **(headers or {})}
    async with httpx2.AsyncClient() as client:
        response = await client.post(base + path, content=content, headers=sent)
        return response.status_code, dict(response.headers), response.content


def refusal(adapter: str, content: bytes) -> str:
    """What an answer says is wrong: a problem's detail (REST) or a JSON-RPC error's message (MCP)."""
    answer: dict[str, Any] = orjson.loads(content)
    return str(answer["detail"] if "detail" in answer else answer["error"]["message"])


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_body_nested_deeper_than_the_limit_is_refused_before_anything_is_sent(
    gateway: Running, upstream: RecordingUpstream, adapter: str
) -> None:
    for depth in (65, 253, 300, 100_000):  # 253: orjson still parses it, but cannot write it to the audit log
        status, _, content = await send(gateway, adapter, b'{"delay":"1h","x":' + b"[" * depth + b"]" * depth + b"}")
        assert status == 400, (depth, content)
        assert "more than 64 deep" in refusal(adapter, content)
        if adapter == "mcp":
            assert orjson.loads(content)["error"]["code"] == -32700
    assert upstream.requests == []
    inner = 62 if adapter == "rest" else 59  # 64 levels in all: the body's own, and on MCP the JSON-RPC envelope's
    status, _, content = await send(gateway, adapter, b'{"delay":"1h","x":' + b"[" * inner + b"]" * inner + b"}")
    assert "deep" not in content.decode()  # then the document's schema has its say about x


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e999999"])
async def test_numbers_json_has_not_are_refused(
    gateway: Running, upstream: RecordingUpstream, adapter: str, number: bytes
) -> None:
    status, _, content = await send(gateway, adapter, b'{"delay":"1h","x":' + number + b"}")
    assert status == 400 and "is not valid JSON" in refusal(adapter, content)
    assert upstream.requests == []


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("media_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
async def test_a_body_not_labelled_json_gets_415(
    gateway: Running, upstream: RecordingUpstream, adapter: str, media_type: str
) -> None:
    """The three types a web page may send to any origin without asking first (CORS simple requests)."""
    status, _, content = await send(gateway, adapter, b'{"delay":"1h"}', {"content-type": media_type})
    assert status == 415
    assert f"sent as {media_type}" in refusal(adapter, content) and "application/json" in refusal(adapter, content)
    assert upstream.requests == []


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compressed_body_is_inflated(
    gateway: Running, upstream: RecordingUpstream, adapter: str, encoding: str
) -> None:
    compress = gzip.compress if encoding == "gzip" else zlib.compress
    _, raw = reschedule(adapter, b'{"delay":"2h"}')
    path = RESCHEDULE if adapter == "rest" else "/mcp"
    base = gateway.rest if adapter == "rest" else gateway.mcp.removesuffix("/mcp")
    headers = {"content-type": "application/json", "content-encoding": encoding, **MCP_HEADERS}
    async with httpx2.AsyncClient() as client:
        response = await client.post(base + path, content=compress(raw), headers=headers)
    assert response.status_code == 200, response.content
    assert upstream.last.json() == {"delay": "2h"}


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_gzip_bomb_is_refused_by_its_inflated_size_in_bounded_memory(
    gateway: Running, upstream: RecordingUpstream, adapter: str
) -> None:
    bomb = _gzip_bomb()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    path = RESCHEDULE if adapter == "rest" else "/mcp"
    base = gateway.rest if adapter == "rest" else gateway.mcp.removesuffix("/mcp")
    headers = {"content-type": "application/json", "content-encoding": "gzip", **MCP_HEADERS}
    async with httpx2.AsyncClient() as client:
        response = await client.post(base + path, content=bomb, headers=headers)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    print(f"\n{len(bomb)} bytes of gzip that inflate to 1 GiB: {response.status_code}, peak RSS grew {grown_kib} KiB")
    assert response.status_code == 413
    assert "inflates to more than 1048576 bytes" in orjson.loads(response.content)["detail"]
    assert grown_kib < 64 * 1024  # a few MiB of buffers, not the gibibyte
    assert upstream.requests == []


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_bodies_that_do_not_inflate_or_use_another_encoding_are_refused(
    gateway: Running, upstream: RecordingUpstream, adapter: str
) -> None:
    status, _, content = await send(gateway, adapter, b'{"delay":"1h"}', {"content-encoding": "br"})
    assert status == 415 and "gzip, deflate or uncompressed" in refusal(adapter, content)
    status, _, content = await send(gateway, adapter, b'{"delay":"1h"}', {"content-encoding": "gzip"})
    assert status == 400 and "does not inflate" in content.decode()
    assert upstream.requests == []


async def test_cr_lf_reaching_a_header_parameter_is_refused_on_both_adapters(
    gateway: Running, upstream: RecordingUpstream
) -> None:
    """The default document declares x-trigger-branch a header of every call, which REST callers may set from the
    query; the seed declares no header, so there the query key is refused as one no input reads."""
    async with httpx2.AsyncClient() as client:
        response = await client.get(gateway.rest + "/v1/api/v1/runs?x-trigger-branch=main%0d%0aX-Injected:%201")
        arguments = {"runId": RUN, "x-trigger-branch": "main\r\nX-Injected: 1"}
        call = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "retrieve-run", "arguments": arguments},
        }
        headers = {"content-type": "application/json", **MCP_HEADERS}
        tool = orjson.loads((await client.post(gateway.mcp, content=orjson.dumps(call), headers=headers)).content)
    assert response.status_code == 400, response.text
    if "is not a query parameter" not in response.text:  # the seed reads no such input: refused as unknown
        assert "x-trigger-branch" in response.text and "control characters" in response.text
    assert tool["result"]["isError"] is True  # MCP tools take no header parameter: an unknown argument
    assert upstream.requests == []


@functools.cache
def _gzip_bomb() -> bytes:
    """~1 MB of gzip that inflates to a 1 GiB JSON document, made once."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(b'{"delay":"')]
    block = b"1" * (1 << 20)
    parts += [compressor.compress(block) for _ in range(1024)]
    return b"".join([*parts, compressor.compress(b'"}'), compressor.flush()])


async def test_an_integer_too_large_to_send_is_refused_not_a_500(gateway: Running, upstream: RecordingUpstream) -> None:
    """Found by the fuzzing: a JSON parser reads 146345882015321576229585188552704 as a float, which an integer
    parameter took whole, and the upstream request could not be written (500, with a traceback)."""
    huge = b"146345882015321576229585188552704"
    async with httpx2.AsyncClient() as client:
        response = await client.post(
            gateway.rest + f"/v1/api/v1/runs/{RUN}/replay",
            content=b'{"maxAttempts": ' + huge + b"}",
            headers={"content-type": "application/json"},
        )
    assert response.status_code < 500, response.text
    if response.status_code == 400:  # the default document declares maxAttempts an integer
        assert "cannot be sent as JSON" in response.text
        assert upstream.requests == []


async def test_a_path_no_route_can_hold_is_a_404_problem(gateway: Running) -> None:
    async with httpx2.AsyncClient() as client:
        response = await client.get(gateway.rest + f"/v1/api/v1/runs/{RUN}%0A/trace")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert "no route matches GET" in response.json()["detail"]
