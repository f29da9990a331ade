"""Authentication, environment isolation, and how each route answers methods and paths it does not serve."""

from __future__ import annotations

import pytest

from tests.emulator.client import KEY, OTHER_KEY, Api, running

NO_HEADER = {
    "title": "Unauthorized",
    "status": 401,
    "type": "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/401",
    "detail": "No authorization header provided",
    "error": "No authorization header provided",
}


def some_run(api: Api, key: str = KEY, status: str = "DELAYED") -> str:
    body = api.get(f"/api/v1/runs?filter[status]={status}&page[size]=1", key=key).json()
    return str(body["data"][0]["id"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/runs"),
        ("GET", "/api/v3/runs/run_x"),
        ("POST", "/api/v1/runs/run_x/tags"),
        ("GET", "/api/v1/nothing/here"),  # before routing: even unknown /api paths
        ("GET", "/api"),
    ],
)
def test_no_authorization_header_is_a_problem_json_401_before_routing(shared: Api, method: str, path: str) -> None:
    reply = shared.call(method, path, key=None)
    assert reply.status == 401
    assert reply.content_type.startswith("application/problem+json")
    assert reply.json() == NO_HEADER
    assert "x-ratelimit-limit" not in reply.headers


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/runs", None),
        ("GET", "/api/v3/runs/run_x", None),
        ("POST", "/api/v2/runs/run_x/cancel", None),
        ("POST", "/api/v1/runs/run_x/replay", None),
        ("POST", "/api/v1/tasks/t/trigger", {"payload": {}}),
    ],
)
def test_api_builder_routes_refuse_bad_keys(shared: Api, method: str, path: str, body: object) -> None:
    bad = shared.call(method, path, body, key="tr_dev_notakey0000000000000000")
    assert (bad.status, bad.json()) == (401, {"error": "Invalid API key"})
    # The live service reads headers through Fetch's `Headers`, which strip whitespace at both ends: `Bearer `
    # arrives as `Bearer`, which has no `Bearer ` prefix to remove, so it is a key, and an unknown one. The
    # emulator answers the same whether or not its HTTP parser kept the trailing space.
    for value in ("Bearer ", "Bearer", "Bearer \t", "  Bearer  "):
        named = shared.call(method, path, body, headers={"Authorization": value})
        assert (named.status, named.json()) == (401, {"error": "Invalid API key"}), value
    # Empty once the prefix is gone and the rest trimmed as JavaScript's trim() does (no-break space included).
    empty = shared.call(method, path, body, headers={"Authorization": "Bearer \xa0"})
    assert (empty.status, empty.json()) == (401, {"error": "Invalid or Missing API key"})


def test_legacy_routes_have_their_own_401_texts(shared: Api) -> None:
    reschedule = shared.post("/api/v1/runs/run_x/reschedule", {"delay": "1h"}, key="tr_dev_wrong")
    assert (reschedule.status, reschedule.json()) == (401, {"error": "Invalid or missing API Key"})
    tags = shared.post("/api/v1/runs/run_x/tags", {"tags": ["a"]}, key="tr_dev_wrong")
    assert (tags.status, tags.json()) == (401, {"error": "Invalid or Missing API Key"})


def test_a_key_without_the_bearer_prefix_still_works(shared: Api) -> None:
    assert shared.get("/api/v1/runs", key=None, headers={"Authorization": KEY}).status == 200


def test_branch_header_rules(api: Api) -> None:
    reply = api.get("/api/v1/runs", headers={"x-trigger-branch": "feature-x"})
    assert (reply.status, reply.json()) == (401, {"error": "No matching branch env"})
    assert api.get("/api/v1/runs", headers={"x-trigger-branch": "default"}).status == 200


def test_another_environments_run_is_not_found_everywhere(api: Api) -> None:
    theirs = some_run(api, OTHER_KEY)
    retrieve = api.get(f"/api/v3/runs/{theirs}")
    assert (retrieve.status, retrieve.json()) == (404, {"error": "Not found"})
    assert retrieve.headers["x-should-retry"] == "false"
    for path in (f"/api/v2/runs/{theirs}/cancel", f"/api/v1/runs/{theirs}/replay"):
        reply = api.post(path)
        assert (reply.status, reply.json()) == (404, {"error": "Resource not found"})
    reschedule = api.post(f"/api/v1/runs/{theirs}/reschedule", {"delay": "1h"})
    assert (reschedule.status, reschedule.json()) == (404, {"error": "Run not found"})
    tags = api.post(f"/api/v1/runs/{theirs}/tags", {"tags": ["mine"]})
    assert (tags.status, tags.json()) == (404, {"error": "Run not found"})
    assert api.retrieve(theirs, key=OTHER_KEY)["status"] == "DELAYED"  # untouched


