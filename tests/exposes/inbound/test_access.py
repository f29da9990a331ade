"""Inbound access control on both adapters (no token / unknown / the upstream key / read / write × every route
and tool), the inbound token never forwarded, Host and Origin checks, body and query limits, MCP headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import orjson
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from capgate.consumes.client import ClientSettings
from capgate.consumes.limiter import LocalLimiter
from capgate.core.errors import ConfigurationError
from capgate.exposes.inbound.tokens import load_tokens
from capgate.gateway.assembly import Gateway
from capgate.gateway.safeguards import Hardening, Safeguards
from tests.support.gateway import RUN, TEST_KEY, Running, gateway_config, running_gateway
from tests.support.http import rest_call
from tests.support.upstream import RecordingUpstream, recording_upstream

pytestmark = pytest.mark.anyio

READ = "read-token-0123456789abcdef"
WRITE = "write-token-0123456789abcdef"
TOKENS = f"reader:read:{READ}, writer:write:{WRITE}"
CREDENTIALS = {
    "none": None,
    "unknown": "not-a-token-0123456789",
    "upstream-key": TEST_KEY,
    "read": READ,
    "write": WRITE,
}
ROUTES = [  # every route of the default document: method, path, body
    ("GET", "/v1/api/v1/runs", None),
    ("GET", f"/v1/api/v1/runs/{RUN}", None),
    ("GET", f"/v1/api/v3/runs/{RUN}", None),
    ("POST", f"/v1/api/v1/runs/{RUN}/cancel", None),
    ("POST", f"/v1/api/v2/runs/{RUN}/cancel", None),
    ("POST", f"/v1/api/v1/runs/{RUN}/replay", None),
    ("POST", f"/v1/api/v1/runs/{RUN}/reschedule", {"delay": "1h"}),
    ("PUT", f"/v1/api/v1/runs/{RUN}/tags", {"tags": ["a"]}),
    ("POST", f"/v1/api/v1/runs/{RUN}/tags", {"tags": ["a"]}),
    ("POST", "/v1/api/v1/tasks/send-welcome-email/trigger", {"payload": {}}),
    ("GET", f"/v1/api/v1/runs/{RUN}/trace", None),
    ("GET", f"/v1/api/v1/runs/{RUN}/events", None),
    ("PUT", f"/v1/api/v1/runs/{RUN}/metadata", {"metadata": {}}),
]
TOOLS = {
    "list-runs": {},
    "retrieve-run": {"runId": RUN},
    "cancel-run": {"runId": RUN},
    "replay-run": {"runId": RUN},
    "reschedule-run": {"runId": RUN, "body": {"delay": "1h"}},
    "add-tags-run": {"runId": RUN, "body": {"tags": ["a"]}},
    "trigger-task": {"taskIdentifier": "send-welcome-email", "payload": {}},
    "get-run-trace": {"runId": RUN},
    "get-run-events": {"runId": RUN},
    "update-run-metadata": {"runId": RUN, "metadata": {}},
}
READ_ONLY_TOOLS = {"list-runs", "retrieve-run", "get-run-trace", "get-run-events"}


@dataclass
class Guarded:
    upstream: RecordingUpstream
    gateway: Running


@pytest.fixture(scope="module")
def guarded() -> Iterator[Guarded]:
    environ = {"TRIGGER_DEV_API_KEY": TEST_KEY, "CAPGATE_TOKENS": TOKENS}
    with (
        recording_upstream() as upstream,
        running_gateway(
            gateway_config(
                "trigger-dev-runs",
                upstream.url,
                environ=environ,
                allowed_origins=["https://app.example.com"],
                hardening=Hardening(audit_log=None, max_body_bytes=4096, max_target_bytes=512),
            )
        ) as gateway,
    ):
        yield Guarded(upstream, gateway)


def bearer(credential: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {credential}"} if credential else {}


def expected_rest(credential: str, method: str) -> int:
    if credential in ("none", "unknown", "upstream-key"):
        return 401
    return 403 if credential == "read" and method != "GET" else 200


@pytest.mark.parametrize("credential", CREDENTIALS)
async def test_rest_access_matrix(guarded: Guarded, credential: str) -> None:
    for method, path, body in ROUTES:
        status, headers, content = await rest_call(
            guarded.gateway.rest, method, path, body=body, headers=bearer(CREDENTIALS[credential])
        )
        assert status == expected_rest(credential, method), (method, path, content)
        if status in (401, 403):
            assert headers["content-type"] == "application/problem+json"
            assert headers["www-authenticate"].startswith('Bearer realm="capgate"')
            assert orjson.loads(content)["status"] == status


async def mcp_post(
    gateway: Running, message: dict[str, Any], credential: str | None, extra: dict[str, str] | None = None
) -> tuple[int, bytes]:
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": "2025-11-25",
        **bearer(credential),
        **(extra or {}),
    }
    async with httpx2.AsyncClient() as client:
        response = await client.post(gateway.mcp, content=orjson.dumps(message), headers=headers)
        return response.status_code, response.content


@pytest.mark.parametrize("credential", CREDENTIALS)
async def test_mcp_access_matrix(guarded: Guarded, credential: str) -> None:
    for tool, arguments in TOOLS.items():
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
        status, content = await mcp_post(guarded.gateway, call, CREDENTIALS[credential])
        expected = expected_rest(credential, "GET" if tool in READ_ONLY_TOOLS else "POST")
        assert status == expected, (tool, content)
        if status == 200:
            assert orjson.loads(content)["result"]["isError"] is False


WAITING = {"wait-for-run"}  # read-only; not called above: against the echo, it would wait for a status


@pytest.mark.parametrize("credential,visible", [("read", READ_ONLY_TOOLS | WAITING), ("write", set(TOOLS) | WAITING)])
async def test_a_read_token_sees_only_read_only_tools(guarded: Guarded, credential: str, visible: set[str]) -> None:
    for mode in ("auto", "legacy"):  # both protocol eras
        transport = streamable_http_client(
            guarded.gateway.mcp, http_client=httpx2.AsyncClient(headers=bearer(CREDENTIALS[credential]))
        )
        async with Client(transport, mode=mode) as client:
            assert {tool.name for tool in (await client.list_tools()).tools} == visible


@pytest.mark.parametrize("credential,visible", [("read", READ_ONLY_TOOLS | WAITING), ("write", set(TOOLS) | WAITING)])
async def test_an_unknown_tool_names_only_the_tools_its_caller_may_see(
    guarded: Guarded, credential: str, visible: set[str]
) -> None:
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "cancel-everything"}}
    status, content = await mcp_post(guarded.gateway, call, CREDENTIALS[credential])
    message = orjson.loads(content)["error"]["message"]
    assert status == 200 and message.startswith("unknown tool 'cancel-everything'; this server has: ")
    assert set(message.split("this server has: ")[1].split(", ")) == visible


async def test_the_inbound_token_never_reaches_the_upstream(guarded: Guarded) -> None:
    guarded.upstream.requests.clear()
    for method, path, body in ROUTES:
        await rest_call(guarded.gateway.rest, method, path, body=body, headers=bearer(WRITE))
    for tool, arguments in TOOLS.items():
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
        await mcp_post(guarded.gateway, call, WRITE)
    assert len(guarded.upstream.requests) == len(ROUTES) + len(TOOLS)
    for request in guarded.upstream.requests:
        assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
        seen = repr(request).encode() + request.body
        assert WRITE.encode() not in seen and READ.encode() not in seen


async def test_a_document_that_passes_headers_through_still_never_forwards_credentials(
    upstream: RecordingUpstream, tmp_path: Any
) -> None:
    from capgate.document.bundled import bundled_documents

    source = bundled_documents()["trigger-dev-runs"].read_text()
    leaky = "    - name: x-trigger-source\n"
    document = tmp_path / "leaky.yaml"
    document.write_text(
        source.replace(
            leaky,
            "    - name: authorization\n      in: header\n      type: string\n"
            "    - name: cookie\n      in: header\n      type: string\n" + leaky,
            1,
        )
    )
    environ = {"TRIGGER_DEV_API_KEY": TEST_KEY, "CAPGATE_TOKENS": TOKENS}
    config = gateway_config(str(document), upstream.url, environ=environ, hardening=Hardening(audit_log=None))
    with running_gateway(config) as gateway:
        status, _, _ = await rest_call(
            gateway.rest, "GET", f"/v1/api/v3/runs/{RUN}", headers={**bearer(READ), "cookie": "session=s3cr3t"}
        )
    assert status == 200
    assert upstream.last.headers["authorization"] == f"Bearer {TEST_KEY}" and "cookie" not in upstream.last.headers
    assert READ not in repr(upstream.last)


async def test_host_and_origin_are_checked_on_both_adapters(guarded: Guarded) -> None:
    path = "/v1/api/v1/runs"
    status, _, content = await rest_call(
        guarded.gateway.rest, "GET", path, headers={**bearer(READ), "origin": "https://evil.example"}
    )
    assert status == 403 and "--allow-origin" in orjson.loads(content)["detail"]
    status, _, _ = await rest_call(
        guarded.gateway.rest, "GET", path, headers={**bearer(READ), "origin": "https://app.example.com"}
    )
    assert status == 200
    status, _, content = await rest_call(
        guarded.gateway.rest, "GET", path, headers={**bearer(READ), "host": "evil.example:8080"}
    )
    assert status == 421 and "--allow-host" in orjson.loads(content)["detail"]
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    assert (await mcp_post(guarded.gateway, listing, READ, {"origin": "https://evil.example"}))[0] == 403
    assert (await mcp_post(guarded.gateway, listing, READ, {"host": "evil.example:9090"}))[0] == 421


async def test_bodies_and_queries_are_bounded(guarded: Guarded) -> None:
    status, _, _ = await rest_call(
        guarded.gateway.rest, "POST", f"/v1/api/v1/runs/{RUN}/tags", body={"tags": ["x" * 5000]}, headers=bearer(WRITE)
    )
    assert status == 413
    status, _, content = await rest_call(
        guarded.gateway.rest, "GET", "/v1/api/v1/runs", "filter[tag]=" + "t" * 600, headers=bearer(READ)
    )
    assert status == 414 and "at most 512" in orjson.loads(content)["detail"]
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "add-tags-run", "arguments": {"runId": RUN, "body": {"tags": ["x" * 5000]}}},
    }
    assert (await mcp_post(guarded.gateway, call, WRITE))[0] == 413


async def test_mcp_routing_headers_must_match_the_body(guarded: Guarded) -> None:
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "retrieve-run", "arguments": {"runId": RUN}, "_meta": meta},
    }
    headers = {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "cancel-run"}
    status, content = await mcp_post(guarded.gateway, call, READ, headers)
    assert status == 400 and orjson.loads(content)["error"]["code"] == -32020
    # A read token cannot reach a write tool by naming a read-only one in the header: the body decides.
    call["params"]["name"] = "cancel-run"
    headers["mcp-name"] = "retrieve-run"
    assert (await mcp_post(guarded.gateway, call, READ, headers))[0] == 403


def test_tokens_are_checked_when_loaded() -> None:
    with pytest.raises(ConfigurationError, match="at least 16"):
        load_tokens({"CAPGATE_TOKENS": "ci:write:short"}, None)
    with pytest.raises(ConfigurationError, match="must be read or write"):
        load_tokens({"CAPGATE_TOKENS": f"ci:admin:{WRITE}"}, None)
    with pytest.raises(ConfigurationError, match="upstream's own key"):
        load_tokens({"CAPGATE_TOKENS": f"ci:write:{TEST_KEY}"}, None, [TEST_KEY])
    with pytest.raises(ConfigurationError, match="used twice"):
        load_tokens({"CAPGATE_TOKENS": f"ci:write:{WRITE} ci:read:{READ}"}, None)


def test_a_token_file_may_hold_only_digests(tmp_path: Any) -> None:
    import hashlib

    file = tmp_path / "tokens.yaml"
    file.write_text(f"tokens:\n- {{id: dash, scope: read, sha256: {hashlib.sha256(READ.encode()).hexdigest()}}}\n")
    tokens = load_tokens({}, str(file))
    assert tokens.identify(READ) is not None and tokens.identify(WRITE) is None
    assert READ not in repr(tokens.identify(READ))


async def test_a_public_bind_without_tokens_refuses_to_start_unless_told() -> None:
    def load(host: str, environ: dict[str, str], *, allow_unauthenticated: bool = False) -> Gateway:
        hardening = Hardening(audit_log=None, allow_unauthenticated=allow_unauthenticated)
        safeguards = Safeguards(hardening, LocalLimiter(), None, host=host)
        return safeguards.load(
            "trigger-dev-runs",
            base_uris={},
            environ={"TRIGGER_DEV_API_KEY": TEST_KEY, **environ},
            client_settings=ClientSettings(),
            serves_http=True,
        )

    with pytest.raises(ConfigurationError, match="--allow-unauthenticated"):
        load("0.0.0.0", {})
    # Each of these loads, which is the point: loopback, the operator's word, or tokens.
    assert load("127.0.0.1", {}).operations
    assert load("0.0.0.0", {}, allow_unauthenticated=True).operations
    assert load("0.0.0.0", {"CAPGATE_TOKENS": f"ci:write:{WRITE}"}).operations
