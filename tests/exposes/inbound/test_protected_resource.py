"""An endpoint as an RFC 9728 protected resource: its identifier beneath the listener or `--public-url`, where
its metadata is answered, and the challenge that points to it. No server."""

from __future__ import annotations

import orjson

from capgate.exposes.inbound.protected_resource import ProtectedResource, resource_url

ISSUER = "https://login.example.com"


def test_each_endpoint_is_a_resource_beneath_its_base() -> None:
    assert resource_url("http://127.0.0.1:9090", "/mcp") == "http://127.0.0.1:9090/mcp"
    assert resource_url("http://127.0.0.1:8080", "/") == "http://127.0.0.1:8080/"
    assert resource_url("https://gateway.example.com/trigger/", "/mcp") == "https://gateway.example.com/trigger/mcp"


def test_metadata_is_answered_where_rfc_9728_and_older_clients_look() -> None:
    mcp = ProtectedResource("https://gateway.example.com/trigger/mcp", (ISSUER,), ("runs:read", "runs:write"))
    assert mcp.metadata_url == "https://gateway.example.com/.well-known/oauth-protected-resource/trigger/mcp"
    served = [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",  # the listener's own path, behind a proxy that strips the prefix
        "/.well-known/oauth-protected-resource/trigger/mcp",
    ]
    assert all(mcp.serves(path, "/mcp") for path in served)
    assert not any(mcp.serves(path, "/mcp") for path in ("/.well-known/oauth-protected-resource/other", "/mcp"))
    assert orjson.loads(mcp.metadata_response().body) == {
        "resource": "https://gateway.example.com/trigger/mcp",
        "authorization_servers": [ISSUER],
        "scopes_supported": ["runs:read", "runs:write"],
        "bearer_methods_supported": ["header"],
    }
    rest = ProtectedResource("https://gateway.example.com/", (ISSUER,), ("read", "write"))
    assert rest.metadata_url == "https://gateway.example.com/.well-known/oauth-protected-resource"
    assert rest.serves("/.well-known/oauth-protected-resource", "/")


def test_the_challenge_names_the_metadata_and_what_is_missing() -> None:
    resource = ProtectedResource("http://127.0.0.1:9090/mcp", (ISSUER,), ("read", "write"))
    assert resource.challenge(error="insufficient_scope", scope="write") == (
        'error="insufficient_scope", '
        'resource_metadata="http://127.0.0.1:9090/.well-known/oauth-protected-resource/mcp", scope="write"'
    )
