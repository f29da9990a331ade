"""docs/configuration.md documents every flag of every command, and docs/cli.md every command."""

from __future__ import annotations

import argparse
from pathlib import Path

from capgate.cli.program import build_parser

DOCS = Path(__file__).resolve().parents[2] / "docs"


def commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(subcommands.choices)


def test_every_flag_of_every_command_is_in_the_configuration_reference() -> None:
    reference = (DOCS / "configuration.md").read_text()
    missing = [
        f"{name} {option}"
        for name, command in commands().items()
        for action in command._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help" and f"`{option}" not in reference
    ]
    assert missing == []


def test_every_command_is_in_the_cli_reference_with_an_example_in_its_help() -> None:
    reference = (DOCS / "cli.md").read_text()
    for name, command in commands().items():
        assert f"`capgate {name}" in reference, name
        if name != "emulate":  # the emulator prints its own help
            assert "examples:" in (command.epilog or ""), name
