"""Consent before destruction: a tool whose hints say destructive is called upstream only once the human said
yes, or, for a client that cannot ask its human, when the operator's policy (`--confirm destructive=...`)
allows it.

How the question travels depends on the protocol era and on what the client declared:
- 2026-07-28, elicitation in the request's capabilities: the call answers an `InputRequiredResult` holding a
  yes/no elicitation; the client asks its user and calls again with the answer and the `requestState` it
  got. That state is sealed by the SDK's `RequestStateBoundary` (`StateSeal`) under a key every worker of
  `capgate serve` shares, and bound to the tool, its arguments, the caller's token and a lifetime, so the
  retry verifies on whichever worker it reaches; an answer that comes without that state is not taken (the
  question is asked again), so a client cannot skip the question.
- 2025-11-25 inside a session (`capgate.exposes.mcp.transport`) whose client declared elicitation:
  `elicitation/create` on the call's own stream, answered within `ASK_TIMEOUT` or taken as a cancel.
- Otherwise (stateless 2025-11-25, no elicitation capability, stdio client without it) nobody can be asked,
  and the policy decides: `allow` (the default, so scripted clients with a write token keep working) or `deny`.

Accept runs the call. Decline or cancel (or an accept without a yes) sends nothing and answers a tool error
that says so. Every decision, with the caller and the client that asked and the answer, is recorded (the
audit log) before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import orjson

from capgate.core.redaction import redact
from capgate.core.secret_key import SecretKey
from capgate.exposes.mcp import ConfirmPolicy
from capgate.exposes.mcp.results import error_result
from capgate.exposes.mcp.sdk import (
    CallNext,
    HandlerResult,
    MCPError,
    ServerRequestContext,
    is_input_required,
    is_version_at_least,
    types,
)
from capgate.exposes.runnable import Runnable
from capgate.observe.consent import Answer, Asked, ConsentRecord, Recorder
from capgate.observe.exchange import Caller, exchange_of

if TYPE_CHECKING:  # imported by the first call that needs a seal (`StateSeal`)
    from mcp.server.request_state import RequestStateBoundary

CONFIRM = "confirm"  # the question's one (boolean) field, and its key among the input requests
ASK_TIMEOUT = 300.0  # seconds a 2025-11-25 client has to answer; then the question counts as cancelled
STATE_LIFETIME = 600.0  # seconds a 2026-07-28 question stays answerable
_INPUT_REQUIRED_ERA = "2026-07-28"
_ASKED = "capgate/consent/v1"  # the request state of a call whose question was asked (sealed on the wire)


@dataclass(frozen=True)
class Question:
    """The yes/no question about one destructive call, as the caller named its arguments."""

    tool: str
    title: str
    arguments: Mapping[str, Any]

    @property
    def message(self) -> str:
        shown = redact(orjson.dumps(dict(self.arguments)).decode()) if self.arguments else "no arguments"
        return (
            f"{self.title} ({self.tool}) with {shown}. This is marked destructive: it changes things upstream and "
            "may not be undone. Allow it?"
        )

    @property
    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                CONFIRM: {
                    "type": "boolean",
                    "title": f"Allow {self.tool}",
                    "description": "true lets the gateway make the call; false sends nothing",
                }
            },
            "required": [CONFIRM],
        }

    def input_required(self) -> dict[str, Any]:
        """The 2026-07-28 answer that asks the question (its request state is sealed by `StateSeal`)."""
        form = {"mode": "form", "message": self.message, "requestedSchema": self.schema}
        request = {"method": "elicitation/create", "params": form}
        return {"resultType": "input_required", "inputRequests": {CONFIRM: request}, "requestState": _ASKED}


class Consent:
    """Asks before a destructive call, or applies `policy` where nobody can be asked; `record` gets each decision."""

    def __init__(self, policy: ConfirmPolicy = "allow", record: Recorder | None = None) -> None:
        self.policy = policy
        self.record = record

    async def check(
        self,
        ctx: ServerRequestContext[Any],
        params: types.CallToolRequestParams,
        question: Question,
        binding: Runnable,
        arguments: dict[str, Any],
    ) -> dict[str, Any] | None:
        """None when the call may go ahead; else what to answer instead: the question, or a tool error."""
        decided = await self._decide(ctx, params, question)
        if isinstance(decided, dict):
            return decided
        asked, answer, why = decided
        if self.record is not None:
            await self.record(_record(ctx, question, binding, arguments, asked, answer))
        if answer in ("accept", "allow"):
            return None
        return error_result(_refusal(question.tool, answer, why))

    async def _decide(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams, question: Question
    ) -> dict[str, Any] | tuple[Asked, Answer, str]:
        modern = bool(ctx.protocol_version) and is_version_at_least(ctx.protocol_version, _INPUT_REQUIRED_ERA)
        if not modern and not ctx.session.can_send_request:  # nor does it learn what the client can do
            return "policy", self.policy, "a stateless 2025-11-25 connection cannot carry a question"
        if not _can_elicit(ctx):
            return "policy", self.policy, "it declared no elicitation capability"
        if modern:
            response = (params.input_responses or {}).get(CONFIRM)
            if params.request_state != _ASKED or not isinstance(response, types.ElicitResult):
                return question.input_required()
            return "input-required", _answer(response), ""
        try:
            with anyio.fail_after(ASK_TIMEOUT):
                response = await ctx.session.elicit_form(question.message, question.schema, ctx.request_id)
        except TimeoutError:
            return "elicitation", "cancel", ""
        except MCPError:  # the client refused to ask after all: nobody was asked
            return "policy", self.policy, "it refused the elicitation/create request"
        return "elicitation", _answer(response), ""


class StateSeal:
    """The SDK's `RequestStateBoundary` as server middleware, under `key` (`capgate serve` gives every worker
    the same one); the state is bound to the caller's token id, when there is one.

    The boundary is built on the first call that brings a request state or answers with one (a consent
    question): it imports the SDK's `request_state` and with it `cryptography`, ~7 MiB of memory that a
    process whose clients never meet a question does without. Until then a call passes as the boundary would
    pass it (nothing to verify, nothing to seal), and the first answer that needs a seal goes through it.
    """

    def __init__(self, audience: str, key: SecretKey | None = None) -> None:
        self.audience = audience
        self.use(key or SecretKey.generate())

    def use(self, key: SecretKey) -> None:
        self._key = key
        self._boundary: RequestStateBoundary | None = None

    async def __call__(self, ctx: ServerRequestContext[Any], call_next: CallNext) -> HandlerResult:
        if self._boundary is None and (ctx.params is None or ctx.params.get("requestState") is None):
            result = await call_next(ctx)
            if not is_input_required(result):
                return result

            async def answered(_: ServerRequestContext[Any]) -> HandlerResult:
                return result

            return await self._sealing()(ctx, answered)
        return await self._sealing()(ctx, call_next)

    def _sealing(self) -> RequestStateBoundary:
        if self._boundary is None:
            from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity  # (see the docstring)

            security = RequestStateSecurity(keys=[self._key.reveal()], ttl=STATE_LIFETIME, bind_principal=_caller_id)
            self._boundary = RequestStateBoundary(security, default_audience=self.audience)
        return self._boundary


def _can_elicit(ctx: ServerRequestContext[Any]) -> bool:
    """The client declared form elicitation (a bare `elicitation: {}`, from before modes, counts)."""
    capabilities = ctx.session.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def _answer(response: types.ElicitResult) -> Answer:
    if response.action == "accept":
        return "accept" if (response.content or {}).get(CONFIRM) is True else "decline"
    return response.action


def _refusal(tool: str, answer: Answer, why: str) -> str:
    if answer == "deny":
        return (
            f"Not done: {tool} is marked destructive, this client cannot ask its user for consent ({why}), and "
            "this gateway refuses such calls without it (--confirm destructive=deny). Nothing was sent upstream. "
            "Use a client that supports elicitation, or ask the operator."
        )
    said = "declined" if answer == "decline" else "dismissed the question about"
    return f"Not done: the user {said} {tool}, so nothing was sent upstream. Do not retry unless the user asks to."


def _record(
    ctx: ServerRequestContext[Any],
    question: Question,
    binding: Runnable,
    arguments: dict[str, Any],
    asked: Asked,
    answer: Answer,
) -> ConsentRecord:
    operation = binding.operation  # None for steps or a mock: then no path names the resource
    paths = [parameter.key for parameter in operation.parameters if parameter.location == "path"] if operation else []
    caller = _caller(ctx)
    return ConsentRecord(
        caller=caller.id if caller is not None else None,
        client=caller.client if caller is not None else None,
        mcp_client=_mcp_client(ctx),
        adapter="mcp",
        target=question.tool,
        operation=binding.operation_name,
        resource={key: arguments[key] for key in paths if key in arguments},
        arguments=arguments,
        asked=asked,
        answer=answer,
    )


def _caller(ctx: ServerRequestContext[Any]) -> Caller | None:
    request = getattr(ctx, "request", None)
    exchange = exchange_of(getattr(request, "scope", None))
    return exchange.caller if exchange is not None else None


def _caller_id(ctx: ServerRequestContext[Any]) -> str | None:
    """What the request state is bound to: the caller's token id or subject (None without inbound tokens)."""
    caller = _caller(ctx)
    return None if caller is None else f"{'sub' if caller.oauth else 'token'}:{caller.id}"


def _mcp_client(ctx: ServerRequestContext[Any]) -> str | None:
    params = ctx.session.client_params
    info = params.client_info if params is not None else None
    return f"{info.name} {info.version}".strip() if info is not None else None
