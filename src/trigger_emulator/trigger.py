"""`POST /api/v1/tasks/{taskId}/trigger`: read a `TriggerTaskRequestBody` into a `NewRun`.

Validation follows the zod schema of `@trigger.dev/core` 4.x for the options the emulator reads, and reports
failures the way `zod-validation-error` phrases them (`Validation error: <message> at "<path>"`); the exact
wording of rarer messages is approximate. Options the emulator has no use for (`debounce`, `gates`, …) are
accepted and ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson

from trigger_emulator import fields, zod
from trigger_emulator.actions import NewRun, resolve_delay
from trigger_emulator.durations import format_seconds, parse_delay
from trigger_emulator.listing import js_number

_TRIGGER_SOURCES = frozenset({"sdk", "cli", "mcp"})  # `sanitizeTriggerSource`: anything else is "api"
_ENGINE_VERSIONS = ("V1", "V2")


class BodyError(Exception):
    """The body does not match `TriggerTaskRequestBody`; `str()` is the 400 message."""


_OPTION_CHECKS: Mapping[str, fields.Check] = {
    "dependentAttempt": fields.string,
    "parentAttempt": fields.string,
    "dependentBatch": fields.string,
    "parentBatch": fields.string,
    "parentRunId": fields.string,
    "resumeParentOnCompletion": fields.boolean,
    "lockToVersion": fields.string,
    "queue": fields.queue_object,
    "concurrencyKey": fields.string_or_number,
    "delay": fields.delay,
    "idempotencyKey": fields.idempotency_key,
    "idempotencyKeyTTL": fields.string,
    "machine": fields.machine,
    "maxAttempts": fields.integer,
    "maxDuration": fields.number,
    "metadataType": fields.string,
    "payloadType": fields.string,
    "tags": fields.tags,
    "test": fields.boolean,
    "ttl": fields.ttl,
    "priority": fields.number,
    "bulkActionId": fields.string,
    "region": fields.string,
}


def validate(body: Any) -> dict[str, Any]:
    """Check a parsed JSON body against the schema; returns its `options` (possibly empty) or raises `BodyError`."""
    if not isinstance(body, dict):
        raise BodyError(zod.validation_message([zod.invalid_type([], "object", zod.received(body))]))
    options = body.get("options", {})
    if not isinstance(options, dict):
        raise BodyError(zod.validation_message([zod.invalid_type(["options"], "object", zod.received(options))]))
    issues = fields.present_fields(options, _OPTION_CHECKS, ["options"])
    payload = body.get("payload")
    if options.get("payloadType") == "application/store" and not (isinstance(payload, str) and payload):
        message = "payload must be a non-empty string when options.payloadType is application/store"
        issues.append(zod.custom(["payload"], message))
    if issues:
        raise BodyError(zod.validation_message(issues))
    return options


def header_issues(headers: Mapping[str, str]) -> list[zod.Issue]:
    """zod issues of the route's `HeadersSchema` (only the headers whose values can be wrong)."""
    issues: list[zod.Issue] = []
    key = headers.get("idempotency-key")
    if key is not None and len(key) > 2048:
        message = "idempotency-key must be 2048 characters or less"
        issues.append(zod.too_big(["idempotency-key"], 2048, kind="string", message=message))
    link = headers.get("x-trigger-span-parent-as-link")
    if link is not None and math.isnan(js_number(link)):  # z.coerce.number(): Number(value) must not be NaN
        issues.append(zod.invalid_type(["x-trigger-span-parent-as-link"], "number", "nan"))
    engine = headers.get("x-trigger-engine-version")
    if engine is not None:
        issue = fields.one_of(_ENGINE_VERSIONS)(engine, ["x-trigger-engine-version"])
        issues.extend([issue] if issue else [])
    return issues


def allowed_source(value: str | None) -> str:
    """`sanitizeTriggerSource(value) ?? "api"`: only `sdk`, `cli` and `mcp` are kept."""
    return value if value in _TRIGGER_SOURCES else "api"


def trigger_source(headers: Mapping[str, str]) -> str:
    """A triggered run's source: "sdk" from inside a task, else the allowed `x-trigger-source`."""
    return "sdk" if headers.get("x-trigger-worker") else allowed_source(headers.get("x-trigger-source"))


def decode_packet(data: Any, data_type: str | None) -> Any:
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


def delay_value(value: Any) -> str | int | None:
    """`z.string().or(z.coerce.date())`: strings stay strings, everything else becomes epoch ms."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return int(value or 0)
    return int(value)


def ttl_text(ttl: Any) -> str | None:
    """A validated TTL as the run shows it: a number of seconds becomes a duration (`3600` is `1h`)."""
    return format_seconds(int(ttl)) if fields.is_number(ttl) else ttl


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
        payload=decode_packet(body.get("payload"), options.get("payloadType")),
        payload_type=options.get("payloadType"),
        delay_until=resolve_delay(delay_value(options["delay"]), now) if "delay" in options else None,
        ttl=ttl_text(ttl),
        idempotency_key=idempotency_key or None,
        idempotency_key_user=user_key if isinstance(user_key, str) else None,
        idempotency_key_ttl_ms=parse_delay(key_ttl) if isinstance(key_ttl, str) else None,
        tags=tuple([tags] if isinstance(tags, str) else tags or ()),
        metadata=decode_packet(options.get("metadata"), options.get("metadataType")),
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
        trigger_source=trigger_source(headers),
    )
