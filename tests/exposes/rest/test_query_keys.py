"""A query key that no input of the operation reads is refused, never dropped: a script that filters, then
cancels what it found, must not act on everything because a filter was ignored."""

from __future__ import annotations

import orjson
import pytest

from tests.support.gateway import RUN, gateway_config, running_gateway
from tests.support.http import rest_call
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("query", "sent"),
    [
        ("filter[bulkAction]=bulk_abc", "filter%5BbulkAction%5D=bulk_abc"),
        ("filter[error]=error_9f2c", "filter%5Berror%5D=error_9f2c"),
        ("filter.status=QUEUED&page[size]=5", "filter%5Bstatus%5D=QUEUED&page%5Bsize%5D=5"),  # either spelling
    ],
)
async def test_the_live_apis_filters_are_declared_and_sent(upstream: RecordingUpstream, query: str, sent: str) -> None:
    with running_gateway(gateway_config("trigger-dev-runs", upstream.url)) as gateway:
        status, _, _ = await rest_call(gateway.rest, "GET", "/v1/api/v1/runs", query)
    assert status == 200 and upstream.last.query == sent


@pytest.mark.parametrize("document", ["trigger-dev-runs", "trigger-dev-runs-seed"])
async def test_an_undeclared_query_key_is_refused_listing_the_accepted_ones(
    upstream: RecordingUpstream, document: str
) -> None:
    with running_gateway(gateway_config(document, upstream.url)) as gateway:
        listed = await rest_call(gateway.rest, "GET", "/v1/api/v1/runs", "filter[bulkActon]=bulk_abc&page[size]=5")
        head = await rest_call(gateway.rest, "HEAD", "/v1/api/v1/runs", "filter[eror]=x")
        cancel = await rest_call(gateway.rest, "POST", f"/v1/api/v1/runs/{RUN}/cancel", "force=true")
    assert upstream.requests == []  # nothing was sent for any of them
    status, headers, body = listed
    problem = orjson.loads(body)
    assert status == 400 and headers["content-type"] == "application/problem+json"
    assert [error["name"] for error in problem["errors"]] == ["filter[bulkActon]"]
    reason = problem["errors"][0]["reason"]
    assert reason.startswith("is not a query parameter of /v1/api/v1/runs; it accepts: filter[status], ")
    assert "page[size]" in reason and "nothing was sent upstream" in problem["hint"]
    assert head[0] == 400
    assert cancel[0] == 400 and "it accepts: no query parameters" in orjson.loads(cancel[2])["detail"]
