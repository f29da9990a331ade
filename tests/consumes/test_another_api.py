"""A document for another API gets that API's behaviour, not Trigger.dev's: its budget, its rate-limit headers
(the reset in seconds from now), its retry header, the headers it passes back, its cursor for `call --all`, and
the headers its OpenAPI export declares. The upstream is a recording server; it also sends Trigger.dev's
headers, which must change nothing.
"""

from __future__ import annotations

import io
import time
from typing import Any

import orjson
import pytest

from capgate.cli.call import CallRequest, run_call
from capgate.consumes.limiter import RateLimit
from capgate.core.errors import ConfigurationError
from capgate.exposes.rest.openapi import build_openapi
from capgate.gateway.assembly import describing_gateway, load_gateway
from capgate.observe.metrics import REGISTRY
from tests.support.http import rest_call
from tests.support.notes import ENV, NOTES, notes_gateway
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.anyio

NOTE = {"id": "n1", "text": "hello"}


def trigger_dev_says(remaining: int, reset_in: float) -> dict[str, str]:
    """Trigger.dev's rate-limit headers (the reset in epoch milliseconds) and its retry verdict."""
    reset_ms = int((time.time() + reset_in) * 1000)
    return {"x-ratelimit-remaining": str(remaining), "x-ratelimit-reset": str(reset_ms), "x-should-retry": "false"}


def limiter_waited() -> float:
    return REGISTRY.get_sample_value("capgate_limiter_wait_seconds_sum", {"namespace": "notes"}) or 0.0


def test_the_budget_is_the_documents() -> None:
    gateway = load_gateway(NOTES, environ=ENV)
    assert gateway.clients["notes"].rate_limit == RateLimit(20, 10, 2, 5)


async def test_its_own_headers_correct_the_budget_and_trigger_devs_do_not(upstream: RecordingUpstream) -> None:
    with notes_gateway(upstream.url) as running:
        # Trigger.dev's headers say nothing is left for a minute, this API's that plenty is: nobody queues.
        upstream.reply(200, NOTE, headers={**trigger_dev_says(0, 60), "X-Quota-Remaining": "19", "X-Quota-Reset": "2"})
        assert (await rest_call(running.rest, "GET", "/notes/n1"))[0] == 200
        before = limiter_waited()
        assert (await rest_call(running.rest, "GET", "/notes/n1"))[0] == 200
        assert limiter_waited() - before < 0.9
        # This API says nothing is left until 1 s from now (delta-seconds): the next call queues for it.
        upstream.reply(200, NOTE, headers={"X-Quota-Remaining": "0", "X-Quota-Reset": "1"})
        assert (await rest_call(running.rest, "GET", "/notes/n1"))[0] == 200
        before = limiter_waited()
        assert (await rest_call(running.rest, "GET", "/notes/n1"))[0] == 200
        assert limiter_waited() - before >= 0.9


async def test_a_429_waits_for_its_own_reset_and_its_own_retry_header_decides(upstream: RecordingUpstream) -> None:
    with notes_gateway(upstream.url) as running:
        # Read as Trigger.dev's, the reset would be a minute away, too long to wait: the 429 would come back.
        upstream.reply(429, {"error": "slow down"}, headers={**trigger_dev_says(0, 60), "X-Quota-Reset": "1"})
        upstream.reply(200, NOTE)
        started = time.monotonic()
        status, _, content = await rest_call(running.rest, "GET", "/notes/n1")
        assert (status, orjson.loads(content)) == (200, NOTE) and len(upstream.requests) == 2
        assert time.monotonic() - started >= 0.9  # it waited for the reset this API named
        upstream.requests.clear()
        upstream.reply(503, {"error": "busy"}, headers={"x-should-retry": "false"})  # not this API's header
        upstream.reply(200, NOTE)
        assert (await rest_call(running.rest, "GET", "/notes/n1"))[0] == 200 and len(upstream.requests) == 2
        upstream.requests.clear()
        upstream.reply(503, {"error": "busy"}, headers={"x-notes-retry": "false"})
        assert (await rest_call(running.rest, "GET", "/notes/n1"))[0] == 503 and len(upstream.requests) == 1
        upstream.requests.clear()
        upstream.reply(500, {"error": "hiccup"}, headers={"x-notes-retry": "true"})  # a 500 this API says to retry
        upstream.reply(200, NOTE)
        assert (await rest_call(running.rest, "GET", "/notes/n1"))[0] == 200 and len(upstream.requests) == 2


