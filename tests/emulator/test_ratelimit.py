"""The token-bucket rate limiter: headers on every limited response, the 429 body, refills, exemptions."""

from __future__ import annotations

import time

from tests.emulator.client import KEY, OTHER_KEY, running
from trigger_emulator.ratelimit import TokenBucket


def test_the_bucket_refills_in_whole_steps_up_to_its_size() -> None:
    bucket = TokenBucket(max_tokens=3, refill=2, interval_ms=1_000)
    assert [bucket.take("k", 0).remaining for _ in range(3)] == [2, 1, 0]
    refused = bucket.take("k", 999)
    assert (refused.allowed, refused.remaining, refused.reset_ms) == (False, -1, 1_000)
    assert refused.headers() == {"x-ratelimit-limit": "3", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000"}
    after_one = bucket.take("k", 1_000)
    assert (after_one.allowed, after_one.remaining, after_one.reset_ms) == (True, 1, 2_000)
    assert bucket.take("k", 10_500).remaining == 2  # capped at 3, minus this request
    assert bucket.take("other", 10_500).remaining == 2  # each key has its own bucket


def test_limited_responses_carry_the_headers_and_the_429_body() -> None:
    with running(rate_limit_max=3, rate_limit_refill=1, rate_limit_interval_s=60) as api:
        started = int(time.time() * 1000)
        remaining = [api.get("/api/v1/runs?page[size]=1").headers["x-ratelimit-remaining"] for _ in range(3)]
        assert remaining == ["2", "1", "0"]
        reply = api.get("/api/v1/runs?page[size]=1")
        assert reply.status == 429
        assert reply.content_type.startswith("application/problem+json")
        reset = int(reply.headers["x-ratelimit-reset"])
        assert started + 60_000 <= reset <= int(time.time() * 1000) + 60_000
        assert (reply.headers["x-ratelimit-limit"], reply.headers["x-ratelimit-remaining"]) == ("3", "0")
        body = reply.json()
        seconds = body["secondsUntilReset"]
        assert 0 < seconds <= 60
        detail = f"Rate limit exceeded 0/3 requests remaining. Retry in {seconds} seconds."
        assert body == {
            "title": "Rate Limit Exceeded",
            "status": 429,
            "type": "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/429",
            "detail": detail,
            "reset": reset,
            "limit": 3,
            "remaining": -1,
            "secondsUntilReset": seconds,
            "error": detail,
        }
        # Another key is not affected; OPTIONS is never limited; the limiter runs before routing.
        assert api.get("/api/v1/runs?page[size]=1", key=OTHER_KEY).status == 200
        assert api.call("OPTIONS", "/api/v1/runs", key=KEY).status == 200
        assert api.get("/api/v9/unknown").status == 429


def test_every_api_path_is_limited_even_unknown_ones_and_bad_keys() -> None:
    with running(rate_limit_max=5) as api:
        unknown = api.get("/api/v1/nowhere")
        assert unknown.status == 404 and unknown.headers["x-ratelimit-remaining"] == "4"
        bad_key = api.get("/api/v1/runs", key="tr_dev_wrong")
        assert bad_key.status == 401 and bad_key.headers["x-ratelimit-remaining"] == "4"
        outside = api.get("/_emulator/requests")
        assert "x-ratelimit-limit" not in outside.headers
