"""`capgate convert`: write a document in the other dialect (Naftiko 1.0.0-alpha2 <-> Ikanos 1.0.0-beta5)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from capgate.cli.shell import EXIT_OK, Commands, command
from capgate.core.errors import ConfigurationError


def add(commands: Commands[argparse.ArgumentParser]) -> None:
    parser = command(
        commands,
        "convert",
        "write a document in the other dialect: Naftiko alpha2 as Ikanos, or Ikanos as Naftiko alpha2",
        "  capgate convert my-capability.yaml > my-capability.ikanos.yml\n"
        "  capgate convert trigger-dev-runs --output trigger-dev-runs.ikanos.yml\n"
        "  capgate convert ./step-9.yml --to naftiko   # back, saying what alpha2 cannot carry\n\n"
        "The document goes to stdout (or --output); what could not be carried over, or was made up, to stderr.\n"
        "YAML comments are not kept. Imported files are not converted: convert each of them too.",
    )
    parser.add_argument("document", metavar="DOC", help="a document path or a bundled name")
    parser.add_argument(
        "--to",
        choices=("ikanos", "naftiko"),
        help="the dialect to write (default: the one DOC is not written in)",
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="write the document there instead of stdout")
    parser.set_defaults(handler=run)


def run(options: argparse.Namespace) -> int:
    from capgate.consumes.binds import bound_values
    from capgate.core import redaction
    from capgate.document.bundled import resolve_source
    from capgate.document.convert import Dialect, convert, dialect_of
    from capgate.document.load import KNOWN_DIALECTS, parse_document
    from capgate.document.source import read_source

    path = resolve_source(options.document)
    loaded = parse_document(read_source(path), str(path))  # a document capgate cannot read is not converted
    source = dialect_of(loaded.data)
    requested: Dialect | None = options.to
    target: Dialect = requested or ("naftiko" if source == "ikanos" else "ikanos")
    if target == source:
        raise ConfigurationError(f"{path} is already written in {loaded.document.dialect}; nothing to convert")
    converted = convert(loaded.data, target)
    redaction.register(bound_values(loaded.document, os.environ))  # what stderr quotes of it shows no secret
    for note in converted.notes:
        print(redaction.redact(f"{path}: {note}"), file=sys.stderr)
    if options.output:
        Path(options.output).write_text(converted.yaml(), encoding="utf-8")
    else:
        sys.stdout.write(converted.yaml())
    dialect = loaded.document.dialect
    shown = dialect if dialect in KNOWN_DIALECTS else redaction.redact(dialect)  # an unknown version may quote a secret
    print(f"{redaction.redact(str(path))} ({shown}) written as {target} {converted.data[target]}", file=sys.stderr)
    return EXIT_OK
