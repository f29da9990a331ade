"""Validation failures in zod 3's shapes, as the live service returns them.

Issues are the dicts zod puts in `error.issues` (`{code, …, message, path}`); `validation_message` phrases a
list of them the way `zod-validation-error` does for `{"error": "Validation error: …"}` bodies.
"""

from __future__ import annotations

import math
from typing import Any

Issue = dict[str, Any]
Path = list[str | int]

_TYPE_NAMES = {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}


def received(value: Any) -> str:
    """zod's name for a JSON value's type (`string`, `number`, `null`, `array`, …)."""
    if value is None:
        return "null"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return _TYPE_NAMES.get(type(value), "unknown")


def invalid_type(path: Path, expected: str, got: str) -> Issue:
    """`Expected <type>, received <type>`."""
    return {
        "code": "invalid_type",
        "expected": expected,
        "received": got,
        "path": path,
        "message": f"Expected {expected}, received {got}",
    }


def custom(path: Path, message: str) -> Issue:
    """A refinement's own message."""
    return {"code": "custom", "message": message, "path": path}


def too_small(path: Path, minimum: float, *, inclusive: bool, kind: str = "number", message: str = "") -> Issue:
    """A `min`/`positive`/`nonnegative` failure."""
    default = f"Number must be greater than {'or equal to ' if inclusive else ''}{minimum}"
    return {
        "code": "too_small",
        "minimum": minimum,
        "type": kind,
        "inclusive": inclusive,
        "exact": False,
        "message": message or default,
        "path": path,
    }


def too_big(path: Path, maximum: float, *, kind: str = "number", message: str = "") -> Issue:
    """A `max` failure."""
    return {
        "code": "too_big",
        "maximum": maximum,
        "type": kind,
        "inclusive": True,
        "exact": False,
        "message": message or f"Number must be less than or equal to {maximum}",
        "path": path,
    }


def invalid_union(path: Path) -> Issue:
    """No member of a union matched (zod also lists each member's errors; the emulator leaves them out)."""
    return {"code": "invalid_union", "path": path, "message": "Invalid input"}


def _dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def validation_message(issues: list[Issue]) -> str:
    """`Validation error: <message> at "<path>"; …`, as `fromZodError(error).toString()` writes it."""
    parts = [
        f'{issue["message"]} at "{_dotted(issue["path"])}"' if issue["path"] else issue["message"] for issue in issues
    ]
    return "Validation error: " + "; ".join(parts)
