"""`capgate openapi`: the OpenAPI 3.1 description of the documents' REST facade (its first port)."""

from __future__ import annotations

import argparse

import orjson

from capgate.cli.shell import EXIT_OK, Commands, add_document, command
from capgate.core.errors import ConfigurationError


def add(commands: Commands[argparse.ArgumentParser]) -> None:
    parser = command(
        commands,
        "openapi",
        "print the OpenAPI 3.1 description of documents' REST facade",
        "  capgate openapi > openapi.json\n"
        "  capgate openapi ./my-capability.yaml --server https://gateway.example.com\n\n"
        "A running gateway serves the same description at /openapi.json and a page at /docs.",
    )
    add_document(parser)
    parser.add_argument(
        "--server",
        metavar="URL",
        help="the facade's base URL in `servers` (default: http://127.0.0.1:<the document's REST port>)",
    )
    parser.set_defaults(handler=run)


def run(options: argparse.Namespace) -> int:
    from capgate.exposes.rest.openapi import build_openapi
    from capgate.gateway.assembly import describing_gateway

    gateway = describing_gateway(*options.documents)
    if not gateway.rest:
        raise ConfigurationError(f"{' '.join(options.documents)}: no REST adapter to describe")
    # The first REST port: the first document's first adapter, and every later document's beside it.
    first, *more = gateway.loaded.served_together(gateway.rest, lambda adapter: adapter.spec)[0]
    server = options.server or f"http://127.0.0.1:{first.spec.port or 8080}"
    description = build_openapi(gateway.loaded.document, first, *more, server_url=server.rstrip("/"))
    print(orjson.dumps(description, option=orjson.OPT_INDENT_2).decode())
    return EXIT_OK
