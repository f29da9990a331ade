"""The REST guard's Host/Origin rule is the MCP SDK's own: the same lists give the same answers on both ports."""

from __future__ import annotations

import pytest
from mcp.server.transport_security import TransportSecurityMiddleware
from starlette.requests import Request

from capgate.exposes.inbound.origins import Origins
from capgate.exposes.mcp.server import transport_security

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
