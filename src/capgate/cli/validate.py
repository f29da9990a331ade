"""`capgate validate`: check a document; each problem as `file:line: path.to.field: message`, then a summary."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

from capgate.cli.shell import EXIT_FAILED, EXIT_OK, Commands, add_allow_private_upstream, command
from capgate.core.errors import DocumentError, Problem


def add(commands: Commands[argparse.ArgumentParser]) -> None:
    parser = command(
        commands,
        "validate",
        "check a document; print each problem as file:line: path: message",
        "  capgate validate my-capability.yaml\n  capgate validate trigger-dev-runs-seed\n"
        "  capgate validate --strict my-capability.yaml   # also what naftiko validate would reject\n\n"
        "Problems go to stdout, one a line; the summary (errors, warnings) to stderr.\n"
        "exit codes: 0 the document can be served, 1 it has errors, 2 no such file",
    )
    parser.add_argument("document", metavar="DOC", help="a document path or a bundled name")
    add_allow_private_upstream(parser)
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also warn about everything the official 1.0.0-alpha2 JSON Schema would reject, except capgate's "
        "documented extensions, which are named once (warnings only: the exit code still depends on errors)",
    )
    parser.set_defaults(handler=run)


def run(options: argparse.Namespace) -> int:
    from capgate.document.bundled import resolve_source

    path = resolve_source(options.document)  # no such file: exit 2, as for every command
    problems, extensions = _problems(path, strict=options.strict, allowed=options.allow_private_upstream)
    for problem in problems:
        print(problem)
    errors = sum(problem.severity == "error" for problem in problems)
    print(f"{path}: {_count(errors, 'error')}, {_count(len(problems) - errors, 'warning')}", file=sys.stderr)
    if extensions:
        uses = ", ".join(f"{name} ({_count(count, 'place')})" for name, count in extensions.most_common())
        print(
            f"{path}: uses {_count(len(extensions), 'capgate extension')}, which `naftiko validate` rejects and "
            f"capgate reads (docs/format.md, capgate's extensions): {uses}",
            file=sys.stderr,
        )
    return EXIT_FAILED if errors else EXIT_OK


def _problems(path: Path, *, strict: bool, allowed: list[str]) -> tuple[list[Problem], Counter[str]]:
    """Every problem of the document at `path`, secrets redacted, and (with `strict`) its extensions' uses.
    `allowed`: the link-local or metadata hosts the operator allows (--allow-private-upstream)."""
    from capgate.consumes.binds import bound_values, unset_variables
    from capgate.core import redaction
    from capgate.document.check import check
    from capgate.document.destinations import destination_problems
    from capgate.document.load import parse_document
    from capgate.document.source import read_source

    try:
        loaded = parse_document(read_source(path), str(path))
    except DocumentError as exc:
        return exc.problems, Counter()
    problems = [*loaded.warnings, *check(loaded.document, loaded.source)]
    problems += destination_problems(loaded.document, loaded.source, allowed_private=allowed)
    for index, variable in unset_variables(loaded.document, os.environ):
        problems.append(
            loaded.source.problem(
                ("binds", index, "keys"),
                f"environment variable {variable} is not set; `capgate serve` will refuse to start until it is",
                "warning",
            )
        )
    extensions: Counter[str] = Counter()
    if strict:
        from capgate.document.strict import alpha2_report

        report = alpha2_report(loaded.data, loaded.source)
        problems += report.problems
        extensions = report.extensions
    redaction.register(bound_values(loaded.document, os.environ))  # a message quoting a value shows no secret
    redacted = [Problem(p.file, p.line, p.path, redaction.redact(p.message), p.severity) for p in problems]
    return sorted(redacted, key=lambda problem: problem.line or 0), extensions


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
