"""Cancel, replay, reschedule and tags: the state rules and their exact messages."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

from tests.emulator.client import Api


def run_in(api: Api, status: str) -> str:
    body = api.get(f"/api/v1/runs?filter[status]={status}&page[size]=1").json()
    return str(body["data"][0]["id"])


def iso_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def now_ms() -> int:
    return int(time.time() * 1000)


# Cancel


@pytest.mark.parametrize("status", ["QUEUED", "DELAYED", "EXECUTING", "DEQUEUED", "PENDING_VERSION", "WAITING"])
def test_cancel_finishes_a_live_run(api: Api, status: str) -> None:
    run_id = run_in(api, status)
    reply = api.post(f"/api/v2/runs/{run_id}/cancel")
    assert (reply.status, reply.json()) == (200, {"id": run_id})
    body = api.retrieve(run_id)
    assert body["status"] == "CANCELED" and body["isCancelled"] and body["isCompleted"]
    assert body["error"] == {"message": "Canceled by user"}


@pytest.mark.parametrize("status", ["COMPLETED", "FAILED", "EXPIRED", "CANCELED"])
def test_cancel_on_a_final_run_is_200_and_changes_nothing(api: Api, status: str) -> None:
    run_id = run_in(api, status)
    before = api.retrieve(run_id)
    reply = api.post(f"/api/v2/runs/{run_id}/cancel")
    assert (reply.status, reply.json()) == (200, {"id": run_id})
    assert api.retrieve(run_id) == before


def test_cancel_cascades_to_child_runs(api: Api) -> None:
    parent_id = run_in(api, "WAITING")
    children = api.retrieve(parent_id)["relatedRuns"]["children"]
    assert children and all(child["status"] == "EXECUTING" for child in children)
    api.post(f"/api/v2/runs/{parent_id}/cancel")
    statuses = [child["status"] for child in api.retrieve(parent_id)["relatedRuns"]["children"]]
    assert statuses == ["CANCELED"] * len(children)


def test_cancel_of_an_unknown_run_is_resource_not_found(api: Api) -> None:
    reply = api.post("/api/v2/runs/run_doesnotexist0000000000000001/cancel")
    assert (reply.status, reply.json()) == (404, {"error": "Resource not found"})


# Replay


def test_replay_copies_what_the_live_service_copies(api: Api) -> None:
    original_id = api.trigger(
        "resize-image",
        {"url": "https://x/y.png"},
        tags=["media", "user:1"],
        metadata={"step": "one"},
        test=True,
        machine="medium-2x",
        queue={"name": "images"},
        concurrencyKey="user-1",
        delay="2h",
        ttl="30m",
        idempotencyKey="replay-me",
        maxAttempts=5,
        maxDuration=60,
        priority=10,
    )
    reply = api.post(f"/api/v1/runs/{original_id}/replay")
    assert reply.status == 200
    new_id = reply.json()["id"]
    assert new_id != original_id and new_id.startswith("run_")
    original, replay = api.retrieve(original_id), api.retrieve(new_id)
    assert replay["status"] == "QUEUED" and original["status"] == "DELAYED"
    for field in ("taskIdentifier", "payload", "tags", "metadata", "isTest"):
        assert replay[field] == original[field], field
    assert "delayedUntil" not in replay and "idempotencyKey" not in replay
    assert replay["ttl"] == "10m"  # not copied: a fresh development trigger gets the default
    stored = api.emulator.store.find_run(api.env().id, new_id)
    assert stored is not None
    assert (stored.machine, stored.queue, stored.concurrency_key) == ("medium-2x", "images", "user-1")
    assert (stored.max_attempts, stored.max_duration, stored.priority) == (None, None, None)
    assert stored.replayed_from == original_id and stored.trigger_source == "api"


def test_replay_works_in_any_status_and_records_an_allowed_source_header(api: Api) -> None:
    # `sanitizeTriggerSource`: only sdk, cli and mcp are recorded; anything else is "api".
    for status, source, recorded in (
        ("QUEUED", "mcp", "mcp"),
        ("COMPLETED", "cli", "cli"),
        ("CANCELED", "dashboard", "api"),
    ):
        run_id = run_in(api, status)
        new_id = api.post(f"/api/v1/runs/{run_id}/replay", headers={"x-trigger-source": source}).json()["id"]
        stored = api.emulator.store.find_run(api.env().id, new_id)
        assert stored is not None and stored.trigger_source == recorded and stored.status == "PENDING"


def test_replay_of_an_unknown_run_is_resource_not_found(api: Api) -> None:
    reply = api.post("/api/v1/runs/run_missing/replay")
    assert (reply.status, reply.json()) == (404, {"error": "Resource not found"})


# Reschedule


def test_reschedule_with_a_duration_counts_from_now(api: Api) -> None:
    run_id = run_in(api, "DELAYED")
    before = now_ms()
    reply = api.post(f"/api/v1/runs/{run_id}/reschedule", {"delay": "1h30m"})
    assert reply.status == 200
    body = reply.json()
    assert body["id"] == run_id and body["status"] == "DELAYED" and "relatedRuns" in body
    until = iso_ms(body["delayedUntil"])
    assert before + 5_400_000 <= until <= now_ms() + 5_400_000
    stored = api.emulator.store.find_run(api.env().id, run_id)
    assert stored is not None and stored.queued_at == until
    assert api.retrieve(run_id)["delayedUntil"] == body["delayedUntil"]


@pytest.mark.parametrize("delay", ["2d", "45s", "1w", "3hr", "1h30m15s"])
def test_reschedule_accepts_every_duration_unit(api: Api, delay: str) -> None:
    assert api.post(f"/api/v1/runs/{run_in(api, 'DELAYED')}/reschedule", {"delay": delay}).status == 200


def test_reschedule_to_a_future_date(api: Api) -> None:
    target = "2099-01-02T03:04:05.000Z"
    body = api.post(f"/api/v1/runs/{run_in(api, 'DELAYED')}/reschedule", {"delay": target}).json()
    assert body["delayedUntil"] == target


def test_reschedule_accepts_a_number_even_in_the_past(api: Api) -> None:
    body = api.post(f"/api/v1/runs/{run_in(api, 'DELAYED')}/reschedule", {"delay": 1_000}).json()
    assert body["delayedUntil"] == "1970-01-01T00:00:01.000Z"


@pytest.mark.parametrize("delay", ["2001-01-01T00:00:00Z", "soon", "1x", "", "1h 30m"])
def test_reschedule_refuses_past_dates_and_non_durations(api: Api, delay: str) -> None:
    reply = api.post(f"/api/v1/runs/{run_in(api, 'DELAYED')}/reschedule", {"delay": delay})
    assert (reply.status, reply.json()) == (400, {"error": f"Invalid delay: {delay}"})


@pytest.mark.parametrize("body", [{}, {"delay": {"at": 1}}, {"delay": [1]}, [1], None])
def test_reschedule_refuses_bodies_that_do_not_match_the_schema(api: Api, body: object) -> None:
    reply = api.call("POST", f"/api/v1/runs/{run_in(api, 'DELAYED')}/reschedule", raw=b"null" if body is None else None,
                     body=body)  # fmt: skip
    assert (reply.status, reply.json()) == (400, {"error": "Invalid request body"})


def test_reschedule_with_a_body_that_is_not_json_is_a_plain_text_500(api: Api) -> None:
    for raw in (b"", b"{delay: 1h}"):
        reply = api.call("POST", f"/api/v1/runs/{run_in(api, 'DELAYED')}/reschedule", raw=raw)
        assert (reply.status, reply.body) == (500, b"Unexpected Server Error")
        assert reply.content_type.startswith("text/plain")


def test_reschedule_only_applies_to_delayed_runs(api: Api) -> None:
    reply = api.post(f"/api/v1/runs/{run_in(api, 'QUEUED')}/reschedule", {"delay": "1h"})
    assert (reply.status, reply.json()) == (400, {"error": "Cannot reschedule a run that is not delayed"})
    missing = api.post("/api/v1/runs/run_missing/reschedule", {"delay": "1h"})
    assert (missing.status, missing.json()) == (404, {"error": "Run not found"})


# Tags


def tags_of(api: Api, run_id: str) -> list[str]:
    stored = api.emulator.store.find_run(api.env().id, run_id)
    assert stored is not None
    return list(stored.tags)


def add(api: Api, run_id: str, tags: object) -> tuple[int, Any]:
    reply = api.post(f"/api/v1/runs/{run_id}/tags", {"tags": tags})
    return reply.status, reply.json()


def test_tags_are_appended_with_exact_messages(api: Api) -> None:
    run_id = api.trigger(tags=["a"])
    assert add(api, run_id, ["b", "c"]) == (200, {"message": "Successfully set 2 new tags."})
    assert add(api, run_id, "d") == (200, {"message": "Successfully set 1 new tags."})
    assert add(api, run_id, ["a", "b"]) == (200, {"message": "No new tags to add"})
    assert tags_of(api, run_id) == ["a", "b", "c", "d"]


def test_duplicates_within_one_request_are_stored_twice(api: Api) -> None:
    run_id = api.trigger(tags=[])
    assert add(api, run_id, ["x", "x"]) == (200, {"message": "Successfully set 2 new tags."})
    assert tags_of(api, run_id) == ["x", "x"]


def test_empty_tags_are_dropped_before_the_run_is_even_looked_up(api: Api) -> None:
    assert add(api, "run_doesnotexist", ["", "   "]) == (200, {"message": "No new tags to add"})
    assert add(api, "run_doesnotexist", ["real"]) == (404, {"error": "Run not found"})
    run_id = api.trigger(tags=[])
    assert add(api, run_id, [" padded ", ""]) == (200, {"message": "Successfully set 1 new tags."})
    assert tags_of(api, run_id) == [" padded "]


def test_tags_may_be_128_characters_but_not_129(api: Api) -> None:
    run_id = api.trigger(tags=[])
    assert add(api, run_id, ["t" * 128])[0] == 200
    status, body = add(api, run_id, ["ok", "u" * 129])
    assert status == 400
    assert body == {
        "error": "Invalid request body",
        "issues": [{"code": "too_big", "maximum": 128, "type": "string", "inclusive": True, "exact": False,
                    "message": "Tags must be less than 128 characters", "path": ["tags", 1]}],
    }  # fmt: skip
    assert tags_of(api, run_id) == ["t" * 128]


def test_ten_tags_at_most_all_or_nothing(api: Api) -> None:
    run_id = api.trigger(tags=[f"t{i}" for i in range(8)])
    status, body = add(api, run_id, ["t0", "n1", "n2", "n3"])
    assert status == 422
    assert body == {
        "error": "Runs can only have 10 tags, you're trying to set 11. These tags have not been set: 'n1', 'n2', 'n3'."
    }
    assert len(tags_of(api, run_id)) == 8
    assert add(api, run_id, ["n1", "n2"]) == (200, {"message": "Successfully set 2 new tags."})
    assert add(api, run_id, ["n3"])[0] == 422


def test_tags_can_be_added_to_finished_runs(api: Api) -> None:
    assert add(api, run_in(api, "COMPLETED"), ["late"])[0] == 200


def test_tags_with_a_body_that_is_not_json_is_a_json_500(api: Api) -> None:
    reply = api.call("POST", f"/api/v1/runs/{run_in(api, 'QUEUED')}/tags", raw=b"tags=a")
    assert (reply.status, reply.json()) == (500, {"error": "Something went wrong, please try again."})


@pytest.mark.parametrize("tags", [None, 5, ["a", 1], {"a": 1}])
def test_tags_of_the_wrong_type_are_an_invalid_body(api: Api, tags: object) -> None:
    status, body = add(api, run_in(api, "QUEUED"), tags)
    assert status == 400 and body["error"] == "Invalid request body" and body["issues"]
