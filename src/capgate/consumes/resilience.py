"""Calls to one upstream that survive its faults: a deadline, the request budget, circuit breakers, safe retries.

Each call, in order: the breakers may refuse it (503, nothing sent): the upstream's own, which opens when it
cannot be reached at all, and the route's (the consumed operation's), which opens when that route's answers
fail; the limiter hands it a token, queueing it briefly when the budget is spent (past the longest queueing
it goes anyway, and the upstream's own limiter answers); the pooled client sends it once within what is left
of the call's deadline; an answer whose body is not the JSON it claims becomes a 502. Then, **only for
operations that are safe to repeat** (`UpstreamRequest.idempotent`), a connection failure or an HTTP 408,
429, 502, 503 or 504 is tried again after an exponential backoff with jitter, or after the wait the upstream
asked for (`capgate.consumes.signals`), as long as that fits in the deadline and the upstream's retry header
does not forbid it. An operation that is not safe to repeat (a replay starts a second run) reaches the
upstream at most once, whatever happens.

Only upstream faults count against a breaker: no connection, a timeout, HTTP 502, 503 or 504. Any other
answer, a caller's 4xx included, says the upstream is working.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache

from capgate.consumes.breaker import PROBES, BreakerSettings, CircuitBreaker, Ticket
from capgate.consumes.client import ClientSettings, Timeouts, UpstreamClient, UpstreamRequest
from capgate.consumes.limiter import DEFAULT_QUEUE_WAIT, Limiter, RateLimit, bucket_name
from capgate.consumes.retry import RetryPolicy, worth_retrying
from capgate.consumes.signals import Signals, signals_of
from capgate.core.errors import (
    CircuitOpen,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from capgate.core.redaction import preview, redact_bytes, redact_headers
from capgate.core.types import UpstreamResult
from capgate.document.models import ConsumedOperation, ConsumesHttp, Document
from capgate.observe.metrics import CIRCUIT_VALUES, circuit_state, limiter_wait, route_circuit_state, upstream_retries

UPSTREAM_FAULT_STATUSES = frozenset({502, 503, 504})  # answers that say the upstream itself is unwell


@dataclass(frozen=True)
class TimeoutOverrides:
    """Timeouts given on the command line; each one set wins over the document's and the defaults."""

    connect: float | None = None
    read: float | None = None
    total: float | None = None


@dataclass(frozen=True)
class ResilienceSettings:
    """How capgate protects itself and the upstream; see docs/hardening.md for each default."""

    timeouts: TimeoutOverrides = field(default_factory=TimeoutOverrides)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerSettings = field(default_factory=BreakerSettings)
    rate_limit: RateLimit | None = None  # None: the document's `rateLimit` budget, else none
    rate_limit_wait: float | None = None  # None: the document's `rateLimit.wait`, else DEFAULT_QUEUE_WAIT
    rate_limiting: bool = True
    redis_url: str | None = None
    budget_parts: int = 1  # processes that spend each budget without sharing it (`serve --workers`, no Redis)


DEFAULT_RESILIENCE = ResilienceSettings()


