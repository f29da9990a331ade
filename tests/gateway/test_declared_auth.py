"""An exposed adapter's `authentication`, as `capgate serve` enforces it (capgate.gateway.declared_auth): the
credentials capgate can check are checked on that adapter's listener; what it cannot check is never served open
by surprise."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx2
import orjson
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from capgate.core.errors import ConfigurationError
from capgate.gateway.safeguards import Hardening
from tests.conformance.serving import RoutedUpstream, routed_upstream, serving
from tests.support.http import rest_call

pytestmark = pytest.mark.anyio
TOKEN = "sk-mcp-the-documents-own-0123"
KEY = "the-documents-api-key-4567"
CAPGATES_OWN = "capgates-own-token-89abcdef"


@pytest.fixture
def upstream() -> Iterator[RoutedUpstream]:
    with routed_upstream() as upstream:
        upstream.route("GET", "/items", [{"id": 1}])
        yield upstream


def _document(tmp_path: Path, rest_auth: str = "", mcp_auth: str = "") -> str:
    """An Ikanos document with a REST and an MCP adapter over one operation, its secrets in a bind file."""
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(f"mcp-token: {TOKEN}\napi-key: {KEY}\n")
    document = tmp_path / "capability.yml"
    document.write_text(
        'ikanos: "1.0.0-beta5"\n'
        "binds:\n"
        f"- {{namespace: inbound, location: 'file://{secrets}', keys: {{MCP_TOKEN: mcp-token, API_KEY: api-key}}}}\n"
        "capability:\n"
        "  consumes:\n"
        "  - {namespace: api, type: http, baseUri: 'https://api.example.com',\n"
        "     resources: {items: {path: /items, operations: {list-items: {method: GET}}}}}\n"
        "  exposes:\n"
        f"  - {{type: rest, port: 8080, namespace: items-rest{rest_auth},\n"
        "     resources: {items: {path: /items, operations: {list: {method: GET, call: api.list-items}}}}}\n"
        f"  - {{type: mcp, port: 3001, namespace: items-mcp{mcp_auth},\n"
        "     tools: {list-items: {description: List the items, call: api.list-items}}}\n"
    )
    return str(document)


def _client(url: str, headers: dict[str, str]) -> Client:
    return Client(streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers)))


async def _mcp_status(url: str, headers: dict[str, str]) -> int:
    """The HTTP status of an MCP initialize sent with `headers`."""
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    async with httpx2.AsyncClient() as client:
        answer = await client.post(
            url, json=initialize, headers={"accept": "application/json, text/event-stream", **headers}
        )
    return answer.status_code


async def test_a_declared_bearer_token_is_required_on_its_adapter_only(
    tmp_path: Path, upstream: RoutedUpstream
) -> None:
    """The engine's McpAuthenticationIntegrationTest: no token or a wrong one is 401, the bound one is admitted."""
    document = _document(tmp_path, mcp_auth=", authentication: {type: bearer, token: '{{MCP_TOKEN}}'}")
    with serving(document, upstream.url) as served:
        mcp = served.urls["items-mcp"]
        assert await _mcp_status(mcp, {}) == 401
        assert await _mcp_status(mcp, {"authorization": "Bearer wrong-token"}) == 401
        assert await _mcp_status(mcp, {"authorization": f"Bearer {TOKEN}"}) == 200
        async with _client(mcp, {"authorization": f"Bearer {TOKEN}"}) as client:
            result = await client.call_tool("list-items", {})
        status, _, body = await rest_call(served.urls["items-rest"], "GET", "/items")  # declares none: open
    assert result.is_error is False
    assert (status, orjson.loads(body)) == (200, [{"id": 1}])
    assert [r.path for r in upstream.requests] == ["/items", "/items"]


