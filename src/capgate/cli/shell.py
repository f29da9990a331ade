"""What every command shares: exit codes, how a command declares itself, the arguments several commands take."""

from __future__ import annotations

import argparse
import os
import sys

from capgate.core.errors import ConfigurationError
from capgate.document.bundled import DEFAULT_DOCUMENT

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a command whose reader went away

Commands = argparse._SubParsersAction  # what `add_subparsers` returns; each command module adds itself to it


def discard_stdout() -> None:
    """Point stdout at /dev/null once its reader went away, so that what is still buffered does not fail again
    when Python exits (which would print "Exception ignored … BrokenPipeError")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def command(
    commands: Commands[argparse.ArgumentParser], name: str, summary: str, examples: str
) -> argparse.ArgumentParser:
    """A subcommand whose --help shows its summary and examples as written."""
    return commands.add_parser(
        name,
        help=summary,
        description=summary,
        epilog="examples:\n" + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_document(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "documents",
        nargs="*",
        default=[DEFAULT_DOCUMENT],
        metavar="DOC",
        help="a document path, a bundled name (trigger-dev-runs, the default, or trigger-dev-runs-seed) or a folder "
        "of documents; several are served together",
    )


def add_base_uri(command: argparse.ArgumentParser, help: str) -> None:
    command.add_argument("--base-uri", action="append", default=[], metavar="NAMESPACE=URL", help=help)


def add_allow_private_upstream(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--allow-private-upstream",
        action="append",
        default=[],
        metavar="HOST",
        help="let a consumed namespace's URL point at this link-local or cloud-metadata host (169.254.169.254, "
        "metadata.google.internal, ...), which is refused otherwise; repeatable",
    )


def base_uris(items: list[str]) -> dict[str, str]:
    """`--base-uri NAMESPACE=URL` items as a mapping; ConfigurationError names a malformed one."""
    parsed = {}
    for item in items:
        namespace, equals, url = item.partition("=")
        if not equals or not namespace or not url:
            raise ConfigurationError(
                f"--base-uri {item!r}: expected NAMESPACE=URL, e.g. management-runs=http://127.0.0.1:3030"
            )
        parsed[namespace] = url
    return parsed
