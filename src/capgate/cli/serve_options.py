"""The `capgate serve` options for timeouts, retries, the breaker, the request budget, access, limits,
connections, logs, the audit log and shutdown; `hardening(options)` turns them into a `Hardening`, and
`connection_limits(options)` into the serving layer's `ConnectionLimits`. docs/hardening.md has each.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from capgate.consumes.breaker import BreakerSettings
from capgate.consumes.limiter import DEFAULT_QUEUE_WAIT, RateLimit
from capgate.consumes.retry import RetryPolicy
from capgate.core.bounds import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_JSON_DEPTH,
    DEFAULT_MAX_TARGET_BYTES,
    DEFAULT_SHUTDOWN_GRACE,
)
from capgate.core.errors import ConfigurationError
from capgate.core.secret_key import SecretKey
from capgate.exposes.inbound.oauth_settings import CLIENT_SECRET_VARIABLE
from capgate.exposes.mcp import CONFIRM_POLICIES, ConfirmPolicy

# Only light modules here: every `capgate` command builds this parser, and only `serve` needs the server.
from capgate.observe.audit import DEFAULT_MAX_ENTRY, MIN_MAX_ENTRY, default_audit_path
from capgate.observe.logs import LOG_FORMATS, LOG_LEVELS

if TYPE_CHECKING:
    from capgate.consumes.client import ClientSettings
    from capgate.exposes.inbound.oauth_settings import OAuthSettings
    from capgate.gateway.safeguards import Hardening
    from capgate.serve.connections import ConnectionLimits

REDIS_VARIABLE = "CAPGATE_REDIS_URL"
STATE_KEY_VARIABLE = "CAPGATE_REQUEST_STATE_KEY"  # seals MCP request state; shared by replicas behind a balancer
_RATE = re.compile(r"^(\d+)/(\d+)/(\d+(?:\.\d+)?)s?$")
_HTTP_URL = re.compile(r"^https?://[^/?#\s]+(/[^?#\s]*)?$")
_SIZE = re.compile(r"^(\d+)\s*(?:([kKmMgG])(?:i?B)?|B)?$")


def add_hardening_options(command: argparse.ArgumentParser) -> None:
    """Declare the options, grouped as `capgate serve --help` shows them."""
    upstream = command.add_argument_group("upstream calls")
    upstream.add_argument(
        "--connect-timeout",
        type=_seconds,
        metavar="S",
        help="seconds to connect to the upstream (default: the document's, else 5)",
    )
    upstream.add_argument(
        "--read-timeout",
        type=_seconds,
        metavar="S",
        help="seconds the upstream may stay silent while answering (default: the document's, else 30)",
    )
    upstream.add_argument(
        "--timeout",
        type=_seconds,
        metavar="S",
        help="deadline of a whole call, retries and queueing included (default: the document's, else 60)",
    )
    upstream.add_argument(
        "--retries",
        type=int,
        default=RetryPolicy().attempts - 1,
        metavar="N",
        help="extra tries of a call that is safe to repeat, after a connection failure or HTTP "
        "408/429/502/503/504 (default: %(default)s; 0 turns retries off)",
    )
    breaker = BreakerSettings()
    upstream.add_argument(
        "--breaker-failure-rate",
        type=_failure_rate,
        default=breaker.failure_rate,
        metavar="PERCENT",
        help="share of failed calls (no connection, timeout, 502/503/504) in the window that opens a route's "
        "circuit, 1-100, or `off` (default: %(default)g)",
    )
    upstream.add_argument(
        "--breaker-min-calls",
        type=int,
        default=breaker.min_calls,
        metavar="N",
        help="calls the window must hold before the failure rate counts (default: %(default)s)",
    )
    upstream.add_argument(
        "--breaker-window",
        type=_seconds,
        default=breaker.window,
        metavar="S",
        help="seconds of calls the failure rate is taken over (default: %(default)g)",
    )
    upstream.add_argument(
        "--breaker-cooldown",
        type=_seconds,
        default=breaker.cooldown,
        metavar="S",
        help="seconds an open circuit fails fast before probe calls are let through (default: %(default)g)",
    )
    upstream.add_argument("--breaker-failures", help=argparse.SUPPRESS)  # replaced: hardening() says by what
    upstream.add_argument(
        "--rate-limit",
        metavar="BURST/REFILL/SECONDS",
        help="the upstream's request budget per key, or `off` (default: the document's `rateLimit`, else none)",
    )
    upstream.add_argument(
        "--rate-limit-wait",
        type=_seconds,
        metavar="S",
        help=f"longest a call queues for the budget; past it the call goes and the upstream's "
        f"own limit answers (default: the document's `rateLimit.wait`, else {DEFAULT_QUEUE_WAIT:g})",
    )
    upstream.add_argument(
        "--redis-url",
        metavar="URL",
        default=os.environ.get(REDIS_VARIABLE),
        help=f"share the budget between replicas through Redis, e.g. redis://127.0.0.1:6379/0 "
        f"(default: ${REDIS_VARIABLE}, else in this process only)",
    )
    upstream.add_argument(
        "--max-upstream-body",
        type=int,
        metavar="BYTES",
        help="largest upstream answer accepted, once inflated; larger ones are a 502 (default: 16 MiB)",
    )
    access = command.add_argument_group("callers")
    access.add_argument(
        "--tokens-file",
        metavar="PATH",
        help="YAML or JSON file of inbound tokens (id, scope read|write, token or sha256); "
        "$CAPGATE_TOKENS adds id:scope:token items",
    )
    access.add_argument(
        "--oauth-issuer",
        metavar="URL",
        help="also accept OAuth access tokens of this authorization server (its `iss`); its metadata is found "
        "by RFC 8414, else OpenID discovery",
    )
    access.add_argument(
        "--oauth-audience",
        action="append",
        default=[],
        metavar="URI",
        help="an `aud` a token may name, instead of each endpoint's own URL (BASE/mcp, BASE/); repeatable",
    )
    access.add_argument(
        "--public-url",
        metavar="URL",
        help="the URL callers reach capgate at behind a proxy, e.g. https://gateway.example.com: the base "
        "of each endpoint's resource URL (default: http://HOST:PORT of each listener)",
    )
    access.add_argument(
        "--oauth-scope-read",
        default="read",
        metavar="SCOPE",
        help="the scope that lets an access token read (default: %(default)s)",
    )
    access.add_argument(
        "--oauth-scope-write",
        default="write",
        metavar="SCOPE",
        help="the scope that lets an access token change things (default: %(default)s)",
    )
    access.add_argument(
        "--oauth-introspection-client",
        metavar="CLIENT_ID",
        help=f"check opaque tokens by RFC 7662 introspection as this client (secret in ${CLIENT_SECRET_VARIABLE})",
    )
    access.add_argument(
        "--caller-binds",
        metavar="PATH",
        help="YAML or JSON file giving callers (token:ID, sub:SUBJECT, client:CLIENT_ID) their own values "
        "for the document's binds, e.g. their own upstream key",
    )
    access.add_argument(
        "--caller-binds-required",
        action="store_true",
        help="refuse callers that have no entry in --caller-binds instead of using the operator's values",
    )
    access.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve a non-loopback --host without inbound tokens (something in front must authenticate callers)",
    )
    access.add_argument(
        "--caller-rate-limit",
        metavar="BURST/REFILL/SECONDS",
        help="MCP tool calls and resource reads each caller (inbound token, else client address) may make: "
        "BURST at once, then REFILL more every SECONDS, e.g. 60/20/10; over it a call is refused with the "
        "seconds to wait (default: no limit)",
    )
    access.add_argument(
        "--confirm",
        type=_confirm,
        default="destructive=allow",
        metavar="destructive=allow|deny",
        help="a destructive MCP tool call (cancel-run, say) whose client cannot ask its user for consent: "
        "allow it, or deny it; clients that can ask always do (default: destructive=allow)",
    )
    access.add_argument(
        "--max-body",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        metavar="BYTES",
        help="largest request body, REST and MCP; larger ones get 413 (default: %(default)s)",
    )
    access.add_argument(
        "--max-query",
        type=int,
        default=DEFAULT_MAX_TARGET_BYTES,
        metavar="BYTES",
        help="longest path plus query string; longer ones get 414 (default: %(default)s)",
    )
    access.add_argument(
        "--max-json-depth",
        type=_positive,
        default=DEFAULT_MAX_JSON_DEPTH,
        metavar="N",
        help="deepest nesting of arrays and objects in a JSON body; deeper ones get 400 (default: %(default)s)",
    )
    connections = command.add_argument_group("connections")
    connections.add_argument(
        "--header-timeout",
        type=_seconds,
        default=DEFAULT_HEADER_TIMEOUT,
        metavar="S",
        help="seconds a connection has to send a request's line and headers, once open or after an answer; "
        "then it is closed (default: %(default)g)",
    )
    connections.add_argument(
        "--body-timeout",
        type=_seconds,
        default=DEFAULT_BODY_TIMEOUT,
        metavar="S",
        help="seconds a request's body has to arrive after its headers; slower ones get 408 (default: %(default)g)",
    )
    connections.add_argument(
        "--max-connections",
        type=_positive,
        metavar="N",
        help="connections open at once on each port; more get 503 (default: what the file limit, ulimit -n, "
        "leaves for each port, at most 10000)",
    )
    connections.add_argument(
        "--max-connections-per-client",
        type=_positive,
        metavar="N",
        help="connections one client address may have open on each port; more get 503 (default: half of "
        "--max-connections; behind a proxy, all callers share its address)",
    )
    logs = command.add_argument_group("logs and audit")
    logs.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="auto",
        help="text, json, or auto: text on a terminal, JSON lines otherwise (default: %(default)s)",
    )
    logs.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="default: %(default)s")
    logs.add_argument("--no-access-log", action="store_true", help="no line per request")
    logs.add_argument(
        "--audit-log",
        type=Path,
        metavar="PATH",
        help=f"append-only log of calls that change something (default: {default_audit_path()})",
    )
    logs.add_argument("--no-audit-log", action="store_true", help="keep no audit log")
    logs.add_argument(
        "--audit-max-entry",
        type=_bytes,
        default=DEFAULT_MAX_ENTRY,
        metavar="BYTES",
        help=f"largest audit line; bigger values are replaced by their size and SHA-256 (default: 64 KiB; "
        f"at least {MIN_MAX_ENTRY})",
    )
    logs.add_argument(
        "--audit-rotate-bytes",
        type=_bytes,
        default=0,
        metavar="BYTES",
        help="rename the audit log to PATH.<UTC time>Z and start a new one once it would pass this size "
        "(default: 0, never; logrotate can rotate it instead, then send SIGUSR1)",
    )
    logs.add_argument(
        "--audit-keep",
        type=int,
        default=0,
        metavar="N",
        help="rotated audit files to keep, the oldest removed first (default: 0, keep them all)",
    )
    logs.add_argument(
        "--shutdown-grace",
        type=_seconds,
        default=DEFAULT_SHUTDOWN_GRACE,
        metavar="S",
        help="on SIGTERM, seconds in-flight requests get to finish (default: %(default)g)",
    )


def hardening(options: argparse.Namespace) -> Hardening:
    """The `Hardening` the options ask for; ConfigurationError names a bad value."""
    from capgate.consumes.resilience import ResilienceSettings, TimeoutOverrides
    from capgate.gateway.safeguards import Hardening

    if options.breaker_failures is not None:
        raise ConfigurationError(
            "--breaker-failures was replaced: a circuit now opens on a failure rate, not on failures in a row. "
            "Use --breaker-failure-rate PERCENT (or off), --breaker-min-calls N and --breaker-window S, with "
            "--breaker-cooldown S as before (docs/hardening.md, Circuit breakers)"
        )
    if options.retries < 0:
        raise ConfigurationError("--retries must be 0 or more")
    if options.breaker_min_calls < 1:
        raise ConfigurationError("--breaker-min-calls must be 1 or more")
    resilience = ResilienceSettings(
        timeouts=TimeoutOverrides(options.connect_timeout, options.read_timeout, options.timeout),
        retry=RetryPolicy(attempts=options.retries + 1),
        breaker=BreakerSettings(
            failure_rate=options.breaker_failure_rate,
            min_calls=options.breaker_min_calls,
            window=options.breaker_window,
            cooldown=options.breaker_cooldown,
        ),
        rate_limit=_rate_limit(options.rate_limit, "--rate-limit"),
        rate_limit_wait=options.rate_limit_wait,
        rate_limiting=options.rate_limit != "off",
        redis_url=options.redis_url or None,
    )
    audit_log = None if options.no_audit_log else (options.audit_log or default_audit_path())
    if options.audit_max_entry < MIN_MAX_ENTRY:
        raise ConfigurationError(
            f"--audit-max-entry {options.audit_max_entry}: must be at least {MIN_MAX_ENTRY} bytes, room for an "
            "entry whose values are all cut"
        )
    if options.audit_keep < 0:
        raise ConfigurationError("--audit-keep must be 0 (keep every rotated file) or more")
    return Hardening(
        resilience=resilience,
        tokens_file=options.tokens_file,
        allow_unauthenticated=options.allow_unauthenticated,
        max_body_bytes=options.max_body,
        max_target_bytes=options.max_query,
        max_json_depth=options.max_json_depth,
        body_timeout=options.body_timeout,
        audit_log=audit_log,
        audit_max_entry=options.audit_max_entry,
        audit_rotate_bytes=options.audit_rotate_bytes,
        audit_keep=options.audit_keep,
        shutdown_grace=options.shutdown_grace,
        caller_rate_limit=_rate_limit(options.caller_rate_limit, "--caller-rate-limit"),
        oauth=oauth_settings(options),
        caller_binds=options.caller_binds,
        caller_binds_required=options.caller_binds_required,
        confirm_destructive=options.confirm,
        request_state_key=_state_key(),
    )


def oauth_settings(options: argparse.Namespace, environ: Mapping[str, str] | None = None) -> OAuthSettings | None:
    """The OAuth settings the `--oauth-*` and `--public-url` flags ask for (None without --oauth-issuer)."""
    from capgate.exposes.inbound.oauth_settings import OAuthSettings

    environ = os.environ if environ is None else environ
    if options.oauth_issuer is None:
        needing = {
            "--oauth-audience": options.oauth_audience,
            "--public-url": options.public_url,
            "--oauth-introspection-client": options.oauth_introspection_client,
        }
        if given := [flag for flag, value in needing.items() if value]:
            raise ConfigurationError(f"{given[0]} needs --oauth-issuer (the authorization server whose tokens count)")
        return None
    _check_issuer(options.oauth_issuer)
    if options.public_url is not None and not _HTTP_URL.match(options.public_url):
        raise ConfigurationError(
            f"--public-url {options.public_url!r}: not an http(s) URL such as https://gateway.example.com"
        )
    scopes = {"--oauth-scope-read": options.oauth_scope_read, "--oauth-scope-write": options.oauth_scope_write}
    for flag, scope in scopes.items():
        if not scope or any(character.isspace() for character in scope):
            raise ConfigurationError(f"{flag} {scope!r}: a scope is one word, without spaces")
    if options.oauth_scope_read == options.oauth_scope_write:
        raise ConfigurationError("--oauth-scope-read and --oauth-scope-write must differ")
    return OAuthSettings(
        issuer=options.oauth_issuer,
        audiences=tuple(options.oauth_audience),
        public_url=options.public_url.rstrip("/") if options.public_url else None,
        read_scope=options.oauth_scope_read,
        write_scope=options.oauth_scope_write,
        introspection_client=options.oauth_introspection_client,
        introspection_secret=environ.get(CLIENT_SECRET_VARIABLE) or None,
    )


def _check_issuer(issuer: str) -> None:
    from capgate.core.destinations import is_loopback

    if not _HTTP_URL.match(issuer):
        raise ConfigurationError(f"--oauth-issuer {issuer!r}: not an http(s) URL such as https://login.example.com")
    if issuer.startswith("http://") and not is_loopback(urlsplit(issuer).hostname or ""):
        raise ConfigurationError(
            f"--oauth-issuer {issuer}: an authorization server must be reached over https (plain http only on "
            "loopback, for local tests)"
        )


def connection_limits(options: argparse.Namespace) -> ConnectionLimits:
    """The caps and the head timeout of every listening port (unset caps follow the file limit at start-up)."""
    from capgate.serve.connections import ConnectionLimits

    return ConnectionLimits(
        max_connections=options.max_connections,
        max_per_client=options.max_connections_per_client,
        header_timeout=options.header_timeout,
    )


def client_settings(options: argparse.Namespace) -> ClientSettings:
    """The upstream client's settings: the defaults, with --max-upstream-body and --allow-private-upstream."""
    from capgate.consumes.client import ClientSettings

    allowed = frozenset(options.allow_private_upstream)
    if options.max_upstream_body is None:
        return ClientSettings(allowed_private=allowed)
    if options.max_upstream_body < 1:
        raise ConfigurationError("--max-upstream-body must be a positive number of bytes")
    return ClientSettings(max_body_bytes=options.max_upstream_body, allowed_private=allowed)


