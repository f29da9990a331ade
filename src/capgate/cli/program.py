"""The `capgate` command: its parser, built from each command module's `add`, and `main`.

Exit codes: 0 success; 1 `validate` found errors in the document, or `call` got an error status from the
upstream or no answer at all; 2 the command line, the document, the environment or a `call` argument is
wrong (a message on stderr says what and how to fix it); 130 interrupted; 141 the reader of the output went
away (`capgate tools | head`), as for a command killed by SIGPIPE, but quietly.

A command module imports the runtime when its command runs, not when the parser is built, so that every
command starts without paying for the others (the MCP SDK alone takes half a second).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from capgate import __version__
from capgate.cli import audit, call, convert, demo, emulate, mcp_config, openapi, serve, tools, validate
from capgate.cli.shell import EXIT_CLOSED_PIPE, EXIT_INTERRUPTED, EXIT_USAGE, discard_stdout
from capgate.core.errors import CapgateError, DocumentError

COMMANDS = (serve, validate, convert, tools, call, openapi, mcp_config, audit, emulate, demo)  # as --help lists them


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _run(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()  # piped output is buffered: a reader that went away shows here, not at exit
        return code
    except BrokenPipeError:  # `capgate tools | head`: the reader has what it wanted; a quiet exit, as git's
        discard_stdout()
        return EXIT_CLOSED_PIPE


def _run(args: list[str]) -> int:
    if args[:1] == ["emulate"]:  # the emulator owns its own options
        return emulate.run(args[1:])
    parser = build_parser()
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
        if all(problem.line is None and not problem.path for problem in exc.problems):  # no such file, …
            print(f"capgate: {exc}", file=sys.stderr)
        else:
            count = len(exc.problems)
            print(f"capgate: the document has {count} error{'s' * (count != 1)}:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    except CapgateError as exc:
        print(f"capgate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="capgate",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve a Naftiko capability document as a REST facade and an MCP server.",
        epilog="examples:\n  capgate demo\n  TRIGGER_DEV_API_KEY=tr_dev_... capgate serve\n"
        "  capgate tools\n  capgate call list-runs filter.status=FAILED page.size=5\n"
        "  capgate mcp-config --client claude-code\n"
        "  capgate validate my-capability.yaml\n\nexit codes: 0 ok, 1 invalid document (validate) or "
        "failed call (call), 2 usage or configuration error, 130 interrupted, 141 output pipe closed",
    )
    parser.add_argument("--version", action="version", version=f"capgate {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in COMMANDS:
        module.add(commands)
    return parser
