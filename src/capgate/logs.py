"""Logging: human-readable lines on a terminal, JSON lines otherwise, every secret redacted, one access line
per request.

Everything capgate and uvicorn log goes through one handler on stderr whose formatter redacts the final text,
tracebacks included, so a secret cannot reach the log whichever code path wrote it. The access log
(`capgate.access`) has one line per HTTP request: adapter, method, route, status, latency, the caller's token
id (never the token), and for each operation called its name and the upstream's status.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from capgate.redaction import redact

if TYPE_CHECKING:
    from capgate.exposes._exchange import Exchange

LOG_FORMATS = ("auto", "text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
access_logger = logging.getLogger("capgate.access")

_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields passed with `extra=`."""
    return {key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRIBUTES}


class TextFormatter(logging.Formatter):
    """`2026-11-28T10:00:00.123Z INFO capgate.access rest POST /v1/… 200 12.3ms caller=ci`, redacted."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the structured fields, any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": _timestamp(record), "level": record.levelname.lower(),
                                 "logger": record.name, "message": record.getMessage(), **_fields(record)}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(orjson.dumps(entry, default=str).decode())


def configure_logging(log_format: str = "auto", level: str = "info", *, access_log: bool = True,
                      stream: TextIO | None = None) -> None:
    """Send capgate's and uvicorn's logs to `stream` (stderr) in `log_format`; `auto` is text on a terminal."""
    stream = stream or sys.stderr
    if log_format == "auto":
        log_format = "text" if stream.isatty() else "json"
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter() if log_format == "text" else JsonFormatter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("capgate").setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "mcp"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    access_logger.disabled = not access_log
    logging.captureWarnings(True)


def log_access(exchange: Exchange) -> None:
    """The access line of one finished request."""
    if access_logger.disabled:
        return
    caller = exchange.caller.id if exchange.caller else None
    milliseconds = round(exchange.seconds * 1000, 1)
    fields: dict[str, Any] = {"adapter": exchange.adapter, "method": exchange.method,
                              "route": exchange.route or exchange.path, "status": exchange.status,
                              "ms": milliseconds, "caller": caller}
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
    text = " ".join(f"{key}={value}" for key, value in fields.items()
                    if key not in ("adapter", "method", "route", "status", "ms") and value is not None)
    message = (f"{exchange.adapter} {exchange.method} {fields['route']} {exchange.status} {milliseconds}ms"
               + (f" {text}" if text else ""))
    level = logging.WARNING if (exchange.status or 500) >= 500 else logging.INFO
    access_logger.log(level, message, extra=fields)