def test_retrieve_404_can_ask_the_sdk_to_retry() -> None:
    with running(retry_not_found=True) as api:
        assert api.get("/api/v3/runs/run_missing").headers["x-should-retry"] == "true"


def test_preview_keys_need_a_branch() -> None:
    preview = "tr_preview_emulator000000000000003"
    with running(api_keys=(preview,), empty=True) as api:
        reply = api.get("/api/v1/runs", key=preview)
        assert (reply.status, reply.json()) == (401, {"error": "x-trigger-branch header required for preview env"})
        ok = api.get("/api/v1/runs", key=preview, headers={"x-trigger-branch": "pr-12"})
        assert ok.status == 200 and ok.json() == {"data": [], "pagination": {}}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/runs/{id}"), ("POST", "/api/v1/runs/{id}/cancel"), ("GET", "/api/v2/runs"), ("GET", "/")],
)
def test_retired_and_unknown_paths_get_remix_html_404(shared: Api, method: str, path: str) -> None:
    reply = shared.call(method, path.format(id=some_run(shared)))
    assert reply.status == 404
    assert reply.content_type.startswith("text/html")
    assert b"<html" in reply.body


def test_tags_and_reschedule_answer_other_methods_with_a_200_quirk(api: Api) -> None:
    run = some_run(api)
    for method in ("PUT", "PATCH", "DELETE"):
        for path in (f"/api/v1/runs/{run}/tags", f"/api/v1/runs/{run}/reschedule"):
            reply = api.call(method, path, {"tags": ["x"], "delay": "1h"})
            assert (reply.status, reply.json()) == (200, {"status": 405, "body": "Method Not Allowed"}), path
    assert "x" not in api.retrieve(run)["tags"]


@pytest.mark.parametrize("path", ["/api/v2/runs/{id}/cancel", "/api/v1/runs/{id}/replay",
                                  "/api/v1/runs/{id}/reschedule", "/api/v1/runs/{id}/tags"])  # fmt: skip
def test_get_on_action_only_routes_is_remix_400(shared: Api, path: str) -> None:
    reply = shared.get(path.format(id=some_run(shared)))
    assert (reply.status, reply.json()) == (400, {"message": "Unexpected Server Error"})
    assert reply.headers["x-remix-error"] == "yes"


@pytest.mark.parametrize("path", ["/api/v1/runs", "/api/v3/runs/run_x"])
def test_post_on_loader_routes_is_remix_405(shared: Api, path: str) -> None:
    reply = shared.post(path, {})
    assert (reply.status, reply.json()) == (405, {"message": "Unexpected Server Error"})
    assert reply.headers["x-remix-error"] == "yes"


def test_replay_takes_post_only_but_cancel_takes_any_action_method(api: Api) -> None:
    run = some_run(api)
    put = api.call("PUT", f"/api/v1/runs/{run}/replay")
    assert (put.status, put.json(), put.headers["allow"]) == (405, {"error": "Method not allowed"}, "POST")
    assert api.call("DELETE", f"/api/v2/runs/{run}/cancel").json() == {"id": run}
    assert api.retrieve(run)["status"] == "CANCELED"


def test_trigger_answers_get_with_an_empty_405(shared: Api) -> None:
    reply = shared.get("/api/v1/tasks/send-welcome-email/trigger")
    assert (reply.status, reply.body) == (405, b"")


def test_trailing_slashes_redirect_permanently(shared: Api) -> None:
    reply = shared.get("/api/v1/runs/?page[size]=2", key=None)
    assert reply.status == 301
    assert reply.headers["location"] == "/api/v1/runs?page[size]=2"


def test_options_is_a_cors_preflight_that_needs_no_key_and_is_not_limited(shared: Api) -> None:
    reply = shared.call(
        "OPTIONS",
        "/api/v1/runs",
        key=None,
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Headers": "authorization"},
    )
    assert (reply.status, reply.json()) == (200, {})
    assert reply.headers["access-control-allow-origin"] == "https://app.example.com"
    assert reply.headers["access-control-allow-headers"] == "authorization"
    assert reply.headers["access-control-max-age"] == "300"
    assert "x-ratelimit-limit" not in reply.headers


def test_cors_routes_reflect_the_origin_and_others_do_not(shared: Api) -> None:
    origin = {"Origin": "https://app.example.com"}
    assert (
        shared.get("/api/v1/runs", headers=origin).headers["access-control-allow-origin"] == "https://app.example.com"
    )
    cancel = shared.post("/api/v2/runs/run_missing/cancel", headers=origin)
    assert "access-control-allow-origin" not in cancel.headers
