"""Deterministic seed data: a realistic month of runs for each environment.

`seed_environment(store, env, seed=N, now=T, main=True)` always writes the same rows for the same
(N, T, environment): about 300 runs over the last 30 days across six tasks and six versions, with tags, test
runs, idempotency keys, metadata, payloads, outputs and errors; a nightly CRON-scheduled task that waits on
a child run; a CRM sync that batch-triggers children; and, within the last hour, a run in every database
status — delayed runs waiting in the future, a parent waiting on its children — so every filter and every
action has something to act on. Other environments get a smaller set (`main=False`).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from trigger_emulator.ids import cuid, run_friendly_id, stable_cuid
from trigger_emulator.models import Environment, Run, Schedule
from trigger_emulator.samples import BASE_COST_CENTS, cost_cents, error_for, output_for, payload_for
from trigger_emulator.store import Store

_SECOND = 1000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR

# task -> (machine, queue, typical duration range in ms)
_TASKS = {
    "send-welcome-email": ("small-1x", "task/send-welcome-email", (400, 3_000)),
    "generate-invoice-pdf": ("small-2x", "task/generate-invoice-pdf", (2_000, 15_000)),
    "sync-crm-contacts": ("small-1x", "crm-sync", (20_000, 90_000)),
    "upsert-crm-contact": ("micro", "crm-sync", (300, 2_500)),
    "resize-image": ("medium-1x", "task/resize-image", (1_500, 12_000)),
    "nightly-report": ("large-1x", "task/nightly-report", (60_000, 240_000)),
}
_FINAL_WEIGHTS = (
    ("COMPLETED_SUCCESSFULLY", 78), ("COMPLETED_WITH_ERRORS", 8), ("CANCELED", 4), ("CRASHED", 2),
    ("SYSTEM_FAILURE", 2), ("EXPIRED", 2), ("TIMED_OUT", 2), ("INTERRUPTED", 2),
)  # fmt: skip
# Recent runs that put every status in the default 7-day window (DELAYED ones wait in the future).
_LIVE = (
    "PENDING", "PENDING", "PENDING_VERSION", "WAITING_FOR_DEPLOY", "DEQUEUED", "EXECUTING", "EXECUTING",
    "RETRYING_AFTER_FAILURE", "PAUSED", "COMPLETED_SUCCESSFULLY", "COMPLETED_WITH_ERRORS", "INTERRUPTED",
    "CANCELED", "CRASHED", "SYSTEM_FAILURE", "EXPIRED", "TIMED_OUT", "DELAYED", "DELAYED", "DELAYED",
)  # fmt: skip
_FAILURES = {
    "CRASHED": {"message": "Worker crashed: out of memory (exit code 137)", "name": "OutOfMemoryError"},
    "SYSTEM_FAILURE": {"message": "Run failed to heartbeat, the worker may have been lost"},
    "INTERRUPTED": {"message": "Run was interrupted by a deployment"},
    "TIMED_OUT": {
        "message": "Run exceeded maximum compute time (maxDuration) of 300 seconds",
        "name": "MaxDurationExceededError",
    },
}
_TAGS = {
    "send-welcome-email": ("campaign:onboarding", "locale:en", "channel:email"),
    "generate-invoice-pdf": ("billing", "priority:high", "region:eu"),
    "sync-crm-contacts": ("crm", "hubspot"),
    "upsert-crm-contact": ("crm",),
    "resize-image": ("media", "priority:low"),
    "nightly-report": ("report", "scheduled"),
}


class _Seeder:
    def __init__(self, store: Store, env: Environment, rng: random.Random, now: int) -> None:
        self.store, self.env, self.rng, self.now = store, env, rng, now
        self.deploys = self._deploys()

    def _deploys(self) -> list[tuple[int, str]]:
        deploys = []
        for days_ago, number in ((29, 1), (22, 1), (15, 1), (8, 1), (1, 1), (1, 2)):
            at = self.now - days_ago * _DAY + (number - 1) * 2 * _HOUR - 3 * _HOUR
            day = datetime.fromtimestamp(at / 1000, tz=UTC).strftime("%Y%m%d")
            deploys.append((at, f"{day}.{number}"))
        return deploys

    def version_at(self, at: int) -> str:
        live = [version for deployed, version in self.deploys if deployed <= at]
        return live[-1] if live else self.deploys[0][1]

    def run(self, task: str, created: int, status: str, **extra: Any) -> Run:
        rng = self.rng
        machine, queue, (shortest, longest) = _TASKS[task]
        payload = payload_for(task, rng)
        tags = tuple(rng.sample(_TAGS[task], rng.randrange(0, len(_TAGS[task]) + 1)))
        if isinstance(payload, dict) and "userId" in payload and rng.random() < 0.5:
            tags += (f"user:{payload['userId']}",)
        user_key = f"welcome-{payload['userId']}" if task == "send-welcome-email" and rng.random() < 0.2 else None
        dev = self.env.kind == "DEVELOPMENT"
        run = Run(
            id=cuid(created, rng),
            friendly_id=run_friendly_id(created, rng),
            env_id=self.env.id,
            task_identifier=task,
            status=status,
            created_at=created,
            updated_at=created,
            queue=queue,
            machine=machine,
            queued_at=created,
            ttl="10m" if dev else rng.choice((None, None, "1h")),
            is_test=rng.random() < 0.08,
            idempotency_key=hashlib.sha256(user_key.encode()).hexdigest() if user_key else None,
            idempotency_key_user=user_key,
            idempotency_key_expires_at=created + 30 * _DAY if user_key else None,
            version=self.version_at(created),
            tags=tags,
            metadata=rng.choice((None, None, {"source": "signup-form"}, {"progress": 1, "step": "done"})),
            payload=payload,
            payload_type="application/json",
            region=None if dev else rng.choice(("us-east-1", "eu-central-1")),
            trigger_source="sdk",
        )
        return self._settle(replace(run, **extra), shortest, longest)

    def _settle(self, run: Run, shortest: int, longest: int) -> Run:
        """Fill in the timestamps, costs, output and error that the run's status implies."""
        rng, status, created = self.rng, run.status, run.created_at
        started = created + rng.randrange(150, 4_000)
        if status == "DELAYED":
            until = self.now + rng.choice((1 * _HOUR, 6 * _HOUR, 1 * _DAY, 3 * _DAY))
            return replace(run, delay_until=until, queued_at=until, simulated=True, next_event_at=until)
        if status in ("PENDING", "PENDING_VERSION", "WAITING_FOR_DEPLOY"):
            return run
        if status == "DEQUEUED":
            return replace(run, updated_at=started)
        if status in ("EXECUTING", "PAUSED", "WAITING_TO_RESUME", "RETRYING_AFTER_FAILURE"):
            attempts = 2 if status == "RETRYING_AFTER_FAILURE" else 1
            return replace(run, started_at=started, updated_at=started, attempt_count=attempts)
        if status == "EXPIRED":
            expired = created + (10 * _MINUTE if run.ttl in (None, "10m") else _HOUR)
            error = {"message": f"Run expired because the TTL ({run.ttl or '10m'}) was reached"}
            return replace(
                run, ttl=run.ttl or "10m", expired_at=expired, completed_at=expired, updated_at=expired, error=error
            )
        if status == "CANCELED":
            return replace(run, updated_at=started, error={"message": "Canceled by user"})
        duration = 300 * _SECOND if status == "TIMED_OUT" else rng.randrange(shortest, longest)
        finished = started + duration
        done = replace(
            run,
            started_at=started,
            completed_at=finished,
            updated_at=finished,
            usage_duration_ms=duration,
            cost_in_cents=cost_cents(run.machine, duration),
            base_cost_in_cents=BASE_COST_CENTS,
            attempt_count=1,
            max_duration=300 if status == "TIMED_OUT" else None,
        )
        if status == "COMPLETED_SUCCESSFULLY":
            return replace(done, output=output_for(run.task_identifier, run.payload, rng))
        if status == "COMPLETED_WITH_ERRORS":
            return replace(done, error=error_for(run.task_identifier, rng), attempt_count=rng.randrange(1, 4))
        return replace(done, error=_FAILURES[status])

    def final_status(self) -> str:
        names = [name for name, _ in _FINAL_WEIGHTS]
        return self.rng.choices(names, [weight for _, weight in _FINAL_WEIGHTS])[0]

    def when(self, newest_ago: int, oldest_ago: int) -> int:
        return self.now - self.rng.randrange(newest_ago, oldest_ago)

    def add(self, run: Run) -> Run:
        run = replace(run, seed_metadata=run.metadata)  # seeded runs were triggered with their metadata
        self.store.insert_run(run)
        return run

    def nightly_reports(self) -> None:
        schedule = Schedule(
            id=stable_cuid("schedule", self.env.id),
            friendly_id="sched_" + stable_cuid("schedule-friendly", self.env.id)[1:],
            env_id=self.env.id,
            task_identifier="nightly-report",
            cron="0 2 * * *",
            description="At 02:00 AM",
            external_id="reports-default",
            deduplication_key="nightly-report",
        )
        self.store.add_schedule(schedule)
        midnight = datetime.fromtimestamp(self.now / 1000, tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        for days_ago in range(30, -1, -1):
            at = int((midnight - timedelta(days=days_ago, hours=-2)).timestamp() * 1000) + self.rng.randrange(50, 900)
            if at > self.now - 10 * _MINUTE:
                continue
            status = self.final_status()
            parent = self.add(self.run("nightly-report", at, status, schedule_id=schedule.id, tags=("report",)))
            child_status = "COMPLETED_SUCCESSFULLY" if status == "COMPLETED_SUCCESSFULLY" else self.final_status()
            child = self.run(
                "generate-invoice-pdf",
                at + self.rng.randrange(2_000, 5_000),
                child_status,
                depth=1,
                trigger_function="triggerAndWait",
                parent_id=parent.id,
                root_id=parent.id,
            )
            self.add(child)

    def crm_syncs(self, count: int) -> None:
        for _ in range(count):
            at = self.when(2 * _HOUR, 29 * _DAY)
            self.add_batch(at, self.final_status(), "COMPLETED_SUCCESSFULLY")

    def add_batch(self, at: int, status: str, child_status: str) -> None:
        waiting = status == "WAITING_TO_RESUME"
        parent = self.add(self.run("sync-crm-contacts", at, status))
        batch_internal = cuid(at, self.rng)
        batch = "batch_" + batch_internal[1:]
        for index in range(self.rng.randrange(2, 5)):
            child = self.run(
                "upsert-crm-contact",
                at + 1_000 + index * 40,
                child_status,
                depth=1,
                parent_id=parent.id,
                root_id=parent.id,
                batch_id=batch,
                batch_internal_id=batch_internal,
                trigger_function="batchTriggerAndWait" if waiting else "batchTrigger",
            )
            self.add(child)

    def standalone(self, count: int) -> None:
        tasks = ("send-welcome-email",) * 5 + ("resize-image",) * 3 + ("generate-invoice-pdf",) * 2
        for _ in range(count):
            recent = self.rng.random() < 0.55
            at = self.when(10 * _MINUTE, 7 * _DAY if recent else 30 * _DAY)
            self.add(self.run(self.rng.choice(tasks), at, self.final_status()))

    def live(self) -> None:
        tasks = ("send-welcome-email", "resize-image", "generate-invoice-pdf")
        for index, status in enumerate(_LIVE):
            self.add(self.run(tasks[index % len(tasks)], self.when(index * _MINUTE + 1, (index + 2) * _MINUTE), status))
        # A parent waiting on its batch: cancelling it cancels the children too.
        self.add_batch(self.when(3 * _MINUTE, 4 * _MINUTE), "WAITING_TO_RESUME", "EXECUTING")


def seed_environment(store: Store, env: Environment, *, seed: int, now: int, main: bool, empty: bool = False) -> None:
    """Record the environment and write its seed data in one transaction (no runs when `empty`)."""
    rng = random.Random(f"{seed}/{env.id}")
    seeder = _Seeder(store, env, rng, now)
    with store.transaction():
        store.add_environment(env, current_version=seeder.deploys[-1][1])
        if empty:
            return
        if main:
            seeder.nightly_reports()
            seeder.crm_syncs(10)
            seeder.standalone(170)
        else:
            seeder.standalone(30)
        seeder.live()
