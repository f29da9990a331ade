"""`capgate mcp-config`: each client's snippet has that client's shape, and the stdio launch really serves MCP."""

from __future__ import annotations

import sys
from typing import Any

import jsonschema
import orjson
import pytest
from mcp import Client, StdioServerParameters

from capgate.cli.program import main
from tests.support.cli import capgate
from tests.support.gateway import TEST_KEY
from tests.support.upstream import RecordingUpstream

STRINGS = {"type": "array", "items": {"type": "string"}}
ENV = {"type": "object", "additionalProperties": {"type": "string"}}
HEADERS = {"type": "object", "additionalProperties": {"type": "string"}}


def servers(key: str, entry: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A client file: `key` maps server names to entries shaped like `entry`."""
    return {
        "type": "object",
        "required": [key],
        "additionalProperties": False,
        "properties": {key: {"type": "object", "minProperties": 1, "additionalProperties": entry}, **extra},
    }


def entry(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "additionalProperties": False, "properties": properties}


LOCAL = {"command": {"type": "string"}, "args": STRINGS, "env": ENV}
# The shapes each client documents for its configuration file (as of 2026).
SCHEMAS = {
    "claude-desktop": servers("mcpServers", entry(["command"], **LOCAL)),
    "claude-code": servers(
        "mcpServers",
        {
            "oneOf": [
                entry(
                    ["type", "url"], type={"const": "http"}, url={"type": "string", "format": "uri"}, headers=HEADERS
                ),
                entry(["type", "command"], type={"const": "stdio"}, **LOCAL),
            ]
        },
    ),
    "cursor": servers(
        "mcpServers", {"oneOf": [entry(["url"], url={"type": "string"}, headers=HEADERS), entry(["command"], **LOCAL)]}
    ),
    "vscode": servers(
        "servers",
        {
            "oneOf": [
                entry(["type", "url"], type={"const": "http"}, url={"type": "string"}, headers=HEADERS),
                entry(["type", "command"], type={"const": "stdio"}, **LOCAL),
            ]
        },
        inputs={
            "type": "array",
            "items": entry(
                ["type", "id", "description"],
                type={"const": "promptString"},
                id={"type": "string"},
                description={"type": "string"},
                password={"type": "boolean"},
            ),
        },
    ),
}


def config(*args: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["mcp-config", *args]) == 0
    return dict(orjson.loads(capsys.readouterr().out))


def test_without_a_client_every_client_gets_its_http_snippet_and_where_it_goes() -> None:
    result = capgate("mcp-config")
    assert result.returncode == 0, result.stderr
    blocks = result.stdout.split("# ")[1:]
    labels = [block.split(":", 1)[0] for block in blocks]
    assert labels == ["Claude Desktop", "Claude Code", "Cursor", "VS Code"]
    snippets = {name: orjson.loads(block[block.index("{") :]) for name, block in zip(SCHEMAS, blocks, strict=True)}
    for name, snippet in snippets.items():
        jsonschema.validate(snippet, SCHEMAS[name])
    url = "http://127.0.0.1:9090/mcp"
    assert snippets["claude-code"] == {"mcpServers": {"trigger-dev-runs": {"type": "http", "url": url}}}
    assert snippets["cursor"] == {"mcpServers": {"trigger-dev-runs": {"url": url}}}
    assert snippets["vscode"] == {"servers": {"trigger-dev-runs": {"type": "http", "url": url}}}
    desktop = snippets["claude-desktop"]["mcpServers"]["trigger-dev-runs"]  # it can only launch local servers
    assert desktop["args"][-5:] == ["serve", "trigger-dev-runs", "--mcp-transport", "stdio", "--no-rest"]
    assert desktop["env"] == {"TRIGGER_DEV_API_KEY": "<your TRIGGER_DEV_API_KEY>"}


@pytest.mark.parametrize(
    ("client", "secret"),
    [
        ("claude-desktop", "<your TRIGGER_DEV_API_KEY>"),
        ("claude-code", "${TRIGGER_DEV_API_KEY}"),
        ("cursor", "${env:TRIGGER_DEV_API_KEY}"),
        ("vscode", "${input:trigger-dev-api-key}"),
    ],
)
def test_stdio_snippets_launch_capgate_and_reference_the_secret_never_copy_it(
    client: str, secret: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIGGER_DEV_API_KEY", TEST_KEY)
    snippet = config(
        "--client", client, "--stdio", "--base-uri", "management-runs=http://127.0.0.1:3030", capsys=capsys
    )
    jsonschema.validate(snippet, SCHEMAS[client])
    server = snippet["servers" if client == "vscode" else "mcpServers"]["trigger-dev-runs"]
    assert server["command"] == sys.executable
    assert server["args"] == [
        "-m",
        "capgate.cli",
        "serve",
        "trigger-dev-runs",
        "--mcp-transport",
        "stdio",
        "--no-rest",
        "--base-uri",
        "management-runs=http://127.0.0.1:3030",
    ]
    assert server["env"] == {"TRIGGER_DEV_API_KEY": secret}
    if client == "vscode":
        assert snippet["inputs"] == [
            {
                "type": "promptString",
                "id": "trigger-dev-api-key",
                "description": "TRIGGER_DEV_API_KEY for capgate",
                "password": True,
            }
        ]
    assert TEST_KEY not in orjson.dumps(snippet).decode()


def test_http_snippets_carry_a_bearer_token_reference_and_a_custom_url(capsys: pytest.CaptureFixture[str]) -> None:
    url = "https://gateway.example.com/mcp"
    code = config(
        "--client", "claude-code", "--url", url, "--token-env", "CAPGATE_TOKEN", "--name", "runs", capsys=capsys
    )
    assert code == {
        "mcpServers": {"runs": {"type": "http", "url": url, "headers": {"Authorization": "Bearer ${CAPGATE_TOKEN}"}}}
    }
    vscode = config("--client", "vscode", "--url", url, "--token-env", "CAPGATE_TOKEN", capsys=capsys)
    jsonschema.validate(vscode, SCHEMAS["vscode"])
    assert vscode["servers"]["trigger-dev-runs"]["headers"] == {"Authorization": "Bearer ${input:capgate-token}"}
    assert [prompt["id"] for prompt in vscode["inputs"]] == ["capgate-token"]
    cursor = config("--client", "cursor", "--mcp-port", "9191", "--host", "::1", capsys=capsys)
    assert cursor == {"mcpServers": {"trigger-dev-runs": {"url": "http://[::1]:9191/mcp"}}}


@pytest.mark.anyio
async def test_the_stdio_launch_serves_the_tools_to_a_real_mcp_client(
    upstream: RecordingUpstream, capsys: pytest.CaptureFixture[str]
) -> None:
    snippet = config(
        "--client", "claude-code", "--stdio", "--base-uri", f"management-runs={upstream.url}", capsys=capsys
    )
    server = snippet["mcpServers"]["trigger-dev-runs"]
    env = {name: TEST_KEY if value == "${TRIGGER_DEV_API_KEY}" else value for name, value in server["env"].items()}
    upstream.reply(200, {"data": [], "pagination": {}})
    launch = StdioServerParameters(command=server["command"], args=server["args"], env=env)
    async with Client(launch) as client:
        tools = await client.list_tools()
        result = await client.call_tool("list-runs", {"page.size": 3})
    assert [tool.name for tool in tools.tools][:2] == ["list-runs", "retrieve-run"]
    assert not result.is_error and result.structured_content == {"data": [], "pagination": {}}
    assert upstream.last.query == "page%5Bsize%5D=3"
