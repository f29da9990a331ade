"""capgate as an OAuth resource server, against a real authorization server (oidc-provider) on loopback: the
RFC 9728 metadata, the challenges, every refusal (no token, expired, another resource's, another issuer's, an
unknown key, `alg: none`, HMAC with the public key, read scope on a write route or tool), introspection of
opaque tokens, and the static tokens still working beside OAuth.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from capgate.exposes.inbound.oauth_settings import OAuthSettings
from capgate.gateway.safeguards import Hardening
from capgate.observe.audit_rows import read_rows
from tests.support.authorization import (
    RSA_KID,
    AuthorizationServer,
    Client,
    ResourceRule,
    authorization_server,
    unsigned,
)
from tests.support.gateway import RUN, TEST_KEY, Running, gateway_config, running_gateway
from tests.support.http import rest_call
from tests.support.upstream import RecordingUpstream, recording_upstream

pytestmark = pytest.mark.anyio

TEAM_A = Client("team-a", "team-a-secret-0123456789")
STATIC = "static-write-token-0123456789"
OTHER_RESOURCE = "https://other.example/api"
RESOURCES = [
    ResourceRule(r"^http://127\.0\.0\.1:\d+/mcp$"),  # the MCP endpoint: RS256 JWTs
    ResourceRule(r"^http://127\.0\.0\.1:\d+/$", alg="ES256"),  # the REST facade: ES256 JWTs
    ResourceRule(r"^https://other\.example/api$"),  # some other API behind the same server
]


def tool_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}


LIST = tool_call("list-runs", {})
CANCEL = tool_call("cancel-run", {"runId": RUN})


@dataclass
class Stack:
    server: AuthorizationServer
    upstream: RecordingUpstream
    gateway: Running
    audit: Path

    @property
    def mcp_resource(self) -> str:
        return self.gateway.mcp

    @property
    def rest_resource(self) -> str:
        return self.gateway.rest + "/"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    audit = tmp_path_factory.mktemp("oauth") / "audit.jsonl"
    with (
        authorization_server([TEAM_A], RESOURCES) as server,
        recording_upstream() as upstream,
        running_gateway(
            gateway_config(
                "trigger-dev-runs",
                upstream.url,
                environ={"TRIGGER_DEV_API_KEY": TEST_KEY, "CAPGATE_TOKENS": f"ops:write:{STATIC}"},
                hardening=Hardening(audit_log=audit, oauth=OAuthSettings(issuer=server.url)),
            )
        ) as gateway,
    ):
        yield Stack(server, upstream, gateway, audit)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def mcp_post(stack: Stack, message: dict[str, Any], headers: dict[str, str]) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=10) as client:
        return await client.post(
            stack.gateway.mcp,
            content=orjson.dumps(message),
            headers={
                "accept": "application/json, text/event-stream",
                "content-type": "application/json",
                "mcp-protocol-version": "2025-11-25",
                **headers,
            },
        )


def challenge(response: httpx2.Response) -> dict[str, str]:
    """The parameters of a `WWW-Authenticate: Bearer` answer."""
    scheme, _, parameters = response.headers["www-authenticate"].partition(" ")
    assert scheme == "Bearer"
    pairs = (item.strip().split("=", 1) for item in parameters.split(", "))
    return {name: value.strip('"') for name, value in pairs}


async def test_each_endpoint_publishes_its_protected_resource_metadata(stack: Stack) -> None:
    mcp_origin = stack.gateway.mcp.removesuffix("/mcp")
    expected_mcp = {
        "resource": stack.mcp_resource,
        "authorization_servers": [stack.server.url],
        "scopes_supported": ["read", "write"],
        "bearer_methods_supported": ["header"],
    }
    async with httpx2.AsyncClient(timeout=10) as client:
        for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
            response = await client.get(mcp_origin + path)
            assert response.status_code == 200, path
            assert response.json() == expected_mcp
            assert response.headers["access-control-allow-origin"] == "*"
        response = await client.get(stack.gateway.rest + "/.well-known/oauth-protected-resource")
        assert response.json() == {**expected_mcp, "resource": stack.rest_resource}


async def test_no_token_is_a_401_that_says_where_to_log_in(stack: Stack) -> None:
    response = await mcp_post(stack, LIST, {})
    assert response.status_code == 401
    assert challenge(response) == {
        "realm": "capgate",
        "resource_metadata": stack.gateway.mcp.replace("/mcp", "/.well-known/oauth-protected-resource/mcp"),
        "scope": "read write",
    }
    status, headers, body = await rest_call(stack.gateway.rest, "GET", "/v1/api/v1/runs")
    assert status == 401 and stack.server.url in orjson.loads(body)["detail"]
    metadata = f'resource_metadata="{stack.gateway.rest}/.well-known/oauth-protected-resource"'
    assert metadata in headers["www-authenticate"]


async def test_a_client_credentials_token_for_an_endpoint_works_there_and_only_there(stack: Stack) -> None:
    mcp_token = stack.server.token(TEAM_A, stack.mcp_resource, "read write")["access_token"]
    rest_token = stack.server.token(TEAM_A, stack.rest_resource, "read write")["access_token"]
    response = await mcp_post(stack, LIST, bearer(mcp_token))
    assert response.status_code == 200 and response.json()["result"]["isError"] is False
    status, _, _ = await rest_call(stack.gateway.rest, "GET", "/v1/api/v1/runs", headers=bearer(rest_token))
    assert status == 200
    # Each endpoint is its own resource: the other's token is refused.
    status, headers, body = await rest_call(stack.gateway.rest, "GET", "/v1/api/v1/runs", headers=bearer(mcp_token))
    assert status == 401 and 'error="invalid_token"' in headers["www-authenticate"]
    assert (
        f"not for this endpoint; ask the authorization server for a token for {stack.rest_resource}"
        in (orjson.loads(body)["detail"])
    )
    assert (await mcp_post(stack, LIST, bearer(rest_token))).status_code == 401


async def test_a_token_minted_for_another_resource_is_refused(stack: Stack) -> None:
    token = stack.server.token(TEAM_A, OTHER_RESOURCE, "read write")["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == OTHER_RESOURCE
    response = await mcp_post(stack, LIST, bearer(token))
    assert response.status_code == 401 and challenge(response)["error"] == "invalid_token"
    assert f"the access token is for {OTHER_RESOURCE}, not for this endpoint" in response.json()["detail"]


def _hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """A token an attacker signs with HMAC, using the server's *public* key as the shared secret."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = f"{part(json.dumps(header).encode())}.{part(json.dumps(claims).encode())}"
    return f"{signing_input}.{part(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def refused_tokens(stack: Stack) -> dict[str, tuple[str, str]]:
    """Tokens that must be refused, each with the words its refusal must contain."""
    server, audience = stack.server, stack.mcp_resource
    now = int(time.time())
    public = server.private_keys[RSA_KID].public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(public).encode()
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = server.claims(audience)
    return {
        "expired": (server.sign(server.claims(audience, iat=now - 900, exp=now - 300)), "has expired"),
        "not yet valid": (server.sign(server.claims(audience, nbf=now + 600)), "not valid yet"),
        "wrong issuer": (server.sign(server.claims(audience, iss="https://evil.example")), "not issued by"),
        "wrong audience": (server.sign(server.claims("https://other.example/api")), "not for this endpoint"),
        "no audience": (server.sign(server.claims(audience, aud=None)), "no `aud` claim"),
        "no expiry": (server.sign(server.claims(audience, exp=None)), "no `exp` claim"),
        "unknown key": (jwt.encode(claims, stranger, "RS256", headers={"kid": "stranger"}), "does not publish"),
        "known kid, other key": (jwt.encode(claims, stranger, "RS256", headers={"kid": RSA_KID}), "does not verify"),
        "alg none": (unsigned(claims, {"alg": "none", "typ": "JWT"}), "'none'"),
        "HMAC with the PEM": (_hs256(claims, pem, RSA_KID), "'HS256'"),
        "HMAC with the JWK": (_hs256(claims, jwk, RSA_KID), "'HS256'"),
        "tampered": (server.sign(claims)[:-8] + "AAAAAAAA", "does not verify"),
        "not a JWT": ("opaque-but-unknown-0123456789", "neither one of this gateway's tokens nor a JWT"),
        "garbage JWT": ("eyJub3QganNvbg.eyJ4IjoxfQ.c2ln", "not a well-formed JWT"),
        "alg is a list": (unsigned(claims, {"alg": ["RS256"], "kid": RSA_KID}), "is signed with ['RS256']"),
        "kid is a number": (unsigned(claims, {"alg": "RS256", "kid": 7}), "not a well-formed JWT"),
        "aud is a number": (server.sign(server.claims(audience, aud=7)), "is for no audience"),
    }


