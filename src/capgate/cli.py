"""The `capgate` command. Each subcommand declares its options and calls one Python function.

Exit codes: 0 success; 1 `validate` found errors in the document; 2 the command line, the document or the
environment is wrong (a message on stderr says what and how to fix it); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from capgate import __version__
from capgate.errors import CapgateError, ConfigurationError, DocumentError

if TYPE_CHECKING:
    from capgate.server import ServeConfig

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["emulate"]:  # the emulator owns its own options
        from trigger_emulator.cli import main as emulate

        return emulate(args[1:])
    parser = _parser()
    options = parser.parse_args(args)
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
               "  capgate validate my-capability.yaml\n\nexit codes: 0 ok, 1 invalid document (validate), "
               "2 usage or configuration error",
    )
    parser.add_argument("--version", action="version", version=f"capgate {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_serve(commands)
    _add_validate(commands)
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
                       "  capgate serve ./my-capability.yaml --rest-port 8081 --mcp-port 9091")
    _add_document(command)
    _add_network(command)
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


def _serve_config(options: argparse.Namespace) -> ServeConfig:
    from capgate.server import ServeConfig

    base_uris = {}
    for item in options.base_uri:
        namespace, equals, url = item.partition("=")
        if not equals or not namespace or not url:
            raise ConfigurationError(f"--base-uri {item!r}: expected NAMESPACE=URL, e.g. "
                                     "management-runs=http://127.0.0.1:3030")
        base_uris[namespace] = url
    return ServeConfig(document=options.document, host=options.host, rest_port=options.rest_port,
                       mcp_port=options.mcp_port, base_uris=base_uris, allowed_hosts=options.allow_host,
                       allowed_origins=options.allow_origin)


def _serve(options: argparse.Namespace) -> int:
    from capgate.server import run

    run(_serve_config(options))
    return EXIT_OK


def _add_validate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = _command(commands, "validate", "check a document; print each problem as file:line: path: message",
                       "  capgate validate my-capability.yaml\n  capgate validate trigger-dev-runs-seed")
    command.add_argument("document", metavar="DOC", help="a document path or a bundled name")
    command.set_defaults(handler=_validate)


def _validate(options: argparse.Namespace) -> int:
    from capgate.consumes._binds import unset_variables
    from capgate.spec.check import check
    from capgate.spec.load import parse_document, resolve_source

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
    for problem in problems:
        print(problem)
    errors = sum(problem.severity == "error" for problem in problems)
    summary = f"{path}: {errors} error(s), {len(problems) - errors} warning(s)"
    print(summary if problems else f"{path}: ok", file=sys.stderr)
    return EXIT_INVALID if errors else EXIT_OK


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
    from capgate.demo import run_demo

    run_demo(options)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
