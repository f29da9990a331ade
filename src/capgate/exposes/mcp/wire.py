"""Tool results sent as capgate builds them: `tools/call` over HTTP without the SDK's second pass over them.

The SDK's runner checks every handler result against the protocol's schema for the request's era and dumps it
again (`serialize_server_result`: a pydantic validation and a dump of the whole result, `structuredContent` and
every resource link included) before the transport dumps it a third time. That second pass cost ~235 µs of a
25-run `list-runs` call and grew with every item (bench/PROFILE.md). capgate's results are built in their wire
form by construction (`capgate.exposes.mcp.results`), and the tests hold them to be fixed points of that pass
in both eras (tests/exposes/mcp/test_wire.py).

So for `tools/call` over stateless HTTP a server middleware — the SDK's own hook, whose short-circuited results
it sends as they are — does what the runner does before a handler (the request checked against its era's
schema, the params typed), calls the tool, and gives the result its era's envelope: `resultType` only in the
2026-07-28 era, whose results also name the server in `_meta`. Every other method, and every call over stdio
(a session, with its initialize handshake), goes through the SDK's pipeline.

The JSON answer itself is then encoded once more by the SDK's transport: in the 2025-11-25 era
`JSONRPCResponse.model_dump_json`, pydantic inferring the type of every value of the result (143 µs of a
25-run call and 730 µs of a 100-run one under load, bench/PROFILE.md); in the 2026-07-28 era `model_dump`
then the standard library's `json.dumps` (~220 µs and ~1 ms). `encode_answers_with_orjson` has both encode a
JSON-RPC response with orjson instead: byte for byte the SDK's JSON in the 2025 era, and the same JSON in the
2026 era (where characters beyond ASCII are now sent as UTF-8, as the 2025 era always did, not as `\\u`
escapes). A result orjson would write otherwise (a datetime, an integer beyond 64 bits, a model), an error,
and every other message are still encoded by the SDK.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, cast

import orjson
from pydantic import BaseModel
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from capgate.exposes.mcp.sdk import (
    CORE_RESULT_TYPES,
    MODERN_PROTOCOL_VERSIONS,
    SERVER_INFO_META_KEY,
    CallNext,
    JSONRPCError,
    JSONRPCMessage,
    JSONRPCResponse,
    Server,
    ServerRequestContext,
    StreamableHTTPServerTransport,
    modern_http,
    serialize_server_result,
    types,
    validate_client_request,
)

CallTool = Callable[[ServerRequestContext[Any], types.CallToolRequestParams], Awaitable[Any]]
CALL_TOOL = "tools/call"


def results_as_built(server: Server[Any], call_tool: CallTool) -> Any:
    """The middleware that answers `tools/call` over HTTP with `call_tool`'s result in its era's envelope."""

    async def middleware(ctx: ServerRequestContext[Any], call_next: CallNext) -> Any:
        if ctx.method != CALL_TOOL or ctx.request is None or CALL_TOOL in server.cache_hints:
            return await call_next(ctx)
        version = ctx.protocol_version
        validate_client_request(CALL_TOOL, version, ctx.params)  # what the runner checks; invalid: -32602
        params = types.CallToolRequestParams.model_validate(ctx.params or {}, by_name=False)
        return in_envelope(await call_tool(ctx, params), version, server)

    return middleware


def in_envelope(result: Any, version: str, server: Server[Any]) -> dict[str, Any]:
    """`result` as the SDK's runner would send it in protocol era `version`. A complete result as
    `capgate.exposes.mcp.results` builds it is in its wire form already; anything else (a model, another
    result type) gets the runner's own check and dump."""
    modern = version in MODERN_PROTOCOL_VERSIONS
    if isinstance(result, dict) and result.get("resultType") == "complete":
        wire = dict(result) if modern else {key: value for key, value in result.items() if key != "resultType"}
    else:
        wire = (
            result.model_dump(by_alias=True, mode="json", exclude_none=True)
            if isinstance(result, BaseModel)
            else dict(result)
        )
        kind = wire.get("resultType")
        if not modern or not isinstance(kind, str) or kind in CORE_RESULT_TYPES:
            wire = serialize_server_result(CALL_TOOL, version, wire)
    if modern:
        wire.setdefault("resultType", "complete")
        meta = wire.get("_meta")
        if meta is None:
            wire["_meta"] = {SERVER_INFO_META_KEY: server.server_info_stamp}
        elif isinstance(meta, dict) and meta.get(SERVER_INFO_META_KEY) is None:
            wire["_meta"] = {**meta, SERVER_INFO_META_KEY: server.server_info_stamp}
    return wire


def encode_answers_with_orjson() -> None:
    """Have the SDK's Streamable HTTP transports encode their JSON answers' responses with orjson (see the module
    docstring); once per process, whatever the number of servers."""
    sdk_create = StreamableHTTPServerTransport._create_json_response
    if getattr(sdk_create, "encodes_with_orjson", False):
        return
    sdk_write = modern_http._write

    def create_json_response(
        self: StreamableHTTPServerTransport,
        message: JSONRPCMessage | None,
        status_code: HTTPStatus = HTTPStatus.OK,
        headers: dict[str, str] | None = None,
    ) -> Response:
        encoded = _Encoded(message) if type(message) is JSONRPCResponse else message
        return sdk_create(self, cast("JSONRPCMessage", encoded), status_code, headers)  # dumped alike

    async def write(msg: JSONRPCResponse | JSONRPCError, scope: Scope, receive: Receive, send: Send) -> None:
        body = _orjson(msg) if type(msg) is JSONRPCResponse else None
        if body is None:
            await sdk_write(msg, scope, receive, send)
        else:  # a response, not an error: always 200
            await Response(body, media_type="application/json")(scope, receive, send)

    create_json_response.encodes_with_orjson = True  # type: ignore[attr-defined]
    StreamableHTTPServerTransport._create_json_response = create_json_response  # type: ignore[method-assign,assignment]
    modern_http._write = write


# Types orjson and pydantic would write differently (a datetime's UTC offset, ...) are left to pydantic.
_PLAIN = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def _orjson(message: JSONRPCResponse) -> bytes | None:
    """`message` as JSON, or None when orjson would not write it as the SDK does."""
    try:
        return orjson.dumps({"jsonrpc": message.jsonrpc, "id": message.id, "result": message.result}, option=_PLAIN)
    except TypeError:
        return None


class _Encoded:
    """A JSON-RPC response that the 2025-era transport dumps with orjson, or with its own dump (`_orjson`)."""

    def __init__(self, message: JSONRPCResponse) -> None:
        self.message = message

    def model_dump_json(self, **options: Any) -> bytes | str:
        encoded = _orjson(self.message)
        return self.message.model_dump_json(**options) if encoded is None else encoded