async def test_every_bad_token_is_refused_with_a_reason(stack: Stack) -> None:
    stack.upstream.requests.clear()
    for name, (token, reason) in refused_tokens(stack).items():
        response = await mcp_post(stack, LIST, bearer(token))
        assert response.status_code == 401, (name, response.text)
        assert challenge(response)["error"] == "invalid_token", name
        assert reason in response.json()["detail"], (name, response.json()["detail"])
        status, _, body = await rest_call(stack.gateway.rest, "GET", "/v1/api/v1/runs", headers=bearer(token))
        assert status == 401, (name, body)
    assert stack.upstream.requests == []  # nothing reached the upstream


async def test_a_signed_token_with_the_right_claims_is_accepted(stack: Stack) -> None:
    """The refusals above fail for the reason they name: the same claims, properly signed, are accepted."""
    for kid, algorithm in ((RSA_KID, "RS256"), ("test-ec-1", "ES256")):
        token = stack.server.sign(stack.server.claims(stack.mcp_resource), kid=kid, algorithm=algorithm)
        assert (await mcp_post(stack, LIST, bearer(token))).status_code == 200, algorithm


async def test_the_read_scope_may_not_call_a_write_tool_or_route(stack: Stack) -> None:
    token = stack.server.token(TEAM_A, stack.mcp_resource, "read")["access_token"]
    assert (await mcp_post(stack, LIST, bearer(token))).status_code == 200
    response = await mcp_post(stack, CANCEL, bearer(token))
    assert response.status_code == 403
    assert challenge(response) == {
        "realm": "capgate",
        "error": "insufficient_scope",
        "resource_metadata": stack.gateway.mcp.replace("/mcp", "/.well-known/oauth-protected-resource/mcp"),
        "scope": "write",
    }
    assert "the access token of 'team-a' has the read scope (ask for the scope 'write')" in response.json()["detail"]
    rest_token = stack.server.token(TEAM_A, stack.rest_resource, "read")["access_token"]
    status, headers, _ = await rest_call(
        stack.gateway.rest, "POST", f"/v1/api/v2/runs/{RUN}/cancel", headers=bearer(rest_token)
    )
    assert status == 403 and 'error="insufficient_scope"' in headers["www-authenticate"]
    # Neither scope: refused outright, naming the scope to ask for.
    no_scope = stack.server.sign(stack.server.claims(stack.mcp_resource, scope="profile"))
    response = await mcp_post(stack, LIST, bearer(no_scope))
    assert response.status_code == 403 and challenge(response)["scope"] == "read"


