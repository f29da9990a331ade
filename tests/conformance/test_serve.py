"""Every document of the suite that its engine serves, assembled by capgate into the adapters it declares; and
the control and skill adapters served as the engine's ControlIntegrationTest and SkillIntegrationTest expect."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from capgate.core.errors import ConfigurationError
from capgate.document.load import load_document
from capgate.document.models import ExposesControl, ExposesMcp, ExposesRest
from capgate.gateway.assembly import describing_gateway
from tests.conformance import ikanos_suite
from tests.conformance.serving import RoutedUpstream, routed_upstream, serving
from tests.conformance.suite import DOCUMENTS, TESTS2, Entry, path
from tests.support.http import rest_call

pytestmark = pytest.mark.anyio
SERVED = [(path(entry.path), entry) for entry in DOCUMENTS if entry.refused is None and entry.gap is None]
SERVED += [(ikanos_suite.path(e.path), e) for e in ikanos_suite.DOCUMENTS if e.refused is None and e.gap is None]
# These bind files that are not there outside their authors' setup: serving them fails as their engine's does.
# The alpha1 examples bind `file:///path/to/notion_env.json`, a placeholder; the Ikanos end-to-end document
# binds `file:///app/shared/secrets.yaml`, a path inside its test container.
ABSENT_BIND_FILE = {
    **{
        f"v1.0.0-alpha1/src/main/resources/schemas/examples/{name}.yml": "/path/to/notion_env.json"
        for name in ("cir", "notion")
    },
    **{
        f"{version}/.github/e2e/resources/features/exposed-oauth2/capability.yml": "/app/shared/secrets.yaml"
        for version in ("v1.0.0-beta4", "v1.0.0-beta5")
    },
}


@pytest.mark.parametrize(("document", "entry"), SERVED, ids=[str(document) for document, _ in SERVED])
def test_each_served_document_assembles_every_adapter(
    document: Path, entry: Entry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(document.parent)  # relative bind files are read from the working directory
    spec = load_document(str(document)).document
    base_uris = {consumes.namespace: "http://127.0.0.1:9" for consumes in spec.capability.consumes}
    if entry.path in ABSENT_BIND_FILE:
        with pytest.raises(ConfigurationError, match=f"cannot read {ABSENT_BIND_FILE[entry.path]}"):
            describing_gateway(str(document), base_uris=base_uris)
        return
    gateway = describing_gateway(str(document), base_uris=base_uris)
    exposes = spec.capability.exposes
    assert len(gateway.rest) == sum(isinstance(adapter, ExposesRest) for adapter in exposes)
    tools = [len(adapter.tools) for adapter in exposes if isinstance(adapter, ExposesMcp)]
    assert [len(adapter.targets) for adapter in gateway.mcp] == tools


@pytest.fixture
def upstream() -> Iterator[RoutedUpstream]:
    with routed_upstream() as upstream:
        yield upstream


async def test_the_control_port_answers_health_and_status(upstream: RoutedUpstream) -> None:
    """ControlIntegrationTest: /health/live, /health/ready and (management.info) /status."""
    document = str(path(f"{TESTS2}/control/control-capability.yaml"))
    with serving(document, upstream.url) as served:
        base = served.urls["control"]
        live = await rest_call(base, "GET", "/health/live")
        ready = await rest_call(base, "GET", "/health/ready")
        status = await rest_call(base, "GET", "/status")
        metrics = await rest_call(base, "GET", "/metrics")
    assert (live[0], orjson.loads(live[2])) == (200, {"status": "UP"})
    assert (ready[0], orjson.loads(ready[2])) == (200, {"status": "UP", "adapters": []})
    described = orjson.loads(status[2])
    assert described["capability"] == {"label": "Control Port Test Capability", "dialect": "naftiko 1.0.0-alpha2"}
    assert described["engine"]["name"] == "capgate" and described["uptime"].startswith("PT")
    assert metrics[0] == 200 and b"capgate_" in metrics[2]


async def test_observability_disabled_removes_metrics_and_traces(upstream: RoutedUpstream) -> None:
    document = str(path(f"{TESTS2}/control/control-observability-disabled.yaml"))
    with serving(document, upstream.url) as served:
        base = served.urls["control"]
        metrics = await rest_call(base, "GET", "/metrics")
        traces = await rest_call(base, "GET", "/traces")
        live = await rest_call(base, "GET", "/health/live")
    assert (metrics[0], traces[0], live[0]) == (404, 404, 200)


async def test_ready_says_degraded_until_every_adapter_serves() -> None:
    from starlette.testclient import TestClient

    from capgate.exposes.control.app import build_control_app

    spec = load_document(str(path(f"{TESTS2}/skill-capability.yaml"))).document
    control = ExposesControl(type="control", port=1)
    started: set[str] = {"orders-rest"}
    client = TestClient(build_control_app(spec, control, lambda: started))
    degraded = client.get("/health/ready")
    started.add("orders-skills")
    assert (degraded.status_code, degraded.json()["status"]) == (503, "DEGRADED")
    assert client.get("/health/ready").json()["status"] == "UP"


SKILL_ROOT = Path("/tmp/naftiko-test-skills/order-management")  # where skill-capability.yaml's skill lives


@pytest.fixture
def skill_files() -> Iterator[Path]:
    shutil.rmtree(SKILL_ROOT.parent, ignore_errors=True)
    (SKILL_ROOT / "examples").mkdir(parents=True)
    (SKILL_ROOT / "order-guide.md").write_text("# Orders\nList them first.\n")
    (SKILL_ROOT / "examples" / "usage.md").write_text("list-orders\n")
    yield SKILL_ROOT
    shutil.rmtree(SKILL_ROOT.parent, ignore_errors=True)


async def test_the_skill_catalogue(upstream: RoutedUpstream, skill_files: Path) -> None:
    """SkillIntegrationTest: catalogue, detail with invocationRef and instruction, contents, a file, refusals."""
    document = str(path(f"{TESTS2}/skill-capability.yaml"))
    with serving(document, upstream.url) as served:
        base = served.urls["orders-skills"]
        listed = orjson.loads((await rest_call(base, "GET", "/skills"))[2])
        detail = orjson.loads((await rest_call(base, "GET", "/skills/order-management"))[2])
        contents = orjson.loads((await rest_call(base, "GET", "/skills/order-management/contents"))[2])
        nested = await rest_call(base, "GET", "/skills/order-management/contents/examples/usage.md")
        escape = await rest_call(base, "GET", "/skills/order-management/contents/..%2F..%2Fetc%2Fpasswd")
        no_location = await rest_call(base, "GET", "/skills/onboarding-guide/contents")
        archive = await rest_call(base, "GET", "/skills/order-management/download")
    assert listed == {
        "count": 2,
        "skills": [
            {
                "name": "order-management",
                "description": "Tools for managing orders",
                "tools": ["list-orders", "order-guide"],
            },
            {"name": "onboarding-guide", "description": "A purely descriptive skill with no tools", "tools": []},
        ],
    }
    assert detail["allowed-tools"] == "list-orders" and detail["argument-hint"] == "Use for order operations"
    assert detail["tools"] == [
        {
            "name": "list-orders",
            "description": "List all orders in the system",
            "type": "derived",
            "invocationRef": {"targetNamespace": "orders-rest", "action": "list-orders", "mode": "rest"},
        },
        {
            "name": "order-guide",
            "description": "Guide for working with orders",
            "type": "instruction",
            "instruction": "order-guide.md",
        },
    ]
    assert [entry["path"] for entry in contents["files"]] == ["examples/usage.md", "order-guide.md"]
    assert (nested[0], nested[2], nested[1]["content-type"].startswith("text/markdown")) == (
        200,
        b"list-orders\n",
        True,
    )
    assert escape[0] == 400
    assert no_location[0] == 404
    assert archive[0] == 200 and archive[2][:2] == b"PK"
