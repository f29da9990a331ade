"""capgate as an OAuth 2.1 resource server: `capgate serve --oauth-issuer URL`, beside the static tokens.

At start-up the issuer's metadata is discovered (`capgate.exposes.inbound.issuer`) and its signing keys
fetched, so a wrong issuer stops start-up with a message instead of refusing every caller later. Then each
endpoint (the MCP endpoint, the REST facade) accepts an access token when the issuer signed it (or, for an
opaque token, says it is active through RFC 7662 introspection), it is for one of the endpoint's audiences —
by default the endpoint's own resource URL (`capgate.exposes.inbound.protected_resource`), else each
`--oauth-audience` — and it grants the read or the write scope (`--oauth-scope-read`, `--oauth-scope-write`).
The caller is the token's `sub` and its client (`client_id`, `azp`…). The token is never passed upstream: the
consumed API gets the operator's key, or the caller's own (`--caller-binds`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from capgate.core import redaction
from capgate.core.errors import ConfigurationError
from capgate.exposes.inbound.grants import CannotCheck, Grant
from capgate.exposes.inbound.issuer import Issuer, IssuerUnavailable
from capgate.exposes.inbound.oauth_settings import CLIENT_SECRET_VARIABLE, OAuthSettings
from capgate.exposes.inbound.protected_resource import ProtectedResource, resource_url

if TYPE_CHECKING:  # PyJWT and cryptography (~0.1 s) load in `OAuth.start`, only when OAuth is configured
    from capgate.exposes.inbound.access_tokens import AccessTokens, Introspect
    from capgate.exposes.inbound.signing_keys import Fetch


class OAuth:
    """The process-wide resource server: the issuer, its keys and the token checks. Outlives a reload."""

    def __init__(self, settings: OAuthSettings, issuer: Issuer, tokens: AccessTokens) -> None:
        self.settings = settings
        self._issuer = issuer
        self._tokens = tokens

    @classmethod
    async def start(cls, settings: OAuthSettings) -> OAuth:
        """Discover the issuer and fetch its keys; ConfigurationError says what is wrong."""
        from capgate.exposes.inbound.access_tokens import AccessTokens
        from capgate.exposes.inbound.signing_keys import KeysUnavailable, SigningKeys

        issuer = Issuer(settings.issuer)
        await issuer.open()
        try:
            metadata = await issuer.discover()
            if metadata.jwks_uri is None and settings.introspection_client is None:
                raise ConfigurationError(
                    f"--oauth-issuer {settings.issuer}: its metadata ({metadata.found_at}) has no jwks_uri, so "
                    "its tokens cannot be checked; set --oauth-introspection-client to ask it instead"
                )
            keys = SigningKeys(_keys_of(issuer, metadata.jwks_uri), where=metadata.jwks_uri or "(none)")
            if metadata.jwks_uri is not None:
                try:
                    await keys.refresh()
                except KeysUnavailable as exc:
                    raise ConfigurationError(f"--oauth-issuer {settings.issuer}: {exc}") from None
            introspect = _introspection(settings, issuer, metadata.found_at)
            tokens = AccessTokens(settings.issuer, keys, introspect=introspect)
        except BaseException:
            await issuer.close()
            raise
        return cls(settings, issuer, tokens)

    async def close(self) -> None:
        await self._issuer.close()

    def resource(self, base: str, local_path: str) -> tuple[ProtectedResource, frozenset[str]]:
        """The endpoint at `local_path` beneath `base` (`--public-url`, else the listener's URL), and the
        audiences its tokens may name."""
        url = resource_url(self.settings.public_url or base, local_path)
        resource = ProtectedResource(url, (self.settings.issuer,), self.settings.scopes)
        return resource, frozenset(self.settings.audiences or (url,))

    async def check(self, token: str, audiences: frozenset[str]) -> Grant:
        """The token's grant; `TokenRejected` (401) or `CannotCheck` (503) if there is none."""
        return await self._tokens.check(token, audiences)

    def grants(self, grant: Grant, scope: str) -> bool:
        """Whether `grant` has the configured `scope`. Entra ID lists `api://app/runs.read` as `runs.read` in
        `scp`, so a configured URI also matches its last segment."""
        return scope in grant.scopes or ("://" in scope and scope.rsplit("/", 1)[-1] in grant.scopes)


def _keys_of(issuer: Issuer, jwks_uri: str | None) -> Fetch:
    from capgate.exposes.inbound.signing_keys import KeysUnavailable

    async def fetch() -> list[dict[str, Any]]:
        if jwks_uri is None:
            return []
        try:
            status, document = await issuer.get_json(jwks_uri, "oauth.jwks")
        except IssuerUnavailable as exc:
            raise KeysUnavailable(f"{jwks_uri}: {exc}") from None
        keys = document.get("keys") if isinstance(document, dict) else None
        if status != 200 or not isinstance(keys, list):
            raise KeysUnavailable(f"{jwks_uri} answered HTTP {status} without a `keys` list")
        return keys

    return fetch


def _introspection(settings: OAuthSettings, issuer: Issuer, found_at: str) -> Introspect | None:
    """RFC 7662 for opaque tokens, when the operator named the client to introspect as."""
    client, secret = settings.introspection_client, settings.introspection_secret
    if client is None:
        return None
    endpoint = issuer.metadata.introspection_endpoint if issuer.metadata else None
    if endpoint is None:
        raise ConfigurationError(
            f"--oauth-introspection-client: the metadata of {settings.issuer} ({found_at}) has no "
            "introspection_endpoint; leave the flag out and use JWT access tokens"
        )
    if not secret:
        raise ConfigurationError(
            f"--oauth-introspection-client {client}: set {CLIENT_SECRET_VARIABLE} to the client's secret"
        )
    redaction.register([secret])

    async def introspect(token: str) -> Mapping[str, Any]:
        try:
            status, answer = await issuer.post_form(
                endpoint, {"token": token, "token_type_hint": "access_token"}, client, secret, "oauth.introspect"
            )
        except IssuerUnavailable as exc:
            raise CannotCheck(f"the introspection endpoint {endpoint} could not be reached ({exc})") from None
        if status != 200 or not isinstance(answer, dict):
            raise CannotCheck(f"the introspection endpoint {endpoint} answered HTTP {status}")
        return answer

    return introspect
