"""`capgate audit`: the audit log, one row per call that changed something, oldest first."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson

from capgate.cli.shell import EXIT_OK, Commands, command
from capgate.core.errors import ConfigurationError
from capgate.observe.audit import default_audit_path
from capgate.observe.audit_file import audit_files
from capgate.observe.audit_rows import format_row, read_rows


def add(commands: Commands[argparse.ArgumentParser]) -> None:
    parser = command(
        commands,
        "audit",
        "print the audit log: every call that changed something, oldest first, rotated files included",
        "  capgate audit\n  capgate audit --last 20\n  capgate audit --json | jq 'select(.new_id)'\n"
        "  capgate audit --json | jq 'select(.outcome == \"sent, outcome unknown\")'",
    )
    parser.add_argument(
        "--file",
        type=Path,
        default=default_audit_path(),
        metavar="PATH",
        help="the audit log (default: %(default)s, as `capgate serve --audit-log`); the files it was rotated "
        "to (PATH.*, PATH-*, compressed or not) are read first",
    )
    parser.add_argument("--last", type=int, metavar="N", help="only the last N calls")
    parser.add_argument("--json", action="store_true", help="one JSON object per call: its intent and outcome joined")
    parser.set_defaults(handler=run)


def run(options: argparse.Namespace) -> int:
    if not audit_files(options.file):
        raise ConfigurationError(
            f"no audit log at {options.file}; `capgate serve` writes one there once a call "
            "changes something (or pass --file PATH)"
        )
    calls = read_rows(options.file)
    for row in calls[-options.last :] if options.last else calls:
        print(orjson.dumps(row).decode() if options.json else format_row(row))
    return EXIT_OK
