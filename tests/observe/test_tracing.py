"""Traces: `capgate serve` with the standard OTEL_* variables continues the caller's W3C trace upstream and
exports its spans over OTLP/HTTP (here to the recording upstream, standing in for a collector)."""

from __future__ import annotations

import signal
import subprocess
import urllib.request

from tests.support.cli import CAPGATE, cli_env, ready_url
from tests.support.upstream import RecordingUpstream

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TOKEN = "tracing-token-0123456789abcdef"


def test_the_callers_trace_reaches_the_upstream_and_the_spans_reach_the_collector(upstream: RecordingUpstream) -> None:
    env = cli_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=upstream.url,
        OTEL_SERVICE_NAME="capgate-test",
        OTEL_BSP_SCHEDULE_DELAY="50",
        CAPGATE_TOKENS=f"tracer:read:{TOKEN}",
    )
    process = subprocess.Popen(
        [*CAPGATE, "serve", "--rest-port", "0", "--mcp-port", "0", "--base-uri", f"management-runs={upstream.url}"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        rest = ready_url(process, "REST facade")
        upstream.reply(200, {"data": [], "pagination": {}})
        request = urllib.request.Request(
            f"{rest}/v1/api/v1/runs",
            headers={"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01", "authorization": f"Bearer {TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        sent = upstream.last
        assert sent.path == "/api/v1/runs"
        version, trace, parent, flags = sent.headers["traceparent"].split("-")
        assert (version, trace, flags) == ("00", TRACE_ID, "01") and parent != CALLER_SPAN
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(15)
    assert process.returncode == 0
    exports = [r for r in upstream.requests if r.method == "POST" and r.path == "/v1/traces"]
    assert exports, "no spans were exported"
    assert exports[0].headers["content-type"] == "application/x-protobuf"
    body = b"".join(export.body for export in exports)
    assert bytes.fromhex(TRACE_ID) in body and b"capgate-test" in body and b"management-runs.listruns" in body
    # The server span names the caller, never the token.
    assert b"enduser.id" in body and b"tracer" in body and TOKEN.encode() not in body
