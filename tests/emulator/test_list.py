"""`GET /api/v1/runs`: filters, the default window, ordering, page sizes, Query Errors and cursors."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from tests.emulator.client import OTHER_KEY, Api, assert_no_none
from trigger_emulator.ids import decode_cursor
from trigger_emulator.models import Run
from trigger_emulator.statuses import api_status
from trigger_emulator.store import Page, RunFilter

DAY_MS = 24 * 3600 * 1000


def all_runs(api: Api, key: str | None = None) -> list[Run]:
    """Every run of an environment straight from the database, newest first."""
    env = api.env(key) if key else api.env()
    return api.emulator.store.list_runs(env.id, RunFilter(), Page(size=100_000))


def page(api: Api, query: str, **kwargs: Any) -> dict[str, Any]:
    reply = api.get(f"/api/v1/runs?{query}", **kwargs)
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.json()
    return body


def ids(query_result: dict[str, Any]) -> list[str]:
    return [item["id"] for item in query_result["data"]]


def walk(api: Api, query: str, **kwargs: Any) -> list[str]:
    """Every id of a listing, following `next` to the end."""
    seen, body = [], page(api, query, **kwargs)
    while True:
        seen += ids(body)
        if "next" not in body["pagination"]:
            return seen
        body = page(api, f"{query}&page[after]={body['pagination']['next']}", **kwargs)


def window(api: Api, days: float) -> list[Run]:
    cutoff = int(time.time() * 1000 - days * DAY_MS)
    return [run for run in all_runs(api) if run.created_at >= cutoff]


def test_the_first_page_has_25_runs_newest_first_and_only_a_next_cursor(shared: Api) -> None:
    body = page(shared, "")
    assert len(body["data"]) == 25
    assert set(body["pagination"]) == {"next"}
    assert [item["id"] for item in body["data"]] == [run.friendly_id for run in all_runs(shared)[:25]]
    created = [item["createdAt"] for item in body["data"]]
    assert created == sorted(created, reverse=True)
    for item in body["data"]:
        assert_no_none(item)
        assert item["env"] == {"id": shared.env().id, "name": "dev", "user": "Emulator User"}
        assert "payload" not in item and "output" not in item and "error" not in item


def test_without_a_time_filter_the_list_covers_the_last_7_days(shared: Api) -> None:
    listed = walk(shared, "page[size]=100")
    expected = [run.friendly_id for run in window(shared, 7)]
    assert listed[: len(expected) - 1] == expected[: len(expected) - 1]  # the edge may move while we walk
    assert abs(len(listed) - len(expected)) <= 1
    assert len(all_runs(shared)) > len(listed) + 50  # older runs exist but are outside the window


def test_period_selects_its_own_window_and_beats_from_and_to(shared: Api) -> None:
    thirty = walk(shared, "page[size]=100&filter[createdAt][period]=30d")
    assert len(thirty) == len(window(shared, 30)) and len(thirty) > len(window(shared, 7))
    one_day = walk(shared, "page[size]=100&filter[createdAt][period]=1d&filter[createdAt][from]=0")
    assert len(one_day) == len(window(shared, 1))


def test_an_unparseable_period_turns_the_time_filter_off(shared: Api) -> None:
    assert len(walk(shared, "page[size]=100&filter[createdAt][period]=soon")) == len(all_runs(shared))


@pytest.mark.parametrize(
    ("period", "selects"),
    [("1e400d", "all"), ("99999999999999999999y", "all"), ("-1e400d", "none"), ("1e400ms-1e400ms", "all")],
)
def test_a_period_beyond_any_date_is_all_time_or_nothing_never_an_error(shared: Api, period: str, selects: str) -> None:
    runs = walk(shared, f"page[size]=100&filter[createdAt][period]={period}")
    assert runs == ([] if selects == "none" else [run.friendly_id for run in all_runs(shared)])


def test_from_and_to_take_epoch_milliseconds_or_dates(shared: Api) -> None:
    now = int(time.time() * 1000)
    start, end = now - 20 * DAY_MS, now - 10 * DAY_MS
    expected = [run.friendly_id for run in all_runs(shared) if start <= run.created_at <= end]
    assert expected
    assert walk(shared, f"page[size]=100&filter[createdAt][from]={start}&filter[createdAt][to]={end}") == expected
    iso_from = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start / 1000)) + f".{start % 1000:03d}Z"
    assert walk(shared, f"page[size]=100&filter[createdAt][from]={quote(iso_from)}&filter[createdAt][to]={end}") == [
        run for run in expected
    ]
    only_from = walk(shared, f"page[size]=100&filter[createdAt][from]={start}")
    assert len(only_from) == len([run for run in all_runs(shared) if run.created_at >= start])


@pytest.mark.parametrize(
    ("name", "db_statuses"),
    [
        ("QUEUED", {"PENDING"}),
        ("EXECUTING", {"EXECUTING"}),
        ("DEQUEUED", {"DEQUEUED"}),
        ("WAITING", {"WAITING_TO_RESUME"}),
        ("FROZEN", {"PAUSED", "WAITING_TO_RESUME"}),
        ("REATTEMPTING", {"RETRYING_AFTER_FAILURE"}),
        ("FAILED", {"COMPLETED_WITH_ERRORS"}),
        ("INTERRUPTED", {"INTERRUPTED"}),
        ("COMPLETED", {"COMPLETED_SUCCESSFULLY"}),
        ("PENDING_VERSION", {"PENDING_VERSION"}),
        ("WAITING_FOR_DEPLOY", {"WAITING_FOR_DEPLOY"}),
        ("DELAYED", {"DELAYED"}),
        ("CANCELED", {"CANCELED"}),
        ("CRASHED", {"CRASHED"}),
        ("SYSTEM_FAILURE", {"SYSTEM_FAILURE"}),
        ("EXPIRED", {"EXPIRED"}),
        ("TIMED_OUT", {"TIMED_OUT"}),
    ],
)
def test_status_filter_maps_names_to_database_statuses(shared: Api, name: str, db_statuses: set[str]) -> None:
    expected = [run.friendly_id for run in all_runs(shared) if run.status in db_statuses]
    assert expected, f"the seed data has no {db_statuses} run"
    assert walk(shared, f"page[size]=100&filter[createdAt][period]=60d&filter[status]={name}") == expected


def test_status_filter_is_not_the_inverse_of_the_display_mapping(shared: Api) -> None:
    # RETRYING_AFTER_FAILURE shows as EXECUTING, yet filter[status]=EXECUTING does not select it.
    reattempting = page(shared, "filter[status]=REATTEMPTING")["data"]
    assert reattempting and {item["status"] for item in reattempting} == {"EXECUTING"}
    executing = ids(page(shared, "page[size]=100&filter[status]=EXECUTING"))
    assert not set(ids({"data": reattempting})) & set(executing)
    # INTERRUPTED shows as FAILED, but FAILED does not select it.
    interrupted = page(shared, "filter[status]=INTERRUPTED")["data"]
    assert interrupted and {item["status"] for item in interrupted} == {"FAILED"}
    assert not set(ids({"data": interrupted})) & set(ids(page(shared, "page[size]=100&filter[status]=FAILED")))


def test_several_statuses_are_comma_joined_in_one_key(shared: Api) -> None:
    both = walk(shared, "page[size]=100&filter[status]=QUEUED,DELAYED,QUEUED")
    expected = [run.friendly_id for run in window(shared, 7) if run.status in ("PENDING", "DELAYED")]
    assert both == expected


def test_unknown_statuses_are_a_query_error(shared: Api) -> None:
    reply = shared.get("/api/v1/runs?filter[status]=QUEUED,NOPE,bad")
    assert reply.status == 400
    assert reply.json() == {
        "error": "Query Error",
        "details": [{"code": "custom", "message": "Invalid status values: NOPE, bad", "path": ["filter[status]"]}],
    }


def test_task_version_queue_and_machine_filters(shared: Api) -> None:
    runs = window(shared, 30)
    cases: dict[str, Callable[[Run], bool]] = {
        "filter[taskIdentifier]=resize-image,nightly-report": lambda r: (
            r.task_identifier in ("resize-image", "nightly-report")
        ),
        f"filter[version]={runs[-1].version}": lambda r: r.version == runs[-1].version,
        "filter[queue]=crm-sync": lambda r: r.queue == "crm-sync",
        "filter[queue]=task/resize-image": lambda r: r.queue == "task/resize-image",
        "filter[machine]=micro,large-1x": lambda r: r.machine in ("micro", "large-1x"),
    }
    for query, keep in cases.items():
        expected = [run.friendly_id for run in runs if keep(run)]
        assert expected, query
        assert walk(shared, f"page[size]=100&filter[createdAt][period]=30d&{query}") == expected, query


def test_invalid_machines_are_a_query_error(shared: Api) -> None:
    reply = shared.get("/api/v1/runs?filter[machine]=micro,huge")
    assert reply.status == 400
    assert reply.json()["details"] == [
        {"code": "custom", "message": "Invalid machine values: huge", "path": ["filter[machine]"]}
    ]


def test_tag_filter_means_any_of_the_tags(shared: Api) -> None:
    expected = [run.friendly_id for run in window(shared, 30) if {"media", "billing"} & set(run.tags)]
    assert expected
    assert walk(shared, "page[size]=100&filter[createdAt][period]=30d&filter[tag]=media,billing") == expected


def test_is_test_filter_takes_true_or_false_only(shared: Api) -> None:
    for value in (True, False):
        expected = [run.friendly_id for run in window(shared, 30) if run.is_test is value]
        assert expected
        assert walk(shared, f"page[size]=100&filter[createdAt][period]=30d&filter[isTest]={str(value).lower()}") == (
            expected
        )
    reply = shared.get("/api/v1/runs?filter[isTest]=yes")
    assert reply.status == 400
    assert reply.json()["details"] == [
        {"code": "custom", "message": "Invalid value for isTest: yes", "path": ["filter[isTest]"]}
    ]


def test_batch_and_schedule_filters_take_friendly_or_internal_ids(shared: Api) -> None:
    child = next(run for run in all_runs(shared) if run.batch_id)
    expected = [run.friendly_id for run in all_runs(shared) if run.batch_id == child.batch_id]
    for value in (child.batch_id, child.batch_internal_id):
        assert walk(shared, f"filter[createdAt][period]=60d&filter[batch]={value}") == expected
    scheduled = [run for run in all_runs(shared) if run.schedule_id]
    schedule = shared.emulator.store.get_schedule(scheduled[0].schedule_id or "")
    assert schedule is not None
    for value in (schedule.friendly_id, schedule.id):
        listed = walk(shared, f"page[size]=100&filter[createdAt][period]=60d&filter[schedule]={value}")
        assert listed == [run.friendly_id for run in scheduled]


def test_region_filter(api: Api) -> None:
    runs = [run for run in all_runs(api, OTHER_KEY) if run.region == "eu-central-1"]
    assert runs
    listed = walk(api, "page[size]=100&filter[createdAt][period]=60d&filter[region]=eu-central-1", key=OTHER_KEY)
    assert listed == [run.friendly_id for run in runs]


def test_filters_on_things_the_emulator_does_not_have_select_nothing(shared: Api) -> None:
    assert page(shared, "filter[bulkAction]=bulk_123")["data"] == []
    assert page(shared, "filter[error]=error_abc")["data"] == []


def test_unknown_keys_and_filter_env_are_ignored(shared: Api) -> None:
    assert ids(page(shared, "filter[env]=prod&whatever=1&filter[createdAt.from]=0")) == ids(page(shared, ""))


def test_the_last_of_repeated_keys_wins(shared: Api) -> None:
    assert len(page(shared, "page[size]=50&page[size]=2")["data"]) == 2


@pytest.mark.parametrize("size", [1, 100])
def test_page_size_bounds_are_allowed(shared: Api, size: int) -> None:
    assert len(page(shared, f"page[size]={size}&filter[createdAt][period]=30d")["data"]) == size


@pytest.mark.parametrize(
    ("value", "codes"),
    [
        ("0", ["too_small", "too_small"]),
        ("-3", ["too_small", "too_small"]),
        ("101", ["too_big"]),
        ("2.5", ["invalid_type"]),
        ("abc", ["invalid_type"]),
        ("", ["too_small", "too_small"]),
    ],
)
def test_bad_page_sizes_are_query_errors(shared: Api, value: str, codes: list[str]) -> None:
    reply = shared.get(f"/api/v1/runs?page[size]={value}")
    assert reply.status == 400
    assert reply.content_type.startswith("application/json")
    body = reply.json()
    assert body["error"] == "Query Error"
    assert [issue["code"] for issue in body["details"]] == codes
    assert all(issue["path"] == ["page[size]"] for issue in body["details"])


def test_page_size_101_has_the_exact_zod_issue(shared: Api) -> None:
    assert shared.get("/api/v1/runs?page%5Bsize%5D=101").json() == {
        "error": "Query Error",
        "details": [
            {
                "code": "too_big",
                "maximum": 100,
                "type": "number",
                "inclusive": True,
                "exact": False,
                "message": "Number must be less than or equal to 100",
                "path": ["page[size]"],
            }
        ],
    }


def test_walking_forward_and_backward_visits_every_run_once(shared: Api) -> None:
    query = "page[size]=7&filter[createdAt][period]=30d"
    expected = [run.friendly_id for run in window(shared, 30)]
    forward, body, pages = [], page(shared, query), []
    while True:
        pages.append(body)
        forward += ids(body)
        if "next" not in body["pagination"]:
            break
        body = page(shared, f"{query}&page[after]={body['pagination']['next']}")
    assert forward == expected and len(set(forward)) == len(forward)
    assert "previous" not in pages[0]["pagination"]
    assert all("previous" in later["pagination"] for later in pages[1:])

    # Back from the last page: `page[before]` pages come oldest first; `next` is always set.
    backward, cursor = list(reversed(ids(pages[-1]))), pages[-1]["pagination"]["previous"]
    while True:
        body = page(shared, f"{query}&page[before]={cursor}")
        assert "next" in body["pagination"]
        backward += ids(body)  # oldest first, each page newer than the last
        if "previous" not in body["pagination"]:
            break
        cursor = body["pagination"]["previous"]
    assert list(reversed(backward)) == expected


def test_a_backward_page_leads_forward_again_with_next(shared: Api) -> None:
    query = "page[size]=5&filter[createdAt][period]=30d"
    first = page(shared, query)
    second = page(shared, f"{query}&page[after]={first['pagination']['next']}")
    back = page(shared, f"{query}&page[before]={second['pagination']['previous']}")
    assert list(reversed(ids(back))) == ids(first)
    assert "previous" not in back["pagination"]  # nothing newer than the first page
    assert page(shared, f"{query}&page[after]={back['pagination']['next']}")["data"] == second["data"]


def test_cursors_are_opaque_base64url_of_created_at_and_internal_id(shared: Api) -> None:
    body = page(shared, "page[size]=3")
    cursor = decode_cursor(body["pagination"]["next"])
    last = all_runs(shared)[2]
    assert (cursor.created_ms, cursor.run_id) == (last.created_at, last.id)
    assert not body["pagination"]["next"].startswith("run_")


def test_before_wins_over_after_and_legacy_bare_id_cursors_work(shared: Api) -> None:
    runs = window(shared, 7)
    first = page(shared, "page[size]=4")
    second = page(shared, f"page[size]=4&page[after]={first['pagination']['next']}")
    both = page(
        shared, f"page[size]=4&page[after]={second['pagination']['next']}&page[before]={first['pagination']['next']}"
    )
    assert ids(both) == [run.friendly_id for run in reversed(runs[:3])]
    legacy = page(shared, f"page[size]=100&page[after]={runs[10].id}")
    assert ids(legacy)[0] == next(run.friendly_id for run in runs if run.id < runs[10].id)


def test_each_key_lists_only_its_own_environment(api: Api) -> None:
    mine = set(walk(api, "page[size]=100&filter[createdAt][period]=60d"))
    theirs_body = page(api, "page[size]=100&filter[createdAt][period]=60d", key=OTHER_KEY)
    assert theirs_body["data"][0]["env"] == {"id": api.env(OTHER_KEY).id, "name": "prod"}
    theirs = set(walk(api, "page[size]=100&filter[createdAt][period]=60d", key=OTHER_KEY))
    assert mine and theirs and not mine & theirs


def test_statuses_use_legacy_names_without_the_version_header(shared: Api) -> None:
    run = next(run for run in all_runs(shared) if run.status == "PAUSED")
    listed = page(shared, "page[size]=100&filter[status]=FROZEN", current=False)["data"]
    item = next(item for item in listed if item["id"] == run.friendly_id)
    assert item["status"] == api_status("PAUSED", current=False) == "FROZEN"
    assert item["isExecuting"] is True and item["isWaiting"] is False
