"""A run's trace, made up from its record: the spans and log lines a worker would have recorded for it.

Nothing executes in the emulator, so a trace is derived from what the run's record says happened, at the
moment it is read. What each span and log line says (`Attempt 1`, `send-welcome-email started`) and the
ids are the emulator's own; their fields, levels and timing rules are the live service's:

- the run's span (level `TRACE`, message the task id) lasts from creation until the run finished, and is
  partial while the run is not final; an error or cancellation marks it, with an `exception`,
  `attempt_failed` or `cancellation` span event;
- one `Attempt N` span per attempt inside it, once the run has started; every attempt but the last failed
  with the run's error (or all of them, when the run failed);
- log lines (`INFO`, and `ERROR` for the failure; duration 0) inside the last attempt;
- the spans of child runs, in the same trace, under the attempt that was running when they were triggered.

Span ids are 16 hex digits and trace ids 32, derived from run ids, so a trace reads back the same each time.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from trigger_emulator.dates import iso
from trigger_emulator.models import Run
from trigger_emulator.statuses import FINAL_STATUSES
from trigger_emulator.store import Store

_NS_PER_MS = 1_000_000
_FAILED = frozenset({"COMPLETED_WITH_ERRORS", "INTERRUPTED", "CRASHED", "SYSTEM_FAILURE", "TIMED_OUT", "EXPIRED"})
_UNEXECUTED = frozenset({"DELAYED", "PENDING", "PENDING_VERSION", "WAITING_FOR_DEPLOY", "DEQUEUED", "EXPIRED"})


@dataclasses.dataclass(frozen=True)
class Span:
    """One span or log line, as the event store holds it. Times are epoch ms; durations nanoseconds."""

    id: str
    parent_id: str | None
    run_id: str  # the friendly id of the run it belongs to
    message: str
    start_ms: int
    duration_ns: int
    level: str  # TRACE for spans; INFO, ERROR … for log lines
    is_error: bool = False
    is_partial: bool = False
    is_cancelled: bool = False
    attempt: int | None = None
    task: str | None = None  # the task id, on a run's own span
    events: tuple[dict[str, Any], ...] = ()
    style: dict[str, str] = dataclasses.field(default_factory=dict)

    def sort_key(self) -> tuple[int, int, str]:
        """Start order; at the same instant a span comes before the log lines in it."""
        return self.start_ms, 0 if self.level == "TRACE" else 1, self.id


def _hex_id(length: int, *parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]


def trace_id(run: Run) -> str:
    """The trace a run belongs to: its root run's."""
    return _hex_id(32, "trace", run.root_id or run.id)


def run_span_id(run: Run) -> str:
    """The id of the run's own span."""
    return _hex_id(16, "span", run.friendly_id)


def _exception(at: int, error: dict[str, Any]) -> dict[str, Any]:
    details = {"type": error.get("name"), "message": error.get("message"), "stacktrace": error.get("stackTrace")}
    return {"name": "exception", "time": iso(at), "properties": {"exception": _compact(details)}}


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _end(run: Run) -> int | None:
    """When the run finished, or None while it has not."""
    if run.status not in FINAL_STATUSES:
        return None
    return max(run.completed_at or run.expired_at or run.updated_at, run.created_at)


