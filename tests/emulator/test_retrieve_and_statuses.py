"""`GET /api/v3/runs/{id}`: the RetrieveRunResponse shape, and the status tables with and without the header."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.emulator.client import Api, assert_no_none
from trigger_emulator.models import Run
from trigger_emulator.statuses import DB_STATUSES, FINAL_STATUSES, api_status, boolean_helpers
from trigger_emulator.store import Page, RunFilter

REQUIRED = {
    "id", "status", "taskIdentifier", "isQueued", "isExecuting", "isWaiting", "isCompleted", "isSuccess", "isFailed",
    "isCancelled", "isTest", "createdAt", "updatedAt", "tags", "costInCents", "baseCostInCents", "durationMs",
    "depth", "triggerFunction", "relatedRuns", "attemptCount", "attempts",
}  # fmt: skip
SDK_STATUSES = {
    "PENDING_VERSION", "QUEUED", "DEQUEUED", "EXECUTING", "WAITING", "COMPLETED", "CANCELED", "FAILED", "CRASHED",
    "SYSTEM_FAILURE", "DELAYED", "EXPIRED", "TIMED_OUT",
}  # fmt: skip


def seeded(api: Api) -> list[Run]:
    return api.emulator.store.list_runs(api.env().id, RunFilter(), Page(size=100_000))


def first(api: Api, predicate: Callable[[Run], bool]) -> Run:
    return next(run for run in seeded(api) if predicate(run))


@pytest.mark.parametrize("status", DB_STATUSES)
def test_every_status_retrieves_with_the_required_fields_and_no_nulls(shared: Api, status: str) -> None:
    run = first(shared, lambda r: r.status == status)
    body = shared.retrieve(run.friendly_id)
    assert set(body) >= REQUIRED
    assert_no_none(body)
    assert body["status"] in SDK_STATUSES
    assert body["status"] == api_status(status, current=True)
    assert body["attempts"] == []
    assert "env" not in body and "taskKind" not in body
    assert ("output" in body) == (status == "COMPLETED_SUCCESSFULLY")
    assert ("finishedAt" in body) == (run.completed_at is not None)
    assert body["payload"] == run.payload


def test_failed_runs_carry_their_error(shared: Api) -> None:
    run = first(shared, lambda r: r.status == "COMPLETED_WITH_ERRORS")
    error = shared.retrieve(run.friendly_id)["error"]
    assert set(error) == {"message", "name", "stackTrace"} and error["message"]


def test_related_runs_link_parents_roots_and_children(shared: Api) -> None:
    child = first(shared, lambda r: r.trigger_function == "triggerAndWait")
    parent = first(shared, lambda r: r.id == child.parent_id)
    body = shared.retrieve(child.friendly_id)
    assert body["depth"] == 1
    assert body["relatedRuns"]["parent"]["id"] == parent.friendly_id
    assert body["relatedRuns"]["root"]["id"] == parent.friendly_id
    assert body["relatedRuns"]["children"] == []
    related = body["relatedRuns"]["parent"]
    assert {"depth", "triggerFunction", "status", "isCompleted"} <= set(related) and "payload" not in related
    parent_body = shared.retrieve(parent.friendly_id)
    assert [item["id"] for item in parent_body["relatedRuns"]["children"]] == [child.friendly_id]
    assert "parent" not in parent_body["relatedRuns"] and "root" not in parent_body["relatedRuns"]


def test_batch_children_show_their_batch(shared: Api) -> None:
    child = first(shared, lambda r: r.batch_id is not None)
    body = shared.retrieve(child.friendly_id)
    assert body["batchId"] == child.batch_id and body["batchId"].startswith("batch_")
    assert body["triggerFunction"] in ("batchTrigger", "batchTriggerAndWait")


def test_scheduled_runs_show_their_schedule(shared: Api) -> None:
    run = first(shared, lambda r: r.schedule_id is not None)
    schedule = shared.retrieve(run.friendly_id)["schedule"]
    assert schedule["id"].startswith("sched_")
    assert schedule["generator"] == {"type": "CRON", "expression": "0 2 * * *", "description": "At 02:00 AM"}


def test_retrieve_shows_the_users_idempotency_key_and_the_list_the_stored_one(shared: Api) -> None:
    run = first(shared, lambda r: r.idempotency_key_user is not None)
    assert shared.retrieve(run.friendly_id)["idempotencyKey"] == run.idempotency_key_user
    listed = shared.get(
        f"/api/v1/runs?page[size]=100&filter[createdAt][period]=60d&filter[taskIdentifier]={run.task_identifier}"
    )
    item = next(item for item in listed.json()["data"] if item["id"] == run.friendly_id)
    assert item["idempotencyKey"] == run.idempotency_key != run.idempotency_key_user


def test_tags_come_back_in_locale_order(api: Api) -> None:
    run_id = api.trigger(tags=["beta", "Alpha", "alpha", "2x", "#1", "Zed"])
    assert api.retrieve(run_id)["tags"] == ["#1", "2x", "alpha", "Alpha", "beta", "Zed"]


@pytest.mark.parametrize(
    ("db_status", "with_header", "without_header"),
    [
        ("DELAYED", "DELAYED", "DELAYED"), ("PENDING", "QUEUED", "QUEUED"),
        ("PENDING_VERSION", "PENDING_VERSION", "PENDING_VERSION"),
        ("WAITING_FOR_DEPLOY", "PENDING_VERSION", "WAITING_FOR_DEPLOY"), ("DEQUEUED", "DEQUEUED", "EXECUTING"),
        ("EXECUTING", "EXECUTING", "EXECUTING"), ("RETRYING_AFTER_FAILURE", "EXECUTING", "REATTEMPTING"),
        ("WAITING_TO_RESUME", "WAITING", "FROZEN"), ("PAUSED", "WAITING", "FROZEN"),
        ("COMPLETED_SUCCESSFULLY", "COMPLETED", "COMPLETED"), ("COMPLETED_WITH_ERRORS", "FAILED", "FAILED"),
        ("INTERRUPTED", "FAILED", "INTERRUPTED"), ("CANCELED", "CANCELED", "CANCELED"),
        ("CRASHED", "CRASHED", "CRASHED"),
        ("SYSTEM_FAILURE", "SYSTEM_FAILURE", "SYSTEM_FAILURE"), ("EXPIRED", "EXPIRED", "EXPIRED"),
        ("TIMED_OUT", "TIMED_OUT", "TIMED_OUT"),
    ],
)  # fmt: skip
def test_the_status_table_over_http(shared: Api, db_status: str, with_header: str, without_header: str) -> None:
    run = first(shared, lambda r: r.status == db_status)
    assert shared.retrieve(run.friendly_id)["status"] == with_header
    assert shared.retrieve(run.friendly_id, current=False)["status"] == without_header
    other_version = shared.retrieve(run.friendly_id, current=False, headers={"x-trigger-api-version": "2025-07-17"})
    assert other_version["status"] == without_header


@pytest.mark.parametrize(
    ("status", "true_helpers"),
    [
        ("QUEUED", {"isQueued"}), ("DELAYED", {"isQueued"}), ("PENDING_VERSION", {"isQueued"}),
        ("WAITING_FOR_DEPLOY", {"isQueued"}), ("EXECUTING", {"isExecuting"}), ("DEQUEUED", {"isExecuting"}),
        ("REATTEMPTING", {"isExecuting"}), ("FROZEN", {"isExecuting"}), ("WAITING", {"isWaiting"}),
        ("COMPLETED", {"isCompleted", "isSuccess"}), ("FAILED", {"isCompleted", "isFailed"}),
        ("CRASHED", {"isCompleted", "isFailed"}), ("INTERRUPTED", {"isCompleted", "isFailed"}),
        ("SYSTEM_FAILURE", {"isCompleted", "isFailed"}), ("CANCELED", {"isCompleted", "isFailed", "isCancelled"}),
        ("EXPIRED", set()), ("TIMED_OUT", set()),
    ],
)  # fmt: skip
def test_boolean_helpers_including_the_expired_and_timed_out_quirk(status: str, true_helpers: set[str]) -> None:
    helpers = boolean_helpers(status)
    assert {name for name, value in helpers.items() if value} == true_helpers
    assert len(helpers) == 7


def test_final_statuses_are_the_live_list() -> None:
    assert {
        "COMPLETED_SUCCESSFULLY", "COMPLETED_WITH_ERRORS", "INTERRUPTED", "CANCELED", "CRASHED", "SYSTEM_FAILURE",
        "EXPIRED", "TIMED_OUT",
    } == FINAL_STATUSES  # fmt: skip
