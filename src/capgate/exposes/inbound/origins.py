"""Which Host and Origin values a gateway answers: the same lists for the REST guard and the MCP SDK.

A web page must not drive a gateway on this machine (DNS rebinding, cross-site POSTs to cancel or replay),
so a request is answered only when its Host names this gateway and its Origin, if any, is allowed. The MCP
SDK checks its own copy of these lists (`capgate.exposes.mcp.server.transport_security`); the REST guard checks
them here, with the SDK's rule — an exact match, or `NAME:*` for NAME with any port — so that the REST
path does not import the SDK (half a second of start-up).
"""

from __future__ import annotations

from dataclasses import dataclass

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class Origins:
    hosts: tuple[str, ...]
    origins: tuple[str, ...]

    @classmethod
    def allowed(
        cls, host: str, allowed_hosts: list[str] | None = None, allowed_origins: list[str] | None = None
    ) -> Origins:
        """Loopback, the bound host, and what the operator allowed; with or without a port."""
        names = [*LOOPBACK_HOSTS, *([] if host in ("0.0.0.0", "::") else [_bracketed(host)])]
        return cls(
            hosts=(*[f"{name}:*" for name in names], *names, *(allowed_hosts or [])),
            origins=(*[f"http://{name}:*" for name in names], *(allowed_origins or [])),
        )

    def host_ok(self, host: str) -> bool:
        return bool(host) and _matches(host, self.hosts)

    def origin_ok(self, origin: str) -> bool:
        return not origin or _matches(origin, self.origins)  # browsers send no Origin on same-origin GETs


def _matches(value: str, patterns: tuple[str, ...]) -> bool:
    return any(value == pattern or (pattern.endswith(":*") and value.startswith(pattern[:-1])) for pattern in patterns)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
