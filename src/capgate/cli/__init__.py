"""The `capgate` command: one module per subcommand, and the terminal presentation they share."""

from capgate.cli.program import main

__all__ = ["main"]
