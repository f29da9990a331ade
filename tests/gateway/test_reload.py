"""A SIGHUP reload of a hostile document: refused, said why in the log, the old document still serving, and
both ports answering while it is read (the document is loaded off the event loop, within bounds)."""

from __future__ import annotations

import re
import signal
import urllib.request
from pathlib import Path

import orjson

from capgate.document.bundled import bundled_documents
from tests.support.bombs import BOMBS
from tests.support.cli import ANY_PORTS, LogLines, serving
from tests.support.gateway import RUN, TEST_KEY
from tests.support.memory import rss_mib
from tests.support.upstream import RecordingUpstream

ANSWER_BOUND = 5.0  # seconds a probe may wait for an answer while a reload runs (it takes milliseconds now)
GROWTH_BOUND_MIB = 100  # what the serving process may grow by across every bomb


def probe(url: str, body: bytes | None = None) -> int:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    request = urllib.request.Request(url, data=body, headers=headers if body else {})
    with urllib.request.urlopen(request, timeout=ANSWER_BOUND) as response:
        return int(response.status)


def test_every_bomb_reload_is_refused_while_both_ports_answer_and_the_old_document_serves(
    upstream: RecordingUpstream, tmp_path: Path
) -> None:
    document = tmp_path / "runs.yaml"
    document.write_bytes(bundled_documents()["trigger-dev-runs"].read_bytes())
    # The cap keeps a regression from taking the machine with it (unbounded, billion laughs grew past 4.9 GB).
    with serving(
        str(document),
        *ANY_PORTS,
        "--no-audit-log",
        "--no-access-log",
        "--log-format",
        "json",
        "--base-uri",
        f"management-runs={upstream.url}",
        env={"TRIGGER_DEV_API_KEY": TEST_KEY},
        address_space_mib=1536,
    ) as (process, lines):
        rest = re.search(r"REST facade ready on (\S+)", "".join(lines)).group(1)  # type: ignore[union-attr]
        mcp = re.search(r"MCP server ready on (\S+)", "".join(lines)).group(1)  # type: ignore[union-attr]
        assert process.stderr is not None
        log = LogLines(process.stderr)
        before, _ = rss_mib(process.pid)
        ping = orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"})
        for bomb, (content, reason) in BOMBS.items():
            document.write_bytes(content)
            process.send_signal(signal.SIGHUP)
            # Asked right after the signal, while the bomb is being read: both ports answer within the bound.
            assert probe(f"{rest}/healthz") == 200, bomb
            assert probe(mcp, ping) == 200, bomb
            line = log.wait_for('"logger":"capgate.reload"')
            record = orjson.loads(line)
            assert record["level"] == "error", line
            assert record["message"].startswith("reload refused, still serving the previous document: "), bomb
            assert f"{document}" in record["message"] and reason in record["message"], record["message"]
            assert "Traceback" not in line
        _, peak = rss_mib(process.pid)
        upstream.reply(200, {"id": RUN})
        assert probe(f"{rest}/v1/api/v3/runs/{RUN}") == 200  # the old document still serves its routes
        assert upstream.last.path == f"/api/v3/runs/{RUN}"
        assert peak - before < GROWTH_BOUND_MIB, f"grew from {before:.0f} MiB to a peak of {peak:.0f} MiB"
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
