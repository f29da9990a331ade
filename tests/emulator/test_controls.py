"""The `/_emulator/` test controls: injected faults, the request log, reset, advance; off unless enabled."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error

import pytest

from tests.emulator.client import Api, running

LIST = "/api/v1/runs?page[size]=2"


def arm(api: Api, **spec: object) -> dict[str, object]:
    reply = api.post("/_emulator/faults", spec, key=None)
    assert reply.status == 201, reply.body
    result: dict[str, object] = reply.json()
    return result


def test_controls_are_off_by_default() -> None:
    with running(test_controls=False) as api:
        for method, path in (("POST", "/_emulator/faults"), ("GET", "/_emulator/requests")):
            reply = api.call(method, path, {"kind": "drop"}, key=None)
            assert reply.status == 404 and reply.content_type.startswith("text/html")


def test_an_error_fault_hits_the_next_n_matching_requests(api: Api) -> None:
    fault = arm(api, kind="error", status=503, body={"error": "down for a bit"}, headers={"retry-after": "1"}, count=2)
    assert fault["remaining"] == 2 and str(fault["id"]).startswith("fault_")
    for _ in range(2):
        reply = api.get(LIST)
        assert (reply.status, reply.json(), reply.headers["retry-after"]) == (503, {"error": "down for a bit"}, "1")
    assert api.get(LIST).status == 200
    assert api.get("/_emulator/faults", key=None).json() == {"faults": []}


def test_faults_can_be_restricted_to_a_method_and_path(api: Api) -> None:
    arm(api, kind="error", status=500, body="boom", method="POST", path="/api/v2/runs/*/cancel", count=1)
    assert api.get(LIST).status == 200
    run_id = api.trigger()
    reply = api.post(f"/api/v2/runs/{run_id}/cancel")
    assert (reply.status, reply.body) == (500, b"boom") and reply.content_type.startswith("text/plain")
    assert api.post(f"/api/v2/runs/{run_id}/cancel").status == 200


def test_a_fraction_with_a_seed_is_deterministic(api: Api) -> None:
    def pattern() -> list[int]:
        api.post("/_emulator/reset", key=None)
        arm(api, kind="error", status=502, fraction=0.5, seed=7)
        return [api.get(LIST).status for _ in range(20)]

    first, second = pattern(), pattern()
    assert first == second and {200, 502} == set(first)


def test_a_dropped_connection_gets_no_response_at_all(api: Api) -> None:
    arm(api, kind="drop")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        api.get(LIST)
    assert api.get(LIST).status == 200


@pytest.mark.parametrize("how", ["truncate", "garbage"])
def test_malformed_bodies_keep_status_and_headers_but_are_not_json(api: Api, how: str) -> None:
    arm(api, kind="malformed", malformed=how)
    reply = api.get(LIST)
    assert reply.status == 200 and reply.content_type.startswith("application/json")
    assert "x-ratelimit-limit" in reply.headers
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.body)
    if how == "truncate":
        assert reply.body.startswith(b'{"data":[')


def test_latency_delays_the_real_response(api: Api) -> None:
    arm(api, kind="latency", latency_ms=300)
    started = time.monotonic()
    reply = api.get(LIST)
    assert time.monotonic() - started >= 0.3 and reply.status == 200 and len(reply.json()["data"]) == 2


def test_rate_limit_exhaustion_answers_like_the_limiter(api: Api) -> None:
    arm(api, kind="rate_limit", count=1)
    reply = api.get(LIST)
    assert reply.status == 429 and reply.content_type.startswith("application/problem+json")
    assert reply.json()["title"] == "Rate Limit Exceeded" and reply.headers["x-ratelimit-remaining"] == "0"
    assert api.get(LIST).status == 200


def test_reset_disarms_every_fault_and_refills_buckets() -> None:
    with running(rate_limit_max=1) as api:
        assert api.get(LIST).status == 200
        assert api.get(LIST).status == 429
        arm(api, kind="error", fraction=1.0)
        assert api.post("/_emulator/reset", key=None).json() == {"reset": True}
        assert api.get(LIST).status == 200


def test_bad_fault_specs_are_explained(api: Api) -> None:
    for spec, needle in (({"kind": "explode"}, "'kind'"), ({"kind": "error", "status": 42}, "'status'"),
                         ({"kind": "error", "fraction": 2}, "'fraction'"), ([], "JSON object")):  # fmt: skip
        reply = api.post("/_emulator/faults", spec, key=None)
        assert reply.status == 400 and needle in reply.json()["error"]


def test_the_request_log_records_exactly_what_arrived(api: Api) -> None:
    api.call("DELETE", "/_emulator/requests", key=None)
    api.get("/api/v1/runs?filter%5Bstatus%5D=QUEUED%2CEXECUTING&page[size]=1", headers={"x-trace": "t1"})
    api.post("/api/v1/tasks/resize-image/trigger", {"payload": {"a": 1}})
    log = api.get("/_emulator/requests", key=None).json()["requests"]
    assert [entry["method"] for entry in log] == ["GET", "POST"]
    assert log[0]["path"] == "/api/v1/runs"
    assert log[0]["query"] == "filter%5Bstatus%5D=QUEUED%2CEXECUTING&page[size]=1"
    headers = dict(log[0]["headers"])
    assert headers["x-trace"] == "t1" and headers["authorization"].startswith("Bearer tr_dev_")
    assert json.loads(log[1]["body"]) == {"payload": {"a": 1}}
    assert api.call("DELETE", "/_emulator/requests", key=None).json() == {"cleared": 2}
    assert api.get("/_emulator/requests", key=None).json() == {"requests": []}


def test_advance_runs_the_simulation_over_http(api: Api) -> None:
    run_id = api.trigger()
    reply = api.post("/_emulator/advance", {"now": int(time.time() * 1000) + 60_000}, key=None)
    assert reply.json() == {"changed": 1}
    assert api.retrieve(run_id)["status"] in ("COMPLETED", "FAILED")
