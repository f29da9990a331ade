"""Keep secret values out of everything capgate writes: logs, tracebacks, error bodies, MCP results, audit.

Every secret the process holds (bound upstream credentials, inbound tokens) is registered here when it is
read, and every writer passes its text through `redact`. The registry is process-wide on purpose: a log line
or a traceback can come from anywhere, and over-redacting a value that was a secret of an earlier document
does no harm.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

REDACTED = "[redacted]"
MIN_LENGTH = 4  # shorter values would redact ordinary words; nothing that short is a real credential

_lock = threading.Lock()
_values: tuple[str, ...] = ()
_encoded: tuple[bytes, ...] = ()


def register(values: Iterable[str]) -> None:
    """Redact these values from now on."""
    global _values, _encoded
    with _lock:
        known = set(_values) | {value for value in values if len(value) >= MIN_LENGTH}
        # Longest first, so a secret that contains another is redacted whole.
        _values = tuple(sorted(known, key=len, reverse=True))
        _encoded = tuple(value.encode() for value in _values)


def redact(text: str) -> str:
    """`text` with every registered secret replaced by [redacted]."""
    for value in _values:
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def redact_bytes(data: bytes) -> bytes:
    """`data` with every registered secret replaced by [redacted]."""
    for value in _encoded:
        if value in data:
            data = data.replace(value, REDACTED.encode())
    return data
