"""`capgate audit`: the audit log, one line per call that changed something, oldest first."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson

from capgate.cli.shell import EXIT_OK, Commands, command
from capgate.core.errors import ConfigurationError
from capgate.observe.audit import default_audit_path, format_entry, read_entries


def add(commands: Commands[argparse.ArgumentParser]) -> None:
    parser = command(
        commands,
        "audit",
        "print the audit log: every call that changed something, oldest first",
        "  capgate audit\n  capgate audit --last 20\n  capgate audit --json | jq 'select(.new_id)'",
    )
    parser.add_argument(
        "--file",
        type=Path,
        default=default_audit_path(),
        metavar="PATH",
        help="the audit log (default: %(default)s, as `capgate serve --audit-log`)",
    )
    parser.add_argument("--last", type=int, metavar="N", help="only the last N entries")
    parser.add_argument("--json", action="store_true", help="print the JSON lines as stored")
    parser.set_defaults(handler=run)


def run(options: argparse.Namespace) -> int:
    if not options.file.exists():
        raise ConfigurationError(
            f"no audit log at {options.file}; `capgate serve` writes one there once a call "
            "changes something (or pass --file PATH)"
        )
    entries = list(read_entries(options.file))
    for entry in entries[-options.last :] if options.last else entries:
        print(orjson.dumps(entry).decode() if options.json else format_entry(entry))
    return EXIT_OK
