"""Logging: human-readable lines on a terminal, JSON lines otherwise, every secret redacted, one access line
per request.

Everything capgate and uvicorn log goes through one handler on stderr whose formatter redacts the final text,
tracebacks included, so a secret cannot reach the log whichever code path wrote it. The access log
(`capgate.access`) has one line per HTTP request: adapter, method, route, status, latency, who called (the
token id or the access token's subject, and its OAuth client; never the token), and for each operation called
its name and the upstream's status.

A text line cannot be forged: control characters in it (a `%0a` in a request path, an escape sequence for the
terminal) are written as escapes (`\\n`, `\\x1b`), and the lines of a traceback are indented, so every line
that starts at the margin starts a record. JSON lines escape them by being JSON.

Access lines are the one log on the hot path, so once `configure_logging` has set the handler up they skip
`logging`'s record machinery: `log_access` formats the line itself (same formatter, same redaction, same
bytes) and the handler writes the lines of the last few milliseconds together, before anything logged after
them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from capgate.core.redaction import redact

if TYPE_CHECKING:
    from capgate.observe.exchange import Exchange

LOG_FORMATS = ("auto", "text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
access_logger = logging.getLogger("capgate.access")

# C0 and C1 controls, DEL, and the two Unicode line separators some viewers break lines at.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
ACCESS_FLUSH_SECONDS = 0.05  # access lines wait at most this long to be written
ACCESS_FLUSH_LINES = 512  # or until this many wait
_second: tuple[int, str] = (-1, "")  # the last whole second formatted: most lines share it


def _timestamp(created: float) -> str:
    """`2026-11-28T10:00:00.123Z` for a `time.time()` (milliseconds cut as `LogRecord.msecs` cuts them)."""
    global _second
    whole = int(created)
    if whole != _second[0]:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int((created - whole) * 1000):03d}Z"


def escape_controls(text: str) -> str:
    """`text` on one line, each control character written as an escape."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    return _ESCAPES.get(character) or (
        f"\\x{ord(character):02x}" if ord(character) < 0x100 else f"\\u{ord(character):04x}"
    )


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields passed with `extra=`."""
    return {key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRIBUTES}


class LineFormatter(logging.Formatter):
    """A log line from its parts, redacted; `line` is what `log_access` calls without a `LogRecord`."""

    def format(self, record: logging.LogRecord) -> str:
        exception = self.formatException(record.exc_info) if record.exc_info else None
        return self.line(record.created, record.levelname, record.name, record.getMessage(), _fields(record), exception)

    def line(
        self,
        created: float,
        level: str,
        name: str,
        message: str,
        fields: Mapping[str, Any],
        exception: str | None = None,
    ) -> str:
        raise NotImplementedError


class TextFormatter(LineFormatter):
    """`2026-11-28T10:00:00.123Z INFO capgate.access rest POST /v1/… 200 12.3ms caller=ci`, redacted."""

    def line(
        self,
        created: float,
        level: str,
        name: str,
        message: str,
        fields: Mapping[str, Any],
        exception: str | None = None,
    ) -> str:
        line = f"{_timestamp(created)} {level} {name} {escape_controls(message)}"
        if exception:
            line += "".join(f"\n    {escape_controls(part)}" for part in exception.splitlines())
        return redact(line)


class JsonFormatter(LineFormatter):
    """One JSON object per line: time, level, logger, message, the structured fields, any traceback."""

    def line(
        self,
        created: float,
        level: str,
        name: str,
        message: str,
        fields: Mapping[str, Any],
        exception: str | None = None,
    ) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(created),
            "level": level.lower(),
            "logger": name,
            "message": message,
            **fields,
        }
        if exception:
            entry["exception"] = exception
        return redact(orjson.dumps(entry, default=str).decode())


class LogWriter(logging.StreamHandler[TextIO]):
    """The handler of every log line.

    Access lines arrive formatted (`add`) and are written together, ACCESS_FLUSH_SECONDS after the first of them
    (or at once past ACCESS_FLUSH_LINES): one write and flush for all of them. A write per request cost ~45 µs
    of a REST call at one client (bench/PROFILE.md). Any other record first writes those still waiting, and
    `logging.shutdown` flushes at exit, so none is lost or reordered (a process killed outright loses at most
    the last ACCESS_FLUSH_SECONDS of access lines; the audit log is written to disk before each answer).
    """

    def __init__(self, stream: TextIO, formatter: LineFormatter) -> None:
        super().__init__(stream)
        self.setFormatter(formatter)
        self.line_formatter = formatter
        self._waiting: list[str] = []

    def add(self, line: str) -> None:
        self.acquire()  # another thread may be writing a record (and the waiting lines) now
        try:
            self._waiting.append(line)
            waiting = len(self._waiting)
        finally:
            self.release()
        if waiting >= ACCESS_FLUSH_LINES:
            self.flush()
        elif waiting == 1:
            try:
                asyncio.get_running_loop().call_later(ACCESS_FLUSH_SECONDS, self.flush)
            except RuntimeError:  # no event loop in this thread: nothing would flush it later
                self.flush()

    def flush(self) -> None:
        self.acquire()
        try:
            if self._waiting:
                lines, self._waiting = self._waiting, []
                self.stream.write("\n".join(lines) + "\n")
            super().flush()
        finally:
            self.release()

    def emit(self, record: logging.LogRecord) -> None:
        if self._waiting:
            self.flush()
        super().emit(record)


_writer: LogWriter | None = None  # set by configure_logging; None: access lines go through `logging`


def configure_logging(
    log_format: str = "auto", level: str = "info", *, access_log: bool = True, stream: TextIO | None = None
) -> None:
    """Send capgate's and uvicorn's logs to `stream` (stderr) in `log_format`; `auto` is text on a terminal."""
    global _writer
    stream = stream or sys.stderr
    if log_format == "auto":
        log_format = "text" if stream.isatty() else "json"
    if _writer is not None:
        _writer.flush()
    _writer = LogWriter(stream, TextFormatter() if log_format == "text" else JsonFormatter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(_writer)
    root.setLevel(logging.WARNING)
    logging.getLogger("capgate").setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "mcp"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    access_logger.disabled = not access_log
    logging.captureWarnings(True)


def log_access(exchange: Exchange) -> None:
    """The access line of one finished request."""
    level = logging.WARNING if (exchange.status or 500) >= 500 else logging.INFO
    if access_logger.disabled or not access_logger.isEnabledFor(level):
        return
    caller = exchange.caller
    milliseconds = round(exchange.seconds * 1000, 1)
    fields: dict[str, Any] = {
        "adapter": exchange.adapter,
        "method": exchange.method,
        "route": exchange.route or exchange.path,
        "status": exchange.status,
        "ms": milliseconds,
        "caller": caller.id if caller else None,
    }
    if caller is not None and caller.client is not None:
        fields["client"] = caller.client
    operations = [call.operation for call in exchange.calls if call.operation]
    upstream = [call.upstream_status for call in exchange.calls]
    if operations:
        fields["operation"] = operations[0] if len(operations) == 1 else operations
        fields["upstream_status"] = upstream[0] if len(upstream) == 1 else upstream
    errors = [type(call.error).__name__ for call in exchange.calls if call.error is not None]
    if errors:
        fields["error"] = errors[0]
    if exchange.refused:
        fields["refused"] = exchange.refused
    text = " ".join(
        f"{key}={value}"
        for key, value in fields.items()
        if key not in ("adapter", "method", "route", "status", "ms") and value is not None
    )
    message = f"{exchange.adapter} {exchange.method} {fields['route']} {exchange.status} {milliseconds}ms" + (
        f" {text}" if text else ""
    )
    if _writer is None:  # logging as someone else set it up (a library user, a test): through its handlers
        access_logger.log(level, message, extra=fields)
        return
    _writer.add(
        _writer.line_formatter.line(time.time(), logging.getLevelName(level), access_logger.name, message, fields)
    )
