"""Workers that do not share the budget through Redis each spend their part of it, so together they keep within it."""

from __future__ import annotations

import time

import pytest

from capgate.consumes.limiter import LocalLimiter, RateLimit
from capgate.consumes.resilience import ResilienceSettings, resolve_rate_limit
from capgate.core.errors import ConfigurationError
from capgate.document.load import load_document
from capgate.document.models import ConsumesHttp
from capgate.gateway.safeguards import Hardening
from capgate.serve.config import ServeConfig
from capgate.serve.workers import _divide_budget

pytestmark = pytest.mark.anyio


def consumes() -> ConsumesHttp:
    return load_document("trigger-dev-runs").document.capability.consumes[0]


def test_each_of_n_workers_gets_a_nth_of_the_documents_budget_and_queueing_is_unchanged() -> None:
    assert resolve_rate_limit(consumes(), ResilienceSettings(budget_parts=2)) == RateLimit(375, 125, 10.0, 10.0, 2)
    assert resolve_rate_limit(
        consumes(), ResilienceSettings(rate_limit=RateLimit(10, 7, 1.0), budget_parts=3)
    ) == RateLimit(3, 2, 1.0, 10.0, 3)
    assert resolve_rate_limit(consumes(), ResilienceSettings()) == RateLimit(750, 250, 10.0)


def test_a_budget_smaller_than_the_workers_is_refused_pointing_at_redis() -> None:
    with pytest.raises(ConfigurationError, match="cannot be divided between 4 workers.*--redis-url"):
        RateLimit(3, 10, 1.0).divided(4)
    with pytest.raises(ConfigurationError, match="2/1/1s"):
        resolve_rate_limit(consumes(), ResilienceSettings(rate_limit=RateLimit(2, 1, 1.0), budget_parts=2))


async def test_a_worker_spends_its_part_and_keeps_its_part_of_what_the_upstream_says_remains() -> None:
    limiter, limit = LocalLimiter(), RateLimit(10, 10, 60.0).divided(2)
    assert [await limiter.take("key", limit) for _ in range(5)] == [0.0] * 5
    assert await limiter.take("key", limit) > 0  # its 5 are spent; the other worker has the other 5
    await limiter.observe("other-key", limit, remaining=4, reset=time.time() + 30)
    assert [await limiter.take("other-key", limit) for _ in range(2)] == [0.0, 0.0]
    assert await limiter.take("other-key", limit) > 0  # 4 remain upstream: 2 of them are this worker's


def test_workers_divide_the_budget_unless_redis_shares_it() -> None:
    alone = _divide_budget(ServeConfig(), 4)
    assert alone.hardening.resilience.budget_parts == 4
    shared = ServeConfig(hardening=Hardening(resilience=ResilienceSettings(redis_url="redis://127.0.0.1:6379/0")))
    assert _divide_budget(shared, 4).hardening.resilience.budget_parts == 1
