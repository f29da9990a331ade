"""`PUT /api/v1/runs/{runId}/metadata` (replace, or change operations) and its hand-written `GET` loader."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.client import OTHER_KEY, Api
from trigger_emulator.dates import now_ms


def metadata_path(run_id: str) -> str:
    return f"/api/v1/runs/{run_id}/metadata"


def put(api: Api, run_id: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
    reply = api.call("PUT", metadata_path(run_id), body, **kwargs)
    return reply.status, reply.json()


def test_metadata_replaces_what_the_run_shows(api: Api) -> None:
    run_id = api.trigger(metadata={"step": "queued"})
    assert put(api, run_id, {"metadata": {"progress": 0.5, "user": {"id": "u1"}}}) == (
        200,
        {"metadata": {"progress": 0.5, "user": {"id": "u1"}}},
    )
    assert api.retrieve(run_id)["metadata"] == {"progress": 0.5, "user": {"id": "u1"}}
    listed = api.get("/api/v1/runs?page[size]=1").json()["data"][0]
    assert listed["id"] == run_id and listed["metadata"] == {"progress": 0.5, "user": {"id": "u1"}}
    reply = api.get(metadata_path(run_id))
    assert (reply.status, reply.json()) == (
        200,
        {"metadata": '{"progress":0.5,"user":{"id":"u1"}}', "metadataType": "application/json"},
    )  # the loader answers the stored packet, as text


def test_operations_change_the_metadata_in_order(api: Api) -> None:
    run_id = api.trigger(metadata={"count": 1, "log": "first", "tags": ["a", "b", "a"], "gone": True})
    operations = [
        {"type": "increment", "key": "count", "value": 2},
        {"type": "increment", "key": "fresh", "value": -1},
        {"type": "append", "key": "log", "value": "second"},
        {"type": "append", "key": "events", "value": {"at": 1}},
        {"type": "remove", "key": "tags", "value": "a"},
        {"type": "delete", "key": "gone"},
        {"type": "set", "key": "$.deep.path", "value": [1, 2]},
        {"type": "set", "key": "$.deep.path[2]", "value": 3},
        {"type": "increment", "key": "$.deep.counter", "value": 5},
    ]
    status, body = put(api, run_id, {"operations": operations, "metadata": {"ignored": "operations win"}})
    expected = {
        "count": 3,
        "fresh": -1,
        "log": ["first", "second"],
        "events": [{"at": 1}],
        "tags": ["b"],
        "deep": {"path": [1, 2, 3], "counter": 5},
    }
    assert (status, body) == (200, {"metadata": expected})
    assert api.retrieve(run_id)["metadata"] == expected


def test_update_replaces_everything_and_a_remove_on_a_non_list_changes_nothing(api: Api) -> None:
    run_id = api.trigger(metadata={"a": 1})
    assert put(api, run_id, {"operations": [{"type": "remove", "key": "a", "value": 1}]}) == (
        200,
        {"metadata": {"a": 1}},
    )
    updated = put(api, run_id, {"operations": [{"type": "update", "value": {"b": True}}]})
    assert updated == (200, {"metadata": {"b": True}})
    assert put(api, run_id, {}) == (200, {"metadata": {}})  # neither metadata nor operations: nothing written
    assert api.retrieve(run_id)["metadata"] == {"b": True}


def test_parent_and_root_operations_reach_those_runs(api: Api) -> None:
    root = api.trigger("nightly-report", metadata={"done": 0})
    child = api.trigger("generate-invoice-pdf", parentRunId=root)
    grandchild = api.trigger("send-welcome-email", parentRunId=child)
    body = {
        "operations": [{"type": "set", "key": "mine", "value": 1}],
        "parentOperations": [{"type": "append", "key": "children", "value": grandchild}],
        "rootOperations": [{"type": "increment", "key": "done", "value": 1}],
    }
    assert put(api, grandchild, body) == (200, {"metadata": {"mine": 1}})
    assert api.retrieve(child)["metadata"] == {"children": [grandchild]}
    assert api.retrieve(root)["metadata"] == {"done": 1}
    alone = api.trigger()
    put(api, alone, {"parentOperations": [{"type": "set", "key": "self", "value": True}]})
    assert api.retrieve(alone)["metadata"] == {"self": True}  # a run without a parent is its own parent


def test_a_replay_copies_the_trigger_metadata_not_later_updates(api: Api) -> None:
    run_id = api.trigger(metadata={"seed": True})
    put(api, run_id, {"metadata": {"changed": True}})
    new_id = api.post(f"/api/v1/runs/{run_id}/replay").json()["id"]
    assert api.retrieve(new_id)["metadata"] == {"seed": True}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "Validation error: Expected object, received array"),
        ({"metadata": [1]}, 'Validation error: Expected object, received array at "metadata"'),
        ({"operations": {}}, 'Validation error: Expected array, received object at "operations"'),
        ({"operations": [{"type": "rename", "key": "a"}]}, "Validation error: Invalid discriminator value. Expected "
         "'update' | 'set' | 'delete' | 'append' | 'remove' | 'increment' at \"operations[0].type\""),
        ({"operations": [{"type": "set", "key": "$.__proto__.polluted", "value": 1}]}, "Validation error: Metadata "
         "key may not reference __proto__, constructor, or prototype at \"operations[0].key\""),
        ({"rootOperations": [{"type": "set", "key": "$.", "value": 1}]}, "Validation error: A JSON path key must "
         "name a segment below $ at \"rootOperations[0].key\""),
        ({"operations": [{"type": "increment", "key": "n", "value": "1"}]}, "Validation error: Expected number, "
         "received string at \"operations[0].value\""),
        ({"operations": [{"type": "delete"}]}, 'Validation error: Required at "operations[0].key"'),
    ],
)  # fmt: skip
def test_bodies_that_break_the_schema_are_400(api: Api, body: Any, message: str) -> None:
    run_id = api.trigger()
    assert put(api, run_id, body) == (400, {"error": message})


@pytest.mark.parametrize(("raw", "message"), [(b"", "Request body is empty"), (b"{nope", "Invalid JSON"),
                                              (b"false", "Invalid JSON")])  # fmt: skip
def test_empty_or_unreadable_bodies(api: Api, raw: bytes, message: str) -> None:
    run_id = api.trigger()
    reply = api.call("PUT", metadata_path(run_id), raw=raw)
    assert (reply.status, reply.json()) == (400, {"error": message})


def test_metadata_over_256_kib_is_too_large(api: Api) -> None:
    run_id = api.trigger(metadata={"kept": True})
    status, body = put(api, run_id, {"metadata": {"blob": "x" * 262_144}})
    assert (status, body) == (413, {"error": "Metadata exceeds maximum size of 262144 bytes"})
    assert api.retrieve(run_id)["metadata"] == {"kept": True}


def test_a_run_that_finished_over_an_hour_ago_is_locked(api: Api) -> None:
    run_id = api.trigger(metadata={"kept": True})
    stored = api.emulator.store.find_run(api.env().id, run_id)
    assert stored is not None
    api.emulator.store.update_run(stored.id, status="COMPLETED_SUCCESSFULLY", completed_at=now_ms() - 3_601_000)
    assert put(api, run_id, {"metadata": {"late": True}}) == (
        422,
        {"error": "Cannot update metadata for a completed run"},
    )
    api.emulator.store.update_run(stored.id, completed_at=now_ms() - 60_000)
    assert put(api, run_id, {"metadata": {"late": True}}) == (200, {"metadata": {"late": True}})


def test_unknown_runs_methods_and_keys(api: Api) -> None:
    run_id = api.trigger()
    assert put(api, "run_0000000000000000000000nope", {"metadata": {}}) == (404, {"error": "Task Run not found"})
    post = api.post(metadata_path(run_id), {"metadata": {}})
    assert (post.status, post.json(), post.headers["allow"]) == (405, {"error": "Method not allowed"}, "PUT")
    assert put(api, run_id, {"metadata": {}}, key="tr_dev_unknown") == (401, {"error": "Invalid API key"})
    missing = api.get(metadata_path("run_0000000000000000000000nope"))
    assert (missing.status, missing.json()) == (404, {"error": "Run not found"})
    assert api.get(metadata_path(run_id), key="tr_dev_unknown").json() == {"error": "Invalid or Missing API Key"}
    other = str(api.get("/api/v1/runs?page[size]=1", key=OTHER_KEY).json()["data"][0]["id"])
    assert put(api, other, {"metadata": {"x": 1}}) == (404, {"error": "Task Run not found"})
