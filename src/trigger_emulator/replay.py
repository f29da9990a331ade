"""`POST /api/v1/runs/{runId}/replay` bodies: the optional `ReplayRunRequestBody` of overrides (SDK 4.7.4+).

The schema is the strict object of `@trigger.dev/core` 4.8.3: an unknown key is refused, a `payload` with
`payloadType: "application/super+json"` must be a SuperJSON string. An empty body replays the run unchanged.
Failures are phrased as the other zod-validated bodies are (`Validation error: … at "<path>"`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from trigger_emulator import fields, zod
from trigger_emulator.actions import ReplayOverrides, resolve_delay
from trigger_emulator.durations import parse_delay
from trigger_emulator.trigger import BodyError, decode_packet, delay_value, ttl_text

_PAYLOAD_TYPES = ("application/json", "application/super+json")


def _anything(value: Any, path: zod.Path) -> zod.Issue | None:
    return None


_CHECKS: Mapping[str, fields.Check] = {
    "payload": _anything,
    "payloadType": fields.one_of(_PAYLOAD_TYPES),
    "metadata": fields.record,
    "tags": fields.tags,
    "queue": fields.string,
    "concurrencyKey": fields.string_or_number,
    "machine": fields.machine,
    "version": fields.string,
    "region": fields.string,
    "delay": fields.delay,
    "ttl": fields.ttl,
    "idempotencyKey": fields.idempotency_key,
    "idempotencyKeyTTL": fields.string,
    "maxAttempts": fields.at_least(1, fields.integer),
    "maxDuration": fields.at_least(0),
    "priority": fields.number,
}


def _unrecognized(keys: list[str]) -> zod.Issue:
    listed = ", ".join(f"'{key}'" for key in keys)
    return {
        "code": "unrecognized_keys",
        "keys": keys,
        "path": [],
        "message": f"Unrecognized key(s) in object: {listed}",
    }


def _issues(body: Any) -> list[zod.Issue]:
    if not isinstance(body, dict):
        return [zod.invalid_type([], "object", zod.received(body))]
    issues = fields.present_fields(body, _CHECKS, [])
    unknown = [key for key in body if key not in _CHECKS]
    if unknown:
        issues.append(_unrecognized(unknown))
    if not issues and body.get("payloadType") == "application/super+json" and not isinstance(body.get("payload"), str):
        issues.append(
            zod.custom(["payload"], "payload must be a SuperJSON string when payloadType is application/super+json")
        )
    return issues


def read_overrides(raw: bytes, now: int) -> ReplayOverrides:
    """The overrides a replay body asks for (none for an empty body); `BodyError` when it is not valid."""
    if not raw.strip():
        return ReplayOverrides()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BodyError("Invalid JSON") from None
    issues = _issues(body)
    if issues:
        raise BodyError(zod.validation_message(issues))
    payload_type = body.get("payloadType", "application/json")
    tags, ttl, key_ttl = body.get("tags"), body.get("ttl"), body.get("idempotencyKeyTTL")
    concurrency_key = body.get("concurrencyKey")
    return ReplayOverrides(
        payload=decode_packet(body["payload"], payload_type) if "payload" in body else None,
        payload_given="payload" in body,
        payload_type=payload_type,
        metadata=body.get("metadata"),
        tags=None if tags is None else tuple([tags] if isinstance(tags, str) else tags),
        queue=body.get("queue"),
        concurrency_key=None if concurrency_key is None else str(concurrency_key),
        machine=body.get("machine"),
        version=body.get("version"),
        region=body.get("region"),
        delay_until=resolve_delay(delay_value(body["delay"]), now) if "delay" in body else None,
        ttl=ttl_text(ttl),
        idempotency_key=body.get("idempotencyKey"),
        idempotency_key_ttl_ms=parse_delay(key_ttl) if isinstance(key_ttl, str) else None,
        max_attempts=body.get("maxAttempts"),
        max_duration=body.get("maxDuration"),
        priority=body.get("priority"),
    )
