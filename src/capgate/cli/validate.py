"""`capgate validate`: check documents; each problem as `file:line: path.to.field: message`, then a summary.

Several documents are checked each on its own, then all of them together as `capgate serve` would serve them:
what collides, a secret sent to two origins, budgets that disagree for one origin, too many tools on the one
MCP endpoint, and (notes) the ports the first document's replace.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

from capgate.cli.shell import EXIT_FAILED, EXIT_OK, Commands, add_allow_private_upstream, command
from capgate.core.errors import DocumentError, Problem
from capgate.document.load import KNOWN_DIALECTS, LoadedDocument


def add(commands: Commands[argparse.ArgumentParser]) -> None:
    parser = command(
        commands,
        "validate",
        "check documents; print each problem as file:line: path: message",
        "  capgate validate my-capability.yaml\n  capgate validate trigger-dev-runs-seed\n"
        "  capgate validate --strict my-capability.yaml   # also what naftiko validate would reject\n"
        "  capgate validate trigger-dev-runs ./batches.yaml ./more/   # each, then all as served together\n\n"
        "Problems go to stdout, one a line; the summary (errors, warnings) to stderr.\n"
        "exit codes: 0 the documents can be served, 1 they have errors, 2 no such file",
    )
    parser.add_argument(
        "documents",
        nargs="+",
        metavar="DOC",
        help="a document path, a bundled name or a folder of documents; several are also checked against each other",
    )
    add_allow_private_upstream(parser)
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also warn about everything the official 1.0.0-alpha2 JSON Schema would reject, except capgate's "
        "documented extensions, which are named once (warnings only: the exit code still depends on errors)",
    )
    parser.set_defaults(handler=run)


def run(options: argparse.Namespace) -> int:
    from capgate.core import redaction
    from capgate.document.bundled import resolve_source
    from capgate.document.combined import document_sources

    sources = document_sources(options.documents)  # no such file: exit 2, as for every command
    failed = False
    parsed: list[LoadedDocument] = []
    for source in sources:
        path = resolve_source(source)
        loaded, dialect, problems, extensions = _problems(
            path, strict=options.strict, allowed=options.allow_private_upstream
        )
        # The summary names the dialect the document was read as: `naftiko 1.0.0-alpha2`, `ikanos 1.0.0-beta5`.
        shown = dialect if dialect in KNOWN_DIALECTS else redaction.redact(dialect or "")  # may quote a secret
        subject = f"{path} ({shown})" if dialect else str(path)
        failed = _report(problems, subject) or failed
        if extensions:
            uses = ", ".join(f"{name} ({_count(count, 'place')})" for name, count in extensions.most_common())
            print(
                f"{path}: uses {_count(len(extensions), 'capgate extension')}, which `naftiko validate` rejects "
                f"and capgate reads (docs/format.md, capgate's extensions): {uses}",
                file=sys.stderr,
            )
        if loaded is not None:
            parsed.append(loaded)
    if len(sources) > 1:
        failed = _report(_together(parsed), f"{len(sources)} documents served together") or failed
    return EXIT_FAILED if failed else EXIT_OK


def _problems(
    path: Path, *, strict: bool, allowed: list[str]
) -> tuple[LoadedDocument | None, str | None, list[Problem], Counter[str]]:
    """The document at `path` (None if it does not parse), the dialect it is written in (None if that is not
    known), every problem of it, secrets redacted, and (with
    `strict`) its extensions' uses. `allowed`: the link-local or metadata hosts the operator allows
    (--allow-private-upstream)."""
    from capgate.consumes.binds import bound_values, unset_variables
    from capgate.core import redaction
    from capgate.document.check import check
    from capgate.document.destinations import destination_problems
    from capgate.document.load import parse_document
    from capgate.document.source import read_source

    try:
        loaded = parse_document(read_source(path), str(path))
    except DocumentError as exc:
        return None, exc.dialect, exc.problems, Counter()
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
    if strict and not loaded.document.dialect.startswith("naftiko"):
        problems.append(
            loaded.source.problem(
                (), "--strict checks against the Naftiko 1.0.0-alpha2 schema, which this dialect is not", "note"
            )
        )
    elif strict:
        from capgate.document.strict import alpha2_report

        report = alpha2_report(loaded.data, loaded.source)
        problems += report.problems
        extensions = report.extensions
    redaction.register(bound_values(loaded.document, os.environ))  # a message quoting a value shows no secret
    redacted = [Problem(p.file, p.line, p.path, redaction.redact(p.message), p.severity) for p in problems]
    return loaded, loaded.document.dialect, sorted(redacted, key=lambda problem: problem.line or 0), extensions


def _together(documents: list[LoadedDocument]) -> list[Problem]:
    """What the documents are not, or might not be, as one gateway serves them (capgate.document.cross_checks)."""
    from capgate.document.cross_checks import (
        budget_problems,
        collisions,
        port_notes,
        secret_origin_problems,
        tool_count_warnings,
    )

    return [
        *collisions(documents),
        *secret_origin_problems(documents, {}),
        *budget_problems(documents, {}),
        *tool_count_warnings(documents),
        *port_notes(documents),
    ]


def _report(problems: list[Problem], subject: str) -> bool:
    """Each problem on stdout, then how many of each kind on stderr; whether any is an error."""
    for problem in problems:
        print(problem)
    counts = Counter(problem.severity for problem in problems)
    summary = f"{subject}: {_count(counts['error'], 'error')}, {_count(counts['warning'], 'warning')}"
    print(summary + (f", {_count(counts['note'], 'note')}" if counts["note"] else ""), file=sys.stderr)
    return bool(counts["error"])


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
