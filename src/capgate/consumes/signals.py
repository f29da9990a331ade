"""What an upstream's answer says besides its status: whether trying again may help, when, and what is left of
its request budget; and which of its headers go back to the caller.

Each is read where the document says (capgate extensions on the consumed namespace, docs/format.md), and
otherwise from the standard fields, as their specifications define them:

- `Retry-After` (RFC 9110 §10.2.3): seconds, or an HTTP date.
- `RateLimit` (draft-ietf-httpapi-ratelimit-headers): a list of quota policies, `"name";r=R;t=T`, R units
  remaining and T seconds until the quota resets; the most constraining policy counts. The earlier drafts'
  `RateLimit-Remaining` and `RateLimit-Reset` (delta-seconds) fields, and their one-field form
  `RateLimit: limit=L, remaining=R, reset=T`, are read too.
- `rateLimit.headers` names the fields an API uses instead (`x-ratelimit-remaining` …) and how its reset is
  written (`resetFormat`); `retryHeader` names a field whose `false` forbids a retry and `true` allows one.

Nothing here is about one API: an API's own fields are declared in its document.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from capgate.document.models import ConsumesHttp, ResetFormat

# Passed back whatever the document says: what the body is, what a 405 allows, and the standard fields that
# tell a client when to come back.
STANDARD_PASS_BACK = (
    "content-type",
    "allow",
    "retry-after",
    "ratelimit",
    "ratelimit-policy",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
)
_IETF_FIELDS = ("ratelimit", "ratelimit-remaining", "ratelimit-reset")


@dataclass(frozen=True)
class BudgetReport:
    """What an answer says of the upstream's budget: units left, and when it refills (epoch seconds)."""

    remaining: int | None
    reset_at: float | None


@dataclass(frozen=True)
class BudgetFields:
    """The fields an upstream reports its budget in, as a document declares them (`rateLimit.headers`)."""

    limit: str | None = None
    remaining: str | None = None
    reset: str | None = None
    reset_format: ResetFormat = "delta-seconds"

    def read(self, headers: Mapping[str, str], now: float) -> BudgetReport | None:
        remaining = _count(headers.get(self.remaining, "")) if self.remaining else None
        reset_at = _moment(headers.get(self.reset, ""), self.reset_format, now) if self.reset else None
        if remaining is None and reset_at is None:
            return None
        return BudgetReport(remaining, reset_at)


@dataclass(frozen=True)
class Signals:
    """How one upstream's answers are read, and which of their headers are passed back."""

    budget_fields: BudgetFields | None = None  # None: the IETF RateLimit fields
    retry_header: str | None = None
    pass_back: tuple[str, ...] = STANDARD_PASS_BACK
    kept: tuple[str, ...] = field(init=False)  # every field read from an answer: these and the pass-back ones
    _reads_more: bool = field(init=False, repr=False)  # some of `kept` are read but not passed back

    def __post_init__(self) -> None:
        declared = self.budget_fields
        read = (
            [declared.limit, declared.remaining, declared.reset] if declared is not None else list(_IETF_FIELDS)
        ) + [self.retry_header, "retry-after"]
        kept = tuple(dict.fromkeys([*self.pass_back, *(name for name in read if name)]))
        object.__setattr__(self, "kept", kept)
        object.__setattr__(self, "_reads_more", len(kept) > len(set(self.pass_back)))

    def budget(self, headers: Mapping[str, str], now: float | None = None) -> BudgetReport | None:
        """What the answer with `headers` says of the budget, if anything."""
        now = time.time() if now is None else now
        if self.budget_fields is not None:
            return self.budget_fields.read(headers, now)
        return _ietf_report(headers, now)

    def resume_at(self, status: int, headers: Mapping[str, str], now: float | None = None) -> float | None:
        """When trying again may succeed (epoch seconds), if the answer says: the budget's reset when the answer
        is a 429 or says nothing is left (a reset alone is only when the budget refills), else Retry-After."""
        now = time.time() if now is None else now
        report = self.budget(headers, now)
        if report is not None and report.reset_at is not None and (status == 429 or report.remaining == 0):
            return report.reset_at
        return retry_after(headers.get("retry-after", ""), now)

    def retry_verdict(self, headers: Mapping[str, str]) -> bool | None:
        """The upstream's own word on retrying this answer: True, False, or None when it says nothing."""
        if self.retry_header is None:
            return None
        value = headers.get(self.retry_header, "").strip().lower()
        return True if value == "true" else False if value == "false" else None

    def passed_back(self, headers: dict[str, str]) -> dict[str, str]:
        """The headers of an answer (`kept` ones) that go back to the caller."""
        if not self._reads_more:
            return headers  # the usual case: everything read is passed back too
        return {name: headers[name] for name in self.pass_back if name in headers}


