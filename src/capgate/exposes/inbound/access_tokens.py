"""OAuth access tokens: a JWT is checked against the issuer's signing keys; an opaque one, if the operator set
up introspection (RFC 7662), is asked of the issuer.

A JWT is accepted when it is signed with an allowed asymmetric algorithm (never `none`, never HMAC: a public
key is no shared secret) by a key the issuer publishes, names the issuer as `iss`, has an `exp` not passed
and an `nbf` (if any) reached, both with `LEEWAY` seconds of clock difference, and an `aud`. The audience is
the endpoint's to judge (`check`): a token is accepted by an endpoint when one of its `aud` values is one
of the endpoint's audiences. PyJWT does the JOSE work; capgate writes no crypto.

A token that passed is remembered (by its digest, at most `CACHE_SIZE` of them) until it expires, so the
signature of a token presented on every request is checked once; an introspected one is asked again after
`INTROSPECTION_TTL` seconds at the latest, so a revocation is noticed.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import jwt

from capgate.exposes.inbound.grants import CannotCheck, Grant, TokenRejected
from capgate.exposes.inbound.signing_keys import ALGORITHMS, KeysUnavailable, SigningKeys

LEEWAY = 30  # seconds
MAX_TOKEN_LENGTH = 16 * 1024
CACHE_SIZE = 4096
INTROSPECTION_TTL = 60.0  # seconds an introspection answer is relied on

# Where providers put the client a token was issued to: RFC 9068, OpenID Connect, Entra ID v1, Okta.
CLIENT_CLAIMS = ("client_id", "azp", "appid", "cid")
# Where they put its scopes: RFC 9068 / RFC 8693 (`scope`), Entra ID and Okta (`scp`); Entra ID puts the
# application permissions of a client-credentials token in `roles`.
SCOPE_CLAIMS = ("scope", "scp", "roles")

Introspect = Callable[[str], Awaitable[Mapping[str, Any]]]  # an RFC 7662 answer; raises CannotCheck


class AccessTokens:
    """Checks the access tokens of one issuer."""

    def __init__(self, issuer: str, keys: SigningKeys, *, introspect: Introspect | None = None) -> None:
        self.issuer = issuer
        self._keys = keys
        self._introspect = introspect
        self._passed: dict[bytes, tuple[Grant, float]] = {}  # digest -> (grant, relied on until)

    async def check(self, token: str, audiences: frozenset[str]) -> Grant:
        """The token's grant, if it is valid and for one of `audiences`; TokenRejected or CannotCheck if not."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise TokenRejected(f"the bearer token is longer than {MAX_TOKEN_LENGTH} characters")
        digest = hashlib.sha256(token.encode()).digest()
        now = time.time()
        remembered = self._passed.get(digest)
        if remembered is not None and remembered[1] >= now:
            grant = remembered[0]
        else:
            grant, until = await self._verify(token, now)
            self._remember(digest, grant, until)
        if grant.expires + LEEWAY < now:
            raise TokenRejected("the access token has expired; get a new one from the authorization server")
        if not grant.audiences & audiences:
            raise TokenRejected(
                f"the access token is for {', '.join(sorted(grant.audiences)) or 'no audience'}, not for this "
                "endpoint; ask the "
                f"authorization server for a token for {' or '.join(sorted(audiences))} (the `resource` or "
                "`audience` of the token request)"
            )
        return grant

    def _remember(self, digest: bytes, grant: Grant, until: float) -> None:
        if len(self._passed) >= CACHE_SIZE:  # the oldest goes first (dicts keep insertion order)
            del self._passed[next(iter(self._passed))]
        self._passed[digest] = (grant, until)

    async def _verify(self, token: str, now: float) -> tuple[Grant, float]:
        if _looks_like_jwt(token):
            grant = await self._verify_jwt(token)
            return grant, grant.expires + LEEWAY
        if self._introspect is None:
            raise TokenRejected(
                f"the bearer token is neither one of this gateway's tokens nor a JWT access token of {self.issuer}; "
                "get a token from that authorization server"
            )
        grant = _introspected(await self._introspect(token), self.issuer, now)
        return grant, min(grant.expires + LEEWAY, now + INTROSPECTION_TTL)

    async def _verify_jwt(self, token: str) -> Grant:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("the access token is not a well-formed JWT") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            raise TokenRejected(
                f"the access token is signed with {algorithm!r}, which this gateway does not accept; only "
                f"asymmetric signatures are ({', '.join(ALGORITHMS)})"
            )
        try:
            key = await self._keys.key_for(kid, algorithm)
        except KeysUnavailable as exc:
            raise CannotCheck(f"{exc}; try again shortly") from None
        if key is None:
            raise TokenRejected(
                f"the access token is signed with key {kid!r} ({algorithm}), which {self.issuer} does not publish; "
                "get a new token from it"
            )
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=self.issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iss", "aud"], "verify_aud": False, "enforce_minimum_key_length": True},
            )
        except jwt.PyJWTError as exc:
            raise TokenRejected(_reason(exc, self.issuer)) from None
        return _grant(claims, _epoch(claims["exp"]))


