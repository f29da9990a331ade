"""What `capgate serve` puts around a gateway: the request budget, the audit log, inbound tokens, the guards.

`Safeguards.start` does what can fail before any socket is bound (Redis answers, the audit log is writable,
the tokens are valid, a non-loopback bind is not left open); the server then wraps each adapter's app with
`guard_rest` / `guard_mcp` and closes everything with `close` after the last request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp

from capgate.consumes.limiter import Limiter, LocalLimiter
from capgate.consumes.resilience import DEFAULT_RESILIENCE, ResilienceSettings
from capgate.core.bounds import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_TARGET_BYTES, DEFAULT_SHUTDOWN_GRACE
from capgate.core.errors import ConfigurationError
from capgate.exposes.inbound.guard import Guard, GuardSettings
from capgate.exposes.inbound.origins import Origins
from capgate.exposes.inbound.tokens import Tokens, is_loopback, load_tokens
from capgate.gateway.assembly import Gateway
from capgate.observe.audit import AuditLog, default_audit_path
from capgate.observe.records import Observers

if TYPE_CHECKING:  # the MCP SDK is imported only when an MCP adapter is built (start-up time)
    from capgate.exposes.mcp.server import McpAdapter


@dataclass(frozen=True)
class Hardening:
    """The protective settings of `capgate serve`; docs/hardening.md lists each with its flag and default."""

    resilience: ResilienceSettings = DEFAULT_RESILIENCE
    tokens_file: str | None = None
    allow_unauthenticated: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_target_bytes: int = DEFAULT_MAX_TARGET_BYTES
    audit_log: Path | None = field(default_factory=default_audit_path)  # None: no audit log
    shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE


class Safeguards:
    """The process-wide parts that outlive a reload of the document: limiter, observers, audit log, tokens."""

    def __init__(self, hardening: Hardening, limiter: Limiter, audit: AuditLog | None) -> None:
        self.hardening = hardening
        self.limiter = limiter
        self.audit = audit
        self.observers = Observers()
        self.tokens = Tokens()
        if audit is not None:
            self.observers.add(audit.observe)

    @classmethod
    async def start(cls, hardening: Hardening) -> Safeguards:
        """Connect the limiter and open the audit log; ConfigurationError if either cannot be used."""
        limiter: Limiter = LocalLimiter()
        if hardening.resilience.redis_url:
            from capgate.consumes.redis_limiter import RedisLimiter

            redis = RedisLimiter(hardening.resilience.redis_url)
            await redis.connect()
            limiter = redis
        audit = AuditLog(hardening.audit_log) if hardening.audit_log is not None else None
        if audit is not None:
            audit.open()
        return cls(hardening, limiter, audit)

    def admit(self, gateway: Gateway, *, host: str, environ: Mapping[str, str] | None, serves_http: bool) -> None:
        """Load the inbound tokens and check they fit the bind address; watch the gateway's operations."""
        environ = os.environ if environ is None else environ
        tokens = load_tokens(environ, self.hardening.tokens_file, gateway.secrets.values())
        if serves_http and not tokens and not is_loopback(host) and not self.hardening.allow_unauthenticated:
            raise ConfigurationError(
                f"--host {host} would let anyone who can reach this machine use the upstream's key, and no inbound "
                "token is configured. Set CAPGATE_TOKENS (id:scope:token, ...) or --tokens-file, or pass "
                "--allow-unauthenticated if something in front of capgate already authenticates callers")
        self.tokens = tokens  # a reload's new tokens apply to the apps built after this
        if self.audit is not None:
            self.audit.watch(gateway.operations)

    def guard_rest(self, app: ASGIApp, *, host: str, allowed_hosts: list[str], allowed_origins: list[str]
                   ) -> ASGIApp:
        return Guard(app, "rest", self._settings(), origins=Origins.allowed(host, allowed_hosts, allowed_origins))

    def guard_mcp(self, app: ASGIApp, adapter: McpAdapter) -> ASGIApp:
        return Guard(app, "mcp", self._settings(), write_tools=adapter.write_tools)

    async def close(self) -> None:
        if self.audit is not None:
            await self.audit.close()
        await self.limiter.close()

    def _settings(self) -> GuardSettings:
        return GuardSettings(self.tokens, max_body=self.hardening.max_body_bytes,
                             max_target=self.hardening.max_target_bytes)

    def load_options(self) -> dict[str, Any]:
        """Keyword arguments for `load_gateway`, so every load of the document shares these parts."""
        return {"resilience": self.hardening.resilience, "limiter": self.limiter, "observers": self.observers}
