"""An endpoint as an OAuth protected resource (RFC 9728): its identifier, its metadata, its challenges.

The MCP endpoint is the resource `BASE/mcp` and the REST facade `BASE/`, where BASE is `--public-url`, else
`http://HOST:PORT` of the listener. Each publishes its metadata — `resource`, `authorization_servers`,
`scopes_supported`, `bearer_methods_supported` — at `/.well-known/oauth-protected-resource` followed by the
resource's path (RFC 9728 §3.1: `/.well-known/oauth-protected-resource/mcp`), and also at the bare
`/.well-known/oauth-protected-resource`, where clients of the older revisions look. A 401 points to it:
`WWW-Authenticate: Bearer resource_metadata="…"`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import orjson
from starlette.responses import Response

WELL_KNOWN = "/.well-known/oauth-protected-resource"


@dataclass(frozen=True)
class ProtectedResource:
    """One endpoint's resource identifier and what its metadata says."""

    url: str  # the resource identifier: `http://127.0.0.1:9090/mcp`, `https://gateway.example.com/`
    authorization_servers: tuple[str, ...]
    scopes: tuple[str, ...]  # (read scope, write scope)
    metadata_url: str = field(init=False)
    body: bytes = field(init=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        suffix = parts.path.rstrip("/")
        object.__setattr__(self, "metadata_url", f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}{suffix}")
        metadata = {
            "resource": self.url,
            "authorization_servers": list(self.authorization_servers),
            "scopes_supported": list(self.scopes),
            "bearer_methods_supported": ["header"],
        }
        object.__setattr__(self, "body", orjson.dumps(metadata))

    def serves(self, path: str, local_path: str) -> bool:
        """Whether `path` is where this resource's metadata is asked for on its listener (whose own path for
        the resource is `local_path`, `/mcp` or `/`)."""
        if not path.startswith(WELL_KNOWN):
            return False
        suffix = path[len(WELL_KNOWN) :].rstrip("/")
        return suffix in ("", local_path.rstrip("/"), urlsplit(self.url).path.rstrip("/"))

    def metadata_response(self) -> Response:
        # Public metadata: any web page may read it (browser-based MCP clients fetch it cross-origin).
        headers = {"access-control-allow-origin": "*", "cache-control": "max-age=3600"}
        return Response(self.body, media_type="application/json", headers=headers)

    def challenge(self, *, error: str | None = None, scope: str | None = None) -> str:
        """The parameters of a `WWW-Authenticate: Bearer` challenge (RFC 6750 §3, RFC 9728 §5.1)."""
        parts = [f'error="{error}"'] if error else []
        parts.append(f'resource_metadata="{self.metadata_url}"')
        if scope:
            parts.append(f'scope="{scope}"')
        return ", ".join(parts)


def resource_url(base: str, local_path: str) -> str:
    """The resource identifier of the endpoint at `local_path` (`/mcp`, `/`) beneath `base`."""
    return base.rstrip("/") + local_path
