"""The REST port's own routes: /openapi.json, /docs, /healthz, /readyz and /metrics, with real traffic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from mcp import Client
from prometheus_client.parser import text_string_to_metric_families

from capgate.cli.program import main
from capgate.document.bundled import bundled_documents
from capgate.exposes.rest.openapi import build_openapi
from capgate.exposes.rest.probes import Readiness
from capgate.gateway.assembly import describing_gateway, load_gateway
from tests.exposes.conftest import Stack
from tests.support.gateway import TEST_KEY, gateway_config, running_gateway
from tests.support.upstream import RecordingUpstream, recording_upstream

pytestmark = pytest.mark.anyio
RUNS = {"data": [{"id": "run_abc1", "status": "COMPLETED"}], "pagination": {}}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def default_stack() -> Iterator[Stack]:
    with recording_upstream() as upstream, running_gateway(gateway_config("trigger-dev-runs", upstream.url)) as gateway:
        yield Stack("trigger-dev-runs", upstream, gateway)


@pytest.fixture
def stack(default_stack: Stack) -> Stack:
    default_stack.upstream.requests.clear()
    default_stack.upstream.replies.clear()
    return default_stack


async def get(url: str, **options: Any) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as session, session.get(url, **options) as response:
        return response.status, dict(response.headers), await response.read()


async def metrics(stack: Stack) -> Samples:
    status, headers, body = await get(f"{stack.gateway.rest}/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


async def test_healthz_answers_without_asking_the_upstream(stack: Stack) -> None:
    status, headers, body = await get(f"{stack.gateway.rest}/healthz")
    assert (status, orjson.loads(body)) == (200, {"status": "ok"})
    assert stack.upstream.requests == []


async def test_readyz_asks_the_upstream_once_and_caches_the_answer(stack: Stack) -> None:
    stack.upstream.reply(200, RUNS)
    first = await get(f"{stack.gateway.rest}/readyz")
    second = await get(f"{stack.gateway.rest}/readyz")
    assert first[0] == second[0] == 200
    report = orjson.loads(first[2])
    assert report["status"] == "ready"
    assert report["checks"] == [
        {
            "namespace": "management-runs",
            "ok": True,
            "operation": "management-runs.listruns",
            "status": 200,
            "reason": "reachable, key accepted",
        }
    ]
    assert len(stack.upstream.requests) == 1  # the second answer came from the cache
    assert stack.upstream.last.headers["authorization"] == f"Bearer {TEST_KEY}"


@pytest.mark.parametrize(
    ("reply", "ok", "reason"),
    [
        ((200, RUNS), True, "reachable, key accepted"),
        ((429, {"error": "Rate limit exceeded"}), True, "reachable, key accepted"),
        (
            (401, {"error": "Invalid API Key"}),
            False,
            "the upstream refused the gateway's key (HTTP 401); check the bound secret",
        ),
        ((503, {"error": "down"}), False, "the upstream failed (HTTP 503)"),
    ],
)
async def test_readiness_says_why_an_upstream_is_not_ready(
    upstream: RecordingUpstream, reply: tuple[int, Any], ok: bool, reason: str
) -> None:
    gateway = load_gateway(
        "trigger-dev-runs", base_uris={"management-runs": upstream.url}, environ={"TRIGGER_DEV_API_KEY": TEST_KEY}
    )
    await gateway.open()
    try:
        for _ in range(4):  # the resilience layer may retry a 503
            upstream.reply(*reply)
        checks, age = await Readiness(gateway.operations, ["management-runs"], cache_seconds=0).checks()
    finally:
        await gateway.close()
    assert [(check.ok, check.status, check.reason) for check in checks] == [(ok, reply[0], reason)]
    assert upstream.requests[0].path == "/api/v1/runs"


async def test_readiness_reports_an_unreachable_upstream() -> None:
    with recording_upstream() as upstream:
        url = upstream.url
    gateway = load_gateway(
        "trigger-dev-runs", base_uris={"management-runs": url}, environ={"TRIGGER_DEV_API_KEY": TEST_KEY}
    )
    await gateway.open()
    try:
        checks, _ = await Readiness(gateway.operations, ["management-runs"], cache_seconds=0, timeout=2).checks()
    finally:
        await gateway.close()
    assert not checks[0].ok and checks[0].status is None and checks[0].reason


async def test_metrics_count_calls_by_adapter_target_and_status_after_real_traffic(stack: Stack) -> None:
    before = await metrics(stack)
    stack.upstream.reply(200, RUNS)
    await get(f"{stack.gateway.rest}/v1/api/v1/runs?page[size]=5")
    await get(f"{stack.gateway.rest}/v1/api/v1/runs?page[size]=500")  # invalid: never reaches the upstream
    stack.upstream.reply(404, {"error": "Run not found"})
    await get(f"{stack.gateway.rest}/v1/api/v3/runs/run_missing")
    stack.upstream.reply(200, RUNS)
    async with Client(stack.gateway.mcp) as client:
        result = await client.call_tool("list-runs", {"page.size": 1})
    assert not result.is_error
    after = await metrics(stack)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("capgate_requests_total", adapter="rest", target="GET /v1/api/v1/runs", status="200") == 1
    assert grew("capgate_requests_total", adapter="rest", target="GET /v1/api/v1/runs", status="400") == 1
    assert grew("capgate_requests_total", adapter="rest", target="GET /v1/api/v3/runs/{runid}", status="404") == 1
    assert grew("capgate_requests_total", adapter="mcp", target="list-runs", status="200") == 1
    assert grew("capgate_upstream_request_duration_seconds_count", operation="management-runs.listruns") == 2
    assert grew("capgate_upstream_request_duration_seconds_count", operation="management-runs.getrunbyid") == 1
    assert after[("capgate_requests_in_flight", (("adapter", "rest"),))] == 0
    assert after[("capgate_info", (("version", "0.1.0"),))] == 1
    families = {name for name, _ in after}
    assert {"process_cpu_seconds_total", "python_gc_objects_collected_total"} <= families
    body = (await get(f"{stack.gateway.rest}/metrics"))[2].decode()
    for declared in ("capgate_upstream_retries_total", "capgate_circuit_state", "capgate_limiter_wait_seconds"):
        assert f"# TYPE {declared} " in body  # declared for the resilience layer
    assert TEST_KEY not in body


async def test_openapi_json_is_the_cli_description_with_this_servers_url(stack: Stack) -> None:
    status, headers, body = await get(f"{stack.gateway.rest}/openapi.json")
    assert status == 200 and headers["Content-Type"] == "application/json"
    served = orjson.loads(body)
    gateway = describing_gateway("trigger-dev-runs")
    expected = build_openapi(gateway.loaded.document, gateway.rest[0], server_url=stack.gateway.rest)
    assert served == orjson.loads(orjson.dumps(expected))


async def test_docs_page_and_its_assets_are_served_locally_with_a_strict_policy(stack: Stack) -> None:
    status, headers, body = await get(f"{stack.gateway.rest}/docs")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self'")
    assert b'src="docs/docs.js"' in body and b"http" not in body.split(b"<body>")[0]  # nothing from elsewhere
    for asset, kind in (("docs.js", "text/javascript"), ("docs.css", "text/css")):
        status, headers, _ = await get(f"{stack.gateway.rest}/docs/{asset}")
        assert status == 200 and headers["Content-Type"].startswith(kind)


async def test_a_document_route_still_gets_problem_json_for_unknown_paths(stack: Stack) -> None:
    status, headers, body = await get(f"{stack.gateway.rest}/nowhere")
    assert status == 404 and headers["Content-Type"] == "application/problem+json"
    assert orjson.loads(body)["detail"] == "no route matches GET /nowhere"


@pytest.mark.parametrize("path", ["/metrics", "/{anything}", "/docs/{asset}"])
def test_validate_refuses_a_route_on_a_reserved_path(
    path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        bundled_documents()["trigger-dev-runs"].read_text().replace("- path: /v1/api/v1/runs\n", f"- path: {path}\n", 1)
    )
    document = tmp_path / "reserved.yaml"
    document.write_text(text)
    assert main(["validate", str(document)]) == 1
    out = capsys.readouterr().out
    line = 1 + text.splitlines().index(f"    - path: {path}")
    assert f"{document}:{line}: capability.exposes[0].resources[0].path: {path} would take /" in out
    assert "which capgate reserves for" in out


async def test_retries_the_circuit_and_the_limiter_show_in_metrics(stack: Stack) -> None:
    before = await metrics(stack)
    stack.upstream.reply(503, {"error": "busy"}, headers={"retry-after": "0"})
    stack.upstream.reply(200, RUNS)
    status, _, _ = await get(f"{stack.gateway.rest}/v1/api/v1/runs")
    assert status == 200 and len(stack.upstream.requests) == 2  # a list is safe to repeat: tried again once
    after = await metrics(stack)
    retries = ("capgate_upstream_retries_total", (("operation", "management-runs.listruns"), ("reason", "503")))
    assert after.get(retries, 0) - before.get(retries, 0) == 1
    assert after[("capgate_circuit_state", (("namespace", "management-runs"),))] == 0  # closed
    waits = ("capgate_limiter_wait_seconds_count", (("namespace", "management-runs"),))
    assert after[waits] - before.get(waits, 0) == 2  # every attempt takes a token of the budget
