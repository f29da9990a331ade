"""Runs as JSON: the list item (`ApiRunListPresenter`) and the retrieve body (`ApiRetrieveRunPresenter`).

Optional fields are left out, never `null`: the SDK's zod schemas reject `null` for optional strings.
"""

from __future__ import annotations

from typing import Any

from trigger_emulator.dates import iso
from trigger_emulator.models import Environment, Run, Schedule
from trigger_emulator.statuses import FINAL_STATUSES, api_status, boolean_helpers
from trigger_emulator.store import Store

Body = dict[str, Any]


def _compact(body: Body) -> Body:
    return {key: value for key, value in body.items() if value is not None}


def _when(ms: int | None) -> str | None:
    return None if ms is None else iso(ms)


def _collation_key(tag: str) -> tuple[tuple[tuple[int, str], ...], str]:
    # Close to `localeCompare`: punctuation before digits before letters, case only breaks ties (lower first).
    def group(char: str) -> int:
        return 2 if char.isalpha() else 1 if char.isdigit() else 0

    return tuple((group(char), char.casefold()) for char in tag), tag.swapcase()


def sorted_tags(tags: tuple[str, ...]) -> list[str]:
    """Tags in the order the live service returns them (`localeCompare`)."""
    return sorted(tags, key=_collation_key)


def _metadata(run: Run) -> dict[str, Any] | None:
    if not isinstance(run.metadata, dict):
        return None
    return {key: value for key, value in run.metadata.items() if not key.startswith("$$streams")}


def _common(run: Run, *, current: bool) -> tuple[str, Body]:
    status = api_status(run.status, current=current)
    body = {
        "id": run.friendly_id,
        "status": status,
        "taskIdentifier": run.task_identifier,
        "version": run.version,
        "createdAt": iso(run.created_at),
        "updatedAt": iso(run.updated_at),
        "startedAt": _when(run.started_at),
        "delayedUntil": _when(run.delay_until),
        "isTest": run.is_test,
        "ttl": run.ttl,
        "expiredAt": _when(run.expired_at),
        "tags": sorted_tags(run.tags),
        "costInCents": run.cost_in_cents,
        "baseCostInCents": run.base_cost_in_cents,
        "durationMs": run.usage_duration_ms,
        "depth": run.depth,
        "metadata": _metadata(run),
        "region": run.region,
    }
    return status, body


def list_item(run: Run, env: Environment, *, current: bool) -> Body:
    """One element of `data` in the list response."""
    status, body = _common(run, current=current)
    final = run.status in FINAL_STATUSES
    body.update(
        idempotencyKey=run.idempotency_key,  # the stored key, which the SDK hashes; retrieve shows the user's
        finishedAt=_when(run.completed_at or run.updated_at) if final else None,
        env=_compact({"id": env.id, "name": env.name, "user": env.user}),
        taskKind=run.task_kind,
    )
    return _compact({**body, **boolean_helpers(status)})


def _related(run: Run, *, current: bool) -> Body:
    status, body = _common(run, current=current)
    body.update(
        idempotencyKey=run.idempotency_key_user or run.idempotency_key,
        finishedAt=_when(run.completed_at),
        triggerFunction=run.trigger_function,
        batchId=run.batch_id,
    )
    return _compact({**body, **boolean_helpers(status)})


def _schedule(schedule: Schedule) -> Body:
    return _compact(
        {
            "id": schedule.friendly_id,
            "externalId": schedule.external_id,
            "deduplicationKey": schedule.deduplication_key,
            "generator": {"type": "CRON", "expression": schedule.cron, "description": schedule.description},
        }
    )


def retrieve_body(run: Run, store: Store, *, current: bool) -> Body:
    """The `RetrieveRunResponse` for a run (also the reschedule response)."""
    body = _related(run, current=current)
    related: Body = {"children": [_related(child, current=current) for child in store.children(run.id)]}
    if run.root_id and run.root_id != run.id:
        root = store.get_run(run.root_id)
        related["root"] = _related(root, current=current) if root else None
    if run.parent_id:
        parent = store.get_run(run.parent_id)
        related["parent"] = _related(parent, current=current) if parent else None
    schedule = store.get_schedule(run.schedule_id) if run.schedule_id else None
    offloaded = run.payload_type == "application/store"
    body.update(
        payload=None if offloaded else run.payload,
        output=run.output if run.status == "COMPLETED_SUCCESSFULLY" else None,
        error=run.error,
        schedule=_schedule(schedule) if schedule else None,
        relatedRuns=_compact(related),
        attemptCount=run.attempt_count,
        attempts=[],
    )
    return _compact(body)
