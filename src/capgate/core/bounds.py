"""Default bounds of `capgate serve`: what a caller may send, and how long a shutdown waits for requests.

A module of constants only, so the command line can show them without importing the server.
"""

from __future__ import annotations

DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # a request body, REST or MCP; larger: 413
DEFAULT_MAX_TARGET_BYTES = 8 * 1024  # a request's path plus query string; longer: 414
DEFAULT_SHUTDOWN_GRACE = 10.0  # seconds in-flight requests get to finish after SIGTERM