async def test_static_tokens_still_work_beside_oauth(stack: Stack) -> None:
    status, _, _ = await rest_call(stack.gateway.rest, "POST", f"/v1/api/v2/runs/{RUN}/cancel", headers=bearer(STATIC))
    assert status == 200
    assert (await mcp_post(stack, CANCEL, bearer(STATIC))).status_code == 200


async def test_the_caller_is_recorded_and_the_token_reaches_nothing(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    stack.upstream.requests.clear()
    token = stack.server.token(TEAM_A, stack.mcp_resource, "read write")["access_token"]
    logged = _AccessLine()
    access_logger = logging.getLogger("capgate.access")
    access_logger.addHandler(logged)
    try:
        with caplog.at_level(logging.INFO, logger="capgate.access"):
            assert (await mcp_post(stack, CANCEL, bearer(token))).status_code == 200
            # The guard writes the access line once the answer is sent, in the gateway's thread: wait for it.
            assert logged.written.wait(10), "no access line within 10 s"
    finally:
        access_logger.removeHandler(logged)
    access = [record for record in caplog.records if record.name == "capgate.access"]
    assert [(r.caller, r.client, r.route) for r in access] == [("team-a", "team-a", "tools/call cancel-run")]
    assert "caller=team-a client=team-a" in access[0].getMessage()
    entry = read_rows(stack.audit)[-1]
    assert (entry["caller"], entry["client"], entry["operation"]) == ("team-a", "team-a", "management-runs.cancelrun")
    assert [request.headers["authorization"] for request in stack.upstream.requests] == [f"Bearer {TEST_KEY}"]
    seen = b"".join(repr(request).encode() + request.body for request in stack.upstream.requests)
    assert token.encode() not in seen and token not in caplog.text and token not in stack.audit.read_text()


@pytest.fixture(scope="module")
def introspecting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A gateway whose REST facade gets opaque tokens, checked by RFC 7662 introspection."""
    gateway_client = Client("capgate", "capgate-introspection-secret-0123", grant_types=())
    resources = [ResourceRule(r"^http://127\.0\.0\.1:\d+/$", format="opaque")]
    with (
        authorization_server([TEAM_A, gateway_client], resources) as server,
        recording_upstream() as upstream,
        running_gateway(
            gateway_config(
                "trigger-dev-runs",
                upstream.url,
                hardening=Hardening(
                    audit_log=None,
                    oauth=OAuthSettings(
                        issuer=server.url,
                        introspection_client=gateway_client.client_id,
                        introspection_secret=gateway_client.client_secret,
                    ),
                ),
            )
        ) as gateway,
    ):
        yield Stack(server, upstream, gateway, Path())


async def test_opaque_tokens_are_introspected(introspecting: Stack) -> None:
    stack = introspecting
    read = stack.server.token(TEAM_A, stack.rest_resource, "read")["access_token"]
    assert not read.startswith("ey")  # opaque
    status, _, _ = await rest_call(stack.gateway.rest, "GET", "/v1/api/v1/runs", headers=bearer(read))
    assert status == 200
    status, _, _ = await rest_call(stack.gateway.rest, "POST", f"/v1/api/v2/runs/{RUN}/cancel", headers=bearer(read))
    assert status == 403
    status, _, body = await rest_call(
        stack.gateway.rest, "GET", "/v1/api/v1/runs", headers=bearer("made-up-opaque-token-0123456789")
    )
    assert status == 401 and "not active" in orjson.loads(body)["detail"]
    assert stack.upstream.requests[0].headers["authorization"] == f"Bearer {TEST_KEY}"


class _AccessLine(logging.Handler):
    """Sets `written` when an access line is logged, from whichever thread logs it."""

    def __init__(self) -> None:
        super().__init__()
        self.written = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.written.set()
