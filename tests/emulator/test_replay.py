"""`POST /api/v1/runs/{runId}/replay` with a body of overrides (`ReplayRunRequestBody`, SDK 4.7.4+)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import pytest

from tests.emulator.client import Api
from trigger_emulator.models import Run


def replay(api: Api, run_id: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
    reply = api.post(f"/api/v1/runs/{run_id}/replay", body, **kwargs)
    return reply.status, reply.json()


def stored(api: Api, run_id: str) -> Run:
    run = api.emulator.store.find_run(api.env().id, run_id)
    assert run is not None
    return run


def original(api: Api) -> str:
    return api.trigger(
        "resize-image",
        {"url": "https://cdn.example.com/a.png"},
        tags=["media"],
        metadata={"seed": 1},
        queue={"name": "images"},
        machine="medium-1x",
        concurrencyKey="user-1",
    )


def test_overrides_replace_what_they_name_and_the_rest_is_copied(api: Api) -> None:
    run_id = original(api)
    before = int(time.time() * 1000)  # whole milliseconds, as the emulator stores times
    status, body = replay(
        api,
        run_id,
        {"payload": {"url": "https://cdn.example.com/fixed.png"}, "tags": ["replayed"], "machine": "large-1x",
         "delay": "10m", "ttl": 3600, "maxAttempts": 2, "maxDuration": 60, "priority": 3},
    )  # fmt: skip
    assert status == 200 and set(body) == {"id"} and body["id"] != run_id
    new = api.retrieve(body["id"])
    assert new["payload"] == {"url": "https://cdn.example.com/fixed.png"} and new["tags"] == ["replayed"]
    assert new["status"] == "DELAYED" and new["ttl"] == "1h"
    delayed = datetime.fromisoformat(new["delayedUntil"]).timestamp() * 1000
    assert before + 600_000 <= delayed <= time.time() * 1000 + 600_000
    assert new["metadata"] == {"seed": 1}  # not overridden: the original's trigger metadata
    run = stored(api, body["id"])
    assert (run.machine, run.queue, run.concurrency_key) == ("large-1x", "images", "user-1")
    assert (run.max_attempts, run.max_duration, run.priority, run.replayed_from) == (2, 60, 3, run_id)


def test_an_empty_body_or_an_empty_object_replays_the_run_unchanged(api: Api) -> None:
    run_id = original(api)
    for raw in (b"", b"{}", b"  "):
        reply = api.call("POST", f"/api/v1/runs/{run_id}/replay", raw=raw)
        new = api.retrieve(reply.json()["id"])
        assert new["payload"] == {"url": "https://cdn.example.com/a.png"} and new["tags"] == ["media"]


def test_a_superjson_payload_reaches_the_run_decoded(api: Api) -> None:
    run_id = original(api)
    superjson = json.dumps({"json": {"when": "2026-01-01T00:00:00.000Z"}, "meta": {"values": {"when": ["Date"]}}})
    status, body = replay(api, run_id, {"payload": superjson, "payloadType": "application/super+json"})
    assert status == 200
    assert api.retrieve(body["id"])["payload"] == {"when": "2026-01-01T00:00:00.000Z"}


def test_queue_metadata_version_and_concurrency_key_overrides(api: Api) -> None:
    run_id = original(api)
    version = api.emulator.store.current_version(api.env().id)
    assert version is not None
    status, body = replay(
        api, run_id, {"queue": "task/resize-image", "metadata": {"fixed": True}, "version": version,
                      "concurrencyKey": 7, "region": "eu-central-1"}
    )  # fmt: skip
    assert status == 200
    new = api.retrieve(body["id"])
    assert new["metadata"] == {"fixed": True} and new["version"] == version
    assert "region" not in new  # development environments have no region, whatever the replay says
    run = stored(api, body["id"])
    assert (run.queue, run.concurrency_key) == ("task/resize-image", "7")


def test_an_idempotency_key_makes_a_second_replay_return_the_same_run(api: Api) -> None:
    run_id = original(api)
    first = replay(api, run_id, {"idempotencyKey": "replay-once", "idempotencyKeyTTL": "1h"})[1]["id"]
    again = replay(api, run_id, {"idempotencyKey": "replay-once"})[1]["id"]
    assert again == first and replay(api, run_id)[1]["id"] != first


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"payloud": {}}, "Validation error: Unrecognized key(s) in object: 'payloud'"),
        ({"payload": {"a": 1}, "payloadType": "application/super+json"},
         "Validation error: payload must be a SuperJSON string when payloadType is application/super+json at "
         '"payload"'),
        ({"payloadType": "text/plain"}, "Validation error: Invalid enum value. Expected 'application/json' | "
         "'application/super+json', received 'text/plain' at \"payloadType\""),
        ({"maxAttempts": 0}, 'Validation error: Number must be greater than or equal to 1 at "maxAttempts"'),
        ({"maxDuration": -1}, 'Validation error: Number must be greater than or equal to 0 at "maxDuration"'),
        ({"metadata": "text"}, 'Validation error: Expected object, received string at "metadata"'),
        ({"tags": ["x" * 129]}, 'Validation error: Tags must be less than 128 characters at "tags[0]"'),
        ([], "Validation error: Expected object, received array"),
    ],
)  # fmt: skip
def test_bodies_that_break_the_strict_schema_are_400_and_start_nothing(api: Api, body: Any, message: str) -> None:
    run_id = original(api)
    count = api.emulator.store.count_runs(api.env().id)
    assert replay(api, run_id, body) == (400, {"error": message})
    assert api.emulator.store.count_runs(api.env().id) == count


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"queue": "no-such-queue"}, "Queue 'no-such-queue' does not exist in this environment"),
        ({"version": "19990101.1"}, "Version '19990101.1' is not deployed to this environment"),
        ({"tags": [f"t{i}" for i in range(11)]}, "Runs can only have 10 tags, you're trying to set 11."),
    ],
)
def test_overrides_the_environment_cannot_honour_fail_and_start_nothing(api: Api, body: Any, message: str) -> None:
    run_id = original(api)
    count = api.emulator.store.count_runs(api.env().id)
    assert replay(api, run_id, body) == (400, {"error": message})
    assert api.emulator.store.count_runs(api.env().id) == count


def test_an_unknown_run_is_not_found_before_the_body_is_read(api: Api) -> None:
    reply = api.call("POST", "/api/v1/runs/run_0000000000000000000000nope/replay", raw=b"{not json")
    assert (reply.status, reply.json()) == (404, {"error": "Resource not found"})
    assert replay(api, original(api), raw=b"{not json") == (400, {"error": "Invalid JSON"})
