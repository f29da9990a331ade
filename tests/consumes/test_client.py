"""The upstream client's resolver refuses names that DNS points at a link-local or cloud-metadata address."""

from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from capgate.consumes.client import GuardedResolver

pytestmark = pytest.mark.anyio


class Zone(AbstractResolver):
    """DNS as a test needs it: each name resolves to the addresses given (a stand-in for a hostile zone)."""

    def __init__(self, **names: list[str]) -> None:
        self.names = names

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {"hostname": host, "host": address, "port": port, "family": family, "proto": 0, "flags": 0}
            for address in self.names[host.replace(".", "_")]
        ]

    async def close(self) -> None:
        pass


async def test_a_name_that_resolves_to_the_metadata_service_is_refused_unless_allowed() -> None:
    zone = Zone(api_example=["203.0.113.7"], rebound_example=["169.254.169.254"], mixed_example=["fe80::1", "::1"])
    resolver = GuardedResolver(frozenset(), zone)
    assert [r["host"] for r in await resolver.resolve("api.example", 443)] == ["203.0.113.7"]
    assert [r["host"] for r in await resolver.resolve("mixed.example", 443)] == ["::1"]  # the link-local one dropped
    with pytest.raises(OSError) as refused:
        await resolver.resolve("rebound.example", 443)
    assert refused.value.strerror == (
        "rebound.example resolves to 169.254.169.254, a cloud metadata service; pass --allow-private-upstream "
        "rebound.example if this upstream is really meant"
    )
    for allowed in ("rebound.example", "169.254.169.254"):
        permitted = GuardedResolver(frozenset({allowed}), zone)
        assert [r["host"] for r in await permitted.resolve("rebound.example", 443)] == ["169.254.169.254"]
