"""`capgate serve`: documents' REST facade and MCP server, in one process or in N workers sharing the ports."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from capgate.cli.serve_options import add_hardening_options, client_settings, connection_limits, hardening
from capgate.cli.shell import (
    EXIT_OK,
    Commands,
    add_allow_private_upstream,
    add_base_uri,
    add_document,
    base_uris,
    command,
)
from capgate.exposes.mcp import TEXT_MODES

if TYPE_CHECKING:  # the server and its dependencies load when the command runs
    from capgate.serve.config import ServeConfig


def add(commands: Commands[argparse.ArgumentParser]) -> None:
    parser = command(
        commands,
        "serve",
        "serve documents' REST facade and MCP server in one process (several documents share both)",
        "  TRIGGER_DEV_API_KEY=tr_dev_... capgate serve\n"
        "  capgate serve trigger-dev-runs --base-uri management-runs=http://127.0.0.1:3030\n"
        "  capgate serve ./my-capability.yaml --rest-port 8081 --mcp-port 9091\n"
        "  capgate serve trigger-dev-runs ./batches.yaml ./more-documents/ --name trigger-dev   # side by side\n"
        "  capgate serve --mcp-transport stdio --no-rest   # as an MCP client launches it\n"
        "  capgate serve --workers $(nproc)   # one process per core, sharing the ports (Linux)\n\n"
        "environment: the document's secrets (TRIGGER_DEV_API_KEY for the bundled documents); "
        "OTEL_* for traces (docs/configuration.md); CAPGATE_TOKENS and CAPGATE_REDIS_URL "
        "(docs/hardening.md)",
    )
    add_document(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument(
        "--rest-port",
        type=int,
        metavar="N",
        help="REST facade port (default: the (first) document's; 0 picks a free port)",
    )
    parser.add_argument("--mcp-port", type=int, metavar="N", help="MCP server port (default: the (first) document's)")
    parser.add_argument(
        "--port",
        action="append",
        default=[],
        metavar="NAMESPACE=N",
        help="the port of the adapter with this namespace (`control` for a control adapter), e.g. a skill "
        "catalogue's; repeatable",
    )
    add_base_uri(parser, "send a consumed namespace's calls to another URL (an emulator, a proxy); repeatable")
    add_allow_private_upstream(parser)
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="another Host header the MCP endpoint accepts (loopback is always accepted; "
        "`example.com:*` allows any port); repeatable",
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="another Origin the MCP endpoint accepts, e.g. https://app.example.com; repeatable",
    )
    parser.add_argument(
        "--mcp-transport",
        choices=["http", "stdio"],
        help="serve MCP over this transport instead of the document's (stdio: on stdin/stdout, logs on stderr)",
    )
    parser.add_argument(
        "--mcp-text",
        choices=TEXT_MODES,
        default="compact",
        help="the text of a tool result whose document maps its output: compact, laid out for a model, or "
        "json, the structured result again, as the MCP spec suggests (default: %(default)s)",
    )
    parser.add_argument(
        "--name",
        help="the MCP server's name, as clients show it (default: the first document's MCP adapter namespace; "
        "its description stays the server's instructions)",
    )
    parser.add_argument("--no-rest", action="store_true", help="do not serve the REST facade")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes serving the same ports, e.g. one per core; Linux only, HTTP only. Without "
        "--redis-url each gets 1/N of the request budget (default: %(default)s)",
    )
    add_hardening_options(parser)
    parser.set_defaults(handler=run)


def run(options: argparse.Namespace) -> int:
    if options.workers == 1:
        return _serve(options)
    from capgate.serve.metrics_directory import metrics_directory

    with metrics_directory():  # first: prometheus_client reads its variable when it is imported
        return _serve(options)


def serve_config(options: argparse.Namespace) -> ServeConfig:
    from capgate.serve.config import ServeConfig

    return ServeConfig(
        documents=tuple(options.documents),
        host=options.host,
        rest_port=options.rest_port,
        mcp_port=options.mcp_port,
        adapter_ports=adapter_ports(options.port),
        base_uris=base_uris(options.base_uri),
        allowed_hosts=options.allow_host,
        allowed_origins=options.allow_origin,
        mcp_transport=options.mcp_transport,
        mcp_text=options.mcp_text,
        mcp_name=options.name,
        serve_rest=not options.no_rest,
        hardening=hardening(options),
        connections=connection_limits(options),
        client_settings=client_settings(options),
    )


def adapter_ports(items: list[str]) -> dict[str, int]:
    """`--port NAMESPACE=N` items as a mapping; ConfigurationError names a malformed one."""
    from capgate.core.errors import ConfigurationError

    parsed = {}
    for item in items:
        namespace, equals, port = item.partition("=")
        if not equals or not namespace or not port.isdigit() or int(port) > 65535:
            raise ConfigurationError(f"--port {item!r}: expected NAMESPACE=N, e.g. shipyard-skills=3002 (0 picks one)")
        parsed[namespace] = int(port)
    return parsed


def _serve(options: argparse.Namespace) -> int:
    from capgate.observe.logs import configure_logging
    from capgate.observe.tracing import configure
    from capgate.serve.server import Announce, announce_on_stderr, run

    config = serve_config(options)
    configure_logging(options.log_format, options.log_level, access_log=not options.no_access_log)
    announce: Announce = announce_on_stderr
    ready = None
    if options.workers != 1:
        from capgate.serve.workers import Worker, start_workers

        started = start_workers(config, options.workers)
        if not isinstance(started, Worker):
            return started  # the supervisor, once every worker has stopped
        config, announce, ready = started.config, started.announce, started.ready
    configure()  # in each worker: the span exporter's thread must not exist when the supervisor forks
    run(config, announce, ready)
    return EXIT_OK
