"""A directory served as MCP resources (`location: file:///dir`) is an input the document's author controls: a
file is served up to a bound, never with a secret the gateway holds in it, and within the caller's budget."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client, MCPError

from capgate.consumes.limiter import RateLimit
from capgate.exposes.mcp.files import MAX_FILE_BYTES
from capgate.gateway.safeguards import Hardening
from tests.conformance.serving import routed_upstream, serving
from tests.support.gateway import gateway_config, running_gateway

pytestmark = pytest.mark.anyio

KEY = "files-canary-key-0000000000000001"


def document(folder: Path) -> str:
    """A document with a bound key, a REST route and an MCP adapter serving `folder`/docs as resources."""
    path = folder / "static.yaml"
    path.write_text(f"""naftiko: 1.0.0-alpha2
binds:
- namespace: env
  keys:
    FILES_KEY: FILES_KEY
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: https://api.example.com
    authentication:
      type: bearer
      token: '{{{{FILES_KEY}}}}'
    resources:
    - name: thing
      path: /thing
      operations:
      - name: readthing
        method: GET
  exposes:
  - type: rest
    namespace: files-rest
    port: 2
    resources:
    - path: /thing
      operations:
      - method: GET
        call: api.readthing
  - type: mcp
    namespace: files
    port: 1
    tools: []
    resources:
    - name: docs
      uri: docs://guides
      location: file://{folder / "docs"}
""")
    return str(path)


async def test_a_file_is_served_without_the_key_and_one_over_the_bound_is_refused(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.md").write_text(f"left here by mistake: Bearer {KEY}\n")
    (tmp_path / "docs" / "huge.log").write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    with routed_upstream() as upstream, serving(document(tmp_path), upstream.url, environ={"FILES_KEY": KEY}) as served:
        async with Client(served.urls["files"]) as client:
            notes = await client.read_resource("docs://guides/notes.md")
            with pytest.raises(MCPError, match=f"larger than {MAX_FILE_BYTES} bytes"):
                await client.read_resource("docs://guides/huge.log")
    text = notes.contents[0].text  # type: ignore[union-attr]
    assert KEY not in text and text.startswith("left here by mistake: Bearer ")


async def test_reading_a_file_spends_the_callers_budget(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n")
    with routed_upstream() as upstream:
        hardening = Hardening(audit_log=None, caller_rate_limit=RateLimit(2, 1, 3600))
        environ, base_uris = {"FILES_KEY": KEY}, {"api": upstream.url}
        config = gateway_config(document(tmp_path), "", base_uris=base_uris, environ=environ, hardening=hardening)
        with running_gateway(config) as gateway:
            async with Client(gateway.mcp) as client:
                read = [await client.read_resource("docs://guides/guide.md") for _ in range(2)]
                with pytest.raises(MCPError, match="Too many calls") as refused:
                    await client.read_resource("docs://guides/guide.md")
    assert [r.contents[0].text for r in read] == ["# Guide\n", "# Guide\n"]  # type: ignore[union-attr]
    assert refused.value.error.code == -32010
