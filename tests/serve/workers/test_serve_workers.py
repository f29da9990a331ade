"""`capgate serve --workers N` as a user runs it: real processes on loopback in front of the emulator."""

from __future__ import annotations

import http.client
import os
import signal
import socket
from contextlib import ExitStack
from pathlib import Path

import orjson
import pytest

from capgate.observe.audit_rows import read_rows
from tests.serve.workers.conftest import connection_to_each, on_fresh_connections, supervised, until
from tests.support.cli import capgate, cli_env
from tests.support.emulator import Emulator
from tests.support.gateway import TEST_KEY
from tests.support.management import MANAGEMENT, base_uri_flags
from tests.support.upstream import RecordingUpstream


def add_tags(connection: http.client.HTTPConnection, run: str, tag: str) -> int:
    connection.request(
        "POST",
        f"/v1/api/v1/runs/{run}/tags",
        body=orjson.dumps({"tags": [tag]}),
        headers={"content-type": "application/json"},
    )
    response = connection.getresponse()
    response.read()
    return response.status


def test_workers_share_the_ports_announce_once_reload_and_stop_on_sigterm(emulator: Emulator, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    runs = emulator.run_ids(20)
    with supervised(emulator, "--audit-log", str(audit)) as gateway, ExitStack() as connections:
        assert gateway.stderr.count("REST facade ready on") == 1 and gateway.stderr.count("MCP server ready on") == 1
        workers = gateway.workers()
        announced = gateway.stderr.text.split("workers share these ports (pids ")[1].split(")")[0]
        assert len(workers) == 2 and {int(pid) for pid in announced.split(", ")} == workers

        # 40 connections at once, one mutating call each: the kernel hands them to both workers, and both append
        # to the one audit log.
        statuses, owners = on_fresh_connections(
            gateway,
            40,
            lambda connection, index: add_tags(connection, runs[index % len(runs)], f"t{index}"),
            connections,
        )
        assert all(status < 500 for status in statuses), statuses
        assert sum(owners.values()) == 40 and all(owners.values()), owners
        with audit.open("rb") as file:
            lines = file.read().splitlines()
        # Every line whole, none interleaved: an intent and an outcome for each call.
        assert len(lines) == 80 and all(orjson.loads(line) for line in lines) and len(read_rows(audit)) == 40

        # Another gateway cannot join these ports, with workers or without.
        for extra in (["--workers", "2"], []):
            taken = capgate("serve", "--rest-port", str(gateway.rest_port), "--mcp-port", "0", *extra)
            assert taken.returncode == 2 and f"port {gateway.rest_port} on 127.0.0.1 is already in use" in taken.stderr

        gateway.process.send_signal(signal.SIGHUP)
        gateway.stderr.wait_for("capgate.reload reloaded", times=2)  # each worker reloads
        gateway.process.send_signal(signal.SIGUSR1)
        gateway.stderr.wait_for("reopening the audit log", times=2)  # each worker reopens the audit log, and lives

        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.process.wait(20) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers)  # no orphan left behind
        assert gateway.stderr.count("REST facade ready on") == 1
        assert TEST_KEY not in gateway.stderr.text


def test_every_worker_serves_every_document(emulator: Emulator, upstream: RecordingUpstream) -> None:
    documents = ("trigger-dev-runs", str(MANAGEMENT))
    # Every namespace at the recording upstream, the runs' too: the key they share goes to one origin only.
    with supervised(emulator, *documents, *base_uri_flags(upstream.url)) as gateway, ExitStack() as held:
        assert "(management-runs-rest and 8 more, " in gateway.stderr.text
        for connection in connection_to_each(gateway, held).values():
            connection.request("POST", "/v1/api/v1/queues/emails/pause")
            response = connection.getresponse()
            assert response.status == 200, response.read()
            response.read()
        assert [f"{request.method} {request.path}" for request in upstream.requests] == [
            "POST /api/v1/queues/emails/pause"
        ] * 2
        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.process.wait(20) == 0


def test_a_killed_worker_is_replaced_and_service_continues(emulator: Emulator) -> None:
    with supervised(emulator) as gateway:
        first = gateway.workers()
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        gateway.stderr.wait_for("serving again")
        assert f"(pid {victim}) was killed by SIGKILL; starting a new one" in gateway.stderr.text
        workers = gateway.workers()
        assert len(workers) == 2 and victim not in workers and (first - {victim}) <= workers
        for _ in range(20):
            connection = http.client.HTTPConnection("127.0.0.1", gateway.rest_port, timeout=10)
            connection.request("GET", "/v1/api/v1/runs?page%5Bsize%5D=1")
            assert connection.getresponse().status == 200
            connection.close()
        gateway.process.send_signal(signal.SIGINT)
        assert gateway.process.wait(20) == 0


def test_workers_that_keep_dying_right_after_they_start_stop_capgate(emulator: Emulator) -> None:
    with supervised(emulator) as gateway:
        # Kill one of the first workers (on a busy machine it may have lived past the steady time, so its death
        # may not count), then only the workers started to replace it, each as soon as it appears.
        spared = gateway.workers()
        first = min(spared)
        os.kill(first, signal.SIGKILL)
        killed = {first}
        while gateway.process.poll() is None and len(killed) < 6:
            until(lambda: bool(gateway.workers() - spared - killed) or gateway.process.poll() is not None)
            for pid in gateway.workers() - spared - killed:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
                break
        assert gateway.process.wait(20) == 1
        assert "workers keep dying right after they start (3 times in a row), so capgate stops" in gateway.stderr.text
        assert len(killed) <= 4


@pytest.mark.parametrize(
    ("args", "environ", "message"),
    [
        (["--workers", "0"], {}, "--workers 0: must be 1 or more"),
        (["--workers", "2", "--mcp-transport", "stdio"], {}, "--workers cannot serve MCP over stdio"),
        (
            ["--workers", "2", "--rest-port", "0", "--mcp-port", "0"],
            {"TRIGGER_DEV_API_KEY": ""},
            "TRIGGER_DEV_API_KEY is not set",
        ),
        (
            ["--workers", "3", "--rest-port", "0", "--mcp-port", "0", "--rate-limit", "2/6/1"],
            {},
            "the request budget 2/6/1s cannot be divided between 3 workers",
        ),
        (["--workers", "2", "--rest-port", "0", "--mcp-port", "0", "missing.yaml"], {}, "missing.yaml"),
    ],
    ids=["no-workers", "stdio", "missing-secret", "budget", "no-document"],
)
def test_a_start_up_error_is_printed_once_and_nothing_serves(
    args: list[str], environ: dict[str, str], message: str
) -> None:
    env = {name: value for name, value in (cli_env() | environ).items() if value}
    result = capgate("serve", *args, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count(message) == 1 and result.stderr.count("capgate:") == 1, result.stderr
    assert "ready on" not in result.stderr and "Traceback" not in result.stderr


def test_a_taken_port_is_reported_once() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = capgate("serve", "--workers", "2", "--rest-port", "0", "--mcp-port", str(port))
    assert result.returncode == 2
    assert result.stderr.count(f"port {port} on 127.0.0.1 is already in use") == 1 and "--mcp-port" in result.stderr
    assert result.stderr.count("capgate:") == 1