def signals_of(consumes: ConsumesHttp) -> Signals:
    """The signals a consumed namespace declares, with the standard ones for what it leaves out."""
    declared = consumes.rate_limit.headers if consumes.rate_limit else None
    fields = None
    if declared is not None:
        fields = BudgetFields(
            _lower(declared.limit), _lower(declared.remaining), _lower(declared.reset), declared.reset_format
        )
    pass_back = tuple(dict.fromkeys([*STANDARD_PASS_BACK, *(name.lower() for name in consumes.pass_back_headers)]))
    return Signals(fields, _lower(consumes.retry_header), pass_back)


def retry_after(value: str, now: float) -> float | None:
    """RFC 9110 Retry-After: delay-seconds or an HTTP date, as an epoch time; None if it is neither."""
    value = value.strip()
    if not value:
        return None
    seconds = _count(value)
    return now + seconds if seconds is not None else _http_date(value)


def _ietf_report(headers: Mapping[str, str], now: float) -> BudgetReport | None:
    field_value = headers.get("ratelimit")
    if field_value:
        policies: list[tuple[int, float | None]] = []
        dictionary: dict[str, str] = {}
        for member in _split(field_value, ","):
            item, *parameters = _split(member, ";")
            if "=" in item and not item.startswith('"'):  # the earlier drafts' `limit=L, remaining=R, reset=T`
                key, _, value = item.partition("=")
                dictionary[key.strip().lower()] = value.strip()
                continue
            values = {key.strip().lower(): value.strip() for key, _, value in (p.partition("=") for p in parameters)}
            remaining = _count(values.get("r", ""))
            if remaining is not None:
                policies.append((remaining, _delta(values.get("t", ""), now)))
        if policies:
            exhausted = [reset for remaining, reset in policies if remaining == 0 and reset is not None]
            if exhausted:
                return BudgetReport(0, max(exhausted))
            return BudgetReport(*min(policies, key=lambda policy: policy[0]))
        if dictionary:
            return _report(_count(dictionary.get("remaining", "")), _delta(dictionary.get("reset", ""), now))
    return _report(_count(headers.get("ratelimit-remaining", "")), _delta(headers.get("ratelimit-reset", ""), now))


def _report(remaining: int | None, reset_at: float | None) -> BudgetReport | None:
    return None if remaining is None and reset_at is None else BudgetReport(remaining, reset_at)


def _split(text: str, separator: str) -> list[str]:
    """`text` split at `separator` outside double-quoted strings, each part stripped."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for character in text:
        if escaped:
            escaped = False
        elif character == "\\" and quoted:
            escaped = True
        elif character == '"':
            quoted = not quoted
        elif character == separator and not quoted:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(character)
    parts.append("".join(current).strip())
    return parts


def _moment(value: str, form: ResetFormat, now: float) -> float | None:
    """A reset field's value as an epoch time, read as its declared format says."""
    value = value.strip()
    if form == "http-date":
        return _http_date(value) if value else None
    number = _number(value)
    if number is None:
        return None
    if form == "epoch-milliseconds":
        return number / 1000
    if form == "epoch-seconds":
        return number
    return now + number


def _delta(value: str, now: float) -> float | None:
    number = _number(value.strip())
    return None if number is None else now + number


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if 0 <= number < float("inf") else None


def _count(value: str) -> int | None:
    """A non-negative whole number written in ASCII digits (at most 15 of them), else None."""
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 15 else None


def _http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _lower(name: str | None) -> str | None:
    return name.lower() if name else None
