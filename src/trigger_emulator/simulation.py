"""Runs that live: QUEUED → DEQUEUED → EXECUTING → COMPLETED or FAILED, delays that end, TTLs that expire.

Every transition time follows from the run's stored timestamps and the tick, so `advance(store, now, tick_ms)`
is deterministic: calling it once with a late `now` gives the same result as calling it every tick. A run is
dequeued one tick after it is queued, starts one tick later and finishes 2-4 ticks after starting; which
runs fail (about one in five) and how long they take is derived from the run id. Only runs created through
the API (and seeded delayed runs) are simulated; the rest of the seed data stays as it is.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import random
from typing import Any

from trigger_emulator.dates import now_ms
from trigger_emulator.durations import parse_delay
from trigger_emulator.models import Run
from trigger_emulator.samples import BASE_COST_CENTS, cost_cents, error_for, output_for
from trigger_emulator.statuses import FINAL_STATUSES
from trigger_emulator.store import Store

Changes = dict[str, Any]


def _fate(run: Run) -> tuple[bool, int, random.Random]:
    """(fails?, execution ticks, a generator for its output) — fixed for a given run id."""
    digest = hashlib.sha256(run.friendly_id.encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    return number % 5 == 0, 2 + (number >> 8) % 3, random.Random(number)


def _expiry(run: Run, queued: int) -> int | None:
    duration = parse_delay(run.ttl) if run.ttl else None
    return queued + duration if duration else None


def next_step(run: Run, tick_ms: int, current_version: str | None = None) -> tuple[int, Changes] | None:
    """When the run next changes and how, or None when the simulation has nothing more to do with it.

    A run that was not locked to a version gets the environment's current one when it is dequeued, as live.
    """
    if run.status == "DELAYED" and run.delay_until is not None:
        at = run.delay_until
        return at, {"status": "PENDING", "queued_at": at, "updated_at": at}
    if run.status == "PENDING":
        queued = run.queued_at or run.created_at
        dequeue_at = queued + tick_ms
        expires_at = _expiry(run, queued)
        if expires_at is not None and expires_at <= dequeue_at:
            error = {"message": f"Run expired because the TTL ({run.ttl}) was reached"}
            changes = {"expired_at": expires_at, "completed_at": expires_at, "error": error}
            return expires_at, {"status": "EXPIRED", "updated_at": expires_at, **changes}
        return dequeue_at, {"status": "DEQUEUED", "updated_at": dequeue_at, "version": run.version or current_version}
    if run.status == "DEQUEUED":
        at = run.updated_at + tick_ms
        return at, {"status": "EXECUTING", "started_at": at, "updated_at": at, "attempt_count": 1}
    if run.status == "EXECUTING" and run.started_at is not None:
        fails, ticks, rng = _fate(run)
        at = run.started_at + ticks * tick_ms
        duration = at - run.started_at
        outcome: Changes = {
            "completed_at": at,
            "updated_at": at,
            "usage_duration_ms": duration,
            "cost_in_cents": cost_cents(run.machine, duration),
            "base_cost_in_cents": BASE_COST_CENTS,
        }
        if fails:
            return at, {"status": "COMPLETED_WITH_ERRORS", "error": error_for(run.task_identifier, rng), **outcome}
        output = output_for(run.task_identifier, run.payload, rng)
        return at, {"status": "COMPLETED_SUCCESSFULLY", "output": output, **outcome}
    return None


def advance(store: Store, now: int, tick_ms: int) -> int:
    """Apply every transition due at or before `now` (epoch ms); returns how many runs changed."""
    changed = 0
    for due in store.due_runs(now):
        with store.transaction():
            run = store.get_run(due.id)  # re-read: a request may have cancelled it meanwhile
            if run is None or run.status in FINAL_STATUSES or run.next_event_at is None:
                continue
            changes: Changes = {}
            next_event: int | None = None
            current_version = store.current_version(run.env_id)
            while (step := next_step(run, tick_ms, current_version)) is not None:
                at, step_changes = step
                if at > now:
                    next_event = at
                    break
                changes.update(step_changes)
                run = dataclasses.replace(run, **step_changes)
            store.update_run(run.id, **changes, next_event_at=next_event)
            changed += 1 if changes else 0
    return changed


async def run_forever(store: Store, tick_s: float) -> None:
    """Call `advance` a few times per tick until cancelled (the app's lifespan runs this as a task)."""
    tick_ms = max(1, int(tick_s * 1000))
    pause = min(tick_s / 4, 0.25)
    while True:
        advance(store, now_ms(), tick_ms)
        await asyncio.sleep(pause)
