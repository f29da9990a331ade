"""Property-based fuzzing of the REST facade from its own description: Schemathesis reads /openapi.json from a
gateway served over the emulator and sends each route valid and invalid requests. No answer may be a 5xx, every
answer must match the description, and nothing may be logged with a traceback.

Bounded and repeatable: a fixed number of examples per route and generation mode (valid data, then invalid),
Hypothesis derandomised (the same examples on every run, so CI stays stable) and without its example database.
(Schemathesis's pytest plugin needs a pytest older than this suite's, so each route's strategy is driven here.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import ServerError
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from capgate.gateway.safeguards import Hardening
from tests.support.emulator import Emulator
from tests.support.gateway import gateway_config, running_gateway

EXAMPLES = 30  # per route, in each generation mode
UPSTREAM_5XX: list[str] = []  # the upstream's own 5xx, passed back as the description's `default` says


def not_a_gateway_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx of the gateway's own: the 500 of a crash (text/plain), nor a 502/503/504 (problem+json) with an
    upstream that has no fault. The upstream's own 5xx (its JSON, passed back) is the upstream's: noted."""
    if response.status_code < 500:
        return None
    if response.headers.get("content-type", [""])[0].startswith("application/json"):
        UPSTREAM_5XX.append(f"{response.status_code} {case.method} {case.formatted_path} {case.query}")
        return None
    raise ServerError(operation=case.operation.label, status_code=response.status_code)


CHECKS = [not_a_gateway_error, response_schema_conformance, content_type_conformance]


class _Kept(logging.Handler):
    """Every record logged while the fuzzing runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def logged() -> Iterator[_Kept]:
    kept = _Kept()
    root = logging.getLogger()
    root.addHandler(kept)
    try:
        yield kept
    finally:
        root.removeHandler(kept)


@pytest.fixture(scope="module")
def described(emulator: Emulator, logged: _Kept) -> Iterator[Any]:
    config = gateway_config("trigger-dev-runs", emulator.url, hardening=Hardening(audit_log=None))
    with running_gateway(config) as gateway:
        yield schemathesis.openapi.from_url(gateway.rest + "/openapi.json")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_gets_a_5xx_an_undescribed_answer_or_a_traceback(
    described: Any, logged: _Kept, mode: GenerationMode
) -> None:
    UPSTREAM_5XX.clear()
    operations = [result.ok() for result in described.get_all_operations()]
    assert len(operations) >= 10  # every route of the document, and the probes
    with requests.Session() as session:
        for operation in operations:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case: Any) -> None:
                case.call_and_validate(session=session, checks=CHECKS)
                failures = [record for record in logged.records if record.exc_info or record.levelno >= logging.ERROR]
                assert failures == [], [record.getMessage() for record in failures]

            try:
                fuzz()
            except Unsatisfiable:  # an operation that takes no input has none to make invalid
                assert mode is GenerationMode.NEGATIVE and not operation.path_parameters and not operation.query
    if UPSTREAM_5XX:
        print(f"\nthe upstream's own 5xx, passed back ({len(UPSTREAM_5XX)}):", *UPSTREAM_5XX[:5], sep="\n  ")
