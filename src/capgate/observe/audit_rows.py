"""The audit log read back: one row per call, its intent and outcome lines joined by the call's id."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from capgate.observe.audit_file import read_lines

UNKNOWN_OUTCOME = "sent, outcome unknown"


def rows(lines: Iterable[bytes]) -> list[dict[str, Any]]:
    """One row per call, oldest first: the intent's fields, then the outcome's (its time as `answered`).

    An intent without an outcome (the gateway stopped, or the call is still running) reads "sent, outcome
    unknown"; an outcome without an intent is a call that was never sent and holds every field itself. A line
    cut short by a crash is skipped (it was never answered), and a line without a call id (written by capgate
    before intents existed) is a row as it stands.
    """
    intents: dict[str, dict[str, Any]] = {}
    outcomes: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for line in lines:
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(entry, dict):
            continue
        call = entry.get("call")
        if not isinstance(call, str):
            call = f"line {len(order)}"
            entry["phase"] = "outcome"
        if call not in intents and call not in outcomes:
            order.append(call)
        (outcomes if entry.pop("phase", None) == "outcome" else intents)[call] = entry
    joined = [_join(intents.get(call), outcomes.get(call)) for call in order]
    # Workers that share the file may land a line in a file rotated a moment before: order by time, not by file.
    joined.sort(key=lambda row: str(row.get("time", "")))
    return joined


def _join(intent: dict[str, Any] | None, outcome: dict[str, Any] | None) -> dict[str, Any]:
    if intent is None:
        assert outcome is not None
        return outcome
    if outcome is None:
        return {**intent, "outcome": UNKNOWN_OUTCOME}
    answered = outcome.pop("time", None)
    return {**intent, **outcome, "answered": answered}


def format_row(row: dict[str, Any]) -> str:
    """One row as a line for people: time, caller (and client), adapter, operation, resource, outcome, new id."""
    resource = " ".join(f"{key}={_shown(value)}" for key, value in (row.get("resource") or {}).items())
    status = row.get("upstream_status")
    outcome = row.get("outcome", "")
    shown = f"{status} {outcome}" if status is not None else outcome
    new_id = f" -> {_shown(row['new_id'])}" if row.get("new_id") else ""
    caller = (row.get("caller") or "-") + (f" ({row['client']})" if row.get("client") else "")
    return (
        f"{row.get('time', '?')}  {caller}  {row.get('adapter', '?')}  "
        f"{row.get('operation', '?')}  {resource or '-'}  {shown}{new_id}"
    )


def _shown(value: Any) -> str:
    """A value as the line shows it; one the log had to cut, by its size."""
    cut = value.get("cut") if isinstance(value, dict) else None
    if isinstance(cut, dict):
        return f"[cut: {cut.get('bytes', '?')} bytes]"
    return str(value)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of the audit log at `path`, its rotated files included."""
    return rows(read_lines(path))
