"""When a call that is safe to repeat is tried again, and how long to wait first.

Tried again: a connection failure, or HTTP 408, 429, 502, 503 or 504, unless the upstream's retry header
(a document's `retryHeader`) says `false`; when it says `true`, a 500 or any other 5xx too. The wait doubles
from `backoff` up to `max_backoff`, with jitter so that callers spread out, and is at least what the
upstream asked for (`capgate.consumes.signals`: its budget's reset, or `Retry-After`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """At most `attempts` tries of a repeatable call; waits start at `backoff` seconds and double up to a cap.

    The upstream may ask for a longer wait (a rate-limit reset); up to `max_wait` seconds it is honoured, past
    that its answer goes back to the caller, who can decide (a client that reads the reset waits for it itself).
    """

    attempts: int = 3
    backoff: float = 0.25
    max_backoff: float = 5.0
    max_wait: float = 10.0

    def backoff_before(self, attempt: int) -> float:
        """The wait before try number `attempt` (2, 3, …): exponential, with jitter so callers spread out."""
        return min(self.max_backoff, self.backoff * 2.0 ** (attempt - 2)) * random.uniform(0.5, 1.0)


def worth_retrying(status: int, verdict: bool | None) -> bool:
    """Whether an answer with this status says that trying again may succeed; `verdict` is the upstream's own
    word on it (its retry header), None when it said nothing."""
    if verdict is False:
        return False
    return status in RETRY_STATUSES or (verdict is True and status >= 500)
