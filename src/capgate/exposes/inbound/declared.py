"""Credentials a document itself asks the callers of one adapter for (its exposed `authentication`).

capgate checks them beside its own inbound tokens and OAuth: a `bearer` token or a `basic` pair in
`Authorization`, or an `apikey` in a header of its own. Each is kept as the SHA-256 of the exact header value
it expects (`Bearer <token>`, `Basic <base64 of user:password>`, the key itself), compared in constant time, so
neither the value nor which credential matched shows in how long the comparison takes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import Scope


@dataclass(frozen=True)
class DeclaredCredential:
    """One credential an adapter's document declares: `id` names it in logs (never the value)."""

    id: str
    header: str  # lower-case header name
    digest: bytes  # SHA-256 of the whole header value
    hint: str  # what a caller must send, without the secret: "Authorization: Bearer <token>"

    @classmethod
    def of(cls, credential_id: str, header: str, value: str, hint: str) -> DeclaredCredential:
        return cls(credential_id, header.lower(), _digest(value), hint)


def presented(credentials: Sequence[DeclaredCredential], scope: Scope) -> DeclaredCredential | None:
    """The credential of `credentials` the request presents, or None."""
    headers: dict[str, bytes] = {}
    for name, value in scope.get("headers", []):
        headers.setdefault(name.decode("latin-1").lower(), value)
    found = None
    for credential in credentials:  # every one is compared, so timing does not tell which one matched
        value = headers.get(credential.header)
        digest = _digest(value.decode("latin-1").strip()) if value is not None else b""
        if hmac.compare_digest(credential.digest, digest) and value is not None:
            found = credential
    return found


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()
