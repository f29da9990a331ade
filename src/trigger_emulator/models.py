"""The emulator's records: an environment (one per API key), a schedule, and a run as the database holds it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Key prefix -> (environment type, environment slug), as in apps/webapp/app/utils/apiKeys.ts.
ENVIRONMENT_KINDS = {
    "dev": ("DEVELOPMENT", "dev"),
    "stg": ("STAGING", "stg"),
    "prod": ("PRODUCTION", "prod"),
    "preview": ("PREVIEW", "preview"),
}
DEV_USER = "Emulator User"

Json = Any  # any value JSON can carry


@dataclass(frozen=True)
class Environment:
    """The environment an API key authenticates as. `user` is set for development environments only."""

    id: str
    name: str
    kind: str
    user: str | None = None


@dataclass(frozen=True)
class Schedule:
    """A CRON schedule that triggers a scheduled task."""

    id: str
    friendly_id: str
    env_id: str
    task_identifier: str
    cron: str
    description: str
    external_id: str | None = None
    deduplication_key: str | None = None


@dataclass(frozen=True)
class Run:
    """One task run. Times are epoch ms; `None` means absent. Field names are the database's column names.

    `payload`, `metadata`, `output` and `error` hold decoded JSON; `simulated` runs are moved along by the
    simulation, and `next_event_at` is when it next has something to do with this run.
    """

    id: str
    friendly_id: str
    env_id: str
    task_identifier: str
    status: str
    created_at: int
    updated_at: int
    queue: str
    machine: str
    queued_at: int | None = None
    started_at: int | None = None
    completed_at: int | None = None
    delay_until: int | None = None
    ttl: str | None = None
    expired_at: int | None = None
    is_test: bool = False
    idempotency_key: str | None = None
    idempotency_key_user: str | None = None
    idempotency_key_expires_at: int | None = None
    version: str | None = None
    tags: tuple[str, ...] = field(default=())
    metadata: Json = None
    seed_metadata: Json = None  # the metadata given at trigger time: a replay copies this, not later updates
    payload: Json = None
    payload_type: str | None = None
    output: Json = None
    error: Json = None
    cost_in_cents: float = 0.0
    base_cost_in_cents: float = 0.0
    usage_duration_ms: int = 0
    attempt_count: int = 0
    depth: int = 0
    trigger_function: str = "trigger"
    parent_id: str | None = None
    root_id: str | None = None
    batch_id: str | None = None
    batch_internal_id: str | None = None
    schedule_id: str | None = None
    region: str | None = None
    concurrency_key: str | None = None
    max_attempts: int | None = None
    max_duration: float | None = None
    priority: float | None = None
    task_kind: str = "STANDARD"
    replayed_from: str | None = None
    trigger_source: str | None = None
    simulated: bool = False
    next_event_at: int | None = None
