"""`capgate mcp-config`: the exact configuration that connects an MCP client to capgate.

Over HTTP the client talks to a running gateway's /mcp endpoint; over stdio it launches
`capgate serve DOC --mcp-transport stdio --no-rest` itself. Secrets never go into a snippet: each client
reads them through its own variable syntax (Claude Code `${VAR}`, Cursor `${env:VAR}`, VS Code a password
prompt), except Claude Desktop, which has none, so its snippet holds a placeholder to replace.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from capgate.cli.shell import EXIT_OK, Commands, add_base_uri, add_document, base_uris, command
from capgate.core.errors import ConfigurationError
from capgate.document.bundled import bundled_documents
from capgate.document.combined import load_documents
from capgate.document.models import ExposesMcp
from capgate.exposes.mcp import MCP_PATH

AUTHORIZATION = "Authorization"


def add(commands: Commands[argparse.ArgumentParser]) -> None:
    parser = command(
        commands,
        "mcp-config",
        "print the configuration that connects an MCP client to capgate",
        "  capgate mcp-config                                # every client, with where each snippet goes\n"
        "  capgate mcp-config --client claude-code > .mcp.json\n"
        "  capgate mcp-config --client vscode --url https://gateway.example.com/mcp --token-env CAPGATE_TOKEN\n"
        "  capgate mcp-config --client claude-desktop --base-uri management-runs=http://127.0.0.1:3030\n\n"
        "HTTP snippets point at a running gateway's /mcp; --stdio snippets (and Claude Desktop's, which can only\n"
        "launch local servers) start `capgate serve DOC --mcp-transport stdio --no-rest` themselves.",
    )
    add_document(parser)
    parser.add_argument(
        "--client",
        choices=["claude-desktop", "claude-code", "cursor", "vscode"],
        help="the client to configure (default: show every client)",
    )
    parser.add_argument("--stdio", action="store_true", help="launch capgate over stdio instead of using a URL")
    parser.add_argument("--name", help="the server's name in the client (default: the (first) document's name)")
    parser.add_argument("--url", help="the MCP endpoint (default: http://HOST:PORT/mcp)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="the gateway's host for the default URL (default: %(default)s)"
    )
    parser.add_argument("--mcp-port", type=int, metavar="N", help="the gateway's MCP port (default: the document's)")
    add_base_uri(parser, "passed on to the stdio launch, as for serve; repeatable")
    parser.add_argument(
        "--token-env",
        metavar="VAR",
        help="an environment variable holding an inbound bearer token, sent as Authorization (HTTP only)",
    )
    parser.set_defaults(handler=run)


def run(options: argparse.Namespace) -> int:
    base_uris(options.base_uri)  # the same checks as serve, before a client runs it
    target = target_for(
        options.documents,
        name=options.name,
        url=options.url,
        host=options.host,
        port=options.mcp_port,
        base_uris=options.base_uri,
        token_variable=options.token_env,
    )
    for name in [options.client] if options.client else list(CLIENTS):
        text = orjson.dumps(snippet(name, target, stdio=options.stdio), option=orjson.OPT_INDENT_2).decode()
        if options.client:
            print(f"# {CLIENTS[name].label}: put this in {CLIENTS[name].file}", file=sys.stderr)
            print(text)
        else:
            print(f"# {CLIENTS[name].label}: {CLIENTS[name].file}\n{text}\n")
    return EXIT_OK


@dataclass(frozen=True)
class Client:
    """How one MCP client's configuration file is shaped."""

    label: str
    file: str  # where the snippet goes
    servers_key: str  # "mcpServers", or "servers" for VS Code
    http_type: str | None  # the "type" an HTTP server entry carries, if the client wants one
    stdio_type: str | None
    variable: Callable[[str], str] | None  # VAR -> the client's reference to it; None: no variables
    http: bool = True  # False: the client's file can only launch local servers


