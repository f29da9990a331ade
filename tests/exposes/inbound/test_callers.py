"""`--caller-rate-limit`: each caller's own budget of MCP calls, a clear refusal with the time to wait, nothing
sent upstream for a refused call, and one caller's calls never spending another's."""

from __future__ import annotations

import argparse

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from capgate.cli.serve_options import add_hardening_options, hardening
from capgate.consumes.limiter import LocalLimiter, RateLimit
from capgate.consumes.resilience import ResilienceSettings
from capgate.core.errors import ConfigurationError
from capgate.gateway.safeguards import Hardening, Safeguards
from tests.exposes.mcp.conftest import texts
from tests.support.gateway import RUN, TEST_KEY, gateway_config, running_gateway
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.anyio

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdefgh"
LIMIT = RateLimit(2, 1, 3600)  # two calls, then one more an hour later: no refill within a test


def client_for(url: str, token: str | None) -> Client:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return Client(streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers)))


async def test_a_caller_over_its_budget_is_told_when_to_retry_and_nothing_is_sent(upstream: RecordingUpstream) -> None:
    environ = {"TRIGGER_DEV_API_KEY": TEST_KEY, "CAPGATE_TOKENS": f"alice:write:{ALICE}, bob:read:{BOB}"}
    config = gateway_config(
        "trigger-dev-runs",
        upstream.url,
        environ=environ,
        hardening=Hardening(audit_log=None, caller_rate_limit=LIMIT),
    )
    with running_gateway(config) as gateway:
        async with client_for(gateway.mcp, ALICE) as alice, client_for(gateway.mcp, BOB) as bob:
            answers = [await alice.call_tool("retrieve-run", {"runId": RUN}) for _ in range(3)]
            sent = len(upstream.requests)
            # Bob's budget is his own; a resource read spends it too, and is refused as a JSON-RPC error.
            assert [(await bob.call_tool("list-runs", {})).is_error for _ in range(2)] == [False, False]
            with pytest.raises(MCPError) as refused_read:
                await bob.read_resource(f"trigger://runs/{RUN}")
    assert [answer.is_error for answer in answers] == [False, False, True]
    [message] = texts(answers[2])
    assert message.startswith(
        "Too many calls: caller token alice may make 2 tool calls or resource reads at once and 1 more every 3600 s"
    )
    retry = float(message.rsplit("retry in ", 1)[1].removesuffix(" s."))
    assert 3500 < retry <= 3600
    assert sent == 2, "the refused call never reached the upstream"
    assert refused_read.value.error.code == -32010 and "caller token bob" in refused_read.value.error.message
    assert len(upstream.requests) == 4


async def test_without_tokens_a_caller_is_its_address(upstream: RecordingUpstream) -> None:
    config = gateway_config(
        "trigger-dev-runs", upstream.url, hardening=Hardening(audit_log=None, caller_rate_limit=LIMIT)
    )
    with running_gateway(config) as gateway:
        async with client_for(gateway.mcp, None) as client:
            answers = [await client.call_tool("list-runs", {}) for _ in range(3)]
    assert [answer.is_error for answer in answers] == [False, False, True]
    assert "caller address 127.0.0.1 may make 2 tool calls" in texts(answers[2])[0]


def test_workers_without_redis_each_keep_their_part_of_each_callers_budget() -> None:
    shared = Hardening(audit_log=None, caller_rate_limit=RateLimit(10, 4, 60))
    assert Safeguards(shared, LocalLimiter(), None, host="127.0.0.1").callers.limit == RateLimit(10, 4, 60)  # type: ignore[union-attr]
    divided = Hardening(
        audit_log=None, caller_rate_limit=RateLimit(10, 4, 60), resilience=ResilienceSettings(budget_parts=2)
    )
    assert Safeguards(divided, LocalLimiter(), None, host="127.0.0.1").callers.limit.burst == 5  # type: ignore[union-attr]
    assert Safeguards(Hardening(audit_log=None), LocalLimiter(), None, host="127.0.0.1").callers is None


def test_the_flag_takes_burst_refill_seconds_and_says_what_it_expected() -> None:
    parser = argparse.ArgumentParser()
    add_hardening_options(parser)
    assert hardening(parser.parse_args(["--caller-rate-limit", "60/20/10"])).caller_rate_limit == RateLimit(60, 20, 10)
    assert hardening(parser.parse_args([])).caller_rate_limit is None
    for bad in ("60", "0/1/1", "a/b/c", "60/20/0"):
        with pytest.raises(ConfigurationError, match="--caller-rate-limit .*expected BURST/REFILL/SECONDS"):
            hardening(parser.parse_args(["--caller-rate-limit", bad]))
