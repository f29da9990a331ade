"""`capgate validate`: check a document; each problem as `file:line: path.to.field: message`."""

from __future__ import annotations

import argparse
import os
import sys

from capgate.cli.shell import EXIT_FAILED, EXIT_OK, Commands, command
from capgate.core.errors import DocumentError


def add(commands: Commands[argparse.ArgumentParser]) -> None:
    parser = command(
        commands,
        "validate",
        "check a document; print each problem as file:line: path: message",
        "  capgate validate my-capability.yaml\n  capgate validate trigger-dev-runs-seed\n"
        "  capgate validate --strict my-capability.yaml   # also what naftiko validate would reject",
    )
    parser.add_argument("document", metavar="DOC", help="a document path or a bundled name")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also warn about everything the official 1.0.0-alpha2 JSON Schema would reject "
        "(warnings only: the exit code still depends on errors)",
    )
    parser.set_defaults(handler=run)


def run(options: argparse.Namespace) -> int:
    from capgate.consumes.binds import bound_values, unset_variables
    from capgate.core import redaction
    from capgate.document.bundled import resolve_source
    from capgate.document.check import check
    from capgate.document.load import parse_document

    path = resolve_source(options.document)
    try:
        loaded = parse_document(path.read_text(encoding="utf-8"), str(path))
    except DocumentError as exc:
        print(exc, file=sys.stdout)
        return EXIT_FAILED
    problems = check(loaded.document, loaded.source)
    for index, variable in unset_variables(loaded.document, os.environ):
        problems.append(
            loaded.source.problem(
                ("binds", index, "keys"),
                f"environment variable {variable} is not set; `capgate serve` will refuse to start until it is",
                "warning",
            )
        )
    if options.strict:
        from capgate.document.strict import alpha2_problems

        problems += alpha2_problems(loaded.text, str(path))
    redaction.register(bound_values(loaded.document, os.environ))  # a message quoting a value shows no secret
    for problem in problems:
        print(redaction.redact(str(problem)))
    errors = sum(problem.severity == "error" for problem in problems)
    summary = f"{path}: {errors} error(s), {len(problems) - errors} warning(s)"
    print(summary if problems else f"{path}: ok", file=sys.stderr)
    return EXIT_FAILED if errors else EXIT_OK
