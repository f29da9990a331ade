"""Where each setting comes from (flag, operation, namespace, default), what is safe to repeat, the breaker's
flags, and the pure logic of the local budget. No server.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from capgate.cli.program import build_parser
from capgate.cli.serve_options import hardening
from capgate.consumes.breaker import BreakerSettings
from capgate.consumes.client import Timeouts
from capgate.consumes.limiter import RESET_MARGIN, LocalLimiter, RateLimit
from capgate.consumes.resilience import ResilienceSettings, TimeoutOverrides
from capgate.core.errors import ConfigurationError, DocumentError
from capgate.document.bundled import bundled_documents
from capgate.gateway.assembly import load_gateway
from tests.support.gateway import TEST_KEY

pytestmark = pytest.mark.anyio

ENV = {"TRIGGER_DEV_API_KEY": TEST_KEY}
DECLARED_BUDGET = "    rateLimit:\n      burst: 750\n      refill: 250\n      interval: 10\n"
EXTENDED = """\
    timeouts: {connect: 2, total: 20}
    rateLimit:
      burst: 100
      refill: 10
      interval: 1
      wait: 3
"""


def extended_document(tmp_path: Path) -> str:
    source = bundled_documents()["trigger-dev-runs"].read_text()
    assert DECLARED_BUDGET in source
    source = source.replace(DECLARED_BUDGET, EXTENDED, 1)
    source = source.replace(
        "      - name: replayrun\n        method: POST\n",
        "      - name: replayrun\n        method: POST\n        timeouts: {total: 5}\n",
        1,
    )
    path = tmp_path / "extended.yaml"
    path.write_text(source)
    return str(path)


def test_timeouts_come_from_the_flag_else_the_operation_else_the_namespace_else_the_default(tmp_path: Path) -> None:
    document = extended_document(tmp_path)
    gateway = load_gateway(document, environ=ENV)
    assert gateway.operations["management-runs.replayrun"].timeouts == Timeouts(connect=2, read=30, total=5)
    assert gateway.operations["management-runs.listruns"].timeouts == Timeouts(connect=2, read=30, total=20)
    flagged = load_gateway(
        document, environ=ENV, resilience=ResilienceSettings(timeouts=TimeoutOverrides(total=7, read=1))
    )
    assert flagged.operations["management-runs.replayrun"].timeouts == Timeouts(connect=2, read=1, total=7)


def test_the_budget_comes_from_the_flag_else_the_document_else_there_is_none(tmp_path: Path) -> None:
    document = extended_document(tmp_path)
    assert load_gateway(document, environ=ENV).clients["management-runs"].rate_limit == RateLimit(100, 10, 1, 3)
    flagged = ResilienceSettings(rate_limit=RateLimit(5, 5, 5), rate_limit_wait=1)
    assert load_gateway(document, environ=ENV, resilience=flagged).clients["management-runs"].rate_limit == RateLimit(
        5, 5, 5, 1
    )
    assert load_gateway("trigger-dev-runs", environ=ENV).clients["management-runs"].rate_limit == RateLimit(
        750, 250, 10
    )
    assert load_gateway("trigger-dev-runs-seed", environ=ENV).clients["management-runs"].rate_limit is None
    off = ResilienceSettings(rate_limiting=False)
    assert load_gateway(document, environ=ENV, resilience=off).clients["management-runs"].rate_limit is None


def test_a_bad_setting_in_the_document_is_a_document_problem(tmp_path: Path) -> None:
    path = Path(extended_document(tmp_path))
    path.write_text(path.read_text().replace("timeouts: {connect: 2, total: 20}", "timeouts: {connect: -1}", 1))
    with pytest.raises(DocumentError, match=r"extended.yaml:\d+: .*timeouts.connect"):
        load_gateway(str(path), environ=ENV)


@pytest.mark.parametrize(
    "document,repeatable",
    [
        (
            "trigger-dev-runs",
            {"listruns", "getrunbyid", "cancelrun", "addtagstorun", "getruntrace", "getruntracepage", "getrunevents"},
        ),  # fmt: skip
        # The seed marks nothing: its GETs and its PUT for tags are safe by method; add-tags-run's idempotent
        # hint agrees, and cancel's POST stays unsafe as its tool's hints say.
        ("trigger-dev-runs-seed", {"listruns", "getrunbyid", "addtagstorun"}),
    ],
)
def test_what_is_safe_to_repeat(document: str, repeatable: set[str]) -> None:
    operations = load_gateway(document, environ=ENV).operations
    assert {op.spec.name for op in operations.values() if op.idempotent} == repeatable
    assert not operations["management-runs.replayrun"].idempotent
    assert not operations["management-runs.reschedulerun"].idempotent
    if document == "trigger-dev-runs":  # a PUT, but its increment and append operations add again when repeated
        assert not operations["management-runs.updaterunmetadata"].idempotent
        assert not operations["management-runs.triggertask"].idempotent


def test_the_breaker_flags_and_the_one_they_replace() -> None:
    parser = build_parser()
    options = parser.parse_args(
        ["serve", "--breaker-failure-rate", "25", "--breaker-min-calls", "8", "--breaker-window", "60"]
    )
    assert hardening(options).resilience.breaker == BreakerSettings(25, 8, 60, 30)
    assert hardening(parser.parse_args(["serve", "--breaker-failure-rate", "off"])).resilience.breaker.enabled is False
    with pytest.raises(ConfigurationError) as replaced:
        hardening(parser.parse_args(["serve", "--breaker-failures", "5"]))
    assert "--breaker-failures was replaced" in str(replaced.value)
    for flag in ("--breaker-failure-rate PERCENT", "--breaker-min-calls N", "--breaker-window S"):
        assert flag in str(replaced.value)


async def test_the_local_budget_follows_the_upstreams_word() -> None:
    limiter, limit = LocalLimiter(), RateLimit(burst=3, refill=3, interval=60)
    assert [await limiter.take("b", limit) for _ in range(3)] == [0, 0, 0]
    assert 59 < await limiter.take("b", limit) <= 60  # empty until the next refill
    await limiter.observe("b", limit, remaining=0, reset=time.time() + 2)  # the upstream refills sooner
    assert 1 < await limiter.take("b", limit) <= 2 + RESET_MARGIN  # just after the upstream's reset
    other = LocalLimiter()
    await other.observe("b", limit, remaining=1, reset=time.time() + 5)  # shared key: others spent it
    assert await other.take("b", limit) == 0 and await other.take("b", limit) > 4
    await other.observe("b", limit, remaining=0, reset=time.time() - 1)  # a reset already past is ignored
    assert await other.take("b", limit) > 4


def test_the_confirm_flag_takes_a_policy_for_destructive_calls(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    assert hardening(parser.parse_args(["serve"])).confirm_destructive == "allow"
    assert hardening(parser.parse_args(["serve", "--confirm", "destructive=deny"])).confirm_destructive == "deny"
    for bad in ("deny", "destructive=maybe", "writes=deny"):
        with pytest.raises(SystemExit):
            parser.parse_args(["serve", "--confirm", bad])
        assert f"argument --confirm: {bad!r}: expected destructive=allow or destructive=deny" in capsys.readouterr().err


def test_the_request_state_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    options = build_parser().parse_args(["serve"])
    monkeypatch.delenv("CAPGATE_REQUEST_STATE_KEY", raising=False)
    assert hardening(options).request_state_key is None  # `serve` makes one of its own
    monkeypatch.setenv("CAPGATE_REQUEST_STATE_KEY", "k" * 40)
    key = hardening(options).request_state_key
    assert key is not None and key.reveal() == b"k" * 40
    monkeypatch.setenv("CAPGATE_REQUEST_STATE_KEY", "too-short")
    with pytest.raises(ConfigurationError, match="^CAPGATE_REQUEST_STATE_KEY: a key must be at least 32 bytes"):
        hardening(options)
