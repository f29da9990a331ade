"""Trigger.dev's nine management documents served from one process: one REST port and one MCP endpoint, each
document's routes and tools reaching the upstream `--base-uri` names for its namespace, with the key bound once
(and sent to that one origin); one request budget per upstream origin and key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from mcp import Client

from capgate.consumes.binds import Secrets
from capgate.consumes.limiter import RateLimit
from capgate.consumes.resilience import ResilienceSettings
from capgate.core.errors import ConfigurationError, DocumentError
from capgate.document.combined import load_documents
from capgate.document.models import ExposesMcp, ExposesRest
from capgate.gateway.assembly import load_gateway
from capgate.gateway.safeguards import Hardening
from capgate.serve.config import ServeConfig
from tests.support.gateway import RUN, TEST_KEY, Running, running_gateway
from tests.support.http import rest_call
from tests.support.management import NAMESPACES, NINE, NINE_TOOLS, one_prompt, one_route, pointed_at
from tests.support.upstream import RecordingUpstream, recording_upstream

pytestmark = pytest.mark.anyio

ENV = {"TRIGGER_DEV_API_KEY": TEST_KEY}


@dataclass(frozen=True)
class Call:
    """One tool of a document, the REST route beside it, and what either sends upstream."""

    tool: str
    arguments: dict[str, Any]
    route: str  # method and path on the REST port, query included
    body: Any  # the REST body (the tool's arguments are the same values)
    upstream: str  # method and path (and query) the upstream receives


CALLS = [
    Call("cancel-run", {"runId": RUN}, f"POST /v1/api/v2/runs/{RUN}/cancel", None, f"POST /api/v2/runs/{RUN}/cancel"),
    Call(
        "retrieve-batch", {"batchId": "batch_1"}, "GET /v1/api/v1/batches/batch_1", None, "GET /api/v1/batches/batch_1"
    ),
    Call(
        "promote-deployment",
        {"deploymentId": "deployment_1"},
        "POST /v1/api/v1/deployments/deployment_1/promote",
        None,
        "POST /api/v1/deployments/deployment_1/promote",
    ),
    Call(
        "retrieve-env-var",
        {"projectRef": "proj_1", "env": "prod", "name": "API_URL"},
        "GET /v1/api/v1/projects/proj_1/envvars/prod/API_URL",
        None,
        "GET /api/v1/projects/proj_1/envvars/prod/API_URL",
    ),
    Call(
        "execute-query",
        {"query": "SELECT count() FROM runs", "scope": "project"},
        "POST /v1/api/v1/query",
        {"query": "SELECT count() FROM runs", "scope": "project"},
        "POST /api/v1/query",
    ),
    Call(
        "pause-queue",
        {"queue": "emails"},
        "POST /v1/api/v1/queues/emails/pause",
        None,
        "POST /api/v1/queues/emails/pause",
    ),
    Call("list-schedules", {"page": 2}, "GET /v1/api/v1/schedules?page=2", None, "GET /api/v1/schedules?page=2"),
    Call(
        "batch-trigger-tasks",
        {"items": [{"task": "hello-world"}]},
        "POST /v1/api/v1/tasks/batch",
        {"items": [{"task": "hello-world"}]},
        "POST /api/v1/tasks/batch",
    ),
    Call(
        "complete-waitpoint-token",
        {"waitpointId": "waitpoint_1", "data": {"approved": True}},
        "POST /v1/api/v1/waitpoints/tokens/waitpoint_1/complete",
        {"data": {"approved": True}},
        "POST /api/v1/waitpoints/tokens/waitpoint_1/complete",
    ),
]


@dataclass
class Nine:
    upstream: RecordingUpstream  # every namespace's: the key they share goes to one origin only
    gateway: Running


def nine_config(upstream: RecordingUpstream, **overrides: Any) -> ServeConfig:
    settings: dict[str, Any] = {
        "documents": NINE,
        "rest_port": 0,
        "mcp_port": 0,
        "base_uris": pointed_at(upstream.url),
        "environ": ENV,
        "hardening": Hardening(audit_log=None),
    }
    return ServeConfig(**(settings | overrides))


@pytest.fixture(scope="module")
def nine() -> Iterator[Nine]:
    with recording_upstream() as upstream, running_gateway(nine_config(upstream)) as gateway:
        yield Nine(upstream, gateway)


@pytest.fixture
def fresh(nine: Nine) -> Nine:
    nine.upstream.requests.clear()
    nine.upstream.replies.clear()
    nine.upstream.reply(200, {"id": RUN})  # an answer for each document: cancel-run's result maps the run's id
    return nine


def every_tool() -> list[str]:
    document = load_documents(NINE).document
    return [tool.name for a in document.capability.exposes if isinstance(a, ExposesMcp) for tool in a.tools]


def every_route() -> set[tuple[str, str]]:
    document = load_documents(NINE).document
    return {
        (resource.path, operation.method)
        for a in document.capability.exposes
        if isinstance(a, ExposesRest)
        for resource in a.resources
        for operation in resource.operations
    }


async def test_one_rest_port_and_one_mcp_endpoint_serve_all_nine(nine: Nine) -> None:
    ready = [line for line in nine.gateway.lines if "ready on" in line]
    assert len(ready) == 2
    assert ready[0].endswith(f"(management-runs-rest and 8 more, {len(every_route())} routes)")
    assert ready[1].endswith(f"(management-runs-mcp and 8 more, {NINE_TOOLS} tools)")
    async with Client(nine.gateway.mcp) as client:
        assert sorted(tool.name for tool in (await client.list_tools()).tools) == sorted(every_tool())
        assert client.server_info is not None and client.server_info.name == "management-runs-mcp"  # the first's
        assert (client.instructions or "").startswith("Inspect and manage Trigger.dev runs.")
        assert [resource.name for resource in (await client.list_resource_templates()).resource_templates] == ["run"]
    status, _, body = await rest_call(nine.gateway.rest, "GET", "/openapi.json")
    description = orjson.loads(body)
    assert status == 200 and description["info"]["title"] == "Trigger.dev Management API — Runs"
    tags = [tag["name"] for tag in description["tags"]]
    assert tags == [f"{namespace}-rest" for namespace in NAMESPACES] + ["gateway"]
    assert "/v1/api/v1/waitpoints/tokens/{waitpointId}/complete" in description["paths"]
    ids = [operation["operationId"] for path in description["paths"].values() for operation in path.values()]
    assert len(ids) == len(set(ids))
    status, _, body = await rest_call(nine.gateway.rest, "GET", "/readyz")
    assert status == 200 and [check["namespace"] for check in orjson.loads(body)["checks"]] == NAMESPACES


@pytest.mark.parametrize("call", CALLS, ids=[call.tool for call in CALLS])
async def test_each_documents_route_reaches_its_namespaces_upstream(fresh: Nine, call: Call) -> None:
    method, _, target = call.route.partition(" ")
    path, _, query = target.partition("?")
    status, _, _ = await rest_call(fresh.gateway.rest, method, path, query, body=call.body)
    assert status == 200
    received = fresh.upstream.last
    assert f"{received.method} {received.path}" + (f"?{received.query}" if received.query else "") == call.upstream
    assert received.headers["authorization"] == f"Bearer {TEST_KEY}"
    if call.body is not None:
        assert received.json() == call.body


@pytest.mark.parametrize("call", CALLS, ids=[call.tool for call in CALLS])
async def test_each_documents_tool_reaches_its_namespaces_upstream(fresh: Nine, call: Call) -> None:
    async with Client(fresh.gateway.mcp) as client:
        result = await client.call_tool(call.tool, call.arguments)
    assert not result.is_error, result
    received = fresh.upstream.last
    assert f"{received.method} {received.path}" + (f"?{received.query}" if received.query else "") == call.upstream
    assert received.headers["authorization"] == f"Bearer {TEST_KEY}"
    if call.body is not None:
        assert received.json() == call.body


async def test_name_names_the_mcp_server() -> None:
    with recording_upstream() as upstream, running_gateway(nine_config(upstream, mcp_name="trigger-dev")) as gateway:
        async with Client(gateway.mcp) as client:
            assert client.server_info is not None and client.server_info.name == "trigger-dev"
            assert (client.instructions or "").startswith("Inspect and manage Trigger.dev runs.")
            assert len((await client.list_tools()).tools) == NINE_TOOLS


async def test_the_prompts_of_every_document_are_served_on_the_one_endpoint(tmp_path: Path) -> None:
    documents = []
    for name in ("first", "second"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(one_route(name, tool=name, route=f"/{name}", mcp_extra=one_prompt(f"{name}-look", name)))
        documents.append(str(path))
    with recording_upstream() as upstream:
        config = nine_config(upstream, documents=tuple(documents), base_uris={})
        with running_gateway(config) as gateway:
            async with Client(gateway.mcp) as client:
                listed = [prompt.name for prompt in (await client.list_prompts()).prompts]
                assert listed == ["first-look", "second-look"]
                second = await client.get_prompt("second-look")
                assert [message.content.text for message in second.messages] == ["second"]  # type: ignore[union-attr]


async def test_one_origin_and_key_spend_one_budget(upstream: RecordingUpstream, tmp_path: Path) -> None:
    # The runs document declares Trigger.dev's budget; the other documents, calling the same origin with the
    # same key, spend that same budget (waitpoints declares it too, alike).
    gateway = load_gateway(*NINE, base_uris=pointed_at(upstream.url), environ=ENV)
    assert {client.rate_limit for client in gateway.clients.values()} == {RateLimit(750, 250, 10)}
    runs = gateway.operations["management-runs.cancelrun"]
    deployments = gateway.operations["management-deployments.listdeployments"]
    assert runs.build_request({"runId": RUN}).budget == deployments.build_request({}).budget
    own_key = Secrets({"TRIGGER_DEV_API_KEY": "tr_dev_ownOWNown000000000000001"})  # a caller's own (--caller-binds)
    assert deployments.build_request({}, own_key).budget != deployments.build_request({}).budget
    # Another API (another origin, its own key) has a budget of its own: none, as it declares none.
    other = tmp_path / "other.yaml"
    other.write_text(one_route(variable="OTHER_KEY", key="OTHER_KEY"))
    with recording_upstream() as elsewhere:
        base_uris = pointed_at(upstream.url) | {"extra": elsewhere.url}
        environ = ENV | {"OTHER_KEY": "other-key-0123456789abcdef"}
        assert load_gateway(*NINE, str(other), base_uris=base_uris, environ=environ).clients["extra"].rate_limit is None
        # With a budget for every namespace (--rate-limit), spending the runs' spends the deployments' too.
        tight = RateLimit(2, 1, 3600, wait=0)
        flagged = ResilienceSettings(rate_limit=tight)
        shared = load_gateway(*NINE, str(other), base_uris=base_uris, environ=environ, resilience=flagged)
        await shared.open()
        try:
            for _ in range(2):
                assert (await shared.operations["management-runs.cancelrun"].call({"runId": RUN})).status == 200
            limiter = shared.clients["management-runs"].limiter
            listed = shared.operations["management-deployments.listdeployments"].build_request({})
            read = shared.operations["extra.readthing"].build_request({})
            assert await limiter.take(listed.budget, tight) > 0  # nothing left: the runs' calls spent it
            assert await limiter.take(read.budget, tight) == 0  # another origin and key: a bucket of its own
        finally:
            await shared.close()


def test_a_callers_own_key_serves_it_in_every_document(tmp_path: Path) -> None:
    own = "tr_dev_teamKEYteamKEYteam000001"
    binds = tmp_path / "binds.yaml"
    binds.write_text(f"callers:\n  token:ci-bot: {{TRIGGER_DEV_API_KEY: {own}}}\n")
    gateway = load_gateway(*NINE, environ=ENV, caller_binds=str(binds))
    secrets = gateway.callers.secrets_for(("token:ci-bot",))
    for name, arguments in [
        ("management-runs.cancelrun", {"runId": RUN}),
        ("management-queues.pausequeue", {"queue": "emails"}),
        ("management-envvars.listenvvars", {"projectRef": "proj_1", "env": "prod"}),
    ]:
        request = gateway.operations[name].build_request(arguments, secrets)
        assert request.headers["authorization"] == f"Bearer {own}", name
    binds.write_text("callers:\n  token:ci-bot: {NOTES_API_TOKEN: x}\n")  # no document binds it
    with pytest.raises(ConfigurationError, match="NOTES_API_TOKEN"):
        load_gateway(*NINE, environ=ENV, caller_binds=str(binds))


def test_serving_refuses_a_secret_two_documents_send_to_two_origins(upstream: RecordingUpstream) -> None:
    with pytest.raises(DocumentError, match="TRIGGER_DEV_API_KEY is a secret sent to http://127.0.0.1:"):
        load_gateway(*NINE, base_uris={"management-runs": upstream.url}, environ=ENV)  # the others: api.trigger.dev
