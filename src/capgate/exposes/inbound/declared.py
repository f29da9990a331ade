"""Credentials a document itself asks the callers of one adapter for (its exposed `authentication`).

capgate checks them beside its own inbound tokens and OAuth: a `bearer` token or a `basic` pair in
`Authorization` (the scheme in any case, RFC 9110 §11.1), or an `apikey` in a header of its own. Each is kept
as the SHA-256 of the bytes it expects (the token, the base64 pair, the key), compared in constant time, so
neither the value nor which credential matched shows in how long the comparison takes. A header that carries a
declared key is the caller's credential for capgate, so it is taken out of the request before anything can
pass it on (a `forward` resource's trusted headers, a header input).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import Scope

AUTHORIZATION = "authorization"


@dataclass(frozen=True)
class DeclaredCredential:
    """One credential an adapter's document declares: `id` names it in logs (never the value)."""

    id: str
    header: str  # lower-case header name
    scheme: str | None  # lower-case `Authorization` scheme (`bearer`, `basic`); None for a key header
    digest: bytes  # SHA-256 of the credential's bytes (after the scheme)
    hint: str  # what a caller must send, without the secret: "Authorization: Bearer <token>"

    @classmethod
    def of(
        cls, credential_id: str, header: str, value: str, hint: str, scheme: str | None = None
    ) -> DeclaredCredential:
        return cls(credential_id, header.lower(), scheme and scheme.lower(), _digest(value.encode()), hint)


def presented(credentials: Sequence[DeclaredCredential], scope: Scope) -> DeclaredCredential | None:
    """The credential of `credentials` the request presents, or None."""
    if not credentials:
        return None  # an endpoint guarded by capgate's own tokens only: no header to read here
    headers: dict[str, bytes] = {}
    for name, value in scope.get("headers", []):
        headers.setdefault(name.decode("latin-1").lower(), value)
    found = None
    for credential in credentials:  # every one is compared, so timing does not tell which one matched
        given = _credential_part(headers.get(credential.header), credential.scheme)
        digest = _digest(given) if given is not None else b""
        if hmac.compare_digest(credential.digest, digest) and given is not None:
            found = credential
    return found


def key_headers(credentials: Sequence[DeclaredCredential]) -> frozenset[bytes]:
    """The names of the headers that carry declared keys (`Authorization` never travels on anyway)."""
    return frozenset(c.header.encode("latin-1") for c in credentials if c.header != AUTHORIZATION)


def without_key_headers(names: frozenset[bytes], scope: Scope) -> None:
    """Take the headers `names` (`key_headers`) out of the request in `scope`."""
    if names:
        scope["headers"] = [(name, value) for name, value in scope["headers"] if name.lower() not in names]


def _credential_part(value: bytes | None, scheme: str | None) -> bytes | None:
    if value is None:
        return None
    if scheme is None:
        return value.strip()
    given, _, rest = value.strip().partition(b" ")
    return rest.strip() if given.lower() == scheme.encode() else None


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()
