"""The canary upstream key and the inbound tokens never appear in any output: stdout, stderr, access log,
audit log, response bodies, MCP results, `capgate validate`; and the access log says what it should.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import httpx2
import orjson
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from capgate.core import redaction
from capgate.observe.logs import JsonFormatter, TextFormatter
from tests.support.cli import ANY_PORTS, serving, upstream_at
from tests.support.gateway import RUN, TEST_KEY
from tests.support.http import rest_call
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.anyio

READ = "read-token-0123456789abcdef"
WRITE = "write-token-0123456789abcdef"
SECRETS = (TEST_KEY, READ, WRITE)


async def test_no_secret_in_any_output(upstream: RecordingUpstream, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    env = {"TRIGGER_DEV_API_KEY": TEST_KEY, "CAPGATE_TOKENS": f"reader:read:{READ}, writer:write:{WRITE}"}
    seen: list[bytes] = []
    # An upstream that echoes the gateway's credential back, in bodies and in error messages.
    echo = {"error": f"bad key Bearer {TEST_KEY}", "key": TEST_KEY}
    for _ in range(30):
        upstream.reply(200, echo)
    with serving(
        *ANY_PORTS,
        *upstream_at(upstream.url),
        "--audit-log",
        str(log),
        "--log-format",
        "json",
        "--log-level",
        "debug",
        env=env,
    ) as (process, lines):
        rest, mcp = (line.split("ready on ")[1].split()[0] for line in lines if "ready on" in line)
        for credential in (None, "wrong-token-0123456789", TEST_KEY, READ, WRITE):
            headers = {"authorization": f"Bearer {credential}"} if credential else {}
            for method, path, body in [
                ("GET", f"/v1/api/v3/runs/{RUN}", None),
                ("POST", f"/v1/api/v1/runs/{RUN}/replay", None),
                ("POST", f"/v1/api/v1/runs/{RUN}/reschedule", {"delay": 7}),
                ("GET", f"/v1/api/v1/runs/{TEST_KEY}", None),
            ]:
                seen.append((await rest_call(rest, method, path, body=body, headers=headers))[2])
        upstream.replies.clear()
        upstream.reply(503, echo, headers={"x-should-retry": "false"})
        upstream.reply(200, echo)
        transport = streamable_http_client(
            mcp, http_client=httpx2.AsyncClient(headers={"authorization": f"Bearer {WRITE}"})
        )
        async with Client(transport) as client:
            for tool, arguments in [
                ("retrieve-run", {"runId": RUN}),
                ("replay-run", {"runId": RUN}),
                ("retrieve-run", {"runId": TEST_KEY}),
            ]:
                result = await client.call_tool(tool, arguments)
                seen.append(orjson.dumps(result.model_dump(mode="json")))
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 0
    everything = b"".join(seen) + stdout.encode() + "".join(lines).encode() + stderr.encode() + log.read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in everything
    assert b"[redacted]" in b"".join(seen)  # the echoed key was there, and was redacted
    access = [orjson.loads(line) for line in stderr.splitlines() if '"capgate.access"' in line]
    replays = [
        entry
        for entry in access
        if entry.get("route") == "/v1/api/v1/runs/{runid}/replay" and entry["caller"] == "writer"
    ]
    assert replays and replays[0]["status"] == 200 and replays[0]["upstream_status"] == 200
    assert replays[0]["operation"] == "management-runs.replayrun" and replays[0]["ms"] >= 0
    refused = [entry for entry in access if entry["status"] == 401]
    assert refused and all(entry["caller"] is None and entry["refused"] for entry in refused)
    tools = [
        (entry["route"], entry["caller"], entry.get("upstream_status"))
        for entry in access
        if entry["adapter"] == "mcp" and entry["route"].startswith("tools/call")
    ]
    assert tools == [
        ("tools/call retrieve-run", "writer", 503),
        ("tools/call replay-run", "writer", 200),
        ("tools/call retrieve-run", "writer", None),
    ]  # the last was refused: not a run id


def test_validate_output_is_redacted(tmp_path: Path) -> None:
    from capgate.document.bundled import bundled_documents

    source = Path(bundled_documents()["trigger-dev-runs"]).read_text()
    document = tmp_path / "leaky.yaml"
    document.write_text(source.replace("naftiko: 1.0.0-alpha2", f"naftiko: {TEST_KEY}", 1))
    result = subprocess.run(
        [sys.executable, "-m", "capgate.cli", "validate", str(document)],
        capture_output=True,
        text=True,
        timeout=30,
        env={"TRIGGER_DEV_API_KEY": TEST_KEY, "PATH": "/usr/bin:/bin"},
    )
    assert "version '[redacted]' is untested" in result.stdout
    assert TEST_KEY not in result.stdout + result.stderr


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_log_lines_and_tracebacks_are_redacted(formatter: logging.Formatter) -> None:
    redaction.register([TEST_KEY])
    try:
        raise RuntimeError(f"upstream refused key {TEST_KEY}")
    except RuntimeError:
        record = logging.getLogger("capgate.test").makeRecord(
            "capgate.test", logging.ERROR, __file__, 1, "calling with %s", (TEST_KEY,), sys.exc_info()
        )
    line = formatter.format(record)
    assert TEST_KEY not in line and line.count("[redacted]") >= 2 and "RuntimeError" in line


# A key with every character that escapes differently in JSON, in a repr, in a URL or in a header value.
HOSTILE_KEY = 'tr_dev_can"ary/CAN\\ARY;canary01'
# What of it would survive in any spelling a writer or an upstream gives it: its raw start and end, the pieces
# around the characters that get escaped, and its start with every character JSON-escaped.
HOSTILE_PIECES = (b"tr_dev_can", b"canary01", b"ary/CAN", b"ary\\/CAN", b"\\u0074\\u0072\\u005f")


def _all_escaped(text: str) -> str:
    return "".join(f"\\u{ord(character):04x}" for character in text)


async def test_no_altered_copy_of_a_hostile_key_in_any_output(upstream: RecordingUpstream, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    echo_escaped = b'{"error":"invalid key ' + _all_escaped(HOSTILE_KEY).encode() + b'"}'
    # Not JSON although labelled so, with the key straddling byte 40, where the 502's preview of it is cut.
    cut_short = b'{"error":"bad key ' + HOSTILE_KEY.encode() + b" and more"
    with serving(
        *ANY_PORTS,
        *upstream_at(upstream.url),
        "--audit-log",
        str(log),
        "--log-format",
        "json",
        "--log-level",
        "debug",
        env={"TRIGGER_DEV_API_KEY": HOSTILE_KEY},
    ) as (process, lines):
        rest, mcp = (line.split("ready on ")[1].split()[0] for line in lines if "ready on" in line)
        seen: list[bytes] = []

        async def call(method: str, path: str, query: str = "", body: object = None) -> int:
            status, headers, content = await rest_call(rest, method, path, query, body)
            seen.append(orjson.dumps(headers) + content)
            return status

        upstream.reply(400, raw=echo_escaped, headers={"x-should-retry": HOSTILE_KEY})
        assert await call("GET", f"/v1/api/v3/runs/{RUN}") == 400  # the upstream's echo, in a header and JSON-escaped
        upstream.reply(200, raw=cut_short)
        assert await call("GET", f"/v1/api/v3/runs/{RUN}") == 502  # a preview of a body that is not JSON
        assert await call("GET", "/v1/api/v1/runs", f"filter[status]={quote(HOSTILE_KEY)}") == 400  # `got '…'`
        upstream.reply(200, {"message": "ok"})
        assert await call("POST", f"/v1/api/v1/runs/{RUN}/tags", body={"tags": [HOSTILE_KEY]}) == 200  # audited
        upstream.reply(400, raw=echo_escaped, headers={"x-should-retry": HOSTILE_KEY})
        async with Client(mcp) as client:
            for arguments in ({"runId": RUN}, {"runId": HOSTILE_KEY}):
                result = await client.call_tool("retrieve-run", arguments)
                assert result.is_error
                seen.append(orjson.dumps(result.model_dump(mode="json")))
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 0
    assert [request.headers["authorization"] for request in upstream.requests][:1] == [f"Bearer {HOSTILE_KEY}"]
    outputs = {
        "responses": b"\n".join(seen),
        "logs": ("".join(lines) + stderr + stdout).encode(),
        "audit": log.read_bytes(),
    }
    for name, output in outputs.items():
        assert [piece for piece in HOSTILE_PIECES if piece in output] == [], name
    assert outputs["responses"].count(b"[redacted]") >= 6  # each echo was there, and was redacted
    assert b"[redacted]" in outputs["audit"]


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_log_lines_hide_a_key_that_json_would_escape(formatter: logging.Formatter) -> None:
    redaction.register([HOSTILE_KEY])
    record = logging.getLogger("capgate.test").makeRecord(
        "capgate.test", logging.ERROR, __file__, 1, "upstream said %r", (HOSTILE_KEY,), None
    )
    record.detail = {"echo": HOSTILE_KEY, "escaped": _all_escaped(HOSTILE_KEY)}
    line = formatter.format(record).encode()
    assert [piece for piece in HOSTILE_PIECES if piece in line] == [] and b"[redacted]" in line
