"""Keep secret values out of everything capgate writes: logs, tracebacks, error bodies, MCP results, audit.

Every secret the process holds (bound upstream credentials, inbound tokens) is registered here when it is
read, and every writer passes its text through `redact`. The registry is process-wide on purpose: a log line
or a traceback can come from anywhere, and over-redacting a value that was a secret of an earlier document
does no harm.

A secret is found in every spelling text can give it, not only as written: JSON-escaped (`\\"`, `\\\\`, `\\/`,
`\\u0074` for any character, surrogate pairs), backslash-escaped as Python's `repr` does (`\\x74`), percent- or
form-encoded as in a URL (`%2F`, `+`), with any number of backslashes from text escaped more than once, and any
mix of these. So a JSON log line, a problem body or an upstream echo is redacted after it is encoded, whatever
the secret holds (`"`, `\\`, `/`, `;`, spaces, non-ASCII). `preview` cuts text for a message only after
redacting it, and hides a secret's first characters left at the cut.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import TypeVar

REDACTED = "[redacted]"
MIN_LENGTH = 4  # shorter values would redact ordinary words; nothing that short is a real credential

# A spelling other than the raw one needs one of these; text without any is searched for the raw values only.
_ESCAPE_MARKS = ("\\", "%")
_SHORT_ESCAPES = {"\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}
_REDACTED_BYTES = REDACTED.encode()
_Text = TypeVar("_Text", str, bytes)


class Redactor:
    """A set of secrets and the patterns that find them; the process has one (`register`, `redact`, …)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: tuple[str, ...] = ()
        self._encoded: tuple[bytes, ...] = ()
        # The values that hold no other one: the text is searched for these first, and for the rest only if one
        # is there (the key inside "Bearer <key>": one scan of a clean answer, not two).
        self._plan: tuple[str, ...] = ()
        self._encoded_plan: tuple[bytes, ...] = ()
        self._marks: tuple[str, ...] = _ESCAPE_MARKS
        self._byte_marks: tuple[bytes, ...] = tuple(mark.encode() for mark in _ESCAPE_MARKS)
        self._source = ""  # the pattern of every spelling; compiled on the first text that needs it
        self._pattern: re.Pattern[str] | None = None
        self._bytes_pattern: re.Pattern[bytes] | None = None

    def register(self, values: Iterable[str]) -> None:
        """Redact these values, in every spelling, from now on."""
        with self._lock:
            known = set(self._values) | {value for value in values if len(value) >= MIN_LENGTH}
            if len(known) == len(self._values):
                return
            # Longest first, so a secret that contains another is redacted whole.
            ordered = tuple(sorted(known, key=len, reverse=True))
            # Compiled when first needed: most text holds no escape mark, and compiling every spelling of every
            # secret took ~50 ms of start-up (bench/PROFILE.md).
            self._source, self._pattern, self._bytes_pattern = _any_spelling(ordered), None, None
            self._marks = (*_ESCAPE_MARKS, "+") if any(" " in value for value in ordered) else _ESCAPE_MARKS
            self._byte_marks = tuple(mark.encode() for mark in self._marks)
            self._encoded = tuple(value.encode() for value in ordered)
            self._plan = _search_plan(ordered)
            self._encoded_plan = _search_plan(self._encoded)
            self._values = ordered

    def redact(self, text: str) -> str:
        """`text` with every registered secret, in any spelling, replaced by [redacted]."""
        if _any_found(self._plan, text):
            for value in self._values:
                if value in text:
                    text = text.replace(value, REDACTED)
        if self._source and any(mark in text for mark in self._marks):
            pattern = self._pattern
            if pattern is None:
                pattern = self._pattern = re.compile(self._source)
            text = pattern.sub(REDACTED, text)
        return text

    def redact_bytes(self, data: bytes) -> bytes:
        """`data` with every registered secret, in any spelling, replaced by [redacted]."""
        if _any_found(self._encoded_plan, data):
            for value in self._encoded:
                if value in data:
                    data = data.replace(value, _REDACTED_BYTES)
        if self._source and any(mark in data for mark in self._byte_marks):
            pattern = self._bytes_pattern
            if pattern is None:
                pattern = self._bytes_pattern = re.compile(self._source.encode())
            data = pattern.sub(_REDACTED_BYTES, data)
        return data

    def redact_headers(self, headers: dict[str, str]) -> dict[str, str]:
        """`headers` with every secret redacted from their values (an upstream may echo the key in one)."""
        if not self._values:
            return headers
        return {name: self.redact(value) for name, value in headers.items()}

    def preview(self, data: bytes, limit: int) -> str:
        """The start of `data` as text for a message: redacted first, then cut to `limit` characters; a cut that
        leaves the first characters of a secret at the end hides them too."""
        cut = self.redact(data.decode("utf-8", errors="replace"))[:limit]
        for value in self._values:
            for length in range(min(len(value) - 1, len(cut)), MIN_LENGTH - 1, -1):
                if cut.endswith(value[:length]):
                    return cut[:-length] + REDACTED
        return cut


_process = Redactor()  # every secret this process holds
register = _process.register
redact = _process.redact
redact_bytes = _process.redact_bytes
redact_headers = _process.redact_headers
preview = _process.preview


def _search_plan(values: tuple[_Text, ...]) -> tuple[_Text, ...]:
    """The values that hold no other registered value: a text holds some value only if it holds one of these."""
    return tuple(value for value in values if not any(other != value and other in value for other in values))


def _any_found(plan: tuple[_Text, ...], text: _Text) -> bool:
    return any(value in text for value in plan)


def _any_spelling(values: tuple[str, ...]) -> str:
    """One pattern matching each value in any spelling.

    Every alternative starts with a literal character, so the regex engine skips along the text to the
    positions where a match can start instead of trying each one (7x faster on a JSON body full of escapes).
    """
    alternatives = []
    for value in values:
        rest = "".join(f"(?:{'|'.join(_spellings(character))})" for character in value[1:])
        alternatives += [first + rest for first in _spellings(value[0])]
    return "|".join(alternatives)


def _spellings(character: str) -> list[str]:
    """Patterns for one character: as itself, backslash-escaped (one or more backslashes), percent-encoded,
    its UTF-8 bytes backslash-escaped."""
    code = ord(character)
    escaped = [re.escape(character)]  # \" \\ \/ \'
    if code < 0x10000:
        escaped.append("u" + _hex(code, 4))
    else:  # JSON spells it as a surrogate pair
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        escaped.append("u" + _hex(high, 4) + r"\\\\*u" + _hex(low, 4))
    if code < 0x100:
        escaped.append("x" + _hex(code, 2))
    if character in _SHORT_ESCAPES:
        escaped.append(_SHORT_ESCAPES[character])
    spellings = [re.escape(character), r"\\\\*(?:" + "|".join(escaped) + ")"]
    spellings.append("".join("%" + _hex(byte, 2) for byte in character.encode()))
    if code >= 0x80:  # the repr of bytes: each UTF-8 byte as \xNN
        spellings.append("".join(r"\\\\*x" + _hex(byte, 2) for byte in character.encode()))
    if character == " ":
        spellings.append(r"\+")
    return spellings


def _hex(number: int, width: int) -> str:
    """`number` in hexadecimal, each letter matching either case."""
    return "".join(f"[{digit}{digit.upper()}]" if digit.isalpha() else digit for digit in f"{number:0{width}x}")
