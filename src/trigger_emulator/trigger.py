"""`POST /api/v1/tasks/{taskId}/trigger`: read a `TriggerTaskRequestBody` into a `NewRun`.

Validation follows the zod schema of `@trigger.dev/core` 4.x for the options the emulator reads, and reports
failures the way `zod-validation-error` phrases them (`Validation error: <message> at "<path>"`); the exact
wording of rarer messages is approximate. Options the emulator has no use for (`debounce`, `gates`, …) are
accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from trigger_emulator import zod
from trigger_emulator.actions import NewRun, resolve_delay
from trigger_emulator.durations import format_seconds, parse_delay
from trigger_emulator.listing import MACHINES

Check = Callable[[Any, zod.Path], zod.Issue | None]


class BodyError(Exception):
    """The body does not match `TriggerTaskRequestBody`; `str()` is the 400 message."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _typed(kind: str) -> Check:
    def check(value: Any, path: zod.Path) -> zod.Issue | None:
        got = zod.received(value)
        return None if got == kind else zod.invalid_type(path, kind, got)

    return check


_string, _boolean, _number, _object = _typed("string"), _typed("boolean"), _typed("number"), _typed("object")


def _integer(value: Any, path: zod.Path) -> zod.Issue | None:
    if not _is_number(value):
        return _number(value, path)
    return None if float(value).is_integer() else zod.invalid_type(path, "integer", "float")


def _idempotency_key(value: Any, path: zod.Path) -> zod.Issue | None:
    if isinstance(value, str) and len(value) > 2048:
        message = "idempotencyKey must be 2048 characters or less"
        return zod.too_big(path, 2048, kind="string", message=message)
    return _string(value, path)


def _machine(value: Any, path: zod.Path) -> zod.Issue | None:
    if value in MACHINES:
        return None
    expected = " | ".join(f"'{name}'" for name in MACHINES)
    return {
        "code": "invalid_enum_value",
        "options": list(MACHINES),
        "path": path,
        "message": f"Invalid enum value. Expected {expected}, received '{value}'",
    }


def _delay(value: Any, path: zod.Path) -> zod.Issue | None:
    # z.string().or(z.coerce.date()): `new Date(x)` accepts numbers, booleans and null, not objects.
    return None if isinstance(value, str | int | float | bool) or value is None else zod.invalid_union(path)


def _ttl(value: Any, path: zod.Path) -> zod.Issue | None:
    if isinstance(value, str):
        return None
    if _is_number(value) and value < 0:
        return zod.too_small(path, 0, inclusive=True)
    return _integer(value, path) if _is_number(value) else zod.invalid_union(path)


def _string_or_number(value: Any, path: zod.Path) -> zod.Issue | None:
    return None if isinstance(value, str) or _is_number(value) else zod.invalid_union(path)


def _queue(value: Any, path: zod.Path) -> zod.Issue | None:
    if not isinstance(value, dict):
        return _object(value, path)
    return _string(value.get("name"), [*path, "name"])


def _tags(value: Any, path: zod.Path) -> zod.Issue | None:
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else None
    if values is None or not all(isinstance(tag, str) for tag in values):
        return zod.invalid_union(path)
    for index, tag in enumerate(values):
        if len(tag) > 128:
            where = path if isinstance(value, str) else [*path, index]
            return zod.too_big(where, 128, kind="string", message="Tags must be less than 128 characters")
    return None


_OPTION_CHECKS: Mapping[str, Check] = {
    "dependentAttempt": _string,
    "parentAttempt": _string,
    "dependentBatch": _string,
    "parentBatch": _string,
    "parentRunId": _string,
    "resumeParentOnCompletion": _boolean,
    "lockToVersion": _string,
    "queue": _queue,
    "concurrencyKey": _string_or_number,
    "delay": _delay,
    "idempotencyKey": _idempotency_key,
    "idempotencyKeyTTL": _string,
    "machine": _machine,
    "maxAttempts": _integer,
    "maxDuration": _number,
    "metadataType": _string,
    "payloadType": _string,
    "tags": _tags,
    "test": _boolean,
    "ttl": _ttl,
    "priority": _number,
    "bulkActionId": _string,
    "region": _string,
}


def validate(body: Any) -> dict[str, Any]:
    """Check a parsed JSON body against the schema; returns its `options` (possibly empty) or raises `BodyError`."""
    if not isinstance(body, dict):
        raise BodyError(zod.validation_message([zod.invalid_type([], "object", zod.received(body))]))
    options = body.get("options", {})
    if not isinstance(options, dict):
        raise BodyError(zod.validation_message([zod.invalid_type(["options"], "object", zod.received(options))]))
    issues = [
        issue
        for name, check in _OPTION_CHECKS.items()
        if name in options and (issue := check(options[name], ["options", name])) is not None
    ]
    payload = body.get("payload")
    if options.get("payloadType") == "application/store" and not (isinstance(payload, str) and payload):
        message = "payload must be a non-empty string when options.payloadType is application/store"
        issues.append(zod.custom(["payload"], message))
    if issues:
        raise BodyError(zod.validation_message(issues))
    return options


def _decode_packet(data: Any, data_type: str | None) -> Any:
    """A payload or metadata packet as the presenters show it: JSON (and superjson) strings are parsed."""
    if not isinstance(data, str) or data_type not in (None, "application/json", "application/super+json"):
        return data
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return data
    if data_type == "application/super+json" and isinstance(value, dict):
        return value.get("json")
    return value


def _delay_value(value: Any) -> str | int | None:
    """`z.string().or(z.coerce.date())`: strings stay strings, everything else becomes epoch ms."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return int(value or 0)
    return int(value)


def new_run(task: str, body: dict[str, Any], options: dict[str, Any], headers: Mapping[str, str], now: int) -> NewRun:
    """Interpret a validated body (and the trigger headers) as the `TriggerTaskService` does."""
    idempotency_key = headers.get("idempotency-key") or options.get("idempotencyKey")
    key_options = options.get("idempotencyKeyOptions")
    user_key = key_options.get("key") if isinstance(key_options, dict) else None
    key_ttl = headers.get("idempotency-key-ttl") or options.get("idempotencyKeyTTL")
    ttl = options.get("ttl")
    tags = options.get("tags")
    queue = options.get("queue")
    concurrency_key = options.get("concurrencyKey")
    return NewRun(
        task=task,
        payload=_decode_packet(body.get("payload"), options.get("payloadType")),
        payload_type=options.get("payloadType"),
        delay_until=resolve_delay(_delay_value(options["delay"]), now) if "delay" in options else None,
        ttl=format_seconds(int(ttl)) if isinstance(ttl, int | float) else ttl,
        idempotency_key=idempotency_key or None,
        idempotency_key_user=user_key if isinstance(user_key, str) else None,
        idempotency_key_ttl_ms=parse_delay(key_ttl) if isinstance(key_ttl, str) else None,
        tags=tuple([tags] if isinstance(tags, str) else tags or ()),
        metadata=_decode_packet(options.get("metadata"), options.get("metadataType")),
        is_test=options.get("test") is True,
        queue=queue.get("name") if isinstance(queue, dict) else None,
        machine=options.get("machine"),
        max_attempts=options.get("maxAttempts"),
        max_duration=options.get("maxDuration"),
        priority=options.get("priority"),
        region=options.get("region"),
        concurrency_key=None if concurrency_key is None else str(concurrency_key),
        version=options.get("lockToVersion"),
        parent_id=options.get("parentRunId"),
        resume_parent=options.get("resumeParentOnCompletion") is True,
        batch_id=options.get("parentBatch"),
        trigger_source=headers.get("x-trigger-source") or "api",
    )
