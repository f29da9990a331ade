"""Default bounds of `capgate serve`: what a caller may send, how long it may take, how long a shutdown waits.

A module of constants only, so the command line can show them without importing the server.
"""

from __future__ import annotations

DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # a request body, REST or MCP, once inflated; larger: 413
DEFAULT_MAX_TARGET_BYTES = 8 * 1024  # a request's path plus query string; longer: 414
DEFAULT_MAX_JSON_DEPTH = 64  # arrays and objects nested in a JSON body; deeper: 400
DEFAULT_MAX_HEAD_BYTES = 64 * 1024  # a request line and its headers; larger: 431 and the connection closes
DEFAULT_HEADER_TIMEOUT = 10.0  # seconds for a request line and headers to arrive; slower: the connection closes
DEFAULT_BODY_TIMEOUT = 30.0  # seconds for a body to arrive after its headers; slower: 408
DEFAULT_SHUTDOWN_GRACE = 10.0  # seconds in-flight requests get to finish after SIGTERM

# An argument whose schema states no bound on its size gets these (an array's items, a string's characters).
DEFAULT_MAX_ITEMS = 1000
DEFAULT_MAX_LENGTH = 64 * 1024
