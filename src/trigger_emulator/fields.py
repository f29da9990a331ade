"""zod-style checks of single JSON fields, shared by the trigger, replay and metadata bodies.

Each check takes a value and its path and returns the zod issue it fails with, or None. They follow the
schemas of `@trigger.dev/core` (`TriggerTaskRequestBody`, `ReplayRunRequestBody`, `FlushedRunMetadata`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from trigger_emulator import zod
from trigger_emulator.listing import MACHINES

Check = Callable[[Any, zod.Path], zod.Issue | None]


def is_number(value: Any) -> bool:
    """A JSON number (booleans are not numbers to zod)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def typed(kind: str) -> Check:
    """`z.string()`, `z.boolean()`, `z.number()`, `z.object(…)` as a type check."""

    def check(value: Any, path: zod.Path) -> zod.Issue | None:
        got = zod.received(value)
        return None if got == kind else zod.invalid_type(path, kind, got)

    return check


string, boolean, number, record = typed("string"), typed("boolean"), typed("number"), typed("object")


def integer(value: Any, path: zod.Path) -> zod.Issue | None:
    """`z.number().int()`."""
    if not is_number(value):
        return number(value, path)
    return None if float(value).is_integer() else zod.invalid_type(path, "integer", "float")


def at_least(minimum: float, base: Check = number) -> Check:
    """`base` plus `.min(minimum)` (`.nonnegative()` is `at_least(0)`)."""

    def check(value: Any, path: zod.Path) -> zod.Issue | None:
        issue = base(value, path)
        if issue is None and value < minimum:
            return zod.too_small(path, minimum, inclusive=True)
        return issue

    return check


def one_of(options: tuple[str, ...]) -> Check:
    """`z.enum(options)`."""

    def check(value: Any, path: zod.Path) -> zod.Issue | None:
        if value in options:
            return None
        expected = " | ".join(f"'{name}'" for name in options)
        return {
            "code": "invalid_enum_value",
            "options": list(options),
            "path": path,
            "message": f"Invalid enum value. Expected {expected}, received '{value}'",
        }

    return check


machine = one_of(MACHINES)


def idempotency_key(value: Any, path: zod.Path) -> zod.Issue | None:
    """A user idempotency key: a string of at most 2048 characters."""
    if isinstance(value, str) and len(value) > 2048:
        message = "idempotencyKey must be 2048 characters or less"
        return zod.too_big(path, 2048, kind="string", message=message)
    return string(value, path)


def delay(value: Any, path: zod.Path) -> zod.Issue | None:
    """`z.string().or(z.coerce.date())`: `new Date(x)` accepts numbers, booleans and null, not objects."""
    return None if isinstance(value, str | int | float | bool) or value is None else zod.invalid_union(path)


def ttl(value: Any, path: zod.Path) -> zod.Issue | None:
    """`z.string().or(z.number().nonnegative().int())`."""
    if isinstance(value, str):
        return None
    if is_number(value) and value < 0:
        return zod.too_small(path, 0, inclusive=True)
    return integer(value, path) if is_number(value) else zod.invalid_union(path)


def string_or_number(value: Any, path: zod.Path) -> zod.Issue | None:
    """A concurrency key: a string or a number."""
    return None if isinstance(value, str) or is_number(value) else zod.invalid_union(path)


def queue_object(value: Any, path: zod.Path) -> zod.Issue | None:
    """`{name: string}`, the trigger body's queue."""
    if not isinstance(value, dict):
        return record(value, path)
    return string(value.get("name"), [*path, "name"])


def tags(value: Any, path: zod.Path) -> zod.Issue | None:
    """`RunTags`: one tag or a list of them, each at most 128 characters."""
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else None
    if values is None or not all(isinstance(tag, str) for tag in values):
        return zod.invalid_union(path)
    for index, tag in enumerate(values):
        if len(tag) > 128:
            where = path if isinstance(value, str) else [*path, index]
            return zod.too_big(where, 128, kind="string", message="Tags must be less than 128 characters")
    return None


def present_fields(body: Mapping[str, Any], checks: Mapping[str, Check], path: zod.Path) -> list[zod.Issue]:
    """The issues of the optional fields of `body` that are present, in the schema's order."""
    return [
        issue
        for name, check in checks.items()
        if name in body and (issue := check(body[name], [*path, name])) is not None
    ]