CLIENTS = {
    "claude-desktop": Client(
        "Claude Desktop",
        "claude_desktop_config.json (Settings → Developer → Edit Config)",
        "mcpServers",
        None,
        None,
        None,
        http=False,
    ),
    "claude-code": Client(
        "Claude Code",
        ".mcp.json at the project root (or `claude mcp add-json NAME '…'`)",
        "mcpServers",
        "http",
        "stdio",
        lambda name: "${" + name + "}",
    ),
    "cursor": Client(
        "Cursor",
        ".cursor/mcp.json in the project, or ~/.cursor/mcp.json",
        "mcpServers",
        None,
        None,
        lambda name: "${env:" + name + "}",
    ),
    "vscode": Client(
        "VS Code",
        ".vscode/mcp.json in the workspace",
        "servers",
        "http",
        "stdio",
        lambda name: "${input:" + _input_id(name) + "}",
    ),
}


@dataclass(frozen=True)
class Target:
    """What the snippet connects to: a URL for HTTP, a command line for stdio."""

    name: str
    url: str | None
    launch: list[str]
    secrets: list[str] = field(default_factory=list)  # environment variables the stdio launch needs
    token_variable: str | None = None  # an environment variable holding an inbound bearer token (HTTP)


def target_for(
    documents: Sequence[str],
    *,
    name: str | None = None,
    url: str | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    base_uris: list[str] | None = None,
    token_variable: str | None = None,
) -> Target:
    """The target for `documents` (served together): the first MCP endpoint's URL and the command that serves
    them over stdio."""
    spec = load_documents(documents).document
    adapters = [adapter for adapter in spec.capability.exposes if isinstance(adapter, ExposesMcp)]
    if not adapters:
        raise ConfigurationError(f"{' '.join(documents)}: no MCP adapter, so no MCP client can connect")
    port = port if port is not None else adapters[0].port
    if url is None and port is not None:
        url = f"http://{f'[{host}]' if ':' in host else host}:{port}{MCP_PATH}"
    sources = [document if document in bundled_documents() else str(Path(document).resolve()) for document in documents]
    launch = [*_capgate_command(), "serve", *sources, "--mcp-transport", "stdio", "--no-rest"]
    for item in base_uris or []:
        launch += ["--base-uri", item]
    binds = [*spec.binds, *spec.capability.binds]
    secrets = list(dict.fromkeys(key for bind in binds if not bind.location for key in bind.keys.values()))
    return Target(name or Path(documents[0]).stem, url, launch, secrets, token_variable)


def snippet(client_name: str, target: Target, *, stdio: bool) -> dict[str, Any]:
    """The client's configuration, a JSON object to merge into the file `CLIENTS[client_name].file`."""
    client = CLIENTS[client_name]
    if stdio or not client.http:
        entry = _stdio_entry(client, target)
    else:
        if target.url is None:
            raise ConfigurationError("the document's MCP adapter has no port; pass --url, --mcp-port or --stdio")
        entry = {"type": client.http_type} if client.http_type else {}
        entry["url"] = target.url
        if target.token_variable:
            entry["headers"] = {AUTHORIZATION: "Bearer " + _reference(client, target.token_variable)}
    config: dict[str, Any] = {client.servers_key: {target.name: entry}}
    variables = ([*target.secrets] if stdio or not client.http else []) + (
        [target.token_variable] if target.token_variable and not stdio and client.http else []
    )
    if client_name == "vscode" and variables:
        config = {"inputs": [_prompt(variable) for variable in variables], **config}
    return config


def _stdio_entry(client: Client, target: Target) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": client.stdio_type} if client.stdio_type else {}
    entry.update(command=target.launch[0], args=target.launch[1:])
    if target.secrets:
        entry["env"] = {secret: _reference(client, secret) for secret in target.secrets}
    return entry


def _reference(client: Client, variable: str) -> str:
    return client.variable(variable) if client.variable else f"<your {variable}>"


def _prompt(variable: str) -> dict[str, Any]:
    return {
        "type": "promptString",
        "id": _input_id(variable),
        "description": f"{variable} for capgate",
        "password": True,
    }


def _input_id(variable: str) -> str:
    return variable.lower().replace("_", "-")


def _capgate_command() -> list[str]:
    # The interpreter capgate is installed in, by absolute path: desktop clients start servers with a minimal
    # PATH that rarely holds a virtualenv or a version manager's shims.
    return [sys.executable, "-m", "capgate.cli"]
