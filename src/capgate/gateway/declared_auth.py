"""What an exposed adapter's `authentication` asks of its callers, as capgate enforces it.

A document that declares who may call an adapter must never be served open by surprise. So:
- `bearer`, `basic` and `apikey` in a header are checked by capgate itself, on that adapter's listener, beside
  its own inbound tokens and OAuth: the values are the document's, rendered with its binds;
- `oauth2` is what `--oauth-issuer` does, `digest` and `apikey` in the query are what capgate cannot check: a
  document that asks for one of them is served only when capgate's own inbound tokens or OAuth protect every
  endpoint instead, or when the operator says `--allow-unauthenticated`; otherwise `capgate serve` refuses to
  start and says which flags would protect it.
"""

from __future__ import annotations

import base64

from capgate.consumes.binds import Secrets
from capgate.core import redaction
from capgate.core.errors import ConfigurationError
from capgate.document.models import Document, InboundAuthentication
from capgate.document.templates import placeholders, render
from capgate.exposes.inbound.declared import DeclaredCredential


def declared_credentials(document: Document, secrets: Secrets) -> tuple[dict[str, list[DeclaredCredential]], list[str]]:
    """Per adapter namespace, the credentials its `authentication` asks callers for; and what capgate cannot
    check itself, one sentence each, saying which flags would protect it instead."""
    checked: dict[str, list[DeclaredCredential]] = {}
    unchecked: list[str] = []
    for adapter in document.capability.exposes:
        auth = adapter.authentication
        if auth is None:
            continue
        where = f"the {adapter.type} adapter {adapter.namespace!r}"
        credential = _credential(auth, where, secrets)
        if credential is not None:
            checked.setdefault(adapter.namespace, []).append(credential)
        elif auth.type == "oauth2":
            issuer = auth.authorization_server_uri or "<its authorizationServerUri>"
            audience = auth.audience or auth.resource
            unchecked.append(
                f"{where} asks for OAuth access tokens of {issuer}: serve it with --oauth-issuer {issuer}"
                + (f" --oauth-audience {audience}" if audience else "")
            )
        else:
            kind = "digest authentication" if auth.type == "digest" else "an API key in the query"
            unchecked.append(
                f"{where} asks for {kind}, which capgate cannot check: protect it with capgate's own inbound "
                "tokens (CAPGATE_TOKENS, --tokens-file) or --oauth-issuer"
            )
    return checked, unchecked


def refuse_unprotected(unchecked: list[str]) -> None:
    """ConfigurationError: the adapters that would be served open, and how to protect them."""
    raise ConfigurationError(
        "the document asks for callers' credentials capgate would not check, so it is not served open: "
        + "; ".join(unchecked)
        + ". Or pass --allow-unauthenticated if something in front of capgate already authenticates callers"
    )


def _credential(auth: InboundAuthentication, where: str, secrets: Secrets) -> DeclaredCredential | None:
    """The header value `auth` expects, rendered; None for a kind capgate does not check itself."""
    if auth.type == "bearer":
        token = _rendered(auth.token, f"{where}: authentication.token", secrets, secret=True)
        return DeclaredCredential.of(where, "authorization", token, "Authorization: Bearer <token>", "bearer")
    if auth.type == "basic":
        username = _rendered(auth.username, f"{where}: authentication.username", secrets, secret=False)
        password = _rendered(auth.password, f"{where}: authentication.password", secrets, secret=True)
        encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
        redaction.register([encoded])
        hint = "Authorization: Basic <user:password in base64>"
        return DeclaredCredential.of(where, "authorization", encoded, hint, "basic")
    if auth.type == "apikey" and auth.placement == "header":
        key = _rendered(auth.key, f"{where}: authentication.key", secrets, secret=False)  # a header name
        value = _rendered(auth.value, f"{where}: authentication.value", secrets, secret=True)
        return DeclaredCredential.of(where, key, value, f"{key}: <key>")
    return None


def _rendered(template: str | None, what: str, secrets: Secrets, *, secret: bool) -> str:
    """`template` with its binds filled, registered for redaction when it is a `secret` (not a header name or a
    user name, which answers may well contain); ConfigurationError when that leaves it empty or a name unbound."""
    text = render(template or "", secrets.lookup)
    if unbound := placeholders(text):
        raise ConfigurationError(f"{what}: {{{{{unbound[0]}}}}} is not bound; declare it under `binds`")
    if not text.strip():
        raise ConfigurationError(f"{what} is empty; callers could not present it. Give it a value from `binds`")
    if secret:
        redaction.register([text])
    return text
