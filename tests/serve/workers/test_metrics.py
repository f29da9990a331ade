"""/metrics with `capgate serve --workers N`: whichever worker answers a scrape, it shows the sum over all of them."""

from __future__ import annotations

import http.client
import os
import signal
import stat
from contextlib import ExitStack
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from capgate import __version__
from tests.serve.workers.conftest import connection_to_each, on_fresh_connections, supervised, until
from tests.support.emulator import Emulator

CALLS = 40
Sample = tuple[str, tuple[tuple[str, str], ...]]
LISTED = ("capgate_requests_total", (("adapter", "rest"), ("status", "200"), ("target", "GET /v1/api/v1/runs")))
UPSTREAM = ("capgate_upstream_request_duration_seconds_count", (("operation", "management-runs.listruns"),))
IN_FLIGHT = ("capgate_requests_in_flight", (("adapter", "rest"),))
CIRCUIT = ("capgate_circuit_state", (("namespace", "management-runs"),))
INFO = ("capgate_info", (("version", __version__),))


def list_runs(connection: http.client.HTTPConnection, index: int) -> int:
    connection.request("GET", "/v1/api/v1/runs?page%5Bsize%5D=1")
    response = connection.getresponse()
    response.read()
    return response.status


def start_a_call_without_its_body(connection: http.client.HTTPConnection, run: str) -> None:
    """A call that stays in flight, waiting for a body that never comes, until the connection closes."""
    connection.putrequest("POST", f"/v1/api/v1/runs/{run}/tags")
    connection.putheader("content-type", "application/json")
    connection.putheader("content-length", "100")
    connection.endheaders()


def scrape(connection: http.client.HTTPConnection) -> dict[Sample, float]:
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    body = response.read().decode()
    assert response.status == 200, body
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def scrape_each(connections: dict[int, http.client.HTTPConnection]) -> list[dict[Sample, float]]:
    """One scrape answered by each worker (`connection_to_each`)."""
    return [scrape(connection) for connection in connections.values()]


def test_every_worker_shows_the_sum_and_a_dead_workers_counts_stay_but_not_its_gauges(
    emulator: Emulator, tmp_path: Path
) -> None:
    run = emulator.run_ids(1)[0]
    with supervised(emulator, "--shutdown-grace", "0.1", TMPDIR=str(tmp_path)) as gateway, ExitStack() as connections:
        first = gateway.workers()
        [directory] = tmp_path.iterdir()
        assert directory.name.startswith("capgate-metrics-") and stat.S_IMODE(directory.stat().st_mode) == 0o700

        statuses, owners = on_fresh_connections(gateway, CALLS, list_runs, connections)
        assert statuses == [200] * CALLS and all(owners.values()), owners  # both workers answered some
        for scraped in scrape_each(connection_to_each(gateway, connections)):
            assert scraped[LISTED] == scraped[UPSTREAM] == CALLS  # not the answering worker's share
            assert scraped[IN_FLIGHT] == 0 and scraped[CIRCUIT] == 0 and scraped[INFO] == 1  # one sample each
            assert not [name for name, _ in scraped if name.startswith(("process_", "python_"))]
        assert {int(file.stem.rsplit("_", 1)[1]) for file in directory.iterdir()} <= first  # none from the supervisor

        # A call in flight in each worker: each scrape counts both. Then one of the workers dies.
        for connection in connection_to_each(gateway, connections).values():
            start_a_call_without_its_body(connection, run)
        scrapers = connection_to_each(gateway, connections)
        until(lambda: scrape(scrapers[min(scrapers)])[IN_FLIGHT] == 2)
        assert [scraped[IN_FLIGHT] for scraped in scrape_each(scrapers)] == [2, 2]
        os.kill(min(first), signal.SIGKILL)
        gateway.stderr.wait_for("serving again")
        for scraped in scrape_each(connection_to_each(gateway, connections)):
            assert scraped[IN_FLIGHT] == 1  # the dead worker's call is no longer in flight; the other's still is
            assert scraped[LISTED] == scraped[UPSTREAM] == CALLS  # and its counts stay: no total goes back

        statuses, owners = on_fresh_connections(gateway, CALLS, list_runs, connections)
        assert statuses == [200] * CALLS and all(owners.values()), owners
        for scraped in scrape_each(connection_to_each(gateway, connections)):
            assert scraped[LISTED] == scraped[UPSTREAM] == 2 * CALLS

        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.process.wait(20) == 0, gateway.stderr.text
    assert not directory.exists()  # the supervisor removed it on its way out