def _reason(exc: jwt.PyJWTError, issuer: str) -> str:
    """What was wrong with a JWT, for the caller."""
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "the access token has expired; get a new one from the authorization server"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "the access token is not valid yet (`nbf` or `iat` in the future); check the clocks"
    if isinstance(exc, jwt.InvalidIssuerError):
        return _not_issued_by(issuer)
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"the access token has no `{exc.claim}` claim; an access token for this gateway needs iss, aud and exp"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "the access token's signature does not verify; get a new token from the authorization server"
    return f"the access token cannot be used ({type(exc).__name__}); get a new one from the authorization server"


def _not_issued_by(issuer: str) -> str:
    return f"the access token was not issued by {issuer}, the authorization server this gateway trusts"


def _grant(claims: Mapping[str, Any], expires: float) -> Grant:
    subject = claims.get("sub")
    client = next((claims[name] for name in CLIENT_CLAIMS if isinstance(claims.get(name), str)), None)
    subject = subject if isinstance(subject, str) and subject else None
    if subject is None and client is None:
        raise TokenRejected("the access token names neither a subject (`sub`) nor a client (`client_id`)")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    scopes: set[str] = set()
    for name in SCOPE_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str):
            scopes.update(value.split())
        elif isinstance(value, list):
            scopes.update(item for item in value if isinstance(item, str))
    return Grant(subject, client, frozenset(scopes), frozenset(a for a in audiences if isinstance(a, str)), expires)


def _introspected(answer: Mapping[str, Any], issuer: str, now: float) -> Grant:
    """The grant of an RFC 7662 answer, held to the same rules as a JWT where the answer has the claim."""
    if answer.get("active") is not True:
        raise TokenRejected(
            "the authorization server says the access token is not active (expired, revoked or unknown); get a new one"
        )
    if answer.get("iss", issuer) != issuer:
        raise TokenRejected(_not_issued_by(issuer))
    if "aud" not in answer:
        raise TokenRejected(
            "the authorization server's introspection answer names no audience (`aud`) for the access token, "
            "so it cannot be for this gateway; request it with the gateway's `resource` or `audience`"
        )
    if isinstance(answer.get("nbf"), int | float) and answer["nbf"] > now + LEEWAY:
        raise TokenRejected("the access token is not valid yet (`nbf` in the future); check the clocks")
    expires = answer.get("exp")
    return _grant(answer, _epoch(expires) if expires is not None else math.inf)


def _epoch(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRejected("the access token's `exp` is not a number of seconds")
    return float(value)


def _looks_like_jwt(token: str) -> bool:
    """The shape of a JWS compact serialization with a JSON header (`eyJ…` is `{"`); PyJWT checks the rest."""
    return token.count(".") == 2 and token.startswith("ey")
