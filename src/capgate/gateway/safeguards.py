"""What `capgate serve` puts around a gateway: the request budget, the audit log, inbound tokens, the OAuth
resource server, each caller's own upstream values, the guards.

`Safeguards.start` and `load` do what can fail before any socket is bound (Redis answers, the audit log is
writable, the OAuth issuer is found, the tokens and caller binds are valid, a non-loopback bind is not left
open); `capgate.gateway.apps` then wraps each adapter's app with `guard_rest` / `guard_mcp`, and `close`
releases everything after the last request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.types import ASGIApp

from capgate.consumes.caller_binds import CallerBinds
from capgate.consumes.client import ClientSettings
from capgate.consumes.limiter import Limiter, LocalLimiter, RateLimit
from capgate.consumes.resilience import DEFAULT_RESILIENCE, ResilienceSettings
from capgate.core.bounds import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_JSON_DEPTH,
    DEFAULT_MAX_TARGET_BYTES,
    DEFAULT_SHUTDOWN_GRACE,
)
from capgate.core.destinations import is_loopback
from capgate.core.errors import ConfigurationError
from capgate.core.secret_key import SecretKey
from capgate.exposes.inbound.authentication import Authentication
from capgate.exposes.inbound.body import BodyLimits
from capgate.exposes.inbound.callers import CallerLimit
from capgate.exposes.inbound.declared import DeclaredCredential
from capgate.exposes.inbound.guard import Guard, GuardSettings
from capgate.exposes.inbound.oauth import OAuth
from capgate.exposes.inbound.oauth_settings import OAuthSettings
from capgate.exposes.inbound.origins import Origins
from capgate.exposes.inbound.tokens import Tokens, load_tokens
from capgate.exposes.mcp import MCP_PATH, ConfirmPolicy
from capgate.gateway.assembly import Gateway, load_gateway
from capgate.gateway.declared_auth import declared_credentials, refuse_unprotected
from capgate.observe.audit import DEFAULT_MAX_ENTRY, AuditLog, default_audit_path
from capgate.observe.consent import ConsentRecord
from capgate.observe.metrics import record_call
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
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    audit_log: Path | None = field(default_factory=default_audit_path)  # None: no audit log
    audit_max_entry: int = DEFAULT_MAX_ENTRY  # bytes of one line; larger values are cut to their size and digest
    audit_rotate_bytes: int = 0  # rotate the audit log past this size; 0: never (logrotate may, with SIGUSR1)
    audit_keep: int = 0  # rotated audit files kept; 0: all
    shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE
    caller_rate_limit: RateLimit | None = None  # MCP calls per caller; None: no limit
    oauth: OAuthSettings | None = None  # None: static tokens only
    caller_binds: str | None = None  # the --caller-binds file
    caller_binds_required: bool = False
    confirm_destructive: ConfirmPolicy = "allow"  # a destructive MCP call whose client cannot ask its user
    mcp_sessions: bool = True  # 2025-11-25 sessions for clients that can be asked; off when workers share a port
    request_state_key: SecretKey | None = None  # seals MCP request state; None: a key of this process's own


class Safeguards:
    """The process-wide parts that outlive a reload of the document: limiter, observers, audit log, the OAuth
    resource server, tokens, and where the process listens (the Host and Origin values it answers)."""

    def __init__(
        self,
        hardening: Hardening,
        limiter: Limiter,
        audit: AuditLog | None,
        *,
        host: str,
        allowed_hosts: Sequence[str] = (),
        allowed_origins: Sequence[str] = (),
        oauth: OAuth | None = None,
    ) -> None:
        self.hardening = hardening
        self.limiter = limiter
        self.audit = audit
        self.oauth = oauth
        self.host = host
        self.allowed_hosts = list(allowed_hosts)
        self.allowed_origins = list(allowed_origins)
        self.observers = Observers()
        self.observers.add(record_call)
        if audit is not None:
            self.observers.add(audit.finished, sending=audit.sending)
        self.tokens = Tokens()
        self.declared: dict[str, list[DeclaredCredential]] = {}  # by adapter namespace (gateway.declared_auth)
        self.callers = _caller_limit(hardening, limiter)
        self.caller_binds = CallerBinds()  # each caller's own upstream values, loaded with the document
        self.state_key = hardening.request_state_key or SecretKey.generate()

    @classmethod
    async def start(
        cls, hardening: Hardening, *, host: str, allowed_hosts: Sequence[str] = (), allowed_origins: Sequence[str] = ()
    ) -> Safeguards:
        """Find the OAuth issuer, connect the limiter and open the audit log; ConfigurationError if one of them
        cannot be used."""
        oauth = await _start_oauth(hardening.oauth, host) if hardening.oauth is not None else None
        try:
            limiter: Limiter = LocalLimiter()
            if hardening.resilience.redis_url:
                from capgate.consumes.redis_limiter import RedisLimiter

                redis = RedisLimiter(hardening.resilience.redis_url)
                await redis.connect()
                limiter = redis
            audit = None
            if hardening.audit_log is not None:
                audit = AuditLog(
                    hardening.audit_log,
                    max_entry=hardening.audit_max_entry,
                    rotate_bytes=hardening.audit_rotate_bytes,
                    keep=hardening.audit_keep,
                )
                audit.open()
        except BaseException:
            if oauth is not None:
                await oauth.close()
            raise
        return cls(
            hardening,
            limiter,
            audit,
            host=host,
            allowed_hosts=allowed_hosts,
            allowed_origins=allowed_origins,
            oauth=oauth,
        )

    def load(
        self,
        *documents: str,
        base_uris: Mapping[str, str],
        environ: Mapping[str, str] | None,
        client_settings: ClientSettings,
        serves_http: bool,
    ) -> Gateway:
        """The documents loaded, at start-up or on SIGHUP, sharing these parts; then admitted: the inbound
        tokens and the caller binds loaded (a reload's new ones apply to the apps built after it) and checked
        against each other and the host."""
        gateway = load_gateway(
            *documents,
            base_uris=base_uris,
            environ=environ,
            client_settings=client_settings,
            resilience=self.hardening.resilience,
            limiter=self.limiter,
            observers=self.observers,
            caller_binds=self.hardening.caller_binds,
            caller_binds_required=self.hardening.caller_binds_required,
        )
        environ = os.environ if environ is None else environ
        tokens = load_tokens(
            environ, self.hardening.tokens_file, [*gateway.secrets.values(), *gateway.callers.values()]
        )
        identified = bool(tokens) or self.oauth is not None
        declared, unchecked = declared_credentials(gateway.loaded.document, gateway.secrets)
        if unchecked and not identified and not self.hardening.allow_unauthenticated:
            refuse_unprotected(unchecked)
        if serves_http and not identified and not is_loopback(self.host) and not self.hardening.allow_unauthenticated:
            raise ConfigurationError(
                f"--host {self.host} would let anyone who can reach this machine use the upstream's key, and no "
                "inbound token is configured. Set CAPGATE_TOKENS (id:scope:token, ...), --tokens-file or "
                "--oauth-issuer, or pass --allow-unauthenticated if something in front of capgate already "
                "authenticates callers"
            )
        _check_callers(gateway.callers, tokens, identified)
        self.tokens = tokens
        self.declared = declared
        self.caller_binds = gateway.callers
        if self.audit is not None:
            self.audit.watch(gateway.operations)
        return gateway

    @property
    def body_limits(self) -> BodyLimits:
        """What a request body may be, on every adapter."""
        hardening = self.hardening
        return BodyLimits(hardening.max_body_bytes, hardening.max_json_depth, hardening.body_timeout)

    async def record_consent(self, record: ConsentRecord) -> None:
        """A consent decision about a destructive MCP call, in the audit log before the call is made."""
        if self.audit is not None:
            await self.audit.append(record.entry())

    def guard_rest(self, app: ASGIApp, namespaces: Sequence[str]) -> ASGIApp:
        """`app` guarded; `namespaces`: the adapters it serves, whose declared credentials it also admits."""
        return Guard(app, "rest", self._settings("/", namespaces), origins=self._origins())

    def guard_mcp(self, app: ASGIApp, adapter: McpAdapter, namespaces: Sequence[str]) -> ASGIApp:
        settings = self._settings(MCP_PATH, namespaces)
        return Guard(app, "mcp", settings, origins=self._origins(), write_tools=adapter.write_tools)

    def reopen_audit(self) -> None:
        """Open the audit log's path again (SIGUSR1, once logrotate has renamed the file)."""
        if self.audit is not None:
            self.audit.reopen()

    async def close(self) -> None:
        if self.audit is not None:
            await self.audit.close()
        await self.limiter.close()
        if self.oauth is not None:
            await self.oauth.close()

    def _origins(self) -> Origins:
        return Origins.allowed(self.host, self.allowed_hosts, self.allowed_origins)

    def _settings(self, local_path: str, namespaces: Sequence[str]) -> GuardSettings:
        authentication = Authentication(
            self.tokens,
            oauth=self.oauth,
            host=self.host,
            local_path=local_path,
            callers=self.caller_binds,
            declared=[credential for namespace in namespaces for credential in self.declared.get(namespace, [])],
        )
        return GuardSettings(authentication, body=self.body_limits, max_target=self.hardening.max_target_bytes)


async def _start_oauth(settings: OAuthSettings, host: str) -> OAuth:
    if settings.public_url is None and host in ("0.0.0.0", "::"):
        raise ConfigurationError(
            f"--oauth-issuer with --host {host}: tokens name the URL callers reach capgate at, which a wildcard "
            "address is not; give it with --public-url https://gateway.example.com"
        )
    return await OAuth.start(settings)


def _check_callers(callers: CallerBinds, tokens: Tokens, identified: bool) -> None:
    """The caller binds name tokens that exist, and are required only where callers are identified."""
    if callers.required and not identified:
        raise ConfigurationError(
            "--caller-binds-required: no caller is identified (no inbound token and no --oauth-issuer), so none "
            "could have values of its own; configure tokens or OAuth, or leave the flag out"
        )
    if unknown := sorted(set(callers.token_ids()) - set(tokens.ids())):
        known = ", ".join(tokens.ids()) or "none"
        raise ConfigurationError(
            f"--caller-binds: token:{unknown[0]} names no inbound token (the tokens are: {known}); fix the id"
        )


def _caller_limit(hardening: Hardening, limiter: Limiter) -> CallerLimit | None:
    """Each caller's budget of MCP calls; N `--workers` without Redis each keep 1/N of it, as for the upstream's."""
    if hardening.caller_rate_limit is None:
        return None
    return CallerLimit(limiter, hardening.caller_rate_limit.divided(hardening.resilience.budget_parts))
