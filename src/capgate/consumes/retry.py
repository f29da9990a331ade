"""When a call that is safe to repeat is tried again, and how long to wait first.

Tried again: a connection failure, or HTTP 408, 429, 502, 503 or 504, unless the upstream said
`x-should-retry: false`. The wait doubles from `backoff` up to `max_backoff`, with jitter so that callers
spread out, and is at least what the upstream asked for (`x-ratelimit-reset` in ms epoch, as Trigger.dev
sends it, or `retry-after` in seconds or as an HTTP date).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """At most `attempts` tries of a repeatable call; waits start at `backoff` seconds and double up to a cap.

    The upstream may ask for a longer wait (a rate-limit reset); up to `max_wait` seconds it is honoured, past
    that its answer goes back to the caller, who can decide (the official SDK waits for the reset itself).
    """

    attempts: int = 3
    backoff: float = 0.25
    max_backoff: float = 5.0
    max_wait: float = 10.0

    def backoff_before(self, attempt: int) -> float:
        """The wait before try number `attempt` (2, 3, …): exponential, with jitter so callers spread out."""
        return min(self.max_backoff, self.backoff * 2.0 ** (attempt - 2)) * random.uniform(0.5, 1.0)


def worth_retrying(status: int, headers: Mapping[str, str]) -> bool:
    """Whether an answer with this status says that trying again may succeed."""
    return status in RETRY_STATUSES and headers.get("x-should-retry") != "false"


def resume_at(headers: Mapping[str, str]) -> float | None:
    """When the upstream says trying again may succeed (epoch seconds), if its headers say."""
    reset = headers.get("x-ratelimit-reset")
    if reset and reset.isdigit():
        return int(reset) / 1000  # the live service sends a unix timestamp in milliseconds
    after = headers.get("retry-after", "").strip()
    if not after:
        return None
    if after.isdigit():
        return time.time() + int(after)
    try:
        return parsedate_to_datetime(after).timestamp()
    except (TypeError, ValueError):
        return None
