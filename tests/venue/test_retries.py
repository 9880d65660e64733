"""Each retry path of the REST client, against the simulator's faults: 5xx, 429 with
Retry-After, 425, timeouts, refused connections; and what is never retried."""

from __future__ import annotations

import random

import httpx
import pytest

from polytui.venue.clob import ClobClient
from polytui.venue.endpoints import Endpoints
from polytui.venue.errors import HttpStatusError, NoAnswer
from polytui.venue.http import HttpClient
from polytui.venue.retry import RetryPolicy, backoff_s, wait_s


def heal(venue, **faults_off):
    """An injected sleep action: the fault is gone by the time the client tries again."""

    async def clear() -> None:
        await venue.admin("POST", "/faults", dict.fromkeys(faults_off, 0))

    return clear


async def test_a_5xx_is_retried_with_jittered_backoff(venue, http_for, waits):
    await venue.admin("POST", "/faults", {"http5xx": 1})
    waits.then = heal(venue, http5xx=0)
    http = http_for(venue)
    assert await ClobClient(http).version() == 2
    assert len(waits.waits) == 1 and 0 <= waits.waits[0] <= 0.01  # attempt 1: [0, base]
    assert http.stats["retry 500"] + http.stats["retry 502"] + http.stats["retry 503"] == 1


async def test_a_429_waits_what_retry_after_says(venue, http_for, waits):
    await venue.admin("POST", "/faults", {"http429": 1})
    waits.then = heal(venue, http429=0)
    http = http_for(venue)
    assert await ClobClient(http).server_time() > 0
    assert waits.waits == [1.0]  # the simulator's Retry-After: 1
    assert http.stats["status 429"] == 1


async def test_a_timeout_is_retried(venue, http_for, waits):
    await venue.admin("POST", "/faults", {"latency_ms": 400})
    waits.then = heal(venue, latency_ms=0)
    http = http_for(venue, timeout_s=0.1)
    assert await ClobClient(http).version() == 2
    assert http.stats["retry timeout"] == 1 and len(waits.waits) == 1


async def test_retries_stop_after_the_policy_attempts(venue, http_for, waits):
    await venue.admin("POST", "/faults", {"http5xx": 1})
    http = http_for(venue, policy=RetryPolicy(attempts=3, base_s=0.01, cap_s=0.05))
    with pytest.raises(HttpStatusError) as info:
        await ClobClient(http).version()
    assert info.value.status in (500, 502, 503) and info.value.retryable
    assert http.stats["requests"] == 3 and len(waits.waits) == 2


async def test_a_4xx_is_not_retried(venue, http_for, waits):
    http = http_for(venue)
    with pytest.raises(HttpStatusError) as info:
        await ClobClient(http).tick_size("999")
    assert info.value.status == 404
    assert http.stats["requests"] == 1 and waits.waits == []


async def test_a_refused_connection_is_a_typed_no_answer(waits):
    endpoints = Endpoints("http://127.0.0.1:9", "ws://127.0.0.1:9/ws", "", "", "")
    policy = RetryPolicy(attempts=2, base_s=0.01, cap_s=0.01)
    async with HttpClient(endpoints, policy=policy, sleep=waits, rng=random.Random(1)) as http:
        with pytest.raises(NoAnswer) as info:
            await ClobClient(http).ok()
    assert info.value.kind == "connect" and info.value.reached is False
    assert len(waits.waits) == 1


async def test_425_and_retry_after_seconds_in_the_body(waits):
    """Not a simulator fault: a mock transport answering as the venue does while its matching
    engine restarts, then with the JSON ``retry_after_seconds`` hint."""
    answers = iter(
        [
            httpx.Response(425, json={"error": "engine restarting"}),
            httpx.Response(503, json={"error": "busy", "retry_after_seconds": 2.5}),
            httpx.Response(200, json={"version": 2}),
        ]
    )
    transport = httpx.MockTransport(lambda request: next(answers))
    endpoints = Endpoints("http://venue", "ws://venue/ws", "", "", "")
    async with HttpClient(
        endpoints, transport=transport, sleep=waits, rng=random.Random(1)
    ) as http:
        assert await ClobClient(http).version() == 2
    assert waits.waits[1] == 2.5 and 0 <= waits.waits[0] <= 0.25


async def test_a_retry_after_beyond_the_limit_fails_at_once(waits):
    transport = httpx.MockTransport(
        lambda request: httpx.Response(429, headers={"Retry-After": "600"}, text="<html>")
    )
    endpoints = Endpoints("http://venue", "ws://venue/ws", "", "", "")
    async with HttpClient(endpoints, transport=transport, sleep=waits) as http:
        with pytest.raises(HttpStatusError) as info:
            await ClobClient(http).version()
    assert info.value.retry_after_s == 600 and waits.waits == []
    assert "<html>" in str(info.value)  # a Cloudflare page still says what happened


def test_backoff_is_full_jitter_under_the_cap():
    rng = random.Random(3)
    draws = [backoff_s(attempt, 0.5, 4.0, rng) for attempt in range(1, 9) for _ in range(200)]
    firsts, lasts = draws[:200], draws[-200:]
    assert max(firsts) <= 0.5 and min(firsts) >= 0
    assert max(lasts) <= 4.0 and max(lasts) > 3.0  # capped, but the cap is reached
    assert wait_s(RetryPolicy(), 1, None, random.Random(3)) == backoff_s(
        1, 0.25, 8.0, random.Random(3)
    )
