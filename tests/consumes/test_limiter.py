"""The client-side budget keeps the gateway under the upstream's rate limit, in one process or shared by
replicas through a real redis-server; a call that would queue too long is refused before anything is sent.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack

import aiohttp
import orjson
import pytest

from capgate.consumes.limiter import SWEEP_AT, LocalLimiter, RateLimit
from capgate.consumes.redis_limiter import RedisLimiter
from capgate.consumes.resilience import ResilienceSettings
from capgate.consumes.retry import RetryPolicy
from capgate.core.errors import ConfigurationError
from capgate.gateway.safeguards import Hardening
from capgate.serve.config import ServeConfig
from tests.support.emulator import Emulator, emulator_config
from tests.support.gateway import Running, gateway_config, running_gateway
from tests.support.servers import free_port, serve_app, wait_until_listening
from trigger_emulator.app import create_app

pytestmark = pytest.mark.anyio

BUDGET = RateLimit(burst=10, refill=10, interval=0.5, wait=5.0)


@pytest.fixture
def strict_upstream() -> Iterator[Emulator]:
    """An emulator whose own limiter allows 10 requests at once, then 10 more every 0.5 s."""
    config = emulator_config(rate_limit_max=10, rate_limit_refill=10, rate_limit_interval_s=0.5)
    with serve_app(create_app(config)) as url:
        yield Emulator(url)


async def list_runs(replicas: list[Running], calls: int) -> list[int]:
    """`calls` concurrent list calls spread over the replicas; their statuses."""
    async with aiohttp.ClientSession() as session:

        async def one(index: int) -> int:
            url = replicas[index % len(replicas)].rest + "/v1/api/v1/runs?page[size]=1"
            async with session.get(url) as response:
                await response.read()
                return response.status

        return await asyncio.gather(*(one(index) for index in range(calls)))


async def test_one_gateway_queues_instead_of_spending_the_budget_on_429s(strict_upstream: Emulator) -> None:
    with running_gateway(_config(strict_upstream, None)) as gateway:
        started = time.monotonic()
        statuses = await list_runs([gateway], 40)
        assert statuses == [200] * 40
        assert time.monotonic() - started >= 1.0  # 30 of them waited for three refills of 10


async def test_replicas_share_one_budget_through_redis(strict_upstream: Emulator, redis_url: str) -> None:
    with ExitStack() as stack:
        replicas = [stack.enter_context(running_gateway(_config(strict_upstream, redis_url))) for _ in range(2)]
        assert await list_runs(replicas, 40) == [200] * 40


async def test_replicas_without_redis_overspend_the_shared_key(strict_upstream: Emulator) -> None:
    with ExitStack() as stack:
        replicas = [stack.enter_context(running_gateway(_config(strict_upstream, None))) for _ in range(2)]
        assert 429 in await list_runs(replicas, 40)  # why --redis-url exists


async def test_a_call_that_would_wait_too_long_goes_at_once_and_the_upstream_answers(strict_upstream: Emulator) -> None:
    tight = RateLimit(burst=2, refill=1, interval=30.0, wait=0.2)  # the gateway thinks the budget is smaller
    with running_gateway(_config(strict_upstream, None, tight)) as gateway:
        async with aiohttp.ClientSession() as session:
            started = time.monotonic()
            statuses = []
            for _ in range(3):
                async with session.get(gateway.rest + "/v1/api/v1/runs?page[size]=1") as response:
                    statuses.append(response.status)
        assert statuses == [200, 200, 200]  # the third did not wait 30 s: the upstream had budget left
        assert time.monotonic() - started < 1.0 and len(strict_upstream.requests()) == 3


async def test_the_upstreams_own_429_passes_back_with_its_headers() -> None:
    # The upstream refills only after a minute, so exactly 2 of 12 calls find its budget of 10 spent, however
    # slowly a busy machine sends them.
    config = emulator_config(rate_limit_max=10, rate_limit_refill=10, rate_limit_interval_s=60.0)
    with (
        serve_app(create_app(config)) as url,
        running_gateway(_config(Emulator(url), None, RateLimit(burst=100, refill=100, interval=30.0))) as gateway,
    ):
        async with aiohttp.ClientSession() as session:

            async def one() -> tuple[int, dict[str, str], bytes]:
                async with session.get(gateway.rest + "/v1/api/v1/runs?page[size]=1") as response:
                    return response.status, {k.lower(): v for k, v in response.headers.items()}, await response.read()

            answers = await asyncio.gather(*(one() for _ in range(12)))
    refused = [(headers, orjson.loads(body)) for status, headers, body in answers if status == 429]
    assert len(refused) == 2  # the upstream's budget of 10 was spent (retries are off here)
    for headers, body in refused:  # the upstream's own answer, which clients such as the SDK act on
        assert body["title"] == "Rate Limit Exceeded" and headers["x-ratelimit-remaining"] == "0"
        assert int(headers["x-ratelimit-reset"]) > time.time() * 1000 - 1000


async def test_an_unreachable_redis_stops_start_up_and_a_lost_one_falls_back(redis_url: str) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(ConfigurationError, match="cannot reach Redis"):
        await RedisLimiter(closed).connect()
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    try:
        limiter = RedisLimiter(f"redis://127.0.0.1:{port}/0")
        wait_until_listening(port)
        await limiter.connect()
        assert await limiter.take("bucket", BUDGET) == 0
    finally:
        process.terminate()
        process.wait(10)
    assert await limiter.take("bucket", BUDGET) == 0  # Redis gone: the in-process bucket answers
    await limiter.close()


def _config(upstream: Emulator, redis_url: str | None, limit: RateLimit = BUDGET) -> ServeConfig:
    """A gateway in front of `upstream` with the test budget, retries off so an upstream 429 shows."""
    settings = ResilienceSettings(retry=RetryPolicy(attempts=1), rate_limit=limit, redis_url=redis_url)
    return gateway_config("trigger-dev-runs", upstream.url, hardening=Hardening(resilience=settings, audit_log=None))


async def test_buckets_of_callers_gone_quiet_are_forgotten_and_those_in_use_kept() -> None:
    # A caller per address (`--caller-rate-limit`) must not grow the table for ever: a bucket back at its burst is
    # the same as none, so past SWEEP_AT buckets the full ones go; a half-spent one keeps its count.
    now = [1_000_000.0]
    limiter = LocalLimiter(clock=lambda: now[0])
    limit = RateLimit(burst=2, refill=1, interval=10.0)
    assert await limiter.take("in-use", limit) == 0 and await limiter.take("in-use", limit) == 0
    for address in range(SWEEP_AT - 1):
        await limiter.take(f"address {address}", limit)  # one of two tokens spent: full again in 10 s
    assert len(limiter) == SWEEP_AT
    now[0] += 10.0  # the quiet ones are full again; "in-use" has one of its two tokens back
    await limiter.take("a new caller", limit)
    assert len(limiter) == 2  # "in-use" and the new caller
    assert await limiter.take("in-use", limit) == 0
    assert await limiter.take("in-use", limit) > 0  # what it had spent was remembered


async def test_a_table_of_buckets_all_in_use_is_swept_again_only_once_it_has_doubled() -> None:
    now = [1_000_000.0]
    limiter = LocalLimiter(clock=lambda: now[0])
    limit = RateLimit(burst=1, refill=1, interval=3600.0)
    for address in range(SWEEP_AT + 1):  # every one spent: nothing can be forgotten
        await limiter.take(f"address {address}", limit)
    assert len(limiter) == SWEEP_AT + 1
    assert limiter._sweep_at == 2 * SWEEP_AT  # the next sweep waits for twice as many
