"""`GET /api/v1/runs` query parameters: parsing and validation as `ApiRunListSearchParams` does it.

The query is read like `Object.fromEntries(new URL(url).searchParams)`: the last of repeated keys wins and
lists are comma-separated in one key. Validation failures collect zod-shaped issues for the
`{"error":"Query Error","details":[…]}` body; unknown keys are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from trigger_emulator import zod
from trigger_emulator.dates import parse_date
from trigger_emulator.durations import parse_period
from trigger_emulator.ids import decode_cursor
from trigger_emulator.statuses import filter_db_statuses, is_filter_name
from trigger_emulator.store import Page, RunFilter
from trigger_emulator.zod import Issue

DEFAULT_PAGE_SIZE = 25
DEFAULT_PERIOD_MS = 7 * 24 * 3600 * 1000
LATEST_INSTANT_MS = 8_640_000_000_000_000  # the latest a JavaScript Date holds
MACHINES = ("micro", "small-1x", "small-2x", "medium-1x", "medium-2x", "large-1x", "large-2x")


class QueryError(Exception):
    """The query does not validate; `issues` are the zod-shaped details."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len(issues)} invalid query parameter(s)")
        self.issues = issues


@dataclass(frozen=True)
class ListQuery:
    """A validated list request: which runs, and which page of them."""

    where: RunFilter
    page: Page


def read_query(raw_query: str) -> dict[str, str]:
    """Query parameters as the live service sees them: decoded, last value wins."""
    return dict(parse_qsl(raw_query, keep_blank_values=True))


def js_number(text: str) -> float:
    """`Number(text)` as JavaScript computes it (what `z.coerce.number()` does to a query value)."""
    text = text.strip()
    if not text:
        return 0.0
    lowered = text.lower()
    try:
        for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
            if lowered.startswith(prefix):
                return float(int(text[2:], base))
        if lowered.lstrip("+-") in ("infinity",):
            return -math.inf if text.startswith("-") else math.inf
        if lowered.lstrip("+-") in ("inf", "nan") or "_" in text:
            return math.nan
        return float(text)
    except ValueError:
        return math.nan


def page_size(
    key: str, value: str | None, issues: list[Issue], *, maximum: int = 100, default: int = DEFAULT_PAGE_SIZE
) -> int:
    """`z.coerce.number().int().positive().min(1).max(maximum)`: every failing check adds its own issue."""
    if value is None:
        return default
    number = js_number(value)
    if math.isnan(number):
        issues.append(zod.invalid_type([key], "number", "nan"))
        return default
    found = [
        issue
        for failed, issue in (
            (not float(number).is_integer(), zod.invalid_type([key], "integer", "float")),
            (not number > 0, zod.too_small([key], 0, inclusive=False)),
            (number < 1, zod.too_small([key], 1, inclusive=True)),
            (number > maximum, zod.too_big([key], maximum)),
        )
        if failed
    ]
    issues.extend(found)
    return default if found else int(number)


def _csv(value: str | None) -> tuple[str, ...]:
    """A comma-separated filter, split without trimming; an empty value means no filter."""
    return tuple(value.split(",")) if value else ()


def _checked(
    key: str, values: tuple[str, ...], valid: Callable[[str], bool], label: str, issues: list[Issue]
) -> tuple[str, ...]:
    invalid = [value for value in values if not valid(value)]
    if invalid:
        issues.append(zod.custom([key], f"Invalid {label} values: {', '.join(invalid)}"))
    return tuple(dict.fromkeys(values))


def _instant(key: str, value: str | None, issues: list[Issue]) -> int | None:
    """`from`/`to`: a number is epoch ms, anything else goes through `new Date(value)`."""
    if not value:
        return None
    number = js_number(value)
    if math.isfinite(number):
        return int(number)
    parsed = parse_date(value)
    if parsed is None:
        issues.append({"code": "invalid_date", "path": [key], "message": "Invalid date"})  # z.coerce.date()
    return parsed


def parse_list_query(raw_query: str, now: int) -> ListQuery:
    """Validate a list query against the clock `now` (epoch ms); raises `QueryError`."""
    params = read_query(raw_query)
    issues: list[Issue] = []
    size = page_size("page[size]", params.get("page[size]"), issues)

    names = _csv(params.get("filter[status]"))
    statuses = _checked("filter[status]", names, is_filter_name, "status", issues)
    machines = _checked(
        "filter[machine]", _csv(params.get("filter[machine]")), MACHINES.__contains__, "machine", issues
    )

    is_test: bool | None = None
    raw_test = params.get("filter[isTest]")
    if raw_test:
        if raw_test in ("true", "false"):
            is_test = raw_test == "true"
        else:
            issues.append(zod.custom(["filter[isTest]"], f"Invalid value for isTest: {raw_test}"))

    created_from = _instant("filter[createdAt][from]", params.get("filter[createdAt][from]"), issues)
    created_to = _instant("filter[createdAt][to]", params.get("filter[createdAt][to]"), issues)
    if issues:
        raise QueryError(issues)

    # Time window precedence: period, else from/to, else the default 7 days. An unparseable period
    # (or a zero one) turns the time filter off altogether.
    period = params.get("filter[createdAt][period]")
    if period:
        period_ms = parse_period(period)
        created_from, created_to = (_period_start(now, period_ms), None) if period_ms else (None, None)
    elif created_from is None and created_to is None:
        created_from = now - DEFAULT_PERIOD_MS
    if created_to is not None:
        created_to = min(created_to, now)

    where = RunFilter(
        statuses=tuple(filter_db_statuses(list(statuses))),
        tasks=_csv(params.get("filter[taskIdentifier]")),
        versions=_csv(params.get("filter[version]")),
        tags=_csv(params.get("filter[tag]")),
        queues=_csv(params.get("filter[queue]")),
        machines=machines,
        regions=_csv(params.get("filter[region]")),
        is_test=is_test,
        created_from=created_from,
        created_to=created_to,
        batch=params.get("filter[batch]") or None,
        schedule=params.get("filter[schedule]") or None,
        # The emulator has no bulk actions and does not fingerprint errors, so these select nothing.
        match_nothing=bool(params.get("filter[bulkAction]") or params.get("filter[error]")),
    )
    # If both cursors are given, `before` wins.
    position = params.get("page[before]") or params.get("page[after]")
    cursor = decode_cursor(position) if position else None
    page = Page(
        size=size,
        cursor_created_ms=cursor.created_ms if cursor else None,
        cursor_run_id=cursor.run_id if cursor else None,
        backward=bool(params.get("page[before]")),
    )
    return ListQuery(where=where, page=page)


def _period_start(now: float, period_ms: float) -> int | None:
    """The first instant of a period ending now: a period reaching before 1970 (`1e400d`) is all time, one
    reaching past any date (a huge negative one) selects nothing, and one that sums to no number is no filter."""
    if math.isnan(period_ms):
        return None
    return int(min(max(now - period_ms, 0), LATEST_INSTANT_MS))
