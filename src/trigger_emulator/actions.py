"""The state rules: trigger, cancel, replay, reschedule, add tags and update metadata, each one transaction.

These functions know nothing about HTTP. They raise the small exceptions below and the handlers turn each
into the route's own status and body.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
from collections.abc import Sequence
from typing import Any

from trigger_emulator.dates import parse_date, representable
from trigger_emulator.durations import parse_delay
from trigger_emulator.ids import cuid, run_friendly_id
from trigger_emulator.metadata import MetadataTooLarge, Operation, apply_operations, checked_size
from trigger_emulator.models import Environment, Run
from trigger_emulator.statuses import CLEARS_IDEMPOTENCY_KEY, FINAL_STATUSES
from trigger_emulator.store import Store

MAX_TAGS_PER_RUN = 10
DEFAULT_DEV_TTL = "10m"  # development runs expire after 10 minutes in the queue unless told otherwise
DEFAULT_IDEMPOTENCY_TTL_MS = 30 * 24 * 3600 * 1000
DEFAULT_MACHINE = "small-1x"
DEFAULT_REGION = "us-east-1"
CANCELED_ERROR = {"message": "Canceled by user"}
METADATA_UPDATABLE_MS = (
    3600 * 1000
)  # RUN_UPDATABLE_WINDOW_MS: a run's metadata can change until an hour after it completed


class RunNotFound(Exception):
    """No run with that id in the caller's environment."""


class NotDelayed(Exception):
    """Reschedule asked for a run that is not DELAYED."""


class InvalidDelay(Exception):
    """Reschedule got a delay that is neither a future date nor a duration; `str()` is the live message."""


class TooManyTags(Exception):
    """A run would end up with more than 10 tags; `str()` is the live message."""


class MetadataLocked(Exception):
    """The run finished more than an hour ago; `str()` is the live message."""


class ReplayRefused(Exception):
    """A replay override names a queue or a version the environment does not have; `str()` is the message."""


@dataclasses.dataclass(frozen=True)
class NewRun:
    """What a trigger (or a replay) asks for; `None` means "not given"."""

    task: str
    payload: Any = None
    payload_type: str | None = None
    delay_until: int | None = None
    ttl: str | None = None
    idempotency_key: str | None = None
    idempotency_key_user: str | None = None
    idempotency_key_ttl_ms: int | None = None
    tags: tuple[str, ...] = ()
    metadata: Any = None
    is_test: bool = False
    queue: str | None = None
    machine: str | None = None
    max_attempts: int | None = None
    max_duration: float | None = None
    priority: float | None = None
    region: str | None = None
    concurrency_key: str | None = None
    version: str | None = None
    parent_id: str | None = None
    resume_parent: bool = False
    batch_id: str | None = None
    trigger_source: str = "api"
    replayed_from: str | None = None


@dataclasses.dataclass(frozen=True)
class ReplayOverrides:
    """What a replay body changes; `None` means "not given" (`payload_given` tells a null payload from none)."""

    payload: Any = None
    payload_given: bool = False
    payload_type: str | None = None
    metadata: Any = None
    tags: tuple[str, ...] | None = None
    queue: str | None = None
    concurrency_key: str | None = None
    machine: str | None = None
    version: str | None = None
    region: str | None = None
    delay_until: int | None = None
    ttl: str | None = None
    idempotency_key: str | None = None
    idempotency_key_ttl_ms: int | None = None
    max_attempts: int | None = None
    max_duration: float | None = None
    priority: float | None = None


def resolve_delay(delay: str | int | None, now: int) -> int | None:
    """`parseDelay`: a number is already a date (even a past one); a string is a future date or a duration."""
    if delay is None or isinstance(delay, int):
        return delay if delay is None or representable(delay) else None
    if not delay:
        return None
    moment = parse_date(delay)
    if moment is not None:
        return moment if moment > now else None
    duration = parse_delay(delay)
    return now + duration if duration and representable(now + duration) else None


