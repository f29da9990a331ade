"""`capgate tools`: the documents' MCP tools and REST routes, as tables on a terminal or as JSON."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import Any, TextIO

import orjson

from capgate.cli.shell import EXIT_OK, Commands, add_document, command
from capgate.cli.terminal import painter, table, terminal_width
from capgate.exposes.catalog import Hints, Input

HINT_HEADERS = ["read-only", "destructive", "idempotent"]


def add(commands: Commands[argparse.ArgumentParser]) -> None:
    parser = command(
        commands,
        "tools",
        "list documents' MCP tools and REST routes: hints and parameters",
        "  capgate tools\n  capgate tools trigger-dev-runs-seed\n"
        "  capgate tools ./my-capability.yaml --json | jq '.tools[].name'",
    )
    add_document(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(handler=lambda options: run_tools(*options.documents, as_json=options.json, stdout=sys.stdout))


def run_tools(*documents: str, as_json: bool, stdout: TextIO) -> int:
    # Imported when the command runs, not when the parser is built: the MCP SDK takes half a second.
    from capgate.exposes.mcp.server import describe_tools
    from capgate.exposes.rest.routes import describe_routes
    from capgate.gateway.assembly import describing_gateway

    gateway = describing_gateway(*documents)
    spec = gateway.loaded.document
    described_tools = describe_tools(spec, gateway.mcp)
    described_routes = [(adapter.spec.namespace, describe_routes(spec, adapter)) for adapter in gateway.rest]
    if as_json:
        listing: dict[str, Any] = {
            "tools": [asdict(tool) for tool in described_tools],
            "routes": [asdict(route) for _, adapter_routes in described_routes for route in adapter_routes],
        }
        print(orjson.dumps(listing, option=orjson.OPT_INDENT_2).decode(), file=stdout)
        return EXIT_OK
    paint = painter(stdout)
    width = terminal_width(stdout)
    sections = []
    for adapter in gateway.mcp:
        rows = [
            [tool.name, tool.upstream, *_hints(tool.hints), _inputs(tool.inputs)]
            for tool in described_tools
            if tool.name in adapter.targets
        ]
        heading = f"MCP tools · {adapter.spec.namespace} ({len(rows)})"
        sections.append(
            paint(heading, "bold")
            + "\n"
            + table(
                ["name", "upstream", *HINT_HEADERS, "parameters"],
                rows,
                width=width,
                paint=paint,
                colour_of=_colour_of,
                whole=[0],  # the name `capgate call` takes
                hidden_hint="--json shows them",
            )
        )
    for namespace, adapter_routes in described_routes:
        rows = [
            [route.name, f"{route.method} {route.path}", *_hints(route.hints), _inputs(route.inputs)]
            for route in adapter_routes
        ]
        heading = f"REST routes · {namespace} ({len(rows)})"
        sections.append(
            paint(heading, "bold")
            + "\n"
            + table(
                ["name", "method and path", *HINT_HEADERS, "parameters"],
                rows,
                width=width,
                paint=paint,
                colour_of=_colour_of,
            )
        )
    sections.append(
        paint(
            "* required. `capgate call TOOL name=value ...` runs a tool; `capgate openapi` describes the routes.", "dim"
        )
    )
    print("\n\n".join(sections), file=stdout)
    return EXIT_OK


def _hints(hints: Hints) -> list[str]:
    return ["yes" if flag else "no" for flag in (hints.read_only, hints.destructive, hints.idempotent)]


def _inputs(inputs: list[Input]) -> str:
    return ", ".join(item.name + ("*" if item.required else "") for item in inputs) or "-"


def _colour_of(column: int, text: str) -> str:
    if column == 3 and text == "yes":  # destructive
        return "red"
    return "green" if column in (2, 4) and text == "yes" else ""
