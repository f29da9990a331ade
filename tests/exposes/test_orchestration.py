"""Steps, a mock and a body template, through REST and MCP alike, to a recording upstream.

tests/support/documents/orders-flow.yaml: `place-order` reads a customer and a stock line (independent, so
they run at the same time), then posts an order whose body template takes both outputs; `quote` is a mock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from mcp import Client

from capgate.core.errors import ConfigurationError
from capgate.gateway.assembly import load_gateway
from tests.conformance.serving import RoutedUpstream, Served, serving
from tests.support.http import rest_call
from tests.support.servers import serve_app

pytestmark = pytest.mark.anyio
DOCUMENT = str(Path(__file__).parents[1] / "support" / "documents" / "orders-flow.yaml")
TOKEN = "orders-token-canary-000111"
CUSTOMER = {"id": "c-7", "profile": {"name": "Ada Lovelace"}}
STOCK = {"sku": "sku-1", "price": 12.5}
READS = ("/customers/c-7", "/stock/sku-1")


class GatedUpstream(RoutedUpstream):
    """Holds each read until both reads have arrived: a sequential run never gets its first answer (and fails
    after a bound), a concurrent one gets both."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: set[str] = set()
        self.both: asyncio.Event | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] in READS:
            self.both = self.both or asyncio.Event()
            self.arrived.add(scope["path"])
            if self.arrived == set(READS):
                self.both.set()
            try:
                await asyncio.wait_for(self.both.wait(), 5)
            except TimeoutError:
                self.routes[f"GET {scope['path']}"].status = 504
        await super().__call__(scope, receive, send)


@pytest.fixture
def upstream() -> Iterator[GatedUpstream]:
    upstream = GatedUpstream()
    upstream.route("GET", "/customers/c-7", CUSTOMER)
    upstream.route("GET", "/stock/sku-1", STOCK)
    upstream.route("POST", "/orders", {"id": "o-99"}, status=201)
    with serve_app(upstream) as url:
        upstream.url = url
        yield upstream


@pytest.fixture
def served(upstream: GatedUpstream) -> Iterator[Served]:
    with serving(DOCUMENT, upstream.url, environ={"ORDERS_TOKEN": TOKEN}) as served:
        yield served


async def place_order(served: Served, adapter: str, arguments: dict[str, Any]) -> tuple[bool, Any]:
    """(succeeded, the answer) through `adapter`."""
    if adapter == "rest":
        status, _, body = await rest_call(served.urls["orders-rest"], "POST", "/orders", body=arguments)
        return status < 400, orjson.loads(body)
    async with Client(served.urls["orders-mcp"]) as client:
        result = await client.call_tool("place-order", arguments)
    text = result.content[0].text  # type: ignore[union-attr]
    return not result.is_error, text if result.is_error else orjson.loads(text)


@pytest.mark.parametrize("adapter", ["rest", "mcp"])
async def test_steps_run_the_independent_reads_together_then_post_the_templated_body(
    served: Served, upstream: GatedUpstream, adapter: str
) -> None:
    ok, answer = await place_order(served, adapter, {"customerId": "c-7", "sku": "sku-1", "note": 'say "hi"'})
    assert ok, answer
    assert answer == {"orderId": "o-99", "customer": {"name": "Ada Lovelace"}, "price": 12.5}
    posted = upstream.sent("POST", "/orders")
    assert len(posted) == 1
    # each value in its place: the quote inside the note is escaped, the price stays a number
    assert posted[0].body == b'{"customer": "c-7", "sku": "sku-1", "price": 12.5, "note": "say \\"hi\\""}\n'
    assert posted[0].headers["content-type"] == "application/json"
    assert {r.headers["authorization"] for r in upstream.requests} == {f"Bearer {TOKEN}"}
    assert sorted(r.path for r in upstream.requests) == ["/customers/c-7", "/orders", "/stock/sku-1"]


@pytest.mark.parametrize("adapter", ["rest", "mcp"])
async def test_a_failing_step_stops_the_run_and_its_answer_is_the_answer(
    served: Served, upstream: GatedUpstream, adapter: str
) -> None:
    upstream.route("GET", "/stock/sku-1", {"error": "no such sku"}, status=404)
    ok, answer = await place_order(served, adapter, {"customerId": "c-7", "sku": "sku-1"})
    assert not ok
    assert upstream.sent("POST", "/orders") == []  # nothing written from a failed read
    if adapter == "rest":
        assert answer == {"error": "no such sku"}
    else:
        assert answer.startswith("Upstream answered HTTP 404: no such sku")


@pytest.mark.parametrize("adapter", ["rest", "mcp"])
async def test_the_mock_answers_with_typed_values_and_calls_nothing(
    served: Served, upstream: GatedUpstream, adapter: str
) -> None:
    if adapter == "rest":
        status, _, body = await rest_call(served.urls["orders-rest"], "GET", "/quote", query="sku=sku-9")
        answer = orjson.loads(body)
        assert status == 200
    else:
        async with Client(served.urls["orders-mcp"]) as client:
            result = await client.call_tool("quote", {"sku": "sku-9"})
        answer = orjson.loads(result.content[0].text)  # type: ignore[union-attr]
    assert answer == {"sku": "sku-9", "price": 9.5, "currency": "EUR"}
    assert upstream.requests == []


async def test_a_missing_declared_input_is_refused_before_any_call(served: Served, upstream: GatedUpstream) -> None:
    async with Client(served.urls["orders-mcp"]) as client:
        result = await client.call_tool("place-order", {"customerId": "c-7"})
    assert result.is_error
    assert upstream.requests == []


def test_an_empty_base_uri_needs_base_uri_on_the_command_line() -> None:
    with pytest.raises(ConfigurationError, match="namespace 'shop' has no usable baseUri .*--base-uri shop=URL"):
        load_gateway(DOCUMENT, environ={"ORDERS_TOKEN": TOKEN})
