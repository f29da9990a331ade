"""`--caller-binds-required`: a caller without upstream values of its own is refused (403) on both adapters,
before anything reaches the upstream; capgate's own routes stay open to it; a caller with values acts with
them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx2
import orjson
import pytest

from capgate.gateway.safeguards import Hardening
from tests.support.gateway import RUN, TEST_KEY, Running, gateway_config, running_gateway
from tests.support.http import rest_call
from tests.support.upstream import RecordingUpstream, recording_upstream

pytestmark = pytest.mark.anyio

OPS = "ops-token-0123456789abcdef"
GUEST = "guest-token-0123456789abcdef"
OPS_KEY = "tr_dev_opsKEYopsKEYopsKEY000001"


@dataclass
class Guarded:
    upstream: RecordingUpstream
    gateway: Running


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guarded]:
    binds = tmp_path_factory.mktemp("binds") / "binds.json"
    binds.write_text(orjson.dumps({"callers": {"token:ops": {"TRIGGER_DEV_API_KEY": OPS_KEY}}}).decode())
    environ = {"TRIGGER_DEV_API_KEY": TEST_KEY, "CAPGATE_TOKENS": f"ops:write:{OPS}, guest:write:{GUEST}"}
    hardening = Hardening(audit_log=None, caller_binds=str(binds), caller_binds_required=True)
    with (
        recording_upstream() as upstream,
        running_gateway(gateway_config("trigger-dev-runs", upstream.url, environ=environ, hardening=hardening)) as gw,
    ):
        yield Guarded(upstream, gw)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_a_caller_without_its_own_key_is_refused_on_both_adapters(guarded: Guarded) -> None:
    guarded.upstream.requests.clear()
    status, _, body = await rest_call(guarded.gateway.rest, "GET", f"/v1/api/v3/runs/{RUN}", headers=bearer(GUEST))
    assert status == 403
    assert "caller 'guest' has no upstream credentials of its own" in orjson.loads(body)["detail"]
    assert "token:guest" in orjson.loads(body)["detail"]
    async with httpx2.AsyncClient(timeout=10) as client:
        response = await client.post(
            guarded.gateway.mcp,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"accept": "application/json, text/event-stream", **bearer(GUEST)},
        )
    assert response.status_code == 403
    assert guarded.upstream.requests == []


async def test_capgate_s_own_routes_stay_open_to_it(guarded: Guarded) -> None:
    status, _, _ = await rest_call(guarded.gateway.rest, "GET", "/metrics", headers=bearer(GUEST))
    assert status == 200


async def test_a_caller_with_its_own_key_acts_with_it(guarded: Guarded) -> None:
    guarded.upstream.requests.clear()
    status, _, _ = await rest_call(guarded.gateway.rest, "GET", f"/v1/api/v3/runs/{RUN}", headers=bearer(OPS))
    assert status == 200
    assert guarded.upstream.last.headers["authorization"] == f"Bearer {OPS_KEY}"
