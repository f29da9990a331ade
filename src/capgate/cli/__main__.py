"""`python -m capgate.cli`: how MCP clients launch capgate by the interpreter's absolute path."""

import sys

from capgate.cli import main

sys.exit(main())
