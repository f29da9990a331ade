"""How a JSON result reads on a terminal: a list of objects as a table, an object as aligned key/value lines.

Nothing here knows Trigger.dev. Well-known field names pick the columns (id, name, task, status, created,
duration, tags) when present; otherwise the first simple fields do. Identifiers (`id`, `…Id`, `name`) are
never cut, so that a listed id can be copied into the next command; other columns are, or are left out.
Timestamps, durations in milliseconds, lists and booleans are shown the way a person reads them, and
statuses are coloured by what they mean.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from capgate.cli.terminal import Painter, key_values, table

PREFERRED_COLUMNS = ("id", "name", "taskIdentifier", "status", "createdAt", "durationMs", "tags")
LABELS = {"taskIdentifier": "task", "createdAt": "created", "durationMs": "duration"}
MAX_COLUMNS = 6
IDENTIFIERS = {"id", "name", "slug", "key"}
STATUS_COLOURS = {
    "green": {"COMPLETED", "SUCCEEDED", "SUCCESS", "OK", "READY", "ACTIVE"},
    "red": {"FAILED", "CRASHED", "SYSTEM_FAILURE", "TIMED_OUT", "EXPIRED", "ERROR", "INTERRUPTED"},
    "yellow": {"EXECUTING", "WAITING", "QUEUED", "DEQUEUED", "PENDING", "PENDING_VERSION", "DELAYED", "REATTEMPTING"},
    "dim": {"CANCELED", "CANCELLED", "FROZEN"},
}
_ISO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def items_of(value: Any) -> list[dict[str, Any]] | None:
    """The objects to show as rows: a list of objects, or the `data` list of an object; else None."""
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        value = value["data"]
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return value
    return None


def render(value: Any, *, width: int | None, paint: Painter) -> str:
    """`value` as a person reads it on a terminal `width` columns wide (None: no limit)."""
    items = items_of(value)
    if items is not None:
        return render_items(items, width=width, paint=paint)
    if isinstance(value, dict):
        pairs = [(key, cell(key, item)) for key, item in value.items()]
        return key_values(pairs, width=width, paint=paint, colour_of=_colour_by_key, whole=is_identifier)
    return cell("", value)


def render_items(items: list[dict[str, Any]], *, width: int | None, paint: Painter) -> str:
    if not items:
        return paint("(no items)", "dim")
    keys = columns(items)
    rows = [[cell(key, item.get(key)) for key in keys] for item in items]
    headers = [LABELS.get(key, key) for key in keys]
    return table(
        headers,
        rows,
        width=width,
        paint=paint,
        colour_of=lambda index, text: _colour_by_key(keys[index], text),
        whole=[index for index, key in enumerate(keys) if is_identifier(key)],
        hidden_hint="--wide or --json shows them",
    )


def is_identifier(key: str) -> bool:
    """A field whose value a person copies into the next command (a run id, a task's name): never cut."""
    return key in IDENTIFIERS or key.endswith(("Id", "_id", "ID", "Identifier"))


def columns(items: list[dict[str, Any]]) -> list[str]:
    """The well-known fields present, else the first fields whose values fit in a cell."""
    present = dict.fromkeys(key for item in items for key in item)
    preferred = [key for key in PREFERRED_COLUMNS if key in present]
    if len(preferred) >= 2:
        return preferred
    simple = [key for key in present if all(_fits_a_cell(item.get(key)) for item in items)]
    return (simple or list(present))[:MAX_COLUMNS]


def cell(key: str, value: Any) -> str:
    """One value as text, formatted by its kind and by what its field name says it is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key.endswith("Ms") and isinstance(value, (int, float)):
        return duration(value)
    if isinstance(value, str):
        match = _ISO_TIME.match(value)
        return f"{match.group(1)} {match.group(2)}" if match else value
    if isinstance(value, list) and all(_is_scalar(item) for item in value):
        return ", ".join(cell(key, item) for item in value)
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def duration(milliseconds: float) -> str:
    """1234 -> '1.2s', 125000 -> '2m 05s'."""
    if milliseconds < 1000:
        return f"{milliseconds:.0f}ms"
    seconds = milliseconds / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _colour_by_key(key: str, text: str) -> str:
    if key == "id":
        return "cyan"
    if key == "status":
        return next((colour for colour, words in STATUS_COLOURS.items() if text.upper() in words), "")
    return ""


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _fits_a_cell(value: Any) -> bool:
    return _is_scalar(value) or (isinstance(value, list) and all(_is_scalar(item) for item in value))