class ResilientClient:
    """One upstream's pooled client behind its breakers, the shared limiter and the retry policy."""

    def __init__(
        self,
        client: UpstreamClient,
        *,
        retry: RetryPolicy,
        breaker: BreakerSettings,
        limiter: Limiter,
        rate_limit: RateLimit | None,
        signals: Signals | None = None,
        namespace: str = "",
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.retry = retry
        self.breaker_settings = breaker
        self.breaker = CircuitBreaker(breaker)  # the upstream's: opens when it cannot be reached at all
        self.routes: dict[str, CircuitBreaker] = {}  # each operation's: opens when that route fails
        self.limiter = limiter
        self.rate_limit = rate_limit
        self.signals = signals or Signals()
        self._last_reset: float | None = None  # the upstream's next refill, as last passed to the limiter

    async def open(self) -> None:
        await self.client.open()

    async def close(self) -> None:
        await self.client.close()

    async def send(self, request: UpstreamRequest) -> UpstreamResult:
        """The upstream's answer to `request`, retried where that is safe; UpstreamError if there is none."""
        timeouts = request.timeouts or self.client.settings.timeouts
        deadline = time.monotonic() + timeouts.total
        outcome = await self._attempt(request, deadline)
        attempt = 1
        while (delay := self._retry_delay(request, outcome, attempt, deadline)) is not None:
            reason = str(outcome.status) if isinstance(outcome, UpstreamResult) else "connection"
            upstream_retries(request.operation, reason).inc()
            await asyncio.sleep(delay)
            attempt += 1
            try:
                outcome = await self._attempt(request, deadline)
            except CircuitOpen:
                break  # failing fast now: the caller learns more from the upstream's last answer
        if isinstance(outcome, UpstreamError):
            raise outcome
        # An upstream that echoes the request (a debug endpoint, a misconfigured proxy) must not leak the key,
        # in its body or in a header passed back.
        headers = redact_headers(self.signals.passed_back(outcome.headers))
        return replace(outcome, body=redact_bytes(outcome.body), headers=headers)

    async def _attempt(self, request: UpstreamRequest, deadline: float) -> UpstreamResult | UpstreamError:
        """One try; an error worth considering for a retry is returned, any other raised."""
        route = self._route(request.operation)
        upstream_ticket = self._admit(self.breaker, request, f"calls to {self.namespace or 'the upstream'}")
        try:
            route_ticket = self._admit(route, request, f"calls to {request.operation}")
        except CircuitOpen:
            self.breaker.forget(upstream_ticket)
            raise
        try:
            await self._pace(request, deadline)
            result = await self.client.send(request, budget=max(0.001, deadline - time.monotonic()))
            check_body(request, result)
        except (UpstreamUnavailable, UpstreamTimeout) as exc:
            self.breaker.record(upstream_ticket, failed=not exc.connected)
            route.record(route_ticket, failed=True)
            self._show_circuits(route, request.operation)
            if isinstance(exc, UpstreamTimeout):
                raise
            return exc
        except BaseException:  # not a sign of the upstream's health either way (bad body, cancelled caller)
            self.breaker.forget(upstream_ticket)
            route.forget(route_ticket)
            raise
        self.breaker.record(upstream_ticket, failed=False)
        route.record(route_ticket, failed=result.status in UPSTREAM_FAULT_STATUSES)
        self._show_circuits(route, request.operation)
        await self._learn_budget(request, result)
        return result

    def _route(self, operation: str) -> CircuitBreaker:
        breaker = self.routes.get(operation)
        if breaker is None:
            breaker = self.routes[operation] = CircuitBreaker(self.breaker_settings)
        return breaker

    def _admit(self, breaker: CircuitBreaker, request: UpstreamRequest, what: str) -> Ticket:
        admitted = breaker.admit()
        if isinstance(admitted, Ticket):
            return admitted
        self._show_circuits(self._route(request.operation), request.operation)
        if breaker.state == "half-open":
            reason = f"{what} wait while {PROBES} probe calls find out whether it recovered ({breaker.opened_because})"
        else:
            reason = (
                f"{breaker.opened_because}, so {what} fail fast for {breaker.settings.cooldown:g}s without reaching "
                f"it, then {PROBES} probe calls are let through"
            )
        raise _error(CircuitOpen, request, f"{reason} (retry in {math.ceil(admitted):.0f}s)", retry_after=admitted)

    def _show_circuits(self, route: CircuitBreaker, operation: str) -> None:
        """The route's state, and the upstream's as the worst of its own and its routes' (as before routes had
        circuits of their own, an open one shows on `capgate_circuit_state{namespace}`)."""
        route_circuit_state(operation).set(CIRCUIT_VALUES[route.state])
        worst = max(CIRCUIT_VALUES[breaker.state] for breaker in [self.breaker, *self.routes.values()])
        circuit_state(self.namespace).set(worst)

    async def _pace(self, request: UpstreamRequest, deadline: float) -> None:
        """Wait for a token of the budget, as long as a call may queue.

        Past that the call goes anyway: the upstream's own limiter has the last word, and its 429 (with the
        headers that tell its clients when to come back) is better than one made up here.
        """
        if self.rate_limit is None:
            return
        started = time.monotonic()
        give_up = started + min(self.rate_limit.wait, deadline - started)
        while (wait := await self.limiter.take(_bucket(request), self.rate_limit)) > 0:
            if time.monotonic() + wait > give_up:
                break
            await asyncio.sleep(wait)
        limiter_wait(self.namespace).observe(time.monotonic() - started)

    async def _learn_budget(self, request: UpstreamRequest, result: UpstreamResult) -> None:
        """Correct the local bucket with what the upstream says of its own (other clients may share the key)."""
        if self.rate_limit is None:
            return
        remaining: int | None
        if result.status == 429:  # nothing is left until the upstream says it may be tried again
            remaining, reset_at = 0, self.signals.resume_at(429, result.headers)
        else:
            report = self.signals.budget(result.headers)
            remaining, reset_at = (report.remaining, report.reset_at) if report else (None, None)
        if remaining is None or reset_at is None:
            return
        # Plenty left in a refill period already seen says nothing new: skip the (Redis) round trip.
        if remaining >= self.rate_limit.refill and reset_at == self._last_reset:
            return
        self._last_reset = reset_at
        await self.limiter.observe(_bucket(request), self.rate_limit, remaining, reset_at)

    def _retry_delay(
        self, request: UpstreamRequest, outcome: UpstreamResult | UpstreamError, attempt: int, deadline: float
    ) -> float | None:
        """Seconds to wait before trying again, or None to give `outcome` to the caller now."""
        if not request.idempotent or attempt >= self.retry.attempts:
            return None
        delay = self.retry.backoff_before(attempt + 1)
        if isinstance(outcome, UpstreamResult):
            if not worth_retrying(outcome.status, self.signals.retry_verdict(outcome.headers)):
                return None
            resume = self.signals.resume_at(outcome.status, outcome.headers)
            if resume is not None:
                delay = max(delay, resume - time.time() + random.uniform(0, 0.1))
                if delay > self.retry.max_wait:  # the caller is better told now, with the upstream's own answer
                    return None
        # Leave the next try some time to answer; a retry that cannot finish in time is not worth sending.
        if time.monotonic() + delay + 0.05 >= deadline:
            return None
        return delay


def check_body(request: UpstreamRequest, result: UpstreamResult) -> None:
    """Raise UpstreamProtocolError when a body labelled JSON is not JSON (truncated, an HTML error page…)."""
    content_type = result.headers.get("content-type", "")
    if "json" not in content_type or not result.body.strip():
        return
    if not _looks_like_json(result.body):
        start = preview(result.body, 40)
        raise _error(
            UpstreamProtocolError,
            request,
            f"the upstream answered HTTP {result.status} with a body that "
            f"is not valid JSON although labelled {content_type} ({len(result.body)} bytes, starting "
            f"{start!r}); it may be truncated or an error page from a proxy",
        ) from None


_CLOSING = {ord("{"): ord("}"), ord("["): ord("]"), ord('"'): ord('"')}


def _looks_like_json(body: bytes) -> bool:
    """A shape check, not a parse: it catches what goes wrong in practice (a body cut short, an HTML error page
    behind a JSON label) without parsing every page passed through untouched, which cost 15-34% of a REST
    call's CPU (bench/PROFILE.md)."""
    text = body.strip()
    closing = _CLOSING.get(text[0])
    if closing is not None:
        return len(text) > 1 and text[-1] == closing
    return text[0] in b"-0123456789tfn"


@lru_cache(maxsize=64)
def _bucket_for(credential: str) -> str:
    return bucket_name(credential)


def _bucket(request: UpstreamRequest) -> str:
    """The budget a request spends: its origin's and credential's, as its operation named it; else its host's."""
    return request.budget or _bucket_for(request.url.split("/", 3)[2])


def _error(
    kind: type[UpstreamError], request: UpstreamRequest, reason: str, *, retry_after: float | None = None
) -> UpstreamError:
    return kind(request.operation, request.method, request.display_url or request.url, reason, retry_after=retry_after)


def resolve_timeouts(
    consumes: ConsumesHttp, operation: ConsumedOperation, base: Timeouts, overrides: TimeoutOverrides
) -> Timeouts:
    """An operation's timeouts: each from the command line, else the operation, else its namespace, else `base`."""
    layers = [overrides, operation.timeouts, consumes.timeouts]

    def pick(name: str) -> float:
        for layer in layers:
            value = getattr(layer, name, None) if layer is not None else None
            if value is not None:
                return float(value)
        return float(getattr(base, name))

    return Timeouts(connect=pick("connect"), read=pick("read"), total=pick("total"))


def resolve_rate_limit(consumes: ConsumesHttp, settings: ResilienceSettings) -> RateLimit | None:
    """The budget of one upstream: the command line's, else the document's `rateLimit`, else none; this
    process's part of it when several spend it without sharing it."""
    if not settings.rate_limiting:
        return None
    declared = consumes.rate_limit
    if settings.rate_limit is not None:
        limit = settings.rate_limit
    elif declared is not None and declared.burst and declared.refill and declared.interval:
        limit = RateLimit(
            declared.burst,
            declared.refill,
            declared.interval,
            DEFAULT_QUEUE_WAIT if declared.wait is None else declared.wait,
        )
    else:
        return None
    limit = limit if settings.rate_limit_wait is None else replace(limit, wait=settings.rate_limit_wait)
    return limit.divided(settings.budget_parts)


def tool_hinted_idempotent(document: Document) -> set[str]:
    """Operations (`namespace.name`) that every MCP tool calling them says are read-only or idempotent.

    A tool's hints are the document author's word that repeating the call is harmless; when tools disagree,
    the operation is not treated as repeatable.
    """
    verdicts: dict[str, bool] = {}
    for adapter in document.capability.exposes:
        for tool in getattr(adapter, "tools", []):
            hints = tool.hints
            safe = bool(hints and (hints.read_only or hints.idempotent))
            if tool.call:
                verdicts[tool.call] = verdicts.get(tool.call, True) and safe
    return {name for name, safe in verdicts.items() if safe}


def resilient_client(
    consumes: ConsumesHttp, client_settings: ClientSettings, settings: ResilienceSettings, limiter: Limiter
) -> ResilientClient:
    """The resilient client of one consumed namespace, with breakers of its own and the signals it declares."""
    signals = signals_of(consumes)
    return ResilientClient(
        UpstreamClient(client_settings, kept_headers=signals.kept),
        retry=settings.retry,
        breaker=settings.breaker,
        limiter=limiter,
        rate_limit=resolve_rate_limit(consumes, settings),
        signals=signals,
        namespace=consumes.namespace,
    )
