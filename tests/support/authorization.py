"""A real OAuth authorization server for the tests: oidc-provider (npm, OpenID Certified) on loopback.

`tests/support/oidc_provider/server.mjs` is the server; this module installs its package, starts it with
signing keys made here (so a test can also sign tokens with the server's own key, to prove that a valid
signature alone does not get a token in), and drives its two grants: client credentials, and the
authorization code with PKCE through its (automatic) login and consent.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support.node import npm_installed

SERVER_DIR = Path(__file__).resolve().parent / "oidc_provider"
READY = "authorization-server: ready on "
STARTUP_TIMEOUT = 30.0

RSA_KID, EC_KID = "test-rsa-1", "test-ec-1"


@dataclass(frozen=True)
class Client:
    """A client registered with the server (a confidential one, for client credentials)."""

    client_id: str
    client_secret: str
    grant_types: tuple[str, ...] = ("client_credentials",)

    def registration(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "grant_types": list(self.grant_types),
            "response_types": [],
            "redirect_uris": [],
            "token_endpoint_auth_method": "client_secret_basic",
        }


@dataclass(frozen=True)
class ResourceRule:
    """Resource indicators matching `pattern` get tokens with these scopes, in this format."""

    pattern: str
    scope: str = "read write"
    format: str = "jwt"  # or "opaque"
    alg: str = "RS256"


@dataclass
class AuthorizationServer:
    url: str  # the issuer
    private_keys: dict[str, Any]  # kid -> the cryptography private key the server signs with
    lines: list[str] = field(default_factory=list)

    def token(self, client: Client, resource: str, scope: str) -> dict[str, Any]:
        """A client-credentials token response for `resource` (RFC 8707) and `scope`."""
        status, body = self.post_token(
            {"grant_type": "client_credentials", "resource": resource, "scope": scope}, client
        )
        assert status == 200, body
        return body

    def post_token(self, form: dict[str, str], client: Client) -> tuple[int, dict[str, Any]]:
        response = httpx2.post(
            self.url + "/token", data=form, auth=(client.client_id, client.client_secret), timeout=10
        )
        return response.status_code, response.json()

    def sign(self, claims: dict[str, Any], *, kid: str = RSA_KID, algorithm: str = "RS256") -> str:
        """A JWT signed with the server's own key, with any claims a test wants."""
        return jwt.encode(claims, self.private_keys[kid], algorithm=algorithm, headers={"kid": kid})

    def claims(self, audience: str, **overrides: Any) -> dict[str, Any]:
        """The claims of a valid access token for `audience`, changed by `overrides` (None removes one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": "alice",
            "aud": audience,
            "iat": now,
            "exp": now + 600,
            "scope": "read write",
            "client_id": "signed-by-the-test",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}


async def authorize_in_browser(authorization_url: str, redirect_uri: str, user: str = "alice") -> dict[str, str]:
    """What a person's browser does: follow the authorization URL through login and consent (automatic on
    this server, as `user`) until it redirects to `redirect_uri`; the query of that redirect."""
    async with httpx2.AsyncClient(timeout=10, headers={"x-test-user": user}) as browser:
        url = authorization_url
        for _ in range(10):
            response = await browser.get(url)
            location = response.headers.get("location")
            assert response.status_code in (302, 303) and location, (response.status_code, response.text[:500])
            url = urllib.parse.urljoin(url, location)
            if url.startswith(redirect_uri):
                return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    raise AssertionError(f"no redirect to {redirect_uri} after 10 steps")


@contextmanager
def authorization_server(
    clients: list[Client], resources: list[ResourceRule], *, ttl: int = 600
) -> Iterator[AuthorizationServer]:
    """oidc-provider on a free loopback port until the block ends."""
    server = npm_installed(SERVER_DIR)
    private_keys: dict[str, Any] = {
        RSA_KID: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        EC_KID: ec.generate_private_key(ec.SECP256R1()),
    }
    config = {
        "jwks": {"keys": [_private_jwk(kid, key) for kid, key in private_keys.items()]},
        "clients": [client.registration() for client in clients],
        "resources": [vars(rule) for rule in resources],
        "ttl": ttl,
    }
    process = subprocess.Popen(
        [server.node, str(server.folder / "server.mjs")],
        cwd=server.folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "AS_CONFIG": json.dumps(config), "NODE_ENV": "test"},
    )
    lines: list[str] = []
    ready: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith(READY):
                ready.put(line[len(READY) :].strip())
        ready.put(None)

    reader = threading.Thread(target=drain, name="authorization-server-output", daemon=True)
    reader.start()
    try:
        try:
            url = ready.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            url = None
        assert url, "the authorization server did not start:\n" + "\n".join(lines[-30:])
        yield AuthorizationServer(url, private_keys, lines)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        reader.join(10)


def _private_jwk(kid: str, key: Any) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
        return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key))
    return {**jwk, "kid": kid, "alg": "ES256", "use": "sig"}


def public_jwk(key: Any, kid: str) -> dict[str, Any]:
    """The public half of a key as a JWK (for a JWKS of the test's own)."""
    public = key.public_key()
    algorithm = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
    return {**json.loads(algorithm.to_jwk(public)), "kid": kid}


def unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    """A JWT with `header` and no signature (`alg: none`), as an attacker would send it."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."
