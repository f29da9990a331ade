"""Who is calling one endpoint, and whether they may: the guard's bearer-token step.

A credential the endpoint's document declares (`capgate.exposes.inbound.declared`) admits its caller first;
then a bearer value is compared with the static tokens (`capgate.exposes.inbound.tokens`), then, with
`--oauth-issuer`, checked as an OAuth access token for this endpoint (`capgate.exposes.inbound.oauth`). The
answers the guard gives itself here:

| what | answer |
|---|---|
| metadata asked for (`/.well-known/oauth-protected-resource…`, with OAuth) | 200, the RFC 9728 document |
| no bearer token | 401, `WWW-Authenticate: Bearer realm="capgate"` (+ `resource_metadata`, `scope`: both scopes) |
| a token that is not valid here (unknown, expired, for another resource, …) | 401, `error="invalid_token"` |
| the issuer is needed and cannot be asked | 503, `Retry-After` |
| an access token with neither scope | 403, `error="insufficient_scope"`, `scope` the read scope |
| a caller without its own upstream values, when `--caller-binds-required` | 403 |

The read-scope refusal of a write route or tool is `insufficient_scope`, also built here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.responses import Response
from starlette.types import Scope

from capgate.consumes.caller_binds import CallerBinds
from capgate.document.reserved import PUBLIC_PATHS, RESERVED_PATHS
from capgate.exposes.inbound.declared import DeclaredCredential, key_headers, presented, without_key_headers
from capgate.exposes.inbound.grants import CannotCheck, TokenRejected
from capgate.exposes.inbound.oauth import OAuth
from capgate.exposes.inbound.protected_resource import ProtectedResource
from capgate.exposes.inbound.tokens import Tokens
from capgate.exposes.problem import problem
from capgate.observe.exchange import Caller, Exchange

logger = logging.getLogger("capgate.oauth")

REALM = 'Bearer realm="capgate"'
RETRY_AFTER = "5"  # seconds, when the authorization server could not be asked


class Authentication:
    """The bearer-token step of one endpoint's guard; `local_path` is the endpoint's own path (`/mcp`, `/`)."""

    def __init__(
        self,
        tokens: Tokens,
        *,
        oauth: OAuth | None = None,
        host: str = "127.0.0.1",
        local_path: str = "/",
        callers: CallerBinds | None = None,
        declared: Sequence[DeclaredCredential] = (),
    ) -> None:
        self.tokens = tokens
        self.declared = tuple(declared)
        self._key_headers = key_headers(self.declared)
        self.oauth = oauth
        self.callers = callers or CallerBinds()
        self._host = host
        self._local_path = local_path
        self._resources: dict[int | None, tuple[ProtectedResource, frozenset[str]]] = {}  # by listening port

    def __bool__(self) -> bool:
        """Whether callers must identify themselves at all."""
        return bool(self.tokens) or self.oauth is not None or bool(self.declared)

    async def admit(self, scope: Scope, exchange: Exchange, authorization: str) -> Response | None:
        """None when the request may go on (`exchange.caller` set, if it was identified); else the answer."""
        path = scope["path"]
        resource = self._resource(scope)
        if resource is not None and resource[0].serves(path, self._local_path):
            exchange.route = path
            return resource[0].metadata_response()
        if not self or path in PUBLIC_PATHS:
            return None
        credential = presented(self.declared, scope)
        without_key_headers(self._key_headers, scope)
        if credential is not None:
            exchange.caller = Caller(credential.id, True)
            return self._unbound(exchange, path)
        if self.declared and not self.tokens and self.oauth is None:
            hints = " or ".join(f"`{credential.hint}`" for credential in self.declared)
            return self._refuse(
                exchange, "no declared credential", 401, f"this endpoint's document asks callers for {hints}", None
            )
        scheme, _, bearer = authorization.partition(" ")
        bearer = bearer.strip()
        if scheme.lower() != "bearer" or not bearer:
            return self._refuse(
                exchange,
                "no token",
                401,
                "this gateway needs a bearer token: send `Authorization: Bearer <token>`"
                + (f"; get one from {self.oauth.settings.issuer}" if self.oauth else ""),
                resource,
                # Both scopes: a client that registers itself (RFC 7591) registers for the scopes of this first
                # challenge, and most servers refuse a later step-up to one it did not register for.
                scope=" ".join(self.oauth.settings.scopes) if self.oauth else None,
            )
        token = self.tokens.identify(bearer)
        if token is not None:
            exchange.caller = token.caller
        elif self.oauth is None or resource is None:
            return self._refuse(
                exchange,
                "unknown token",
                401,
                "the bearer token is not one this gateway knows; check it, or ask for one",
                resource,
                error="invalid_token",
            )
        else:
            refusal = await self._identify_oauth(bearer, exchange, resource)
            if refusal is not None:
                return refusal
        return self._unbound(exchange, path)

    def insufficient_scope(self, scope: Scope, exchange: Exchange, what: str) -> Response:
        """403 for a caller with the read scope only, on something that changes things."""
        caller = exchange.caller
        assert caller is not None
        needed = self.oauth.settings.write_scope if self.oauth and caller.oauth else "write"
        held = f"the access token of {caller.id!r}" if caller.oauth else f"token {caller.id!r}"
        return self._refuse(
            exchange,
            "read scope",
            403,
            f"{what} and needs a token with the write scope; {held} has the read scope"
            + (f" (ask for the scope {needed!r})" if caller.oauth else ""),
            self._resource(scope),
            error="insufficient_scope",
            scope=needed,
        )

    async def _identify_oauth(
        self, bearer: str, exchange: Exchange, resource: tuple[ProtectedResource, frozenset[str]]
    ) -> Response | None:
        assert self.oauth is not None
        try:
            grant = await self.oauth.check(bearer, resource[1])
        except TokenRejected as exc:
            return self._refuse(exchange, "invalid token", 401, str(exc), resource, error="invalid_token")
        except CannotCheck as exc:
            logger.warning("cannot check an access token: %s", exc)
            exchange.refused = "issuer unavailable"
            return problem(
                503,
                "Service Unavailable",
                f"the access token cannot be checked now: {exc}",
                headers={"Retry-After": RETRY_AFTER},
            )
        settings = self.oauth.settings
        can_write = self.oauth.grants(grant, settings.write_scope)
        caller = Caller(grant.subject or grant.client or "", can_write, client=grant.client, oauth=True)
        exchange.caller = caller
        if not can_write and not self.oauth.grants(grant, settings.read_scope):
            return self._refuse(
                exchange,
                "no scope",
                403,
                f"the access token of {caller.id!r} grants neither {settings.read_scope!r} (to read) nor "
                f"{settings.write_scope!r} (to change things); ask the authorization server for one of them",
                resource,
                error="insufficient_scope",
                scope=settings.read_scope,
            )
        return None

    def _unbound(self, exchange: Exchange, path: str) -> Response | None:
        """With `--caller-binds-required`, 403 for a caller with no upstream values of its own (capgate's own
        routes, which call nothing upstream, stay open to it)."""
        caller = exchange.caller
        if not self.callers.required or caller is None or path in RESERVED_PATHS:
            return None
        if self.callers.secrets_for(caller.bind_keys) is not None:
            return None
        return self._refuse(
            exchange,
            "no caller binds",
            403,
            f"caller {caller.id!r} has no upstream credentials of its own, and this gateway acts upstream only "
            f"with a caller's own; ask its operator to add {' or '.join(caller.bind_keys)} to the --caller-binds file",
            None,
        )

    def _resource(self, scope: Scope) -> tuple[ProtectedResource, frozenset[str]] | None:
        """This endpoint as a protected resource, and its audiences (with OAuth); by the listener's port,
        which a socket bound to port 0 only knows once it serves."""
        if self.oauth is None:
            return None
        server = scope.get("server")
        port = server[1] if server else None
        found = self._resources.get(port)
        if found is None:
            host = f"[{self._host}]" if ":" in self._host else self._host
            found = self._resources[port] = self.oauth.resource(f"http://{host}:{port}", self._local_path)
        return found

    def _refuse(
        self,
        exchange: Exchange,
        reason: str,
        status: int,
        detail: str,
        resource: tuple[ProtectedResource, frozenset[str]] | None,
        *,
        error: str | None = None,
        scope: str | None = None,
    ) -> Response:
        exchange.refused = reason
        title = {401: "Unauthorized", 403: "Forbidden"}[status]
        if status == 403 and error is None:
            return problem(status, title, detail)
        if resource is None:
            parameters = [*([f'error="{error}"'] if error else []), *([f'scope="{scope}"'] if scope else [])]
            challenge = ", ".join([REALM, *parameters])
        else:
            challenge = f"{REALM}, {resource[0].challenge(error=error, scope=scope)}"
        return problem(status, title, detail, headers={"WWW-Authenticate": challenge})
