"""The access log's own path: the same bytes as a `logging` record through the formatter, redacted, level
filtering and --no-access-log kept, lines written once per event-loop turn in order, none lost at exit.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import subprocess
import sys
from collections.abc import Iterator

import orjson
import pytest

from capgate.core import redaction
from capgate.core.types import UpstreamResult
from capgate.observe import logs
from capgate.observe.exchange import Caller, Exchange
from capgate.observe.records import CallRecord
from tests.support.gateway import TEST_KEY

pytestmark = pytest.mark.anyio

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """A StringIO that capgate's logging writes to; the logging set-up of the test process is restored after."""
    root, capgate = logging.getLogger(), logging.getLogger("capgate")
    handlers, root_level, capgate_level = root.handlers[:], root.level, capgate.level
    output = io.StringIO()
    yield output
    logs._writer = None
    logs.access_logger.disabled = False
    root.handlers[:] = handlers
    root.setLevel(root_level)
    capgate.setLevel(capgate_level)
    logging.captureWarnings(False)


def _cancel(path: str = "/v1/api/v2/runs/run_1/cancel", status: int | None = 200) -> Exchange:
    exchange = Exchange("rest", "POST", path, route=None if TEST_KEY in path else "/v1/api/v2/runs/{runid}/cancel")
    exchange.caller = Caller("ci", can_write=True)
    exchange.status = status
    exchange.seconds = 0.0123
    call = CallRecord("rest", "POST /v1/api/v2/runs/{runid}/cancel", operation="management-runs.cancelrun")
    call.result = UpstreamResult(status or 502, {}, b"{}")
    exchange.calls.append(call)
    return exchange


def _through_logging(exchange: Exchange) -> None:
    """The access line as a `logging` record, through the same handler and formatter."""
    writer, logs._writer = logs._writer, None
    try:
        logs.log_access(exchange)
    finally:
        logs._writer = writer


@pytest.mark.parametrize("log_format", ["json", "text"])
async def test_access_lines_are_the_formatters_bytes_and_redacted(stream: io.StringIO, log_format: str) -> None:
    redaction.register([TEST_KEY])
    logs.configure_logging(log_format, "info", stream=stream)
    for exchange in (_cancel(), _cancel(f"/v1/api/v1/runs/{TEST_KEY}", status=None)):
        logs.log_access(exchange)
        _flush()
        _through_logging(exchange)
    fast, slow, fast_refused, slow_refused = TIME.sub("T", stream.getvalue()).splitlines()
    assert fast == slow and fast_refused == slow_refused
    assert TEST_KEY not in stream.getvalue() and "[redacted]" in fast_refused
    if log_format == "json":
        assert orjson.loads(fast) == {
            "time": "T",
            "level": "info",
            "logger": "capgate.access",
            "message": "rest POST /v1/api/v2/runs/{runid}/cancel 200 12.3ms caller=ci "
            "operation=management-runs.cancelrun upstream_status=200",
            "adapter": "rest",
            "method": "POST",
            "route": "/v1/api/v2/runs/{runid}/cancel",
            "status": 200,
            "ms": 12.3,
            "caller": "ci",
            "operation": "management-runs.cancelrun",
            "upstream_status": 200,
        }
    else:
        assert fast == (
            "T INFO capgate.access rest POST /v1/api/v2/runs/{runid}/cancel 200 12.3ms caller=ci "
            "operation=management-runs.cancelrun upstream_status=200"
        )
        assert fast_refused.startswith("T WARNING capgate.access rest POST /v1/api/v1/runs/[redacted] None ")


async def test_level_and_no_access_log_still_filter(stream: io.StringIO) -> None:
    logs.configure_logging("json", "warning", stream=stream)
    logs.log_access(_cancel())
    logs.log_access(_cancel(status=502))
    _flush()  # what passed the filter is written
    assert [orjson.loads(line)["status"] for line in stream.getvalue().splitlines()] == [502]
    logs.configure_logging("json", "info", access_log=False, stream=stream)
    logs.log_access(_cancel(status=502))
    _flush()  # nothing more was written
    assert len(stream.getvalue().splitlines()) == 1


async def test_waiting_lines_are_written_together_before_anything_logged_after_them(stream: io.StringIO) -> None:
    logs.configure_logging("json", "info", stream=stream)
    logs.log_access(_cancel())
    logs.log_access(_cancel())
    assert stream.getvalue() == ""  # waiting, to be written together
    logging.getLogger("capgate.test").warning("after the two requests")
    loggers = [orjson.loads(line)["logger"] for line in stream.getvalue().splitlines()]
    assert loggers == ["capgate.access", "capgate.access", "capgate.test"]


async def test_a_waiting_line_is_written_soon_by_itself(stream: io.StringIO) -> None:
    logs.configure_logging("json", "info", stream=stream)
    logs.log_access(_cancel())
    assert stream.getvalue() == ""
    async with asyncio.timeout(5):  # written ACCESS_FLUSH_SECONDS later, with nothing else logged
        while not stream.getvalue():
            await asyncio.sleep(logs.ACCESS_FLUSH_SECONDS / 5)
    assert orjson.loads(stream.getvalue())["logger"] == "capgate.access"


async def test_a_flood_of_lines_is_written_before_the_timer(stream: io.StringIO) -> None:
    logs.configure_logging("json", "info", stream=stream)
    for _ in range(logs.ACCESS_FLUSH_LINES):
        logs.log_access(_cancel())
    assert len(stream.getvalue().splitlines()) == logs.ACCESS_FLUSH_LINES  # no more than that held in memory


def _flush() -> None:
    """Write the access lines waiting now, as the handler's timer would."""
    for handler in logging.getLogger().handlers:
        handler.flush()


def test_a_line_outside_an_event_loop_is_written_at_once(stream: io.StringIO) -> None:
    logs.configure_logging("text", "info", stream=stream)
    logs.log_access(_cancel())
    assert "capgate.access rest POST" in stream.getvalue()


def test_no_line_is_lost_when_the_process_exits_in_the_same_turn() -> None:
    script = """if True:
        import asyncio, sys
        from capgate.observe import logs
        from capgate.observe.exchange import Caller, Exchange

        async def main():
            logs.configure_logging("json", "info")
            for index in range(3):
                exchange = Exchange("rest", "GET", f"/v1/api/v1/runs/run_{index}")
                exchange.status = 200
                logs.log_access(exchange)
            sys.exit(0)

        asyncio.run(main())
    """
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert [orjson.loads(line)["route"] for line in done.stderr.splitlines()] == [
        f"/v1/api/v1/runs/run_{index}" for index in range(3)
    ]


async def test_an_oauth_caller_is_named_with_its_client(stream: io.StringIO) -> None:
    logs.configure_logging("json", "info", stream=stream)
    exchange = _cancel()
    exchange.caller = Caller("alice@example.com", can_write=True, client="claude-desktop", oauth=True)
    logs.log_access(exchange)
    _flush()
    line = orjson.loads(stream.getvalue())
    assert (line["caller"], line["client"]) == ("alice@example.com", "claude-desktop")
    assert "caller=alice@example.com client=claude-desktop operation=" in line["message"]
    assert exchange.caller.bind_keys == ("sub:alice@example.com", "client:claude-desktop")
