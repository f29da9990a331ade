"""The OAuth authorization server, as capgate talks to it: its metadata, its signing keys, its introspection.

Its metadata is found as RFC 8414 says (`/.well-known/oauth-authorization-server`, inserted before the
issuer's path), else by OpenID Connect discovery (`/.well-known/openid-configuration`, inserted, then
appended), in the order the MCP SDK's clients try them, and must name the configured issuer exactly (RFC 8414
§3.3). Every request goes through one small pool with short timeouts and a bounded body
(`capgate.consumes.client`), so a slow or hostile server costs a bounded wait and memory.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import orjson

from capgate.consumes.client import ClientSettings, Timeouts, UpstreamClient, UpstreamRequest
from capgate.core import redaction
from capgate.core.errors import ConfigurationError, UpstreamError

ISSUER_CLIENT_SETTINGS = ClientSettings(
    timeouts=Timeouts(connect=5.0, read=10.0, total=10.0), max_connections=16, max_body_bytes=1024 * 1024
)


@dataclass(frozen=True)
class ServerMetadata:
    """What capgate needs of the authorization server's metadata."""

    issuer: str
    jwks_uri: str | None
    introspection_endpoint: str | None
    found_at: str  # the URL the metadata came from, for messages


class IssuerUnavailable(Exception):
    """The authorization server gave no usable answer; the message says what happened, for the operator."""


def metadata_urls(issuer: str) -> list[str]:
    """Where the metadata of `issuer` may be, in the order they are tried."""
    parts = urlsplit(issuer)
    origin, path = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
    if not path:
        return [f"{origin}/.well-known/oauth-authorization-server", f"{origin}/.well-known/openid-configuration"]
    return [
        f"{origin}/.well-known/oauth-authorization-server{path}",
        f"{origin}/.well-known/openid-configuration{path}",
        f"{origin}{path}/.well-known/openid-configuration",
    ]


class Issuer:
    """One authorization server; open it before use and close it after."""

    def __init__(self, issuer: str, client: UpstreamClient | None = None) -> None:
        self.issuer = issuer
        self.metadata: ServerMetadata | None = None
        self._client = client or UpstreamClient(ISSUER_CLIENT_SETTINGS)

    async def open(self) -> None:
        await self._client.open()

    async def close(self) -> None:
        await self._client.close()

    async def discover(self) -> ServerMetadata:
        """The server's metadata; ConfigurationError names every URL tried and what each answered."""
        answers = []
        for url in metadata_urls(self.issuer):
            try:
                status, document = await self.get_json(url, "oauth.metadata")
            except IssuerUnavailable as exc:
                answers.append(f"{url}: {exc}")
                continue
            if status != 200 or not isinstance(document, dict):
                answers.append(f"{url}: HTTP {status}")
                continue
            if document.get("issuer") != self.issuer:
                raise ConfigurationError(
                    f"--oauth-issuer {self.issuer}: the metadata at {url} names the issuer "
                    f"{document.get('issuer')!r}; give exactly that value (RFC 8414 requires them to be equal)"
                )
            self.metadata = ServerMetadata(
                self.issuer,
                _text_or_none(document.get("jwks_uri")),
                _text_or_none(document.get("introspection_endpoint")),
                url,
            )
            return self.metadata
        raise ConfigurationError(
            f"--oauth-issuer {self.issuer}: no authorization server metadata found ({'; '.join(answers)}); check "
            "the issuer URL (it is the `iss` of the tokens) and that this machine can reach it"
        )

    async def get_json(self, url: str, operation: str) -> tuple[int, Any]:
        """The status and the parsed JSON body of GET `url` (None if the body is not JSON)."""
        return await self._send(UpstreamRequest(operation, "GET", url, {"accept": "application/json"}))

    async def post_form(
        self, url: str, form: dict[str, str], client_id: str, client_secret: str, operation: str
    ) -> tuple[int, Any]:
        """POST `form` to `url`, authenticated as the client (RFC 6749 §2.3.1 `client_secret_basic`)."""
        pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()
        basic = "Basic " + base64.b64encode(pair).decode()
        redaction.register([client_secret, basic])
        headers = {
            "accept": "application/json",
            "content-type": "application/x-www-form-urlencoded",
            "authorization": basic,
        }
        return await self._send(UpstreamRequest(operation, "POST", url, headers, urlencode(form).encode()))

    async def _send(self, request: UpstreamRequest) -> tuple[int, Any]:
        try:
            result = await self._client.send(request)
        except UpstreamError as exc:
            raise IssuerUnavailable(exc.reason) from None
        try:
            return result.status, orjson.loads(result.body)
        except orjson.JSONDecodeError:
            return result.status, None


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
