"""Which session manager answers a request: only a real progress token streams, only a real `initialize` that
declares elicitation opens a session; lookalike and malformed bodies go the plain JSON way."""

from __future__ import annotations

import orjson
import pytest

from capgate.exposes.mcp.transport import _opens_session, _wants_progress


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