def create_run(store: Store, env: Environment, spec: NewRun, now: int, rng: random.Random) -> Run:
    """Insert a fresh run for `spec` and return it; it is simulated (moved along when simulation is on)."""
    if len(spec.tags) > MAX_TAGS_PER_RUN:
        raise TooManyTags(f"Runs can only have {MAX_TAGS_PER_RUN} tags, you're trying to set {len(spec.tags)}.")
    parent = store.find_run(env.id, spec.parent_id) if spec.parent_id else None
    if parent is not None:
        depth, root_id = parent.depth + 1, parent.root_id or parent.id
        if spec.batch_id:
            trigger_function = "batchTriggerAndWait" if spec.resume_parent else "batchTrigger"
        else:
            trigger_function = "triggerAndWait" if spec.resume_parent else "trigger"
    else:
        depth, root_id, trigger_function = 0, None, "batchTrigger" if spec.batch_id else "trigger"
    delayed = spec.delay_until is not None
    idempotency_ttl = spec.idempotency_key_ttl_ms or DEFAULT_IDEMPOTENCY_TTL_MS
    run = Run(
        id=cuid(now, rng),
        friendly_id=run_friendly_id(now, rng),
        env_id=env.id,
        task_identifier=spec.task,
        status="DELAYED" if delayed else "PENDING",
        created_at=now,
        updated_at=now,
        queue=spec.queue or f"task/{spec.task}",
        machine=spec.machine or DEFAULT_MACHINE,
        queued_at=spec.delay_until if delayed else now,
        delay_until=spec.delay_until,
        ttl=spec.ttl if spec.ttl is not None else (DEFAULT_DEV_TTL if env.kind == "DEVELOPMENT" else None),
        is_test=spec.is_test,
        idempotency_key=spec.idempotency_key,
        idempotency_key_user=spec.idempotency_key_user,
        idempotency_key_expires_at=now + idempotency_ttl if spec.idempotency_key else None,
        version=spec.version,  # set when the run is dequeued, unless the trigger locked it (live does the same)
        tags=spec.tags,
        metadata=spec.metadata,
        seed_metadata=spec.metadata,
        payload=spec.payload,
        payload_type=spec.payload_type,
        depth=depth,
        trigger_function=trigger_function,
        parent_id=parent.id if parent else None,
        root_id=root_id,
        batch_id=spec.batch_id,
        region=spec.region or (None if env.kind == "DEVELOPMENT" else DEFAULT_REGION),
        concurrency_key=spec.concurrency_key,
        max_attempts=spec.max_attempts,
        max_duration=spec.max_duration,
        priority=spec.priority,
        replayed_from=spec.replayed_from,
        trigger_source=spec.trigger_source,
        simulated=True,
        next_event_at=spec.delay_until if delayed else now,
    )
    store.insert_run(run)
    return run


def trigger(store: Store, env: Environment, spec: NewRun, now: int, rng: random.Random) -> tuple[Run, bool]:
    """Create a run, unless a run of the same task holds the idempotency key: then return that one, cached."""
    with store.transaction():
        if spec.idempotency_key:
            existing = store.find_idempotent(env.id, spec.task, spec.idempotency_key)
            if existing is not None:
                expires = existing.idempotency_key_expires_at
                if (expires is not None and expires < now) or existing.status in CLEARS_IDEMPOTENCY_KEY:
                    # The live service frees the key of an expired key, a failed or an expired run.
                    store.update_run(existing.id, idempotency_key=None, idempotency_key_expires_at=None)
                else:
                    return existing, True
        return create_run(store, env, spec, now, rng), False


def _cancel_tree(store: Store, run: Run, now: int) -> None:
    if run.status not in FINAL_STATUSES:
        store.update_run(run.id, status="CANCELED", error=CANCELED_ERROR, updated_at=now, next_event_at=None)
    for child in store.children(run.id):
        _cancel_tree(store, child, now)


def cancel(store: Store, env: Environment, friendly_id: str, now: int) -> Run:
    """Cancel a run and, if it was not final yet, every run below it; a final run is left as it is."""
    with store.transaction():
        run = store.find_run(env.id, friendly_id)
        if run is None:
            raise RunNotFound(friendly_id)
        if run.status not in FINAL_STATUSES:
            _cancel_tree(store, run, now)
        return run


def replay(
    store: Store,
    env: Environment,
    friendly_id: str,
    now: int,
    rng: random.Random,
    source: str,
    overrides: ReplayOverrides | None = None,
) -> Run:
    """A new run of the same task in the same environment.

    Without overrides it copies payload, queue, test flag, tags, trigger metadata, concurrency key, machine and
    (outside development) region; delay, TTL, idempotency key, attempts, duration, priority and version fall
    back to the task's defaults. An override replaces the original's value or the default; an override
    idempotency key that a live run already holds returns that run, as a trigger would.
    """
    given = overrides or ReplayOverrides()
    with store.transaction():
        original = store.find_run(env.id, friendly_id)
        if original is None:
            raise RunNotFound(friendly_id)
        if given.queue is not None and not store.queue_exists(env.id, given.queue):
            raise ReplayRefused(f"Queue {given.queue!r} does not exist in this environment")
        version = None if given.version in (None, "latest") else given.version
        if version is not None and not store.version_exists(env.id, version):
            raise ReplayRefused(f"Version {version!r} is not deployed to this environment")
        spec = NewRun(
            task=original.task_identifier,
            payload=given.payload if given.payload_given else original.payload,
            payload_type=(given.payload_type or "application/json") if given.payload_given else original.payload_type,
            tags=given.tags if given.tags is not None else original.tags,
            metadata=given.metadata if given.metadata is not None else original.seed_metadata,
            is_test=original.is_test,
            queue=given.queue or original.queue,
            machine=given.machine or original.machine,
            concurrency_key=given.concurrency_key or original.concurrency_key,
            region=None if env.kind == "DEVELOPMENT" else (given.region or original.region),
            delay_until=given.delay_until,
            ttl=given.ttl,
            idempotency_key=given.idempotency_key,
            idempotency_key_ttl_ms=given.idempotency_key_ttl_ms,
            max_attempts=given.max_attempts,
            max_duration=given.max_duration,
            priority=given.priority,
            version=version,
            trigger_source=source,
            replayed_from=original.friendly_id,
        )
        run, _ = trigger(store, env, spec, now, rng)
        return run


