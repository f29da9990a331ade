"""A caller cannot forge a log line: control characters in anything logged are escaped in text lines (and
JSON lines are JSON), and the lines of a traceback are indented, so only a record starts at the margin."""

from __future__ import annotations

import logging
import re
import signal
import sys

import httpx2
import orjson

from capgate.observe.logs import JsonFormatter, TextFormatter
from tests.support.cli import serving
from tests.support.gateway import TEST_KEY

FORGED = "2026-12-04T00:00:00.000Z ERROR capgate.audit forged"
RECORD = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


def _record(message: str, exception: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exception), exception, exception.__traceback__) if exception else None
    return logging.makeLogRecord({"name": "capgate.test", "levelname": "INFO", "msg": message, "exc_info": exc_info})


def test_a_text_line_escapes_control_characters_and_indents_a_traceback() -> None:
    try:
        raise ValueError(f"bad input\n{FORGED}")
    except ValueError as exc:
        failure = exc
    line = TextFormatter().format(_record(f"GET /runs\n{FORGED}\r\x1b[31m\x00\x7f\u2028 end", failure))
    first, *rest = line.split("\n")
    assert first.endswith("GET /runs\\n" + FORGED + "\\r\\x1b[31m\\x00\\x7f\\u2028 end")
    assert rest and all(part.startswith("    ") for part in rest)  # the traceback, forged line included
    assert any(FORGED in part for part in rest)


def test_a_json_line_is_one_line_whatever_it_holds() -> None:
    line = JsonFormatter().format(_record(f"GET /runs\n{FORGED}\r\x1b[31m"))
    assert "\n" not in line and orjson.loads(line)["message"] == f"GET /runs\n{FORGED}\r\x1b[31m"


def test_a_newline_in_a_request_path_does_not_forge_a_line_of_the_gateway_log() -> None:
    with serving("--rest-port", "0", "--mcp-port", "0", "--no-audit-log", "--log-format", "text",
                 env={"TRIGGER_DEV_API_KEY": TEST_KEY}) as (process, lines):  # fmt: skip
        rest = next(line for line in lines if "REST facade ready" in line).split("ready on ")[1].split()[0]
        forged_path = "/v1/api/v1/runs%0a" + FORGED.replace(" ", "%20") + "%0d%1b[2J"
        answer = httpx2.get(rest + forged_path)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    assert answer.status_code == 404
    access = [line for line in stderr.splitlines() if "capgate.access" in line]
    assert len(access) == 1 and "\\n" + FORGED in access[0] and "\\x1b[2J" in access[0], access
    for line in stderr.splitlines():
        assert RECORD.match(line) or line.startswith(("capgate: ", "    ")), line
    assert not any(line.startswith(FORGED) for line in stderr.splitlines())
    print(f"\nthe access line, as logged: {access[0]}", file=sys.stderr)
