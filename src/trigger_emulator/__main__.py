"""`python -m trigger_emulator`: run the emulator command."""

from __future__ import annotations

from trigger_emulator.cli import main

raise SystemExit(main())
