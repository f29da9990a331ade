"""Seed data: deterministic for a seed and an anchor, realistic, and covering every status."""

from __future__ import annotations

import time

from tests.emulator.client import KEY, OTHER_KEY
from trigger_emulator.auth import environment_for_key
from trigger_emulator.models import Run
from trigger_emulator.seed import seed_environment
from trigger_emulator.statuses import DB_STATUSES
from trigger_emulator.store import Page, RunFilter, Store

NOW = 1_795_000_000_000
DAY = 24 * 3600 * 1000


def seeded(seed: int = 1, *, key: str = KEY, main: bool = True, empty: bool = False) -> tuple[Store, list[Run]]:
    store = Store.open(":memory:")
    env = environment_for_key(key)
    seed_environment(store, env, seed=seed, now=NOW, main=main, empty=empty)
    return store, store.list_runs(env.id, RunFilter(), Page(size=100_000))


def test_the_same_seed_and_anchor_give_the_same_data() -> None:
    _, first = seeded(1)
    _, again = seeded(1)
    _, other = seeded(2)
    assert first == again
    assert [run.friendly_id for run in first] != [run.friendly_id for run in other]


def test_the_main_set_is_a_realistic_month() -> None:
    store, runs = seeded()
    assert 250 <= len(runs) <= 400
    ages = [NOW - run.created_at for run in runs]
    assert min(ages) > 0 and max(ages) <= 31 * DAY
    assert sum(age <= 7 * DAY for age in ages) > 100
    assert {run.task_identifier for run in runs} == {
        "send-welcome-email", "generate-invoice-pdf", "sync-crm-contacts", "upsert-crm-contact", "resize-image",
        "nightly-report",
    }  # fmt: skip
    assert len({run.version for run in runs}) >= 5
    assert {True, False} == {run.is_test for run in runs}
    assert any(run.tags for run in runs) and any(run.metadata for run in runs)
    assert any(run.idempotency_key for run in runs)
    assert all(run.payload is not None for run in runs)
    assert all(run.output for run in runs if run.status == "COMPLETED_SUCCESSFULLY")
    failed = ("COMPLETED_WITH_ERRORS", "CRASHED", "SYSTEM_FAILURE", "INTERRUPTED", "TIMED_OUT", "EXPIRED", "CANCELED")
    assert all(run.error and run.error["message"] for run in runs if run.status in failed)
    assert store.current_version(environment_for_key(KEY).id) == max(run.version or "" for run in runs)


def test_every_status_is_present_and_recent() -> None:
    _, runs = seeded()
    recent = {run.status for run in runs if NOW - run.created_at <= 7 * DAY}
    assert recent == set(DB_STATUSES)


def test_delayed_runs_wait_in_the_future_and_families_are_linked() -> None:
    store, runs = seeded()
    delayed = [run for run in runs if run.status == "DELAYED"]
    assert delayed and all(run.delay_until and run.delay_until > NOW for run in delayed)
    by_id = {run.id: run for run in runs}
    children = [run for run in runs if run.parent_id]
    assert {run.trigger_function for run in children} >= {"triggerAndWait", "batchTrigger", "batchTriggerAndWait"}
    assert all(by_id[run.parent_id].depth == run.depth - 1 for run in children if run.parent_id)
    scheduled = [run for run in runs if run.schedule_id]
    assert len(scheduled) >= 29 and {run.task_identifier for run in scheduled} == {"nightly-report"}
    schedule = store.get_schedule(scheduled[0].schedule_id or "")
    assert schedule is not None and schedule.cron == "0 2 * * *"


def test_other_environments_get_a_smaller_distinct_set_and_empty_means_empty() -> None:
    _, main = seeded()
    _, other = seeded(key=OTHER_KEY, main=False)
    assert 30 <= len(other) < len(main) // 3
    assert not {run.friendly_id for run in main} & {run.friendly_id for run in other}
    assert all(run.region for run in other)  # outside development, runs have a region
    store, none = seeded(empty=True)
    assert none == [] and store.current_version(environment_for_key(KEY).id)


def test_the_anchor_follows_the_clock() -> None:
    store = Store.open(":memory:")
    env = environment_for_key(KEY)
    now = int(time.time() * 1000)
    seed_environment(store, env, seed=1, now=now, main=True)
    newest = store.list_runs(env.id, RunFilter(), Page(size=1))[0]
    assert now - 60 * 60 * 1000 < newest.created_at < now
