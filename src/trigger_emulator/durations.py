"""The two duration languages of the live service.

- Delays and TTLs (`1h30m`, `2d`, `45s`) use `parseNaturalLanguageDuration` from `@trigger.dev/core`:
  `^(\\d+(w|d|hr|h|m|s))+$`, at most 100 characters.
- List periods (`filter[createdAt][period]`) use the `parse-duration` npm package, which is far more lenient
  (`1.5h`, `2 days`, `90`); a bare number is milliseconds and anything it cannot read yields nothing.
"""

from __future__ import annotations

import re

_SECOND = 1000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_WEEK = 7 * _DAY

_DELAY_UNITS = {"w": _WEEK, "d": _DAY, "hr": _HOUR, "h": _HOUR, "m": _MINUTE, "s": _SECOND}
_DELAY_WHOLE = re.compile(r"^(\d+(w|d|hr|h|m|s))+$")
_DELAY_PART = re.compile(r"(\d+)(w|d|hr|h|m|s)")


def parse_delay(text: str) -> int | None:
    """Milliseconds for a delay/TTL duration such as `1h30m`, or None when it is not one."""
    if len(text) > 100 or not _DELAY_WHOLE.match(text):
        return None
    return sum(int(amount) * _DELAY_UNITS[unit] for amount, unit in _DELAY_PART.findall(text))


def format_seconds(seconds: int) -> str | None:
    """A whole number of seconds as a duration string (`5400` -> `1h30m`), None for zero; numeric TTLs become this."""
    if seconds <= 0:
        return None
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)


_PERIOD_UNITS = {
    "ns": 1e-6, "nanosecond": 1e-6,
    "us": 1e-3, "µs": 1e-3, "microsecond": 1e-3,
    "ms": 1, "millisecond": 1,
    "s": _SECOND, "sec": _SECOND, "second": _SECOND,
    "m": _MINUTE, "min": _MINUTE, "minute": _MINUTE,
    "h": _HOUR, "hr": _HOUR, "hour": _HOUR,
    "d": _DAY, "day": _DAY,
    "w": _WEEK, "wk": _WEEK, "week": _WEEK,
    "b": _DAY * 365.25 / 12, "month": _DAY * 365.25 / 12,
    "y": _DAY * 365.25, "yr": _DAY * 365.25, "year": _DAY * 365.25,
}  # fmt: skip
_PERIOD_PART = re.compile(r"(-?(?:\d+\.?\d*|\d*\.?\d+)(?:e[-+]?\d+)?)\s*([^\W\d_]*)", re.IGNORECASE)


def parse_period(text: str) -> float | None:
    """Milliseconds for a `parse-duration` string (`7d`, `1.5h`, `2 days`), or None when nothing in it parses.

    As in `parse-duration`, parts with an unknown unit are skipped and a bare number counts as milliseconds.
    """
    text = re.sub(r"(\d)[_,](\d)", r"\1\2", text)
    total: float | None = None
    for amount, unit in _PERIOD_PART.findall(text):
        unit = unit.lower()
        size = (_PERIOD_UNITS.get(unit) or _PERIOD_UNITS.get(unit.removesuffix("s"))) if unit else 1
        if size:
            total = (total or 0) + float(amount) * size
    return total
