"""The `capgate` command: one module per subcommand, and the terminal presentation they share."""

from __future__ import annotations

import gc
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (`capgate.cli.program`).

    The garbage collector waits until start-up is over: start-up builds tens of megabytes of objects that stay
    alive (modules, models, the document), and collecting them while they were made cost ~45 ms of `capgate
    serve`'s first answer (bench/PROFILE.md). `serve` turns it back on once every adapter serves
    (`capgate.serve.server`), the emulator when it starts, any other command when it ends.
    """
    gc.disable()
    try:
        from capgate.cli.program import main as run

        return run(argv)
    finally:
        gc.enable()


__all__ = ["main"]
