"""The `capgate` command. Each subcommand declares its options and calls one Python function.

Exit codes: 0 success; 1 `validate` found errors in the document, or `call` got an error status from the
upstream or no answer at all; 2 the command line, the document, the environment or a `call` argument is
wrong (a message on stderr says what and how to fix it); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from capgate import __version__
from capgate.core.errors import CapgateError, ConfigurationError, DocumentError

if TYPE_CHECKING:
    from capgate.serve.config import ServeConfig

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["emulate"]:  # the emulator owns its own options
        from trigger_emulator.cli import main as emulate

        return emulate(args[1:])
    parser = _parser()
    # argparse stops filling a list of positionals at the first option; `capgate call` takes NAME=VALUE
    # arguments on either side of its options, so the rest of them arrive as extras.
    options, extras = parser.parse_known_args(args)
    if extras:
        collected = getattr(options, "arguments", None)
        if collected is None or any(item.startswith("-") for item in extras):
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        collected.extend(extras)
    if not hasattr(options, "handler"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(options.handler(options))
    except DocumentError as exc:
        print(f"capgate: the document cannot be served:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    except CapgateError as exc:
        print(f"capgate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="capgate", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve a Naftiko capability document as a REST facade and an MCP server.",
        epilog="examples:\n  capgate demo\n  TRIGGER_DEV_API_KEY=tr_dev_... capgate serve\n"
               "  capgate tools\n  capgate call list-runs filter.status=FAILED page.size=5\n"
               "  capgate mcp-config --client claude-code\n"
               "  capgate validate my-capability.yaml\n\nexit codes: 0 ok, 1 invalid document (validate) or "
               "failed call (call), 2 usage or configuration error, 130 interrupted",
    )
    parser.add_argument("--version", action="version", version=f"capgate {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_serve(commands)
    _add_validate(commands)
    _add_tools(commands)
    _add_call(commands)
    _add_openapi(commands)
    _add_mcp_config(commands)
    _add_audit(commands)
    commands.add_parser("emulate", help="run the Trigger.dev runs API emulator (see `capgate emulate --help`)",
                        add_help=False)
    _add_demo(commands)
    return parser


def _command(commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str,
             examples: str) -> argparse.ArgumentParser:
    return commands.add_parser(name, help=summary, description=summary, epilog="examples:\n" + examples,
                               formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = _command(commands, "serve", "serve a document's REST facade and MCP server in one process",
                       "  TRIGGER_DEV_API_KEY=tr_dev_... capgate serve\n"
                       "  capgate serve trigger-dev-runs --base-uri management-runs=http://127.0.0.1:3030\n"
                       "  capgate serve ./my-capability.yaml --rest-port 8081 --mcp-port 9091\n"
                       "  capgate serve --mcp-transport stdio --no-rest   # as an MCP client launches it\n"
                       "  capgate serve --workers $(nproc)   # one process per core, sharing the ports (Linux)\n\n"
                       "environment: the document's secrets (TRIGGER_DEV_API_KEY for the bundled documents); "
                       "OTEL_* for traces (docs/configuration.md); CAPGATE_TOKENS and CAPGATE_REDIS_URL "
                       "(docs/hardening.md)")
    _add_document(command)
    _add_network(command)
    command.add_argument("--mcp-transport", choices=["http", "stdio"],
                         help="serve MCP over this transport instead of the document's (stdio: on stdin/stdout, "
                              "logs on stderr)")
    command.add_argument("--no-rest", action="store_true", help="do not serve the REST facade")
    command.add_argument("--workers", type=int, default=1, metavar="N",
                         help="processes serving the same ports, e.g. one per core; Linux only, HTTP only. Without "
                              "--redis-url each gets 1/N of the request budget (default: %(default)s)")
    from capgate.cli.serve_options import add_hardening_options

    add_hardening_options(command)
    command.set_defaults(handler=_serve)


def _add_document(command: argparse.ArgumentParser) -> None:
    command.add_argument("document", nargs="?", default="trigger-dev-runs", metavar="DOC",
                         help="a document path or a bundled name: trigger-dev-runs (default), trigger-dev-runs-seed")


def _add_network(command: argparse.ArgumentParser) -> None:
    command.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    command.add_argument("--rest-port", type=int, metavar="N", help="REST facade port (default: the document's; "
                                                                    "0 picks a free port)")
    command.add_argument("--mcp-port", type=int, metavar="N", help="MCP server port (default: the document's)")
    command.add_argument("--base-uri", action="append", default=[], metavar="NAMESPACE=URL",
                         help="send a consumed namespace's calls to another URL (an emulator, a proxy); repeatable")
    command.add_argument("--allow-host", action="append", default=[], metavar="HOST:PORT",
                         help="another Host header the MCP endpoint accepts (loopback is always accepted; "
                              "`example.com:*` allows any port); repeatable")
    command.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                         help="another Origin the MCP endpoint accepts, e.g. https://app.example.com; repeatable")


def _base_uris(items: list[str]) -> dict[str, str]:
    base_uris = {}
    for item in items:
        namespace, equals, url = item.partition("=")
        if not equals or not namespace or not url:
            raise ConfigurationError(f"--base-uri {item!r}: expected NAMESPACE=URL, e.g. "
                                     "management-runs=http://127.0.0.1:3030")
        base_uris[namespace] = url
    return base_uris


def _serve_config(options: argparse.Namespace) -> ServeConfig:
    from capgate.cli.serve_options import client_settings, hardening
    from capgate.serve.config import ServeConfig

    return ServeConfig(document=options.document, host=options.host, rest_port=options.rest_port,
                       mcp_port=options.mcp_port, base_uris=_base_uris(options.base_uri),
                       allowed_hosts=options.allow_host, allowed_origins=options.allow_origin,
                       mcp_transport=options.mcp_transport, serve_rest=not options.no_rest,
                       hardening=hardening(options), client_settings=client_settings(options))


def _serve(options: argparse.Namespace) -> int:
    if options.workers == 1:
        return _run_serve(options)
    from capgate.serve.metrics_directory import metrics_directory

    with metrics_directory():  # first: prometheus_client reads its variable when it is imported
        return _run_serve(options)


def _run_serve(options: argparse.Namespace) -> int:
    from capgate.observe.logs import configure_logging
    from capgate.observe.tracing import configure
    from capgate.serve.server import Announce, announce_on_stderr, run

    config = _serve_config(options)
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


def _add_validate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = _command(commands, "validate", "check a document; print each problem as file:line: path: message",
                       "  capgate validate my-capability.yaml\n  capgate validate trigger-dev-runs-seed\n"
                       "  capgate validate --strict my-capability.yaml   # also what naftiko validate would reject")
    command.add_argument("document", metavar="DOC", help="a document path or a bundled name")
    command.add_argument("--strict", action="store_true",
                         help="also warn about everything the official 1.0.0-alpha2 JSON Schema would reject "
                              "(warnings only: the exit code still depends on errors)")
    command.set_defaults(handler=_validate)


def _validate(options: argparse.Namespace) -> int:
    from capgate.consumes.binds import bound_values, unset_variables
    from capgate.core import redaction
    from capgate.document.check import check
    from capgate.document.load import parse_document, resolve_source

    path = resolve_source(options.document)
    try:
        loaded = parse_document(path.read_text(encoding="utf-8"), str(path))
    except DocumentError as exc:
        print(exc, file=sys.stdout)
        return EXIT_INVALID
    problems = check(loaded.document, loaded.source)
    for index, variable in unset_variables(loaded.document, os.environ):
        problems.append(loaded.source.problem(("binds", index, "keys"),
                                              f"environment variable {variable} is not set; `capgate serve` will "
                                              "refuse to start until it is", "warning"))
    if options.strict:
        from capgate.document.strict import alpha2_problems

        problems += alpha2_problems(loaded.text, str(path))
    redaction.register(bound_values(loaded.document, os.environ))  # a message quoting a value shows no secret
    for problem in problems:
        print(redaction.redact(str(problem)))
    errors = sum(problem.severity == "error" for problem in problems)
    summary = f"{path}: {errors} error(s), {len(problems) - errors} warning(s)"
    print(summary if problems else f"{path}: ok", file=sys.stderr)
    return EXIT_INVALID if errors else EXIT_OK


def _add_tools(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = _command(commands, "tools", "list a document's MCP tools and REST routes: hints and parameters",
                       "  capgate tools\n  capgate tools trigger-dev-runs-seed\n"
                       "  capgate tools ./my-capability.yaml --json | jq '.tools[].name'")
    _add_document(command)
    command.add_argument("--json", action="store_true", help="print JSON instead of tables")
    command.set_defaults(handler=_tools)


def _tools(options: argparse.Namespace) -> int:
    from capgate.cli.tools import run_tools

    return run_tools(options.document, as_json=options.json, stdout=sys.stdout)


def _add_call(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = _command(
        commands, "call", "run one tool of a document from the shell, through the MCP adapter's code, no server",
        "  capgate call list-runs\n"
        "  capgate call list-runs filter.status=FAILED,CRASHED page.size=10\n"
        "  capgate call list-runs filter.createdAt.period=1d --all --json > runs.json\n"
        "  capgate call retrieve-run runId=run_cm1abc0def0ghi0jkl0mno0pq\n"
        "  capgate call add-tags-run runId=run_cm1abc0def0ghi0jkl0mno0pq 'body={\"tags\": [\"vip\"]}'\n"
        "  capgate call list-runs --base-uri management-runs=http://127.0.0.1:3030   # against the emulator\n\n"
        "A value is JSON when it parses as JSON, else text; a repeated NAME makes a list. On a terminal the\n"
        "answer is a table (lists) or key/value lines; piped, or with --json, it is JSON.\n"
        "exit codes: 0 the upstream answered 2xx, 1 an error status or no answer, 2 bad arguments (nothing sent)")
    command.add_argument("tool", metavar="TOOL", help="the tool's name, as `capgate tools` lists it")
    command.add_argument("arguments", nargs="*", metavar="NAME=VALUE",
                         help="the tool's inputs, named as its schema names them (filter.status) or as the "
                              "document does (filter[status])")
    command.add_argument("-d", "--document", default="trigger-dev-runs", metavar="DOC",
                         help="a document path or a bundled name (default: %(default)s)")
    command.add_argument("--json", action="store_true", help="print the answer as JSON, even on a terminal")
    command.add_argument("--all", action="store_true",
                         help="follow pagination.next through every page (a progress line on stderr)")
    command.add_argument("--base-uri", action="append", default=[], metavar="NAMESPACE=URL",
                         help="send a consumed namespace's calls to another URL, as for serve; repeatable")
    command.set_defaults(handler=_call)


def _call(options: argparse.Namespace) -> int:
    from capgate.cli.call import CallRequest, run_call

    request = CallRequest(options.document, options.tool, options.arguments, _base_uris(options.base_uri),
                          as_json=options.json, all_pages=options.all)
    return run_call(request, stdout=sys.stdout, stderr=sys.stderr)


def _add_openapi(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = _command(commands, "openapi", "print the OpenAPI 3.1 description of a document's REST facade",
                       "  capgate openapi > openapi.json\n"
                       "  capgate openapi ./my-capability.yaml --server https://gateway.example.com\n\n"
                       "A running gateway serves the same description at /openapi.json and a page at /docs.")
    _add_document(command)
    command.add_argument("--server", metavar="URL",
                         help="the facade's base URL in `servers` (default: http://127.0.0.1:<the document's "
                              "REST port>)")
    command.set_defaults(handler=_openapi)


def _openapi(options: argparse.Namespace) -> int:
    import orjson

    from capgate.exposes.rest.openapi import build_openapi
    from capgate.gateway.assembly import describing_gateway

    gateway = describing_gateway(options.document)
    if not gateway.rest:
        raise ConfigurationError(f"{options.document} exposes no REST adapter to describe")
    adapter = gateway.rest[0]
    server = options.server or f"http://127.0.0.1:{adapter.spec.port or 8080}"
    description = build_openapi(gateway.loaded.document, adapter, server_url=server.rstrip("/"))
    print(orjson.dumps(description, option=orjson.OPT_INDENT_2).decode())
    return EXIT_OK


def _add_mcp_config(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = _command(
        commands, "mcp-config", "print the configuration that connects an MCP client to capgate",
        "  capgate mcp-config                                # every client, with where each snippet goes\n"
        "  capgate mcp-config --client claude-code > .mcp.json\n"
        "  capgate mcp-config --client vscode --url https://gateway.example.com/mcp --token-env CAPGATE_TOKEN\n"
        "  capgate mcp-config --client claude-desktop --base-uri management-runs=http://127.0.0.1:3030\n\n"
        "HTTP snippets point at a running gateway's /mcp; --stdio snippets (and Claude Desktop's, which can only\n"
        "launch local servers) start `capgate serve DOC --mcp-transport stdio --no-rest` themselves.")
    _add_document(command)
    command.add_argument("--client", choices=["claude-desktop", "claude-code", "cursor", "vscode"],
                         help="the client to configure (default: show every client)")
    command.add_argument("--stdio", action="store_true", help="launch capgate over stdio instead of using a URL")
    command.add_argument("--name", help="the server's name in the client (default: the document's name)")
    command.add_argument("--url", help="the MCP endpoint (default: http://HOST:PORT/mcp)")
    command.add_argument("--host", default="127.0.0.1", help="the gateway's host for the default URL "
                                                             "(default: %(default)s)")
    command.add_argument("--mcp-port", type=int, metavar="N", help="the gateway's MCP port (default: the document's)")
    command.add_argument("--base-uri", action="append", default=[], metavar="NAMESPACE=URL",
                         help="passed on to the stdio launch, as for serve; repeatable")
    command.add_argument("--token-env", metavar="VAR",
                         help="an environment variable holding an inbound bearer token, sent as Authorization "
                              "(HTTP only)")
    command.set_defaults(handler=_mcp_config)


def _mcp_config(options: argparse.Namespace) -> int:
    import orjson

    from capgate.cli.mcp_config import CLIENTS, snippet, target_for

    _base_uris(options.base_uri)  # the same checks as serve, before a client runs it
    target = target_for(options.document, name=options.name, url=options.url, host=options.host,
                        port=options.mcp_port, base_uris=options.base_uri, token_variable=options.token_env)
    for name in [options.client] if options.client else list(CLIENTS):
        text = orjson.dumps(snippet(name, target, stdio=options.stdio), option=orjson.OPT_INDENT_2).decode()
        if options.client:
            print(f"# {CLIENTS[name].label}: put this in {CLIENTS[name].file}", file=sys.stderr)
            print(text)
        else:
            print(f"# {CLIENTS[name].label}: {CLIENTS[name].file}\n{text}\n")
    return EXIT_OK


def _add_audit(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from capgate.observe.audit import default_audit_path

    command = _command(commands, "audit", "print the audit log: every call that changed something, oldest first",
                       "  capgate audit\n  capgate audit --last 20\n  capgate audit --json | jq 'select(.new_id)'")
    command.add_argument("--file", type=Path, default=default_audit_path(), metavar="PATH",
                         help="the audit log (default: %(default)s, as `capgate serve --audit-log`)")
    command.add_argument("--last", type=int, metavar="N", help="only the last N entries")
    command.add_argument("--json", action="store_true", help="print the JSON lines as stored")
    command.set_defaults(handler=_audit)


def _audit(options: argparse.Namespace) -> int:
    import orjson

    from capgate.observe.audit import format_entry, read_entries

    if not options.file.exists():
        raise ConfigurationError(f"no audit log at {options.file}; `capgate serve` writes one there once a call "
                                 "changes something (or pass --file PATH)")
    entries = list(read_entries(options.file))
    for entry in entries[-options.last:] if options.last else entries:
        print(orjson.dumps(entry).decode() if options.json else format_entry(entry))
    return EXIT_OK


def _add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = _command(commands, "demo", "run the Trigger.dev emulator and the gateway together, ready to try",
                       "  capgate demo\n  capgate demo --rest-port 8081 --mcp-port 9091")
    command.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    command.add_argument("--rest-port", type=int, default=8080, metavar="N", help="REST port (default: %(default)s)")
    command.add_argument("--mcp-port", type=int, default=9090, metavar="N", help="MCP port (default: %(default)s)")
    command.add_argument("--emulator-port", type=int, default=3030, metavar="N",
                         help="emulator port (default: %(default)s)")
    command.add_argument("--db", metavar="PATH", help="emulator database (default: a file in the user data folder)")
    command.set_defaults(handler=_demo)


def _demo(options: argparse.Namespace) -> int:
    from capgate.cli.demo import run_demo

    run_demo(options)
    return EXIT_OK