def _rate_limit(text: str | None, flag: str) -> RateLimit | None:
    if text is None or text == "off":
        return None
    match = _RATE.match(text)
    if not match or int(match[1]) < 1 or int(match[2]) < 1 or float(match[3]) <= 0:
        raise ConfigurationError(f"{flag} {text!r}: expected BURST/REFILL/SECONDS such as 750/250/10, or off")
    return RateLimit(int(match[1]), int(match[2]), float(match[3]))


def _confirm(text: str) -> ConfirmPolicy:
    kind, equals, policy = text.partition("=")
    if kind != "destructive" or not equals or policy not in CONFIRM_POLICIES:
        raise argparse.ArgumentTypeError(f"{text!r}: expected destructive=allow or destructive=deny")
    return "allow" if policy == "allow" else "deny"


def _state_key() -> SecretKey | None:
    """The key from $CAPGATE_REQUEST_STATE_KEY (several machines behind one address share it), else None."""
    text = os.environ.get(STATE_KEY_VARIABLE)
    return SecretKey.from_text(text, STATE_KEY_VARIABLE) if text else None


def _failure_rate(text: str) -> float:
    if text == "off":
        return 0.0  # BreakerSettings: a rate of 0 turns the breaker off
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage (1-100) or off") from None
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0 and at most 100, or off")
    return value


def _bytes(text: str) -> int:
    """A size in bytes: `65536`, or with a unit, `64KiB`, `100MiB`, `1GiB` (also `k`, `M`, `G`: powers of 1024)."""
    match = _SIZE.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 65536, 64KiB or 100MiB")
    unit = (match[2] or " ").upper()
    return int(match[1]) << (10 * " KMG".index(unit))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be 1 or more")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0 seconds")
    return value
