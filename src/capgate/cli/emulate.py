"""`capgate emulate`: the Trigger.dev runs API emulator, a package of its own that parses its own options."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from capgate.cli.shell import Commands


def add(commands: Commands[argparse.ArgumentParser]) -> None:
    commands.add_parser(
        "emulate", help="run the Trigger.dev runs API emulator (see `capgate emulate --help`)", add_help=False
    )


def run(arguments: Sequence[str]) -> int:
    import gc

    from trigger_emulator.cli import main

    gc.enable()  # a server from here on (the command line kept the collector off while it started)

    return main(list(arguments))
