"""Run statuses: the database names, how the API shows them, the boolean helpers and the list filter mapping.

The tables follow `ApiRetrieveRunPresenter` and `ApiRunListPresenter` (reference §3), quirks included:
the display mapping depends on `x-trigger-api-version: 2025-07-16`, the filter mapping does not and is not
its inverse, and EXPIRED/TIMED_OUT get `false` for every helper.
"""

from __future__ import annotations

from collections.abc import Mapping

API_VERSION_HEADER = "x-trigger-api-version"
CURRENT_API_VERSION = "2025-07-16"

DB_STATUSES = (
    "DELAYED", "PENDING", "PENDING_VERSION", "WAITING_FOR_DEPLOY", "DEQUEUED", "EXECUTING",
    "RETRYING_AFTER_FAILURE", "WAITING_TO_RESUME", "PAUSED", "COMPLETED_SUCCESSFULLY", "COMPLETED_WITH_ERRORS",
    "INTERRUPTED", "CANCELED", "CRASHED", "SYSTEM_FAILURE", "EXPIRED", "TIMED_OUT",
)  # fmt: skip

FINAL_STATUSES = frozenset(
    {"COMPLETED_SUCCESSFULLY", "COMPLETED_WITH_ERRORS", "INTERRUPTED", "CANCELED", "CRASHED",
     "SYSTEM_FAILURE", "EXPIRED", "TIMED_OUT"}
)  # fmt: skip

# `shouldIdempotencyKeyBeCleared`: a trigger with the key of a run that failed or expired starts a new run.
CLEARS_IDEMPOTENCY_KEY = frozenset(
    {"INTERRUPTED", "COMPLETED_WITH_ERRORS", "SYSTEM_FAILURE", "CRASHED", "TIMED_OUT", "EXPIRED"}
)

# DB status -> (API status with the 2025-07-16 header, API status without it).
_DISPLAY: Mapping[str, tuple[str, str]] = {
    "DELAYED": ("DELAYED", "DELAYED"),
    "PENDING": ("QUEUED", "QUEUED"),
    "PENDING_VERSION": ("PENDING_VERSION", "PENDING_VERSION"),
    "WAITING_FOR_DEPLOY": ("PENDING_VERSION", "WAITING_FOR_DEPLOY"),
    "DEQUEUED": ("DEQUEUED", "EXECUTING"),
    "EXECUTING": ("EXECUTING", "EXECUTING"),
    "RETRYING_AFTER_FAILURE": ("EXECUTING", "REATTEMPTING"),
    "WAITING_TO_RESUME": ("WAITING", "FROZEN"),
    "PAUSED": ("WAITING", "FROZEN"),
    "COMPLETED_SUCCESSFULLY": ("COMPLETED", "COMPLETED"),
    "COMPLETED_WITH_ERRORS": ("FAILED", "FAILED"),
    "INTERRUPTED": ("FAILED", "INTERRUPTED"),
    "CANCELED": ("CANCELED", "CANCELED"),
    "CRASHED": ("CRASHED", "CRASHED"),
    "SYSTEM_FAILURE": ("SYSTEM_FAILURE", "SYSTEM_FAILURE"),
    "EXPIRED": ("EXPIRED", "EXPIRED"),
    "TIMED_OUT": ("TIMED_OUT", "TIMED_OUT"),
}

# The 13 values of the SDK's `RunStatus` enum.
API_STATUSES = (
    "PENDING_VERSION", "QUEUED", "DEQUEUED", "EXECUTING", "WAITING", "COMPLETED", "CANCELED", "FAILED",
    "CRASHED", "SYSTEM_FAILURE", "DELAYED", "EXPIRED", "TIMED_OUT",
)  # fmt: skip
LEGACY_STATUSES = ("WAITING_FOR_DEPLOY", "REATTEMPTING", "FROZEN", "INTERRUPTED")

# `filter[status]` accepts both vocabularies whatever the header says; unlisted names map to themselves.
_FILTER: Mapping[str, tuple[str, ...]] = {
    "QUEUED": ("PENDING",),
    "WAITING": ("WAITING_TO_RESUME",),
    "FROZEN": ("PAUSED", "WAITING_TO_RESUME"),
    "REATTEMPTING": ("RETRYING_AFTER_FAILURE",),
    "FAILED": ("COMPLETED_WITH_ERRORS",),
    "COMPLETED": ("COMPLETED_SUCCESSFULLY",),
}

_QUEUED = frozenset({"QUEUED", "WAITING_FOR_DEPLOY", "DELAYED", "PENDING_VERSION"})
_EXECUTING = frozenset({"EXECUTING", "REATTEMPTING", "FROZEN", "DEQUEUED"})
_COMPLETED = frozenset({"COMPLETED", "CANCELED", "FAILED", "CRASHED", "INTERRUPTED", "SYSTEM_FAILURE"})


def uses_current_names(header_value: str | None) -> bool:
    """True only when the request's `x-trigger-api-version` is exactly `2025-07-16` (`getApiVersion`)."""
    return header_value == CURRENT_API_VERSION


def api_status(db_status: str, *, current: bool) -> str:
    """The status the API shows for a DB status, in the vocabulary the request asked for."""
    with_header, legacy = _DISPLAY[db_status]
    return with_header if current else legacy


def boolean_helpers(status: str) -> dict[str, bool]:
    """`isQueued` … `isCancelled` for an API status; EXPIRED and TIMED_OUT are false everywhere (live quirk)."""
    completed = status in _COMPLETED
    return {
        "isQueued": status in _QUEUED,
        "isExecuting": status in _EXECUTING,
        "isWaiting": status == "WAITING",
        "isCompleted": completed,
        "isSuccess": completed and status == "COMPLETED",
        "isFailed": completed and status != "COMPLETED",
        "isCancelled": status == "CANCELED",
    }


def is_filter_name(name: str) -> bool:
    """Whether `filter[status]` accepts this name."""
    return name in API_STATUSES or name in LEGACY_STATUSES


def filter_db_statuses(names: list[str]) -> list[str]:
    """The DB statuses a `filter[status]` list selects, deduplicated, in first-seen order."""
    selected: dict[str, None] = {}
    for name in names:
        for db_status in _FILTER.get(name, (name,)):
            selected[db_status] = None
    return list(selected)
