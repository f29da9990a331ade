"""Which session manager answers a request: only a real progress token streams, only a real `initialize` that
declares elicitation opens a session; lookalike and malformed bodies go the plain JSON way."""

from __future__ import annotations

import aiohttp
import orjson
import pytest

from capgate.exposes.mcp.transport import _opens_session, _wants_progress
from tests.support.gateway import gateway_config, running_gateway
from tests.support.upstream import RecordingUpstream


def body(value: object) -> bytes:
    return orjson.dumps(value)


CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "wait-for-run"}}


@pytest.mark.parametrize(
    ("sent", "streams"),
    [
        (body({**CALL, "params": {**CALL["params"], "_meta": {"progressToken": "t-1"}}}), True),
        (body({**CALL, "params": {**CALL["params"], "_meta": {"progressToken": 7}}}), True),
        (body({**CALL, "params": {**CALL["params"], "arguments": {"progressToken": 1}}}), False),  # an argument
        (body({**CALL, "params": {**CALL["params"], "_meta": {"progressToken": None}}}), False),
        (body({**CALL, "params": {**CALL["params"], "_meta": {"progressToken": {"a": 1}}}}), False),
        (body([{**CALL, "params": {"_meta": {"progressToken": 1}}}]), False),  # a batch: the SDK refuses it
        (b'{"params": {"_meta": {"progressToken": 1}', False),  # cut short
        (body({**CALL, "params": "progressToken"}), False),
    ],
)
def test_only_a_progress_token_in_meta_streams_the_answer(sent: bytes, streams: bool) -> None:
    assert _wants_progress(sent) is streams


INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}


@pytest.mark.parametrize(
    ("sent", "opens"),
    [
        (body({**INITIALIZE, "params": {**INITIALIZE["params"], "capabilities": {"elicitation": {}}}}), True),
        (body({**INITIALIZE, "params": {**INITIALIZE["params"], "capabilities": {"elicitation": {"form": {}}}}}), True),
        (body({**INITIALIZE, "params": {**INITIALIZE["params"], "capabilities": {}}}), False),
        (body({**INITIALIZE, "params": {**INITIALIZE["params"], "capabilities": {"elicitation": True}}}), False),
        (body({**CALL, "params": {"arguments": {"note": "initialize", "elicitation": {}}}}), False),  # lookalike
        (b'{"method": "initialize", "params": {"capabilities": {"elicitation": {}', False),  # cut short
    ],
)
def test_only_an_initialize_that_declares_elicitation_opens_a_session(sent: bytes, opens: bool) -> None:
    assert _opens_session(sent) is opens


HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
OPENING = {
    **INITIALIZE,
    "params": {
        **INITIALIZE["params"],
        "capabilities": {"elicitation": {}},
        "clientInfo": {"name": "raw", "version": "1"},
    },
}


@pytest.mark.anyio
async def test_a_session_is_opened_for_a_client_that_can_be_asked_and_ended_by_its_delete(
    upstream: RecordingUpstream,
) -> None:
    with running_gateway(gateway_config("trigger-dev-runs", upstream.url)) as gateway:
        async with aiohttp.ClientSession(headers=HEADERS) as http:
            async with http.post(
                gateway.mcp, json={**OPENING, "params": {**OPENING["params"], "capabilities": {}}}
            ) as plain:
                assert plain.status == 200 and "mcp-session-id" not in plain.headers, "no session: it cannot be asked"
            async with http.post(gateway.mcp, json=OPENING) as opened:
                assert opened.status == 200
                session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
            async with http.get(gateway.mcp, headers=session) as stream:
                assert stream.status == 405 and stream.headers["allow"] == "POST", "no standalone stream"
            listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
            async with http.post(gateway.mcp, json=listing, headers=session) as listed:
                assert listed.status == 200 and "wait-for-run" in await listed.text()
            async with http.delete(gateway.mcp, headers=session) as ended:
                assert ended.status == 200
            async with http.post(gateway.mcp, json=listing, headers=session) as gone:
                assert gone.status == 404, "the session has ended"
            async with http.delete(gateway.mcp) as stateless:
                assert stateless.status == 405, "no session to end"
