"""The three JSON shapes spans are read in.

- `GET /api/v1/runs/{runId}/trace` without paging: `{trace: {traceId, rootSpan}}`, the run's span as a tree
  (`RetrieveRunTraceResponseBody`; durations in milliseconds, `properties` always present).
- The same route with `page[size]` or `page[after]` (SDK 4.7.4+, `retrieveRunTracePage`): flat spans in the
  order they started, `{data, attemptFailures, pagination: {next?}}` (`RetrieveRunTracePageResponseBody`;
  durations in nanoseconds). The cursor is opaque: base64url of the last span's place in that order.
- `GET /api/v1/runs/{runId}/events`: the run's own spans and log lines as the ClickHouse event store prepares
  them (`startTime` a nanosecond string, `duration` nanoseconds, `kind: "UNSPECIFIED"`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from trigger_emulator import zod
from trigger_emulator.dates import iso
from trigger_emulator.listing import page_size, read_query
from trigger_emulator.traces import Span

MAX_TRACE_PAGE = 10_000  # MAXIMUM_TRACE_DETAILED_SUMMARY_VIEW_COUNT; the SDK asks for this many by default
Body = dict[str, Any]


class TraceQueryError(Exception):
    """The paging query does not validate; `issues` are the zod-shaped details."""

    def __init__(self, issues: list[zod.Issue]) -> None:
        super().__init__(f"{len(issues)} invalid query parameter(s)")
        self.issues = issues


@dataclass(frozen=True)
class TracePage:
    """Which page of a trace: its size, and the span (as its sort key) it continues after."""

    size: int
    after: tuple[int, int, str] | None = None


def parse_trace_query(raw_query: str) -> TracePage | None:
    """The page asked for, or None when the query asks for the whole tree (no `page[...]` key)."""
    params = read_query(raw_query)
    if "page[size]" not in params and "page[after]" not in params:
        return None
    issues: list[zod.Issue] = []
    size = page_size("page[size]", params.get("page[size]"), issues, maximum=MAX_TRACE_PAGE, default=MAX_TRACE_PAGE)
    after = _decode_cursor(params["page[after]"]) if "page[after]" in params else None
    if "page[after]" in params and after is None:
        issues.append(zod.custom(["page[after]"], "Invalid cursor"))
    if issues:
        raise TraceQueryError(issues)
    return TracePage(size, after)


def _encode_cursor(span: Span) -> str:
    raw = json.dumps(list(span.sort_key()), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(text: str) -> tuple[int, int, str] | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, list) and len(data) == 3:
        start, rank, span_id = data
        if type(start) is int and type(rank) is int and isinstance(span_id, str):
            return start, rank, span_id
    return None


def _optional(body: Body) -> Body:
    return {key: value for key, value in body.items() if value is not None}


def _visible_events(span: Span) -> list[dict[str, Any]]:
    return [event for event in span.events if not str(event.get("name", "")).startswith("trigger.dev")]


def _milliseconds(nanoseconds: int) -> int | float:
    """`nanoseconds / 1_000_000` as JavaScript writes it: a whole number has no `.0`."""
    whole, rest = divmod(nanoseconds, 1_000_000)
    return whole if rest == 0 else nanoseconds / 1_000_000


def tree_body(spans: Sequence[Span], anchor_id: str, trace: str) -> Body:
    """`{trace: {traceId, rootSpan}}` with the subtree under the anchor span."""
    children: dict[str | None, list[Span]] = {}
    for span in spans:
        children.setdefault(span.parent_id, []).append(span)

    def node(span: Span) -> Body:
        data = _optional(
            {
                "message": span.message,
                "taskSlug": span.task,
                "events": _visible_events(span),
                "startTime": iso(span.start_ms),
                "duration": _milliseconds(span.duration_ns),
                "isError": span.is_error,
                "isPartial": span.is_partial,
                "isCancelled": span.is_cancelled,
                "level": span.level,
                "properties": {},
            }
        )
        below = [node(child) for child in children.get(span.id, [])]
        return _optional({"id": span.id, "parentId": span.parent_id, "runId": span.run_id, "data": data}) | {
            "children": below
        }

    anchor = next(span for span in spans if span.id == anchor_id)
    return {"trace": {"traceId": trace, "rootSpan": node(anchor)}}


def page_body(spans: Sequence[Span], page: TracePage) -> Body:
    """One page of flat spans in start order, the attempt failures they carry, and the next cursor."""
    ordered = [span for span in spans if page.after is None or span.sort_key() > page.after]
    chosen = ordered[: page.size]
    data = [
        _optional(
            {
                "id": span.id,
                "parentId": span.parent_id,
                "runId": span.run_id,
                "message": span.message,
                "startTime": iso(span.start_ms),
                "duration": span.duration_ns,
                "isError": span.is_error,
                "isPartial": span.is_partial,
                "isCancelled": span.is_cancelled,
                "level": span.level,
                "attemptNumber": span.attempt,
            }
        )
        for span in chosen
    ]
    pagination = {"next": _encode_cursor(chosen[-1])} if len(ordered) > page.size else {}
    return {"data": data, "attemptFailures": list(_attempt_failures(chosen)), "pagination": pagination}


def _attempt_failures(spans: Iterable[Span]) -> Iterable[Body]:
    for span in spans:
        for event in span.events:
            if event.get("name") == "attempt_failed":
                properties = event["properties"]
                yield {"spanId": span.id, "attemptNumber": properties["attemptNumber"], "runId": properties["runId"]}


def events_body(spans: Iterable[Span], run_id: str) -> Body:
    """`{events: [...]}`: the run's own spans and log lines, in start order."""
    events = [
        {
            "spanId": span.id,
            "parentId": span.parent_id,
            "runId": span.run_id,
            "message": span.message,
            "style": span.style,
            "events": list(span.events),
            "startTime": str(span.start_ms * 1_000_000),
            "duration": span.duration_ns,
            "isError": span.is_error,
            "isPartial": span.is_partial,
            "isCancelled": span.is_cancelled,
            "kind": "UNSPECIFIED",
            "attemptNumber": span.attempt,
            "level": span.level,
        }
        for span in spans
        if span.run_id == run_id
    ]
    return {"events": events}