def reschedule(store: Store, env: Environment, friendly_id: str, delay: str | int, now: int) -> Run:
    """Move a DELAYED run's `delayUntil` (and queue time) to the new date; returns the updated run."""
    with store.transaction():
        run = store.find_run(env.id, friendly_id)
        if run is None:
            raise RunNotFound(friendly_id)
        if run.status != "DELAYED":
            raise NotDelayed(friendly_id)
        until = resolve_delay(delay, now)
        if until is None:
            raise InvalidDelay(f"Invalid delay: {delay}")
        changes: dict[str, Any] = {"delay_until": until, "queued_at": until, "updated_at": now}
        if run.simulated:
            changes["next_event_at"] = until
        store.update_run(run.id, **changes)
        return dataclasses.replace(run, **changes)


def add_tags(store: Store, env: Environment, friendly_id: str, requested: Sequence[str], now: int) -> str:
    """Append tags all-or-nothing, in the live service's order of checks; returns the success message."""
    requested = [tag for tag in requested if tag.strip()]
    if not requested:
        return "No new tags to add"  # decided before the run is even looked up
    with store.transaction():
        run = store.find_run(env.id, friendly_id)
        if run is None:
            raise RunNotFound(friendly_id)
        new_tags = [tag for tag in requested if tag not in run.tags]  # duplicates within the request stay
        total = len(run.tags) + len(new_tags)
        if total > MAX_TAGS_PER_RUN:
            rejected = ", ".join(f"'{tag}'" for tag in new_tags)
            raise TooManyTags(
                f"Runs can only have {MAX_TAGS_PER_RUN} tags, you're trying to set {total}. "
                f"These tags have not been set: {rejected}."
            )
        if not new_tags:
            return "No new tags to add"
        store.update_run(run.id, tags=(*run.tags, *new_tags), updated_at=now)
        return f"Successfully set {len(new_tags)} new tags."


def _write_metadata(store: Store, run: Run, metadata: dict[str, Any], now: int) -> None:
    store.update_run(run.id, metadata=dict(checked_size(metadata)), updated_at=now)


def _run_operations(store: Store, run_id: str, operations: list[Operation], now: int) -> None:
    """Apply buffered parent or root operations; the live flusher drops a batch that would be too large."""
    run = store.get_run(run_id)
    if run is None:
        return
    current = run.metadata if isinstance(run.metadata, dict) else {}
    new, applied = apply_operations(current, operations)
    if applied:
        with contextlib.suppress(MetadataTooLarge):
            _write_metadata(store, run, new, now)


def update_metadata(store: Store, env: Environment, friendly_id: str, body: dict[str, Any], now: int) -> dict[str, Any]:
    """`UpdateMetadataService.call`: operations if given (else the new metadata), then the parent's and root's
    operations (which the live service buffers and flushes a few seconds later); returns the new metadata."""
    with store.transaction():
        run = store.find_run(env.id, friendly_id)
        if run is None:
            raise RunNotFound(friendly_id)
        if run.completed_at is not None and run.completed_at <= now - METADATA_UPDATABLE_MS:
            raise MetadataLocked("Cannot update metadata for a completed run")
        current = run.metadata if isinstance(run.metadata, dict) else {}
        result: dict[str, Any]
        if isinstance(body.get("operations"), list):
            result, applied = apply_operations(current, body["operations"])
            if applied:
                _write_metadata(store, run, result, now)
            else:
                result = current
        elif isinstance(body.get("metadata"), dict):
            result = body["metadata"]
            if result or current != result:
                _write_metadata(store, run, result, now)
        else:
            result = {}
        _run_operations(store, run.parent_id or run.id, body.get("parentOperations") or [], now)
        _run_operations(store, run.root_id or run.id, body.get("rootOperations") or [], now)
        return result