async def test_the_refusal_says_what_to_send_and_never_the_secret(tmp_path: Path, upstream: RoutedUpstream) -> None:
    document = _document(tmp_path, mcp_auth=", authentication: {type: bearer, token: '{{MCP_TOKEN}}'}")
    with serving(document, upstream.url) as served:
        async with httpx2.AsyncClient() as client:
            answer = await client.post(served.urls["items-mcp"], json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert answer.status_code == 401
    assert "Authorization: Bearer <token>" in answer.text and TOKEN not in answer.text
    assert upstream.requests == []


async def test_an_api_key_header_and_a_basic_pair_are_checked(tmp_path: Path, upstream: RoutedUpstream) -> None:
    """The engine's apiKeyAuthShould… cases, on REST; and basic on MCP."""
    document = _document(
        tmp_path,
        rest_auth=", authentication: {type: apikey, key: X-API-Key, value: '{{API_KEY}}', placement: header}",
        mcp_auth=", authentication: {type: basic, username: ops, password: '{{API_KEY}}'}",
    )
    basic = "Basic " + base64.b64encode(f"ops:{KEY}".encode()).decode()
    with serving(document, upstream.url) as served:
        rest = served.urls["items-rest"]
        without = await rest_call(rest, "GET", "/items")
        wrong = await rest_call(rest, "GET", "/items", headers={"X-API-Key": "not-it"})
        right = await rest_call(rest, "GET", "/items", headers={"X-API-Key": KEY})
        assert await _mcp_status(served.urls["items-mcp"], {"authorization": basic}) == 200
        assert await _mcp_status(served.urls["items-mcp"], {"X-API-Key": KEY}) == 401  # the REST adapter's key
    assert (without[0], wrong[0], right[0]) == (401, 401, 200)
    assert [r.path for r in upstream.requests] == ["/items"]


async def test_capgates_own_tokens_are_admitted_beside_the_documents(tmp_path: Path, upstream: RoutedUpstream) -> None:
    document = _document(tmp_path, mcp_auth=", authentication: {type: bearer, token: '{{MCP_TOKEN}}'}")
    environ = {"CAPGATE_TOKENS": f"ops:write:{CAPGATES_OWN}"}
    with serving(document, upstream.url, environ=environ) as served:
        mcp, rest = served.urls["items-mcp"], served.urls["items-rest"]
        assert await _mcp_status(mcp, {"authorization": f"Bearer {CAPGATES_OWN}"}) == 200
        assert await _mcp_status(mcp, {"authorization": f"Bearer {TOKEN}"}) == 200
        assert (await rest_call(rest, "GET", "/items"))[0] == 401  # capgate's tokens guard every adapter
        assert (await rest_call(rest, "GET", "/items", headers={"authorization": f"Bearer {TOKEN}"}))[0] == 401


OAUTH2 = ", authentication: {type: oauth2, authorizationServerUri: 'https://issuer.example', resource: 'https://me'}"


@pytest.mark.parametrize(
    ("authentication", "said"),
    [
        (OAUTH2, "asks for OAuth access tokens of https://issuer.example: serve it with --oauth-issuer "),
        (", authentication: {type: digest, username: ops, password: x}", "asks for digest authentication"),
        (
            ", authentication: {type: apikey, key: k, value: '{{API_KEY}}', placement: query}",
            "asks for an API key in the query",
        ),
    ],
)
def test_what_capgate_cannot_check_is_not_served_open(
    tmp_path: Path, upstream: RoutedUpstream, authentication: str, said: str
) -> None:
    document = _document(tmp_path, mcp_auth=authentication)
    with pytest.raises(ConfigurationError) as refused, serving(document, upstream.url):
        pass
    message = str(refused.value)
    assert "the mcp adapter 'items-mcp' " + said in message
    assert "--allow-unauthenticated" in message and KEY not in message


async def test_it_is_served_behind_capgates_own_tokens_or_open_when_the_operator_says_so(
    tmp_path: Path, upstream: RoutedUpstream
) -> None:
    document = _document(tmp_path, mcp_auth=OAUTH2)
    with serving(document, upstream.url, environ={"CAPGATE_TOKENS": f"ops:write:{CAPGATES_OWN}"}) as served:
        assert await _mcp_status(served.urls["items-mcp"], {}) == 401
        assert await _mcp_status(served.urls["items-mcp"], {"authorization": f"Bearer {CAPGATES_OWN}"}) == 200
    with serving(document, upstream.url, hardening=Hardening(allow_unauthenticated=True)) as served:
        assert await _mcp_status(served.urls["items-mcp"], {}) == 200


def test_a_declared_token_that_is_not_bound_stops_serve(tmp_path: Path, upstream: RoutedUpstream) -> None:
    document = _document(tmp_path, mcp_auth=", authentication: {type: bearer, token: '{{NOT_BOUND}}'}")
    with (
        pytest.raises(ConfigurationError, match=r"authentication.token: \{\{NOT_BOUND\}\} is not bound"),
        serving(document, upstream.url),
    ):
        pass


async def test_the_scheme_is_read_in_any_case_and_names_are_not_secrets(
    tmp_path: Path, upstream: RoutedUpstream
) -> None:
    # RFC 9110: the scheme is case-insensitive. A header name and a user name are no secrets: an answer that
    # mentions them comes back as it is (only the token, key, password and base64 pair are redacted).
    upstream.route("GET", "/items", [{"role": "ops", "header": "X-API-Key"}])
    document = _document(
        tmp_path,
        rest_auth=", authentication: {type: apikey, key: X-API-Key, value: '{{API_KEY}}', placement: header}",
        mcp_auth=", authentication: {type: basic, username: ops, password: '{{API_KEY}}'}",
    )
    pair = base64.b64encode(f"ops:{KEY}".encode()).decode()
    with serving(document, upstream.url) as served:
        mcp = served.urls["items-mcp"]
        statuses = [await _mcp_status(mcp, {"authorization": f"{scheme} {pair}"}) for scheme in ("basic", "BASIC ")]
        status, _, body = await rest_call(served.urls["items-rest"], "GET", "/items", headers={"X-API-Key": KEY})
    assert statuses == [200, 200]
    assert (status, orjson.loads(body)) == (200, [{"role": "ops", "header": "X-API-Key"}])


def test_a_declared_key_header_is_taken_out_of_the_request_once_read() -> None:
    from capgate.exposes.inbound.declared import DeclaredCredential, key_headers, presented, without_key_headers

    declared = [DeclaredCredential.of("rest", "X-API-Key", KEY, "X-API-Key: <key>")]
    scope = {"headers": [(b"x-api-key", KEY.encode()), (b"accept", b"*/*")]}
    assert presented(declared, scope) == declared[0]
    without_key_headers(key_headers(declared), scope)
    assert scope["headers"] == [(b"accept", b"*/*")]  # a forward resource or a header input cannot pass it on
