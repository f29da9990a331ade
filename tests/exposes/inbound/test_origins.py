"""The guard's Host/Origin rule is the MCP SDK's own — the same lists give the same answers — except that values
are parsed before they are compared, so that what the SDK's prefix match lets through is refused on both ports.
"""

from __future__ import annotations

import httpx2
import pytest
from mcp.server.transport_security import TransportSecurityMiddleware
from starlette.requests import Request

from capgate.core.errors import ConfigurationError
from capgate.exposes.inbound.origins import Origins
from capgate.exposes.mcp.server import transport_security
from tests.support.gateway import Running, gateway_config, running_gateway
from tests.support.upstream import recording_upstream

HOSTS = [
    "127.0.0.1:8080",
    "127.0.0.1",
    "localhost:9",
    "[::1]:8080",
    "127.0.0.10:80",
    "127.0.0.1.evil.com",
    "gateway.internal:443",
    "gateway.internal",
    "evil.example",
    "",
    "10.0.0.5:8080",
    "LOCALHOST:8080",
]
# What `NAME:*` matches in the SDK, a prefix: each is NAME followed by something that is not a port.
PREFIXED_HOSTS = [
    "127.0.0.1:evil.example",
    "localhost:8080@evil.example",
    "[::1]:80/x",
    "127.0.0.1:",
    "localhost:99999",
]
PREFIXED_ORIGINS = ["http://127.0.0.1:evil.example", "http://localhost:3000.evil.example", "http://127.0.0.1:80/path"]
ORIGINS = [
    "",
    "http://127.0.0.1:3000",
    "http://localhost:5173",
    "https://127.0.0.1:3000",
    "http://127.0.0.1",
    "https://app.example.com",
    "https://app.example.com:8443",
    "http://evil.example",
    "null",
]


@pytest.mark.anyio
@pytest.mark.parametrize("bound", ["127.0.0.1", "0.0.0.0", "10.0.0.5", "::1"])
async def test_same_answers_as_the_sdk(bound: str) -> None:
    allowed_hosts, allowed_origins = ["gateway.internal:443"], ["https://app.example.com"]
    ours = Origins.allowed(bound, allowed_hosts, allowed_origins)
    sdk = TransportSecurityMiddleware(transport_security(bound, allowed_hosts, allowed_origins))
    for host in HOSTS:
        for origin in ORIGINS:
            headers = [(b"host", host.encode())] * bool(host) + [(b"origin", origin.encode())] * bool(origin)
            refusal = await sdk.validate_request(Request({"type": "http", "method": "GET", "headers": headers}))
            expected = None if refusal is None else refusal.status_code
            answered = 421 if not ours.host_ok(host) else 403 if not ours.origin_ok(origin) else None
            assert answered == expected, (bound, host, origin)


def test_the_bound_host_is_allowed_and_loopback_always() -> None:
    origins = Origins.allowed("10.0.0.5")
    assert origins.host_ok("10.0.0.5:8080") and origins.host_ok("localhost:1")
    assert not origins.host_ok("10.0.0.6:8080")
    assert not Origins.allowed("0.0.0.0").host_ok("0.0.0.0:8080")  # a wildcard bind is not a name to answer to


@pytest.mark.anyio
async def test_what_the_sdks_prefix_match_lets_through_is_refused() -> None:
    ours = Origins.allowed("127.0.0.1")
    sdk = TransportSecurityMiddleware(transport_security("127.0.0.1"))
    for host in PREFIXED_HOSTS:
        assert not ours.host_ok(host), host
    for origin in PREFIXED_ORIGINS:
        assert not ours.origin_ok(origin), origin
    # ...and the SDK alone would have let them in (capgate checks first on the MCP port too):
    passed = await sdk.validate_request(
        Request({"type": "http", "method": "GET", "headers": [(b"host", b"127.0.0.1:evil.example")]})
    )
    assert passed is None


@pytest.mark.anyio
@pytest.mark.parametrize("adapter", ["rest", "mcp"])
async def test_both_ports_refuse_a_host_or_origin_that_only_starts_like_an_allowed_one(adapter: str) -> None:
    with recording_upstream() as upstream, running_gateway(gateway_config("trigger-dev-runs", upstream.url)) as gateway:
        url, body = _probe(gateway, adapter)
        headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        async with httpx2.AsyncClient() as client:
            host = await client.post(url, content=body, headers={**headers, "host": "127.0.0.1:evil.example"})
            origin = await client.post(
                url, content=body, headers={**headers, "origin": "http://127.0.0.1:evil.example"}
            )
            fine = await client.post(url, content=body, headers={**headers, "origin": "http://127.0.0.1:3000"})
    assert host.status_code == 421 and "--allow-host" in host.json()["detail"]
    assert origin.status_code == 403 and "--allow-origin" in origin.json()["detail"]
    assert fine.status_code == 200
    assert len(upstream.requests) == (1 if adapter == "rest" else 0)


def test_an_allowed_host_or_origin_that_is_not_one_stops_start_up() -> None:
    with pytest.raises(ConfigurationError, match="--allow-host HOST, HOST:PORT or HOST:\\*"):
        Origins.allowed("127.0.0.1", ["gateway.internal/path"])
    with pytest.raises(ConfigurationError, match="'app.example.com'"):
        Origins.allowed("127.0.0.1", [], ["app.example.com"])


def _probe(gateway: Running, adapter: str) -> tuple[str, bytes]:
    """A request each port answers 200: a tags call (REST), a tools/list (MCP)."""
    if adapter == "rest":
        return gateway.rest + "/v1/api/v1/runs/run_cm1abc0def0ghi0jkl0mno0pq/tags", b'{"tags": ["a"]}'
    return gateway.mcp, b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
