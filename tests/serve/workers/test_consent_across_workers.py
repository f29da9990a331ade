"""Consent across `capgate serve --workers 2`: a 2026-07-28 question asked by one worker is answered to the
other, and verifies there, because the supervisor gives every worker the same request-state key."""

from __future__ import annotations

import http.client
from contextlib import ExitStack
from typing import Any

import orjson

from tests.serve.workers.conftest import accepted_by, supervised
from tests.support.emulator import Emulator

META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}},
    "io.modelcontextprotocol/clientInfo": {"name": "raw-client", "version": "1"},
}
HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": "tools/call",
    "mcp-name": "cancel-run",
}


def cancel(connection: http.client.HTTPConnection, run: str, **retry: Any) -> dict[str, Any]:
    params = {"name": "cancel-run", "arguments": {"runId": run}, "_meta": META, **retry}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    connection.request("POST", "/mcp", body=orjson.dumps(body), headers=HEADERS)
    response = connection.getresponse()
    answer: dict[str, Any] = orjson.loads(response.read())
    assert response.status == 200, answer
    return answer


def test_a_consent_answer_verifies_on_the_worker_that_did_not_ask(emulator: Emulator) -> None:
    run = emulator.run_ids(1)[0]
    with supervised(emulator) as gateway, ExitStack() as stack:
        mcp_port = int(gateway.stderr.text.split("MCP server ready on http://127.0.0.1:")[1].split("/")[0])
        workers = gateway.workers()
        held: dict[int, http.client.HTTPConnection] = {}
        for _ in range(64):  # new connections until the kernel has handed one to each worker
            connection = http.client.HTTPConnection("127.0.0.1", mcp_port, timeout=10)
            connection.connect()
            stack.callback(connection.close)
            held.setdefault(accepted_by(workers, mcp_port, connection.sock.getsockname()[1]), connection)
            if held.keys() == workers:
                break
        asking, answering = held.values()
        emulator.reset()
        question = cancel(asking, run)["result"]
        assert question["resultType"] == "input_required" and question["inputRequests"]["confirm"]
        yes = {"confirm": {"action": "accept", "content": {"confirm": True}}}
        answer = cancel(answering, run, inputResponses=yes, requestState=question["requestState"])
        assert answer["result"]["isError"] is False, answer
    assert len(emulator.requests("POST", f"/api/v2/runs/{run}/cancel")) == 1