def _attempt_windows(run: Run, end: int | None, now: int) -> list[tuple[int, int | None]]:
    """(start, end or None while running) of each attempt, evenly splitting the time since the run started."""
    if run.started_at is None or run.status in _UNEXECUTED:
        return []
    count = max(run.attempt_count, 1)
    until = end if end is not None else max(now, run.started_at)
    step = max((until - run.started_at) // count, 1)
    windows: list[tuple[int, int | None]] = [
        (run.started_at + index * step, run.started_at + (index + 1) * step) for index in range(count - 1)
    ]
    windows.append((run.started_at + (count - 1) * step, end))
    return windows


def _error(run: Run) -> dict[str, Any]:
    return run.error if isinstance(run.error, dict) else {"message": "Run failed"}


def _attempt(run: Run, number: int, start: int, stop: int | None, *, failed: bool, cancelled: bool) -> list[Span]:
    """An attempt's span and its log lines."""
    span_id = _hex_id(16, "attempt", run.friendly_id, str(number))
    error = _error(run)
    span = Span(
        span_id,
        run_span_id(run),
        run.friendly_id,
        f"Attempt {number}",
        start,
        0 if stop is None else (stop - start) * _NS_PER_MS,
        "TRACE",
        is_error=failed,
        is_partial=stop is None,
        is_cancelled=cancelled,
        attempt=number,
        events=(_exception(stop, error),) if failed and stop is not None else (),
        style={"icon": "attempt"},
    )
    lines = [_log(span_id, run, start, "INFO", f"{run.task_identifier} started", number)]
    if failed and stop is not None:
        lines.append(_log(span_id, run, stop, "ERROR", str(error.get("message", "")), number))
    elif stop is not None and not cancelled:
        lines.append(_log(span_id, run, stop, "INFO", f"{run.task_identifier} finished", number))
    return [span, *lines]


def _attempt_failed(run: Run, number: int, at: int) -> dict[str, Any]:
    exception = _exception(at, _error(run))["properties"]["exception"]
    properties = {"exception": exception, "attemptNumber": number, "runId": run.friendly_id}
    return {"name": "attempt_failed", "time": iso(at), "properties": properties}


def run_spans(run: Run, now: int) -> list[Span]:
    """The spans and log lines of one run (not of its children), in the order they started."""
    end = _end(run)
    failed, cancelled = run.status in _FAILED, run.status == "CANCELED"
    windows = _attempt_windows(run, end, now)
    spans: list[Span] = []
    events: list[dict[str, Any]] = []
    for number, (start, stop) in enumerate(windows, start=1):
        last = number == len(windows)
        attempt_failed = (not last or failed) and stop is not None
        spans += _attempt(run, number, start, stop, failed=attempt_failed, cancelled=last and cancelled)
        if attempt_failed and stop is not None:
            events.append(_attempt_failed(run, number, stop))
    finished_at = end if end is not None else run.updated_at
    if cancelled:
        events.append({"name": "cancellation", "time": iso(finished_at), "properties": {"reason": "Canceled by user"}})
    elif failed and not windows:  # expired, or failed before any attempt ran
        events.append(_exception(finished_at, _error(run)))
    root = Span(
        run_span_id(run),
        None,
        run.friendly_id,
        run.task_identifier,
        run.created_at,
        0 if end is None else (end - run.created_at) * _NS_PER_MS,
        "TRACE",
        is_error=failed,
        is_partial=end is None,
        is_cancelled=cancelled,
        task=run.task_identifier,
        events=tuple(events),
        style={"icon": "task", "variant": "primary"},
    )
    return sorted([root, *spans], key=Span.sort_key)


def _log(parent: str, run: Run, at: int, level: str, message: str, attempt: int) -> Span:
    span_id = _hex_id(16, "log", run.friendly_id, str(attempt), level, message)
    return Span(span_id, parent, run.friendly_id, message, at, 0, level, is_error=level == "ERROR", attempt=attempt)


def trace_spans(store: Store, run: Run, now: int) -> list[Span]:
    """The run's spans and those of every run below it, in the order they started."""
    spans = run_spans(run, now)
    attempts = [span for span in spans if span.attempt is not None and span.level == "TRACE"]
    for child in store.children(run.id):
        below = trace_spans(store, child, now)
        running = [span for span in attempts if span.start_ms <= child.created_at] or attempts
        parent = running[-1].id if running else run_span_id(run)
        child_root = run_span_id(child)
        spans.extend(dataclasses.replace(span, parent_id=parent) if span.id == child_root else span for span in below)
    return sorted(spans, key=Span.sort_key)
