"""`GET /api/v1/runs/{runId}/trace` (tree and pages) and `GET /api/v1/runs/{runId}/events`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.emulator.client import OTHER_KEY, Api, running

TICK = 1_000


def run_in(api: Api, status: str) -> str:
    return str(api.get(f"/api/v1/runs?filter[status]={status}&page[size]=1").json()["data"][0]["id"])


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def tree(api: Api, run_id: str) -> dict[str, Any]:
    reply = api.get(f"/api/v1/runs/{run_id}/trace")
    assert reply.status == 200 and reply.content_type.startswith("application/json"), reply.body
    body: dict[str, Any] = reply.json()
    assert set(body) == {"trace"} and set(body["trace"]) == {"traceId", "rootSpan"}
    return body["trace"]


def walk(span: dict[str, Any]) -> list[dict[str, Any]]:
    return [span, *(node for child in span["children"] for node in walk(child))]


def all_pages(api: Api, run_id: str, size: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """Every span of the paged trace, every attempt failure, and how many pages it took."""
    spans: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    query, pages = f"page[size]={size}", 0
    while True:
        reply = api.get(f"/api/v1/runs/{run_id}/trace?{query}")
        assert reply.status == 200, reply.body
        body = reply.json()
        assert set(body) == {"data", "attemptFailures", "pagination"}
        assert len(body["data"]) <= size
        spans += body["data"]
        failures += body["attemptFailures"]
        pages += 1
        if "next" not in body["pagination"]:
            return spans, failures, pages
        query = f"page[size]={size}&page[after]={body['pagination']['next']}"


def test_a_failed_runs_tree_says_why_it_failed(shared: Api) -> None:
    run_id = run_in(shared, "FAILED")
    run = shared.retrieve(run_id)
    trace = tree(shared, run_id)
    root = trace["rootSpan"]
    assert len(trace["traceId"]) == 32 and len(root["id"]) == 16
    assert root["runId"] == run_id and "parentId" not in root
    data = root["data"]
    assert (data["message"], data["taskSlug"], data["level"]) == (run["taskIdentifier"],) * 2 + ("TRACE",)
    assert (data["isError"], data["isPartial"], data["isCancelled"]) == (True, False, False)
    assert data["startTime"] == run["createdAt"]
    assert data["duration"] == ms(run["finishedAt"]) - ms(run["createdAt"])  # milliseconds in the tree
    assert data["properties"] == {}
    attempts = [child for child in root["children"] if child["data"]["message"].startswith("Attempt ")]
    assert len(attempts) == run["attemptCount"] >= 1
    last = attempts[-1]["data"]
    assert last["isError"] is True and last["startTime"] >= run["startedAt"]
    exception = last["events"][0]
    assert exception["name"] == "exception"
    assert exception["properties"]["exception"]["message"] == run["error"]["message"]
    logs = [node["data"] for node in walk(attempts[-1])[1:]]
    assert [log["level"] for log in logs] == ["INFO", "ERROR"] and logs[1]["message"] == run["error"]["message"]
    assert all(log["duration"] == 0 for log in logs)
    failed = [event for event in data["events"] if event["name"] == "attempt_failed"]
    assert [event["properties"]["attemptNumber"] for event in failed] == list(range(1, run["attemptCount"] + 1))


def test_the_tree_reads_back_the_same(shared: Api) -> None:
    run_id = run_in(shared, "COMPLETED")
    assert tree(shared, run_id) == tree(shared, run_id)


def test_pages_walk_the_same_spans_as_the_tree(shared: Api) -> None:
    parent = run_in(shared, "WAITING")  # a parent waiting on its batch: its children are in its trace
    whole = walk(tree(shared, parent)["rootSpan"])
    spans, _, pages = all_pages(shared, parent, size=2)
    assert pages == (len(whole) + 1) // 2
    assert sorted(span["id"] for span in spans) == sorted(span["id"] for span in whole)
    assert len({span["id"] for span in spans}) == len(spans)
    starts = [span["startTime"] for span in spans]
    assert starts == sorted(starts)  # flat pages come in the order spans started
    children = shared.retrieve(parent)["relatedRuns"]["children"]
    assert children and {child["id"] for child in children} <= {span["runId"] for span in spans}
    by_id = {span["id"]: span for span in spans}
    for span in spans:
        if span["runId"] != parent and span["level"] == "TRACE" and span["message"] != "Attempt 1":
            assert by_id[span["parentId"]]["runId"] == parent  # a child run's span hangs under the parent's attempt
    one_page, _, count = all_pages(shared, parent, size=10_000)
    assert count == 1 and one_page == spans


def test_a_page_has_the_sdks_shape_and_nanosecond_durations(shared: Api) -> None:
    run_id = run_in(shared, "FAILED")
    run = shared.retrieve(run_id)
    spans, failures, _ = all_pages(shared, run_id, size=100)
    root = spans[0]
    assert set(root) == {"id", "runId", "message", "startTime", "duration", "isError", "isPartial", "isCancelled",
                         "level"}  # fmt: skip
    assert root["duration"] == (ms(run["finishedAt"]) - ms(run["createdAt"])) * 1_000_000
    attempt = next(span for span in spans if span["message"] == "Attempt 1")
    assert attempt["parentId"] == root["id"] and attempt["attemptNumber"] == 1
    assert failures and failures[0] == {"spanId": root["id"], "attemptNumber": 1, "runId": run_id}


def test_a_runs_trace_follows_its_lifecycle() -> None:
    with running(tick_s=1.0) as api:
        run_id = api.trigger("send-welcome-email")
        queued = tree(api, run_id)["rootSpan"]
        assert queued["data"]["isPartial"] is True and queued["children"] == [] and queued["data"]["duration"] == 0
        created = ms(api.retrieve(run_id)["createdAt"])
        api.emulator.advance(created + 2 * TICK)
        executing = tree(api, run_id)["rootSpan"]
        attempt = executing["children"][0]["data"]
        assert executing["data"]["isPartial"] is True
        assert (attempt["message"], attempt["isPartial"], attempt["duration"]) == ("Attempt 1", True, 0)
        api.emulator.advance(created + 10 * TICK)
        run = api.retrieve(run_id)
        finished = tree(api, run_id)["rootSpan"]
        assert finished["data"]["isPartial"] is False
        assert finished["data"]["isError"] is (run["status"] == "FAILED")
        assert finished["data"]["duration"] == ms(run["finishedAt"]) - created
        assert finished["children"][0]["data"]["duration"] == run["durationMs"]


def test_a_cancelled_runs_trace_says_so(api: Api) -> None:
    run_id = run_in(api, "EXECUTING")
    api.post(f"/api/v2/runs/{run_id}/cancel")
    root = tree(api, run_id)["rootSpan"]
    assert (root["data"]["isCancelled"], root["data"]["isPartial"], root["data"]["isError"]) == (True, False, False)
    assert [event["name"] for event in root["data"]["events"]] == ["cancellation"]
    assert root["data"]["events"][0]["properties"] == {"reason": "Canceled by user"}
    assert root["children"][0]["data"]["isCancelled"] is True


def test_an_expired_run_has_an_exception_and_no_attempt(shared: Api) -> None:
    run_id = run_in(shared, "EXPIRED")
    root = tree(shared, run_id)["rootSpan"]
    assert root["children"] == [] and root["data"]["isError"] is True
    assert root["data"]["events"][0]["name"] == "exception"


def test_events_are_the_runs_own_spans_as_the_event_store_prepares_them(shared: Api) -> None:
    parent = run_in(shared, "WAITING")
    reply = shared.get(f"/api/v1/runs/{parent}/events")
    assert reply.status == 200
    events = reply.json()["events"]
    assert events and {event["runId"] for event in events} == {parent}
    root = events[0]
    assert set(root) == {"spanId", "parentId", "runId", "message", "style", "events", "startTime", "duration",
                         "isError", "isPartial", "isCancelled", "kind", "attemptNumber", "level"}  # fmt: skip
    assert root["parentId"] is None and root["attemptNumber"] is None and root["kind"] == "UNSPECIFIED"
    assert (
        isinstance(root["startTime"], str)
        and int(root["startTime"]) == ms(shared.retrieve(parent)["createdAt"]) * 10**6
    )
    ids = {span["id"] for span in walk(tree(shared, parent)["rootSpan"]) if span["runId"] == parent}
    assert {event["spanId"] for event in events} == ids


@pytest.mark.parametrize("path", ["trace", "events"])
def test_unknown_or_other_environments_runs_are_not_found(shared: Api, path: str) -> None:
    theirs = str(shared.get("/api/v1/runs?page[size]=1", key=OTHER_KEY).json()["data"][0]["id"])
    for run_id in ("run_0000000000000000000000nope", theirs):
        reply = shared.get(f"/api/v1/runs/{run_id}/{path}")
        assert (reply.status, reply.json()) == (404, {"error": "Not found"})
        assert reply.headers["x-should-retry"] == "false"


@pytest.mark.parametrize(
    ("query", "issue"),
    [
        ("page[size]=0", {"code": "too_small", "minimum": 1, "path": ["page[size]"]}),
        ("page[size]=10001", {"code": "too_big", "maximum": 10_000, "path": ["page[size]"]}),
        ("page[size]=many", {"code": "invalid_type", "received": "nan", "path": ["page[size]"]}),
        ("page[after]=not-a-cursor", {"code": "custom", "message": "Invalid cursor", "path": ["page[after]"]}),
    ],
)
def test_bad_paging_is_a_query_error(shared: Api, query: str, issue: dict[str, Any]) -> None:
    run_id = run_in(shared, "COMPLETED")
    reply = shared.get(f"/api/v1/runs/{run_id}/trace?{query}")
    assert reply.status == 400
    body = reply.json()
    assert body["error"] == "Query Error"
    assert any(issue.items() <= detail.items() for detail in body["details"]), body


@pytest.mark.parametrize("path", ["trace", "events"])
def test_the_routes_are_loaders(shared: Api, path: str) -> None:
    run_id = run_in(shared, "COMPLETED")
    reply = shared.post(f"/api/v1/runs/{run_id}/{path}", {})
    assert (reply.status, reply.json()) == (405, {"message": "Unexpected Server Error"})
    preflight = shared.call("OPTIONS", f"/api/v1/runs/{run_id}/{path}", key=None, headers={"Origin": "https://app"})
    assert preflight.status == 200 and preflight.headers["access-control-allow-origin"] == "https://app"
    assert shared.get(f"/api/v1/runs/{run_id}/{path}", key=None).status == 401