async def test_the_headers_it_declares_pass_back_and_trigger_devs_do_not(upstream: RecordingUpstream) -> None:
    sent = {
        "X-Quota-Remaining": "17",
        "x-request-id": "req-42",
        "RateLimit": '"default";r=17;t=2',
        "x-ratelimit-limit": "750",
        "x-should-retry": "true",
        "x-internal-trace": "not for callers",
    }
    with notes_gateway(upstream.url) as running:
        upstream.reply(200, NOTE, headers=sent)
        status, headers, _ = await rest_call(running.rest, "GET", "/notes/n1")
    assert status == 200
    assert {name: headers.get(name) for name in (name.lower() for name in sent)} == {
        "x-quota-remaining": "17",
        "x-request-id": "req-42",
        "ratelimit": '"default";r=17;t=2',
        "x-ratelimit-limit": None,
        "x-should-retry": None,
        "x-internal-trace": None,
    }


def page(notes: list[str], after: str | None) -> dict[str, Any]:
    # Also a Trigger.dev-shaped cursor, which --all must not follow.
    return {"notes": [{"id": n} for n in notes], "meta": {"cursors": {"after": after}}, "pagination": {"next": "no"}}


def test_call_all_follows_its_own_cursor(upstream: RecordingUpstream) -> None:
    for reply in (page(["n1", "n2"], "c2"), page(["n3", "n4"], "c3"), page(["n5"], None)):
        upstream.reply(200, reply)
    stdout, stderr = io.StringIO(), io.StringIO()
    request = CallRequest((NOTES,), "list-notes", ["limit=2"], {"notes": upstream.url}, as_json=True, all_pages=True)
    assert run_call(request, stdout=stdout, stderr=stderr, environ=ENV) == 0, stderr.getvalue()
    assert [r.query for r in upstream.requests] == ["limit=2", "cursor=c2&limit=2", "cursor=c3&limit=2"]
    assert orjson.loads(stdout.getvalue()) == {"notes": [{"id": f"n{n}"} for n in range(1, 6)]}


def test_call_all_says_clearly_that_a_tool_does_not_page() -> None:
    request = CallRequest((NOTES,), "get-note", ["noteId=n1"], all_pages=True)
    with pytest.raises(ConfigurationError) as refused:
        run_call(request, stdout=io.StringIO(), stderr=io.StringIO(), environ=ENV)
    assert str(refused.value) == (
        "--all follows the cursor an operation's `pagination` declares (docs/format.md), and get-note calls "
        "notes.get-note, which declares none; call it without --all"
    )


@pytest.mark.parametrize(
    "document,declared,reset",
    [
        (NOTES, {"x-quota-limit", "x-quota-remaining", "x-quota-reset", "x-request-id"}, "x-quota-reset"),
        (
            "trigger-dev-runs",
            {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-should-retry"},
            "x-ratelimit-reset",
        ),
        ("trigger-dev-runs-seed", set(), None),
    ],
)
def test_the_openapi_export_declares_the_headers_the_document_passes_back(
    document: str, declared: set[str], reset: str | None
) -> None:
    gateway = describing_gateway(document)
    exported = build_openapi(gateway.loaded.document, gateway.rest[0], server_url="http://127.0.0.1:8080")
    standard = {"retry-after", "ratelimit", "ratelimit-policy", "ratelimit-limit", "ratelimit-remaining"}
    standard |= {"ratelimit-reset"}
    for methods in exported["paths"].values():
        for operation in methods.values():
            if "200" not in operation["responses"] or operation.get("tags") == ["gateway"]:
                continue
            headers = operation["responses"]["200"]["headers"]
            assert set(headers) == standard | declared
            assert set(operation["responses"]["default"]["headers"]) == standard | declared | {"allow"}
            if reset is not None:
                unit = "seconds from now" if document == NOTES else "a Unix time in milliseconds"
                assert unit in headers[reset]["description"]
