"""Inbound bearer tokens: who may call the gateway, and whether they may change anything.

Tokens come from the environment (`CAPGATE_TOKENS`) or a file (`--tokens-file`), never from the document,
which is meant to be shared. Each has an id (what logs and the audit log show), a scope and a secret:

    CAPGATE_TOKENS="ci-bot:write:<secret>, dashboard:read:<secret>"

    # tokens.yaml (or .json): the secret itself, or its SHA-256 so the file holds no secret
    tokens:
      - {id: ci-bot, scope: write, token: "<secret>"}
      - {id: dashboard, scope: read, sha256: "<hex digest of the secret>"}

`read` may call what only reads (REST GET and HEAD routes, MCP tools whose hints say readOnly); `write` may
call everything. Only a token's digest is kept; presented tokens are compared by digest in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capgate.core import redaction
from capgate.core.datafile import read_data_file
from capgate.core.errors import ConfigurationError
from capgate.observe.exchange import Caller

TOKENS_VARIABLE = "CAPGATE_TOKENS"
SCOPES = ("read", "write")
MIN_TOKEN_LENGTH = 16
_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_MAKE_ONE = "make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"


@dataclass(frozen=True)
class Token:
    """A caller's credential as the gateway keeps it: never the secret, only its digest."""

    id: str
    scope: str
    digest: bytes

    @property
    def can_write(self) -> bool:
        return self.scope == "write"

    @property
    def caller(self) -> Caller:
        return Caller(self.id, self.can_write)

    def __repr__(self) -> str:
        return f"Token(id={self.id!r}, scope={self.scope!r})"


class Tokens:
    """The configured inbound tokens; empty means the gateway is open to whoever can reach it."""

    def __init__(self, tokens: Sequence[Token] = ()) -> None:
        self._tokens = list(tokens)

    def __bool__(self) -> bool:
        return bool(self._tokens)

    def ids(self) -> list[str]:
        return [token.id for token in self._tokens]

    def identify(self, presented: str) -> Token | None:
        """The token whose secret is `presented`, or None."""
        digest = _digest(presented)
        found = None
        for token in self._tokens:  # every digest is compared, so timing does not tell which one matched
            if hmac.compare_digest(token.digest, digest):
                found = token
        return found


def load_tokens(environ: Mapping[str, str], path: str | None, upstream_secrets: Sequence[str] = ()) -> Tokens:
    """Tokens from `CAPGATE_TOKENS` and the file at `path`; ConfigurationError says what is wrong and where."""
    entries: list[tuple[str, dict[str, Any]]] = []
    variable = environ.get(TOKENS_VARIABLE, "")
    for position, item in enumerate(item for item in re.split(r"[,\s]+", variable) if item):
        token_id, _, rest = item.partition(":")
        scope, _, secret = rest.partition(":")
        entries.append(
            (
                f"{TOKENS_VARIABLE} item {position + 1} ({token_id or '?'})",
                {"id": token_id, "scope": scope, "token": secret},
            )
        )
    if path:
        entries += [(f"{path}: tokens[{index}]", entry) for index, entry in enumerate(_read_file(path))]
    tokens = [_token(where, entry) for where, entry in entries]
    ids = [token.id for token in tokens]
    if duplicated := sorted({token_id for token_id in ids if ids.count(token_id) > 1}):
        raise ConfigurationError(f"inbound token id {duplicated[0]!r} is used twice; give each token its own id")
    upstream = {_digest(secret) for secret in upstream_secrets}
    for token in tokens:
        if token.digest in upstream:
            raise ConfigurationError(
                f"inbound token {token.id!r} is the upstream's own key; callers must never "
                f"hold it. Give them a token of their own ({_MAKE_ONE})"
            )
    return Tokens(tokens)


def _token(where: str, entry: Any) -> Token:
    if not isinstance(entry, Mapping):
        raise ConfigurationError(f"{where}: expected a mapping with id, scope and token (or sha256)")
    token_id, scope = str(entry.get("id") or ""), str(entry.get("scope") or "")
    if not _ID.match(token_id):
        raise ConfigurationError(
            f"{where}: id {token_id!r} must be 1-64 letters, digits, '_', '.', '@' or '-'; "
            "it names the caller in logs and the audit log"
        )
    if scope not in SCOPES:
        raise ConfigurationError(f"{where}: scope {scope!r} must be read or write")
    secret, digest = entry.get("token"), entry.get("sha256")
    if secret is not None and digest is None:
        secret = str(secret)
        if len(secret) < MIN_TOKEN_LENGTH:
            raise ConfigurationError(
                f"{where}: the token is {len(secret)} characters long; use at least "
                f"{MIN_TOKEN_LENGTH} random characters ({_MAKE_ONE})"
            )
        redaction.register([secret])
        return Token(token_id, scope, _digest(secret))
    if digest is not None and secret is None and _HEX_DIGEST.match(str(digest).lower()):
        return Token(token_id, scope, bytes.fromhex(str(digest).lower()))
    raise ConfigurationError(
        f"{where}: give either token (the secret) or sha256 (64 hex digits of its SHA-256), not both and not neither"
    )


def _read_file(path: str) -> list[Any]:
    data = read_data_file(Path(path), "--tokens-file")
    entries = data.get("tokens") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise ConfigurationError(
            f"--tokens-file {path}: expected `tokens:` with a list of {{id, scope, token | sha256}} entries"
        )
    return entries


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()
