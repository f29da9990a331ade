"""What an OAuth access token, once checked, says about its caller, and the two ways a check fails.

Kept apart from the checks themselves (`capgate.exposes.inbound.access_tokens`), which import PyJWT and
cryptography (~0.1 s): those load only when `--oauth-issuer` is given.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Grant:
    """What a valid access token says: who, through which client, with which scopes, for whom, until when."""

    subject: str | None
    client: str | None
    scopes: frozenset[str]
    audiences: frozenset[str]
    expires: float  # epoch seconds; `math.inf` when an introspection answer gives no `exp`


class TokenRejected(Exception):
    """The token is not acceptable: a 401 `invalid_token`; the message says why and what to do."""


class CannotCheck(Exception):
    """The authorization server is needed to check the token and could not be asked: a 503."""
