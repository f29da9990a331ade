"""What `capgate serve --oauth-issuer …` was asked for, as one value; nothing is fetched until it is started
(`capgate.exposes.inbound.oauth`). A module of its own so the command line can build it without loading the
machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CLIENT_SECRET_VARIABLE = "CAPGATE_OAUTH_CLIENT_SECRET"


@dataclass(frozen=True)
class OAuthSettings:
    """What `--oauth-*` and `--public-url` asked for; docs/hardening.md has each."""

    issuer: str
    audiences: tuple[str, ...] = ()  # empty: each endpoint's own resource URL
    public_url: str | None = None  # the URL callers reach capgate at, behind a proxy
    read_scope: str = "read"
    write_scope: str = "write"
    introspection_client: str | None = None  # a client id: introspect opaque tokens as this client
    introspection_secret: str | None = field(default=None, repr=False)

    @property
    def scopes(self) -> tuple[str, str]:
        return (self.read_scope, self.write_scope)
