"""Issue 17, done when: a remote MCP client that knows only capgate's URL discovers where to log in, gets a
token and calls a tool (the official `mcp` client's OAuth support, against oidc-provider: authorization code
with PKCE and dynamic registration, and client credentials); two teams with their own upstream keys act with
them (the recording upstream shows it) and the audit log says which team did what; the inbound token reaches
the upstream in no case.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from capgate.exposes.inbound.oauth_settings import OAuthSettings
from capgate.gateway.safeguards import Hardening
from capgate.observe.audit_rows import read_rows
from tests.support.authorization import (
    AuthorizationServer,
    ResourceRule,
    authorization_server,
    authorize_in_browser,
)
from tests.support.authorization import (
    Client as OAuthClient,
)
from tests.support.gateway import RUN, TEST_KEY, Running, gateway_config, running_gateway
from tests.support.upstream import RecordingUpstream, recording_upstream

pytestmark = pytest.mark.anyio

TEAM_A = OAuthClient("team-a", "team-a-secret-0123456789")
TEAM_B = OAuthClient("team-b", "team-b-secret-0123456789")
TEAM_A_KEY = "tr_dev_teamAteamAteamA000000001"
ALICE_KEY = "tr_dev_aliceALICEalice000000001"
REDIRECT_URI = "http://127.0.0.1:33418/callback"  # never listened on: the test's "browser" stops at it
RESOURCES = [ResourceRule(r"^http://127\.0\.0\.1:\d+/mcp$"), ResourceRule(r"^http://127\.0\.0\.1:\d+/$")]


@dataclass
class Stack:
    server: AuthorizationServer
    upstream: RecordingUpstream
    gateway: Running
    audit: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("teams")
    (folder / "alice.key").write_text(ALICE_KEY + "\n")
    binds = folder / "caller-binds.yaml"
    binds.write_text(
        "callers:\n"
        "  client:team-a: {TRIGGER_DEV_API_KEY: {env: TEAM_A_TRIGGER_KEY}}\n"
        "  sub:alice: {TRIGGER_DEV_API_KEY: {file: alice.key}}\n"
    )
    audit = folder / "audit.jsonl"
    with (
        authorization_server([TEAM_A, TEAM_B], RESOURCES) as server,
        recording_upstream() as upstream,
        running_gateway(
            gateway_config(
                "trigger-dev-runs",
                upstream.url,
                environ={"TRIGGER_DEV_API_KEY": TEST_KEY, "TEAM_A_TRIGGER_KEY": TEAM_A_KEY},
                hardening=Hardening(audit_log=audit, oauth=OAuthSettings(issuer=server.url), caller_binds=str(binds)),
            )
        ) as gateway,
    ):
        yield Stack(server, upstream, gateway, audit)


class Memory:
    """Token storage of one MCP client, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Person:
    """The user at the browser: follows each authorization URL the client opens, as `user`."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.opened: list[str] = []
        self._answer: dict[str, str] = {}

    async def open(self, url: str) -> None:
        self.opened.append(url)
        self._answer = await authorize_in_browser(url, REDIRECT_URI, self.user)

    async def callback(self) -> AuthorizationCodeResult:
        return AuthorizationCodeResult(
            code=self._answer["code"], state=self._answer.get("state"), iss=self._answer.get("iss")
        )


async def call_tools(url: str, auth: httpx2.Auth, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    transport = streamable_http_client(url, http_client=httpx2.AsyncClient(auth=auth, timeout=30))
    async with Client(transport) as client:
        return [await client.call_tool(name, arguments) for name, arguments in calls]


def upstream_keys(stack: Stack) -> list[str]:
    return [request.headers["authorization"] for request in stack.upstream.requests]


async def test_a_client_that_knows_only_the_url_logs_in_and_calls_tools(stack: Stack) -> None:
    stack.upstream.requests.clear()
    alice = Person("alice")
    memory = Memory()
    auth = OAuthClientProvider(
        stack.gateway.mcp,
        OAuthClientMetadata(client_name="desktop client", redirect_uris=[REDIRECT_URI]),
        memory,
        redirect_handler=alice.open,
        callback_handler=alice.callback,
    )
    listed, cancelled = await call_tools(stack.gateway.mcp, auth, [("list-runs", {}), ("cancel-run", {"runId": RUN})])
    assert listed.is_error is False and cancelled.is_error is False
    # Discovery led it to the authorization server, once, for capgate's MCP endpoint and both its scopes.
    (opened,) = alice.opened
    assert opened.startswith(stack.server.url + "/auth?")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(opened).query))
    assert query["resource"] == stack.gateway.mcp and {"read", "write"} <= set(query["scope"].split())
    assert query["code_challenge_method"] == "S256"
    assert memory.tokens is not None and {"read", "write"} <= set((memory.tokens.scope or "").split())
    # Alice acts upstream with her own key; her token went nowhere but capgate.
    assert upstream_keys(stack) == [f"Bearer {ALICE_KEY}", f"Bearer {ALICE_KEY}"]
    assert memory.tokens.access_token not in repr(stack.upstream.requests)
    entry = read_rows(stack.audit)[-1]
    assert memory.client is not None
    assert (entry["caller"], entry["client"], entry["target"]) == ("alice", memory.client.client_id, "cancel-run")


async def test_two_teams_act_with_their_own_keys_and_the_audit_log_says_which(stack: Stack) -> None:
    stack.upstream.requests.clear()
    for team in (TEAM_A, TEAM_B):
        auth = ClientCredentialsOAuthProvider(
            stack.gateway.mcp, Memory(), team.client_id, team.client_secret, issuer=stack.server.url
        )
        (result,) = await call_tools(stack.gateway.mcp, auth, [("cancel-run", {"runId": RUN})])
        assert result.is_error is False, result
    # team-a has a key of its own; team-b has none, so it acts with the operator's.
    assert upstream_keys(stack) == [f"Bearer {TEAM_A_KEY}", f"Bearer {TEST_KEY}"]
    entries = read_rows(stack.audit)[-4:]  # each cancel: its consent decision (the policy's), then itself
    assert [(e["caller"], e["client"], e["operation"], e.get("answer")) for e in entries] == [
        ("team-a", "team-a", "management-runs.cancelrun", "allow"),
        ("team-a", "team-a", "management-runs.cancelrun", None),
        ("team-b", "team-b", "management-runs.cancelrun", "allow"),
        ("team-b", "team-b", "management-runs.cancelrun", None),
    ]
    assert all(e["resource"] == {"runId": RUN} for e in entries)
    text = stack.audit.read_text()
    assert TEAM_A_KEY not in text and ALICE_KEY not in text and TEST_KEY not in text
