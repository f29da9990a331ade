"""Liveness and readiness probes: /healthz asks nothing of anyone, /readyz asks each upstream once in a while.

Readiness calls, per consumed namespace, the first GET operation that needs no argument (for Trigger.dev:
list runs), so a ready answer means the upstream is reachable *and* accepts the gateway's key. A 429 still
counts as ready: the key was accepted, and taking every replica out of a load balancer would not help.
The answer is cached for a few seconds so probes from many load balancers cost one upstream call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from capgate.consumes.operation import Operation
from capgate.core.errors import ArgumentError, UpstreamError

CACHE_SECONDS = 5.0
PROBE_TIMEOUT_SECONDS = 5.0
REFUSED = (401, 403)


@dataclass(frozen=True)
class Check:
    """One upstream's answer to the readiness probe."""

    namespace: str
    ok: bool
    operation: str | None
    status: int | None
    reason: str


class Readiness:
    """Probes each upstream, at most once per `cache_seconds`; concurrent probes share one upstream call."""

    def __init__(
        self,
        operations: Mapping[str, Operation],
        namespaces: Sequence[str],
        *,
        cache_seconds: float = CACHE_SECONDS,
        timeout: float = PROBE_TIMEOUT_SECONDS,
    ) -> None:
        self.cache_seconds = cache_seconds
        self.timeout = timeout
        self._probes = _probes(operations, namespaces)
        self._checks: list[Check] = []
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()

    async def checks(self) -> tuple[list[Check], float]:
        """The latest checks and their age in seconds."""
        async with self._lock:
            if time.monotonic() - self._checked_at > self.cache_seconds:
                self._checks = list(await asyncio.gather(*(self._probe(ns, op) for ns, op in self._probes.items())))
                self._checked_at = time.monotonic()
        return self._checks, time.monotonic() - self._checked_at

    async def _probe(self, namespace: str, operation: Operation | None) -> Check:
        if operation is None:
            return Check(namespace, True, None, None, "not probed: no GET operation can be called without arguments")
        try:
            result = await asyncio.wait_for(operation.call({}), self.timeout)
        except TimeoutError:
            return Check(namespace, False, operation.name, None, f"no answer within {self.timeout:g} s")
        except UpstreamError as exc:
            return Check(namespace, False, operation.name, None, exc.reason)
        if result.status in REFUSED:
            reason = f"the upstream refused the gateway's key (HTTP {result.status}); check the bound secret"
            return Check(namespace, False, operation.name, result.status, reason)
        if result.status >= 500:
            return Check(namespace, False, operation.name, result.status, f"the upstream failed (HTTP {result.status})")
        return Check(namespace, True, operation.name, result.status, "reachable, key accepted")


def _probes(operations: Mapping[str, Operation], namespaces: Sequence[str]) -> dict[str, Operation | None]:
    """Per namespace, the first GET operation that needs no argument (None when there is none)."""
    probes: dict[str, Operation | None] = dict.fromkeys(namespaces)
    for operation in operations.values():
        namespace = operation.name.split(".", 1)[0]
        if probes.get(namespace) is None and operation.method == "GET" and _callable_bare(operation):
            probes[namespace] = operation
    return probes


def _callable_bare(operation: Operation) -> bool:
    try:
        operation.build_request({})
    except ArgumentError:
        return False
    return True


def health_routes(readiness: Readiness) -> list[Route]:
    async def healthz(request: Request) -> Response:
        return _json(200, {"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks, age = await readiness.checks()
        ready = all(check.ok for check in checks)
        body = {
            "status": "ready" if ready else "not ready",
            "checks": [asdict(check) for check in checks],
            "age": round(age, 3),
        }
        return _json(200 if ready else 503, body)

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]


def _json(status: int, body: object) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers={"cache-control": "no-store"}
    )
