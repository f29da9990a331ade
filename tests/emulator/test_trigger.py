"""`POST /api/v1/tasks/{taskId}/trigger`: every honoured option, idempotency, and body errors."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from tests.emulator.client import OTHER_KEY, Api

TRIGGER = "/api/v1/tasks/send-welcome-email/trigger"


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def test_a_plain_trigger_creates_a_queued_run(api: Api) -> None:
    reply = api.post(TRIGGER, {"payload": {"userId": "u1"}})
    assert reply.status == 200 and reply.content_type.startswith("application/json")
    body = reply.json()
    assert set(body) == {"id", "isCached"} and body["isCached"] is False
    assert len(body["id"]) == 30 and body["id"].endswith("01")
    run = api.retrieve(body["id"])
    assert run["status"] == "QUEUED" and run["taskIdentifier"] == "send-welcome-email"
    assert run["payload"] == {"userId": "u1"} and run["isTest"] is False
    assert run["ttl"] == "10m"  # development environments default to a 10-minute TTL
    assert "version" not in run  # set when the run is dequeued, as live
    assert run["depth"] == 0 and run["triggerFunction"] == "trigger" and run["attemptCount"] == 0
    listed = api.get("/api/v1/runs?page[size]=1").json()["data"][0]
    assert listed["id"] == body["id"]


def test_sdk_style_string_payloads_are_decoded(api: Api) -> None:
    superjson = json.dumps({"json": {"when": "2026-01-01T00:00:00.000Z"}, "meta": {"values": {"when": ["Date"]}}})
    cases = [
        ({"payload": json.dumps({"a": 1}), "options": {"payloadType": "application/json"}}, {"a": 1}),
        ({"payload": superjson, "options": {"payloadType": "application/super+json"}},
         {"when": "2026-01-01T00:00:00.000Z"}),
        ({"payload": "hello", "options": {"payloadType": "text/plain"}}, "hello"),
        ({"payload": [1, 2]}, [1, 2]),
    ]  # fmt: skip
    for body, payload in cases:
        run_id = api.post(TRIGGER, body).json()["id"]
        assert api.retrieve(run_id)["payload"] == payload
    no_payload = api.post(TRIGGER, {"options": {"payloadType": "application/json"}}).json()["id"]
    assert "payload" not in api.retrieve(no_payload)


def test_every_honoured_option(api: Api) -> None:
    before = int(time.time() * 1000)
    reply = api.post(
        "/api/v1/tasks/generate-invoice-pdf/trigger",
        {
            "payload": {"invoiceId": "inv_1"},
            "options": {
                "delay": "1h",
                "tags": ["billing", "customer:acme"],
                "ttl": 3600,
                "metadata": {"customer": "acme", "$$streams": ["x"]},
                "test": True,
                "queue": {"name": "invoices", "concurrencyLimit": 2},
                "machine": "large-1x",
                "maxAttempts": 3,
                "maxDuration": 120,
                "priority": 5,
                "lockToVersion": "20260101.4",
                "concurrencyKey": 42,
                "region": "eu-central-1",
                "debounce": {"key": "k", "delay": "5s"},
            },
        },
    )
    assert reply.status == 200
    run = api.retrieve(reply.json()["id"])
    assert run["status"] == "DELAYED" and run["isQueued"] is True
    assert before + 3_600_000 <= ms(run["delayedUntil"]) <= int(time.time() * 1000) + 3_600_000
    assert run["tags"] == ["billing", "customer:acme"] and run["ttl"] == "1h" and run["isTest"] is True
    assert run["metadata"] == {"customer": "acme"}  # `$$streams` keys are never shown
    assert run["version"] == "20260101.4" and run["region"] == "eu-central-1"
    stored = api.emulator.store.find_run(api.env().id, run["id"])
    assert stored is not None
    assert (stored.queue, stored.machine, stored.max_attempts, stored.concurrency_key) == (
        "invoices", "large-1x", 3, "42",
    )  # fmt: skip
    listed = api.get("/api/v1/runs?filter[queue]=invoices&filter[machine]=large-1x").json()["data"]
    assert [item["id"] for item in listed] == [run["id"]]


def test_a_delay_that_is_a_date_or_garbage(api: Api) -> None:
    dated = api.trigger(delay="2099-05-06T07:08:09.000Z")
    assert api.retrieve(dated)["delayedUntil"] == "2099-05-06T07:08:09.000Z"
    ignored = api.trigger(delay="whenever")  # the live service ignores a delay it cannot read
    assert api.retrieve(ignored)["status"] == "QUEUED"


def test_the_same_idempotency_key_and_task_return_the_same_run(api: Api) -> None:
    first = api.post(TRIGGER, {"payload": {}, "options": {"idempotencyKey": "abc"}}).json()
    again = api.post(TRIGGER, {"payload": {"other": 1}, "options": {"idempotencyKey": "abc"}}).json()
    assert again == {"id": first["id"], "isCached": True}
    other_task = api.post("/api/v1/tasks/resize-image/trigger", {"options": {"idempotencyKey": "abc"}}).json()
    assert other_task["id"] != first["id"] and other_task["isCached"] is False
    other_env = api.post(TRIGGER, {"options": {"idempotencyKey": "abc"}}, key=OTHER_KEY).json()
    assert other_env["id"] != first["id"]
    header = api.post(TRIGGER, {"payload": {}}, headers={"idempotency-key": "abc"}).json()
    assert header["id"] == first["id"]


def test_idempotency_key_options_give_retrieve_the_users_key(api: Api) -> None:
    options = {"idempotencyKey": "5f0e3c", "idempotencyKeyOptions": {"key": "order-7", "scope": "global"}}
    run_id = api.post(TRIGGER, {"options": options}).json()["id"]
    assert api.retrieve(run_id)["idempotencyKey"] == "order-7"
    assert api.get("/api/v1/runs?page[size]=1").json()["data"][0]["idempotencyKey"] == "5f0e3c"


def test_request_idempotency_header_replays_the_first_answer(api: Api) -> None:
    headers = {"x-trigger-request-idempotency-key": "req-1"}
    first = api.post(TRIGGER, {"payload": {}}, headers=headers).json()
    again = api.post(TRIGGER, {"payload": {}}, headers=headers).json()
    assert again == {"id": first["id"], "isCached": False}


def test_a_child_trigger_links_to_its_parent(api: Api) -> None:
    parent = api.trigger("nightly-report")
    child = api.trigger("generate-invoice-pdf", parentRunId=parent, resumeParentOnCompletion=True)
    body = api.retrieve(child)
    assert body["depth"] == 1 and body["triggerFunction"] == "triggerAndWait"
    assert body["relatedRuns"]["parent"]["id"] == parent == body["relatedRuns"]["root"]["id"]
    assert [item["id"] for item in api.retrieve(parent)["relatedRuns"]["children"]] == [child]


def test_more_than_ten_tags_is_unprocessable(api: Api) -> None:
    reply = api.post(TRIGGER, {"options": {"tags": [f"t{i}" for i in range(11)]}})
    assert (reply.status, reply.json()) == (422, {"error": "Runs can only have 10 tags, you're trying to set 11."})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"options": {"machine": "huge"}}, 'Validation error: Invalid enum value. Expected \'micro\' | \'small-1x\' | '
         '\'small-2x\' | \'medium-1x\' | \'medium-2x\' | \'large-1x\' | \'large-2x\', received \'huge\' at '
         '"options.machine"'),
        ({"options": {"ttl": -1}}, 'Validation error: Number must be greater than or equal to 0 at "options.ttl"'),
        ({"options": {"tags": ["x" * 129]}}, 'Validation error: Tags must be less than 128 characters at '
         '"options.tags[0]"'),
        ({"options": {"test": "yes", "maxAttempts": 1.5}}, 'Validation error: Expected integer, received float at '
         '"options.maxAttempts"; Expected boolean, received string at "options.test"'),
        ({"options": []}, 'Validation error: Expected object, received array at "options"'),
        ([1], "Validation error: Expected object, received array"),
    ],
)  # fmt: skip
def test_bodies_that_break_the_schema_are_400(api: Api, body: object, message: str) -> None:
    reply = api.post(TRIGGER, body)
    assert (reply.status, reply.json()) == (400, {"error": message})


@pytest.mark.parametrize(("raw", "message"), [(b"", "Request body is empty"), (b"{oops", "Invalid JSON"),
                                              (b"null", "Invalid JSON"), (b"0", "Invalid JSON")])  # fmt: skip
def test_empty_or_unreadable_bodies(api: Api, raw: bytes, message: str) -> None:
    reply = api.call("POST", TRIGGER, raw=raw)
    assert (reply.status, reply.json()) == (400, {"error": message})


def test_any_action_method_triggers(api: Api) -> None:
    reply = api.call("PUT", TRIGGER, {"payload": {}})
    assert reply.status == 200 and reply.json()["id"].startswith("run_")


def test_request_idempotency_is_per_task(api: Api) -> None:
    headers = {"x-trigger-request-idempotency-key": "req-2"}
    first = api.post(TRIGGER, {"payload": {}}, headers=headers).json()
    other_task = api.post("/api/v1/tasks/resize-image/trigger", {"payload": {}}, headers=headers).json()
    assert other_task["id"] != first["id"] and other_task["isCached"] is False


@pytest.mark.parametrize("status", ["COMPLETED_WITH_ERRORS", "CRASHED", "SYSTEM_FAILURE", "TIMED_OUT", "EXPIRED"])
def test_the_key_of_a_failed_or_expired_run_starts_a_new_run(api: Api, status: str) -> None:
    first = api.post(TRIGGER, {"options": {"idempotencyKey": "again"}}).json()["id"]
    run = api.emulator.store.find_run(api.env().id, first)
    assert run is not None
    api.emulator.store.update_run(run.id, status=status)
    again = api.post(TRIGGER, {"options": {"idempotencyKey": "again"}}).json()
    assert again["id"] != first and again["isCached"] is False
    cleared = api.emulator.store.find_run(api.env().id, first)
    assert cleared is not None and cleared.idempotency_key is None and cleared.idempotency_key_expires_at is None


def test_a_cancelled_or_completed_run_keeps_its_key(api: Api) -> None:
    first = api.post(TRIGGER, {"options": {"idempotencyKey": "kept"}}).json()["id"]
    api.post(f"/api/v2/runs/{first}/cancel")
    assert api.post(TRIGGER, {"options": {"idempotencyKey": "kept"}}).json() == {"id": first, "isCached": True}


def test_an_expired_key_starts_a_new_run(api: Api) -> None:
    first = api.post(TRIGGER, {"options": {"idempotencyKey": "short", "idempotencyKeyTTL": "1h"}}).json()["id"]
    run = api.emulator.store.find_run(api.env().id, first)
    assert run is not None
    api.emulator.store.update_run(run.id, idempotency_key_expires_at=int(time.time() * 1000) - 1)
    again = api.post(TRIGGER, {"options": {"idempotencyKey": "short"}}).json()
    assert again["id"] != first and again["isCached"] is False


@pytest.mark.parametrize(
    ("headers", "issue"),
    [
        ({"idempotency-key": "k" * 2049},
         {"code": "too_big", "path": ["idempotency-key"], "maximum": 2048}),
        ({"x-trigger-engine-version": "V3"}, {"code": "invalid_enum_value", "path": ["x-trigger-engine-version"]}),
        ({"x-trigger-span-parent-as-link": "yes"},
         {"code": "invalid_type", "received": "nan", "path": ["x-trigger-span-parent-as-link"]}),
    ],
)  # fmt: skip
def test_headers_that_break_the_schema_are_400(api: Api, headers: dict[str, str], issue: dict[str, object]) -> None:
    reply = api.post(TRIGGER, {"payload": {}}, headers=headers)
    body = reply.json()
    assert reply.status == 400 and body["error"] == "Headers Error"
    assert len(body["details"]) == 1 and issue.items() <= body["details"][0].items()
    assert api.post(TRIGGER, {"payload": {}}, headers={"x-trigger-span-parent-as-link": "1"}).status == 200


@pytest.mark.parametrize(("headers", "source"), [({"x-trigger-source": "mcp"}, "mcp"), ({"x-trigger-source": "cron"},
                         "api"), ({"x-trigger-source": "api", "x-trigger-worker": "true"}, "sdk")])  # fmt: skip
def test_the_trigger_source_is_sanitised(api: Api, headers: dict[str, str], source: str) -> None:
    run_id = api.post(TRIGGER, {"payload": {}}, headers=headers).json()["id"]
    run = api.emulator.store.find_run(api.env().id, run_id)
    assert run is not None and run.trigger_source == source
