"""Consent before a destructive tool call, with the real client in both protocol eras against a recording
upstream: each answer does what it says upstream, clients that cannot be asked get the operator's policy,
a question cannot be skipped or its answer moved to another call, and every decision is in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from capgate.core.secret_key import SecretKey
from capgate.gateway.safeguards import Hardening
from capgate.observe.audit_rows import format_row, read_rows
from tests.exposes.mcp.conftest import texts
from tests.support.gateway import RUN, TEST_KEY, Running, gateway_config, running_gateway
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.anyio

ERAS = {"auto": "input-required", "legacy": "elicitation"}  # 2026-07-28 and 2025-11-25, and how each asks
CANCEL = f"/api/v2/runs/{RUN}/cancel"
OTHER_RUN = "run_other00000000000000000000"
ALICE, BOB = "alice-token-0123456789abcdef", "bob-token-0123456789abcdef0"


@dataclass
class Asker:
    """An elicitation callback that gives one answer and keeps each question."""

    action: str = "accept"
    content: dict[str, Any] | None = None
    questions: list[types.ElicitRequestParams] | None = None

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.questions = [*(self.questions or []), params]
        return types.ElicitResult(action=self.action, content=self.content)  # type: ignore[arg-type]


def gateway(upstream: RecordingUpstream, log: Path, **hardening: Any) -> Iterator[Running]:
    config = gateway_config("trigger-dev-runs", upstream.url, hardening=Hardening(audit_log=log, **hardening))
    with running_gateway(config) as running:
        yield running


def cancels(upstream: RecordingUpstream) -> int:
    return sum(request.method == "POST" and request.path == CANCEL for request in upstream.requests)


def decisions(log: Path) -> list[tuple[str, str]]:
    return [(entry["asked"], entry["answer"]) for entry in read_rows(log) if entry.get("event") == "consent"]


ANSWERS = [
    ("accept", {"confirm": True}, "accept"),
    ("accept", {"confirm": False}, "decline"),  # accepted the form, said no
    ("decline", None, "decline"),
    ("cancel", None, "cancel"),
]


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize(("action", "content", "answer"), ANSWERS)
async def test_the_user_is_asked_yes_or_no_and_only_a_yes_reaches_the_upstream(
    upstream: RecordingUpstream, tmp_path: Path, mode: str, action: str, content: dict[str, Any] | None, answer: str
) -> None:
    log = tmp_path / "audit.jsonl"
    asker = Asker(action, content)
    upstream.reply(200, {"id": RUN})
    for running in gateway(upstream, log):
        async with Client(running.mcp, mode=mode, elicitation_callback=asker) as client:
            result = await client.call_tool("cancel-run", {"runId": RUN})
    assert asker.questions is not None and len(asker.questions) == 1
    question = asker.questions[0]
    assert isinstance(question, types.ElicitRequestFormParams)
    assert f'"runId":"{RUN}"' in question.message and "destructive" in question.message
    assert question.requested_schema["properties"]["confirm"]["type"] == "boolean"
    assert question.requested_schema["required"] == ["confirm"]
    if answer == "accept":
        assert result.is_error is False and cancels(upstream) == 1
    else:
        assert result.is_error is True and cancels(upstream) == 0, "nothing was sent upstream"
        said = "declined" if answer == "decline" else "dismissed the question about"
        assert texts(result) == [
            f"Not done: the user {said} cancel-run, so nothing was sent upstream. Do not retry unless the user asks to."
        ]
    assert decisions(log) == [(ERAS[mode], answer)]
    entry = next(entry for entry in read_rows(log) if entry.get("event") == "consent")
    assert entry["target"] == "cancel-run" and entry["operation"] == "management-runs.cancelrun"
    assert entry["resource"] == {"runId": RUN} and entry["mcp_client"].startswith("mcp")
    shown = f"mcp  management-runs.cancelrun  runId={RUN}  consent: {answer} (the user, asked by {ERAS[mode]})"
    assert format_row(entry).endswith(shown), "as `capgate audit` prints it"


@pytest.mark.parametrize("mode", ERAS)
async def test_a_client_that_cannot_ask_gets_the_policy_allow_by_default(
    upstream: RecordingUpstream, tmp_path: Path, mode: str
) -> None:
    log = tmp_path / "audit.jsonl"
    for running in gateway(upstream, log):
        async with Client(running.mcp, mode=mode) as client:  # no elicitation callback: no capability declared
            result = await client.call_tool("cancel-run", {"runId": RUN})
    assert result.is_error is False and cancels(upstream) == 1
    assert decisions(log) == [("policy", "allow")]


@pytest.mark.parametrize("mode", ERAS)
async def test_with_the_deny_policy_nothing_is_sent_for_a_client_that_cannot_ask(
    upstream: RecordingUpstream, tmp_path: Path, mode: str
) -> None:
    log = tmp_path / "audit.jsonl"
    for running in gateway(upstream, log, confirm_destructive="deny"):
        async with Client(running.mcp, mode=mode) as client:
            result = await client.call_tool("cancel-run", {"runId": RUN})
            replayed = await client.call_tool("replay-run", {"runId": RUN})  # not destructive: not asked
    assert result.is_error is True and cancels(upstream) == 0
    # A 2025-11-25 client that declares no elicitation is given no session: its connection is stateless.
    why = "it declared no elicitation capability" if mode == "auto" else "a stateless 2025-11-25 connection cannot "
    assert texts(result)[0].startswith(
        f"Not done: cancel-run is marked destructive, this client cannot ask its user for consent ({why}"
    )
    assert texts(result)[0].endswith(
        "), and this gateway refuses such calls without it (--confirm destructive=deny). "
        "Nothing was sent upstream. Use a client that supports elicitation, or ask the operator."
    )
    assert replayed.is_error is False and [r.path for r in upstream.requests] == [f"/api/v1/runs/{RUN}/replay"]
    assert decisions(log) == [("policy", "deny")]


async def test_without_sessions_a_2025_client_cannot_be_asked_and_the_policy_applies(
    upstream: RecordingUpstream, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    asker = Asker()
    for running in gateway(upstream, log, confirm_destructive="deny", mcp_sessions=False):  # as with --workers
        async with Client(running.mcp, mode="legacy", elicitation_callback=asker) as client:
            result = await client.call_tool("cancel-run", {"runId": RUN})
    assert asker.questions is None and result.is_error is True and cancels(upstream) == 0
    assert "(a stateless 2025-11-25 connection cannot carry a question)" in texts(result)[0]
    assert decisions(log) == [("policy", "deny")]


@pytest.mark.parametrize("mode", ERAS)
async def test_invalid_arguments_are_refused_before_anyone_is_asked(
    upstream: RecordingUpstream, tmp_path: Path, mode: str
) -> None:
    log = tmp_path / "audit.jsonl"
    asker = Asker()
    for running in gateway(upstream, log):
        async with Client(running.mcp, mode=mode, elicitation_callback=asker) as client:
            result = await client.call_tool("cancel-run", {"runId": "../../etc"})
    assert asker.questions is None and result.is_error is True and upstream.requests == []
    assert [entry["outcome"] for entry in read_rows(log)] == ["error: ArgumentError"], "audited as an attempt"


async def asked(client: Client, run_id: str = RUN) -> types.InputRequiredResult:
    first = await client.session.call_tool("cancel-run", {"runId": run_id}, allow_input_required=True)
    assert isinstance(first, types.InputRequiredResult) and first.request_state
    return first


YES = {"confirm": types.ElicitResult(action="accept", content={"confirm": True})}


async def test_an_answer_without_the_sealed_question_is_not_taken(upstream: RecordingUpstream, tmp_path: Path) -> None:
    for running in gateway(upstream, tmp_path / "audit.jsonl"):
        async with Client(running.mcp, elicitation_callback=Asker()) as client:
            unasked = await client.session.call_tool(
                "cancel-run", {"runId": RUN}, input_responses=YES, allow_input_required=True
            )
            assert isinstance(unasked, types.InputRequiredResult), "asked again instead"
            with pytest.raises(MCPError, match="Invalid or expired requestState"):
                await client.session.call_tool(
                    "cancel-run",
                    {"runId": RUN},
                    input_responses=YES,
                    request_state="capgate/consent/v1",  # the plain state: not sealed by this gateway
                    allow_input_required=True,
                )
            question = await asked(client, OTHER_RUN)
            with pytest.raises(MCPError, match="Invalid or expired requestState"):  # sealed for another run
                await client.session.call_tool(
                    "cancel-run",
                    {"runId": RUN},
                    input_responses=YES,
                    request_state=question.request_state,
                    allow_input_required=True,
                )
    assert cancels(upstream) == 0


@pytest.mark.parametrize("shared", [True, False])
async def test_an_answer_verifies_on_another_process_only_under_the_same_key(
    upstream: RecordingUpstream, tmp_path: Path, shared: bool
) -> None:
    key = SecretKey.generate()
    other = key if shared else SecretKey.generate()
    for first in gateway(upstream, tmp_path / "a.jsonl", request_state_key=key):
        for second in gateway(upstream, tmp_path / "b.jsonl", request_state_key=other):
            async with Client(first.mcp, elicitation_callback=Asker()) as asking:
                question = await asked(asking)
            async with Client(second.mcp, elicitation_callback=Asker()) as answering:
                retry = answering.session.call_tool(
                    "cancel-run",
                    {"runId": RUN},
                    input_responses=YES,
                    request_state=question.request_state,
                    allow_input_required=True,
                )
                if shared:
                    result = await retry
                    assert isinstance(result, types.CallToolResult) and result.is_error is False
                else:
                    with pytest.raises(MCPError, match="Invalid or expired requestState"):
                        await retry
    assert cancels(upstream) == (1 if shared else 0)


def as_caller(url: str, token: str) -> Client:
    transport = streamable_http_client(
        url, http_client=httpx2.AsyncClient(headers={"authorization": f"Bearer {token}"})
    )
    return Client(transport, elicitation_callback=Asker())


async def test_an_answer_verifies_only_for_the_caller_who_was_asked(
    upstream: RecordingUpstream, tmp_path: Path
) -> None:
    tokens = {"TRIGGER_DEV_API_KEY": TEST_KEY, "CAPGATE_TOKENS": f"alice:write:{ALICE},bob:write:{BOB}"}
    config = gateway_config("trigger-dev-runs", upstream.url, environ=tokens, hardening=Hardening(audit_log=None))
    with running_gateway(config) as running:
        async with as_caller(running.mcp, ALICE) as alice:
            question = await asked(alice)
        async with as_caller(running.mcp, BOB) as bob:
            with pytest.raises(MCPError, match="Invalid or expired requestState"):
                await bob.session.call_tool(
                    "cancel-run",
                    {"runId": RUN},
                    input_responses=YES,
                    request_state=question.request_state,
                    allow_input_required=True,
                )
        async with as_caller(running.mcp, ALICE) as alice:
            result = await alice.session.call_tool(
                "cancel-run", {"runId": RUN}, input_responses=YES, request_state=question.request_state
            )
            assert isinstance(result, types.CallToolResult) and result.is_error is False
    assert cancels(upstream) == 1
