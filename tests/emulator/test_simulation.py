"""Runs that live: queued → dequeued → executing → completed/failed, delays that end, TTLs that expire."""

from __future__ import annotations

import time
from datetime import datetime

from tests.emulator.client import Api, running
from trigger_emulator.models import Run
from trigger_emulator.simulation import advance
from trigger_emulator.store import Store

TICK = 1_000


def stored(api: Api, run_id: str) -> Run:
    run = api.emulator.store.find_run(api.env().id, run_id)
    assert run is not None
    return run


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def test_a_triggered_run_moves_through_its_lifecycle_tick_by_tick() -> None:
    with running(tick_s=1.0) as api:
        run_id = api.trigger()
        created = stored(api, run_id).created_at
        api.emulator.advance(created + TICK - 1)
        assert api.retrieve(run_id)["status"] == "QUEUED"
        api.emulator.advance(created + TICK)
        assert api.retrieve(run_id)["status"] == "DEQUEUED"
        api.emulator.advance(created + 2 * TICK)
        executing = api.retrieve(run_id)
        assert executing["status"] == "EXECUTING" and executing["isExecuting"] is True
        assert ms(executing["startedAt"]) == created + 2 * TICK and executing["attemptCount"] == 1
        api.emulator.advance(created + 10 * TICK)
        done = api.retrieve(run_id)
        assert done["status"] in ("COMPLETED", "FAILED") and done["isCompleted"] is True
        finished = ms(done["finishedAt"])
        assert created + 4 * TICK <= finished <= created + 6 * TICK
        assert done["durationMs"] == finished - created - 2 * TICK
        assert done["costInCents"] > 0 and done["baseCostInCents"] > 0
        assert ms(done["updatedAt"]) == finished
        assert ("output" in done) == (done["status"] == "COMPLETED") and ("error" in done) == (
            done["status"] == "FAILED"
        )


def test_one_late_advance_equals_advancing_every_tick() -> None:
    run = Run(id="c1", friendly_id="run_000000000000000000000000001", env_id="e", task_identifier="resize-image",
              status="PENDING", created_at=10_000, updated_at=10_000, queue="q", machine="small-1x",
              queued_at=10_000, payload={"url": "x"}, simulated=True, next_event_at=10_000)  # fmt: skip
    stepwise, at_once = Store.open(":memory:"), Store.open(":memory:")
    for store in (stepwise, at_once):
        store.insert_run(run)
    for now in range(10_000, 20_000, 250):
        advance(stepwise, now, TICK)
    advance(at_once, 20_000, TICK)
    assert stepwise.get_run("c1") == at_once.get_run("c1")
    final = at_once.get_run("c1")
    assert final is not None and final.status in ("COMPLETED_SUCCESSFULLY", "COMPLETED_WITH_ERRORS")
    assert final.next_event_at is None


def test_outcomes_are_mixed_and_fixed_by_the_run_id() -> None:
    runs = [Run(id=f"c{i}", friendly_id=f"run_{i:026d}", env_id="e", task_identifier="send-welcome-email",
                status="EXECUTING", created_at=0, updated_at=0, queue="q", machine="micro", started_at=0,
                simulated=True, next_event_at=0) for i in range(40)]  # fmt: skip
    store = Store.open(":memory:")
    for run in runs:
        store.insert_run(run)
    advance(store, 60_000, TICK)
    finished = [store.get_run(run.id) for run in runs]
    assert {"COMPLETED_SUCCESSFULLY", "COMPLETED_WITH_ERRORS"} == {run.status for run in finished if run}


def test_a_ttl_expires_a_run_still_in_the_queue() -> None:
    with running(tick_s=5.0) as api:
        run_id = api.trigger(ttl="2s")
        created = stored(api, run_id).created_at
        api.emulator.advance(created + 1_999)
        assert api.retrieve(run_id)["status"] == "QUEUED"
        api.emulator.advance(created + 2_000)
        body = api.retrieve(run_id)
        assert body["status"] == "EXPIRED" and ms(body["expiredAt"]) == created + 2_000
        assert body["isCompleted"] is False and body["isFailed"] is False  # the EXPIRED quirk
        assert body["error"] == {"message": "Run expired because the TTL (2s) was reached"}


def test_a_delayed_run_is_queued_at_its_time_and_rescheduling_moves_it() -> None:
    with running(tick_s=1.0) as api:
        run_id = api.trigger(delay="10s")
        created = stored(api, run_id).created_at
        api.emulator.advance(created + 9_999)
        assert api.retrieve(run_id)["status"] == "DELAYED"
        assert api.post(f"/api/v1/runs/{run_id}/reschedule", {"delay": "1h"}).status == 200
        until = stored(api, run_id).delay_until
        assert until is not None
        api.emulator.advance(created + 20_000)
        assert api.retrieve(run_id)["status"] == "DELAYED"
        api.emulator.advance(until)
        assert api.retrieve(run_id)["status"] == "QUEUED"


def test_cancelled_and_seeded_runs_do_not_move(api: Api) -> None:
    run_id = api.trigger()
    api.post(f"/api/v2/runs/{run_id}/cancel")
    seeded = api.get("/api/v1/runs?filter[status]=EXECUTING&page[size]=100").json()["data"]
    api.emulator.advance(int(time.time() * 1000) + 3_600_000)
    assert api.retrieve(run_id)["status"] == "CANCELED"
    assert all(api.retrieve(item["id"])["status"] == "EXECUTING" for item in seeded)


def test_with_simulate_on_the_background_task_finishes_runs() -> None:
    with running(simulate=True, tick_s=0.05) as api:
        run_id = api.trigger()
        deadline = time.monotonic() + 5
        while api.retrieve(run_id)["status"] not in ("COMPLETED", "FAILED"):
            assert time.monotonic() < deadline, "the simulation did not finish the run within 5 s"
            time.sleep(0.02)  # between polls of a background simulation, within the deadline above


def test_simulation_keeps_unrelated_fields(api: Api) -> None:
    run_id = api.trigger(tags=["keep"], metadata={"m": 1})
    before = stored(api, run_id)
    api.emulator.advance(before.created_at + 60_000)
    after = stored(api, run_id)
    untouched = ("tags", "metadata", "payload", "queue", "machine", "ttl", "is_test", "friendly_id")
    assert {f: getattr(after, f) for f in untouched} == {f: getattr(before, f) for f in untouched}


def test_a_run_gets_the_current_version_when_dequeued_not_when_triggered(api: Api) -> None:
    run_id = api.trigger()
    assert "version" not in api.retrieve(run_id)
    api.emulator.advance(stored(api, run_id).created_at + 60_000)
    assert api.retrieve(run_id)["version"] == api.emulator.store.current_version(stored(api, run_id).env_id)
