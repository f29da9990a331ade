"""Time as the live service writes and reads it: epoch milliseconds inside, JavaScript ISO strings outside."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The instants both Python and JavaScript can write: years 1 to 9999.
MIN_MS = int((datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) / timedelta(milliseconds=1))
MAX_MS = int((datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - _EPOCH) / timedelta(milliseconds=1))


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def iso(ms: int) -> str:
    """Epoch ms as JavaScript's `Date.prototype.toISOString()` writes it: `2026-11-28T09:15:02.123Z`."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def representable(ms: int) -> bool:
    """Whether an instant can be written as an ISO date (years 1 to 9999)."""
    return MIN_MS <= ms <= MAX_MS


def parse_date(text: str) -> int | None:
    """Epoch ms for a date string as `new Date(text)` would read it, or None when it is not a date.

    ISO 8601 and RFC 2822 forms are understood; a form without an offset is taken as UTC.
    """
    text = text.strip()
    if not text:
        return None
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            moment = None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
