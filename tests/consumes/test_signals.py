"""Reading an answer's headers: Retry-After and the IETF RateLimit fields as their specifications define them, an
API's own fields as its document declares them, and hostile values that must mean nothing. No server."""

from __future__ import annotations

import pytest

from capgate.consumes.signals import STANDARD_PASS_BACK, BudgetFields, BudgetReport, Signals, retry_after

NOW = 1_800_000_000.0
NEUTRAL = Signals()


@pytest.mark.parametrize(
    "value,expected",
    [
        ("120", NOW + 120),
        ("0", NOW),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480.0),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),  # delay-seconds is a whole number
        ("²", None),  # a digit to str.isdigit, not to RFC 9110
        ("9" * 5000, None),  # too long to be a delay anyone means
    ],
)
def test_retry_after_is_delay_seconds_or_an_http_date(value: str, expected: float | None) -> None:
    assert retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    "headers,expected",
    [
        ({"ratelimit": '"default";r=50;t=30'}, BudgetReport(50, NOW + 30)),
        ({"ratelimit": '"burst";r=5;t=1, "daily";r=0;t=3600'}, BudgetReport(0, NOW + 3600)),
        ({"ratelimit": '"a";r=9;t=4, "b";r=3;t=60'}, BudgetReport(3, NOW + 60)),  # the most constraining
        ({"ratelimit": '"odd, name";r=2;t=7'}, BudgetReport(2, NOW + 7)),  # a quoted comma is not a separator
        ({"ratelimit": "limit=100, remaining=0, reset=12"}, BudgetReport(0, NOW + 12)),  # the drafts' one field
        ({"ratelimit-remaining": "4", "ratelimit-reset": "9"}, BudgetReport(4, NOW + 9)),  # the drafts' fields
        ({"ratelimit": '"p";r=abc;t=5'}, None),
        ({"ratelimit": '"p";r=1;t=inf'}, BudgetReport(1, None)),
        ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1800000000000"}, None),  # not a standard field
        ({}, None),
    ],
)
def test_the_ietf_ratelimit_fields_are_read_by_default(headers: dict[str, str], expected: BudgetReport | None) -> None:
    assert NEUTRAL.budget(headers, NOW) == expected


@pytest.mark.parametrize(
    "form,value,expected",
    [
        ("epoch-milliseconds", "1800000005000", NOW + 5),
        ("epoch-seconds", "1800000005", NOW + 5),
        ("delta-seconds", "5", NOW + 5),
        ("http-date", "Fri, 15 Jan 2027 08:00:05 GMT", NOW + 5),
        ("delta-seconds", "NaN", None),
        ("epoch-seconds", "1e999", None),
    ],
)
def test_a_declared_reset_is_read_in_its_declared_format(form: str, value: str, expected: float | None) -> None:
    signals = Signals(BudgetFields(remaining="x-left", reset="x-reset", reset_format=form))  # type: ignore[arg-type]
    report = signals.budget({"x-left": "3", "x-reset": value}, NOW)
    assert report == BudgetReport(3, expected)
    assert signals.budget({"ratelimit": '"p";r=0;t=9'}, NOW) is None  # declared fields replace the standard ones


def test_a_reset_is_when_to_resume_only_for_a_429_or_an_empty_budget() -> None:
    fields = Signals(BudgetFields(remaining="x-left", reset="x-reset", reset_format="delta-seconds"))
    assert fields.resume_at(429, {"x-reset": "4"}, NOW) == NOW + 4
    assert fields.resume_at(503, {"x-left": "0", "x-reset": "4"}, NOW) == NOW + 4
    # Budget left: the reset only says when it refills; Retry-After, if any, says when to come back.
    assert fields.resume_at(503, {"x-left": "200", "x-reset": "4"}, NOW) is None
    assert fields.resume_at(503, {"x-left": "200", "x-reset": "4", "retry-after": "2"}, NOW) == NOW + 2
    assert NEUTRAL.resume_at(429, {"ratelimit": '"p";r=0;t=6', "retry-after": "2"}, NOW) == NOW + 6
    assert NEUTRAL.resume_at(503, {"retry-after": "2"}, NOW) == NOW + 2


def test_the_retry_header_is_only_the_declared_one() -> None:
    declared = Signals(retry_header="x-should-retry")
    assert declared.retry_verdict({"x-should-retry": "false"}) is False
    assert declared.retry_verdict({"x-should-retry": " TRUE "}) is True
    assert declared.retry_verdict({"x-should-retry": "maybe"}) is None
    assert NEUTRAL.retry_verdict({"x-should-retry": "false"}) is None


def test_what_is_kept_and_what_is_passed_back() -> None:
    assert NEUTRAL.kept == STANDARD_PASS_BACK
    read_only = Signals(BudgetFields(remaining="x-left"), retry_header="x-retry")
    assert set(read_only.kept) == {*STANDARD_PASS_BACK, "x-left", "x-retry"}
    headers = {"content-type": "application/json", "x-left": "3", "x-retry": "false"}
    assert read_only.passed_back(headers) == {"content-type": "application/json"}
    declared = Signals(BudgetFields(remaining="x-left"), pass_back=(*STANDARD_PASS_BACK, "x-left"))
    assert declared.passed_back({"x-left": "3"}) == {"x-left": "3"}
