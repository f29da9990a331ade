"""Finding an authorization server's metadata: RFC 8414 first, then OpenID discovery (inserted, appended); the
metadata must name the issuer; what was tried is said when nothing is found. Real servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from capgate.core.errors import ConfigurationError
from capgate.exposes.inbound.issuer import Issuer, metadata_urls
from tests.support.servers import serve_app

pytestmark = pytest.mark.anyio


def test_where_metadata_is_looked_for() -> None:
    assert metadata_urls("https://login.example.com") == [
        "https://login.example.com/.well-known/oauth-authorization-server",
        "https://login.example.com/.well-known/openid-configuration",
    ]
    assert metadata_urls("https://login.example.com/tenant/v2.0/") == [
        "https://login.example.com/.well-known/oauth-authorization-server/tenant/v2.0",
        "https://login.example.com/.well-known/openid-configuration/tenant/v2.0",
        "https://login.example.com/tenant/v2.0/.well-known/openid-configuration",
    ]


class Metadata:
    """An authorization server that publishes its metadata at one path only, naming `issuer`."""

    def __init__(self, path: str, issuer: str | None = None) -> None:
        self.path = path
        self.issuer = issuer
        self.asked: list[str] = []
        self.url = ""

    async def answer(self, request: Request) -> Response:
        self.asked.append(request.url.path)
        if request.url.path != self.path:
            return Response(status_code=404)
        document: dict[str, Any] = {
            "issuer": self.issuer or self.url + "/tenant",
            "jwks_uri": self.url + "/keys",
            "introspection_endpoint": self.url + "/introspect",
        }
        return JSONResponse(document)


@pytest.fixture
def served() -> Iterator[Any]:
    def serve(metadata: Metadata) -> Any:
        app = Starlette(routes=[Route("/{path:path}", metadata.answer)])
        return serve_app(app)

    yield serve


@pytest.mark.parametrize(
    "path",
    [
        "/.well-known/oauth-authorization-server/tenant",  # RFC 8414
        "/.well-known/openid-configuration/tenant",  # RFC 8414 §5, for OpenID providers
        "/tenant/.well-known/openid-configuration",  # OpenID Connect Discovery
    ],
)
async def test_the_metadata_is_found_where_it_is(served: Any, path: str) -> None:
    metadata = Metadata(path)
    with served(metadata) as url:
        metadata.url = url
        issuer = Issuer(url + "/tenant")
        try:
            found = await issuer.discover()
        finally:
            await issuer.close()
    assert (found.issuer, found.jwks_uri, found.introspection_endpoint) == (
        url + "/tenant",
        url + "/keys",
        url + "/introspect",
    )
    assert metadata.asked[-1] == path and found.found_at == url + path


async def test_metadata_naming_another_issuer_is_refused(served: Any) -> None:
    metadata = Metadata("/.well-known/oauth-authorization-server/tenant", issuer="https://evil.example")
    with served(metadata) as url:
        metadata.url = url
        issuer = Issuer(url + "/tenant")
        with pytest.raises(ConfigurationError, match="names the issuer 'https://evil.example'; give exactly that"):
            await issuer.discover()
        await issuer.close()


async def test_no_metadata_says_what_was_tried(served: Any) -> None:
    metadata = Metadata("/nowhere")
    with served(metadata) as url:
        metadata.url = url
        issuer = Issuer(url + "/tenant")
        with pytest.raises(ConfigurationError) as raised:
            await issuer.discover()
        await issuer.close()
    message = str(raised.value)
    assert all(f"{candidate}: HTTP 404" in message for candidate in metadata_urls(url + "/tenant"))
    assert "check the issuer URL" in message


async def test_an_unreachable_issuer_says_so() -> None:
    from tests.support.servers import free_port

    issuer = Issuer(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ConfigurationError, match=r"cannot connect"):
        await issuer.discover()
    await issuer.close()
