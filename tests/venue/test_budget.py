"""The client-side rate budget: never more than its share of a venue window, per family."""

from __future__ import annotations

import pytest

from polytui.venue.budget import LIMITS, RateBudget


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def busiest_window(times: list[float], window: float = 10.0) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_a_burst_is_spread_so_no_window_holds_more_than_the_share():
    time = FakeTime()
    budget = RateBudget(0.8, monotonic=time.monotonic, sleep=time.sleep)
    sent = []
    for _ in range(500):  # /tick-size: 200 per 10 s at the venue, 160 ours
        await budget.spend("clob", "GET", "/tick-size")
        sent.append(time.now)
        time.now += 0.001
    assert busiest_window(sent) == 160
    assert time.sleeps and sent[159] - sent[0] < 1 and sent[160] - sent[0] >= 10


async def test_every_request_also_spends_the_service_general_limit():
    time = FakeTime()
    budget = RateBudget(1.0, monotonic=time.monotonic, sleep=time.sleep)
    assert [w.limit for w in budget.windows("clob", "GET", "/book")] == [9000, 1500]
    assert [w.limit for w in budget.windows("clob", "GET", "/data/order/0x1")] == [9000]
    assert [w.limit for w in budget.windows("data", "GET", "/trades")] == [1000, 200]
    # POST /order and DELETE /order are different families with different limits
    post, delete = (
        budget.windows("clob", "POST", "/order"),
        budget.windows("clob", "DELETE", "/order"),
    )
    assert post[1] is not delete[1] and (post[1].limit, delete[1].limit) == (3500, 3000)
    for _ in range(1500):
        await budget.spend("clob", "GET", "/book")
    assert time.sleeps == []
    await budget.spend("clob", "GET", "/midpoint")  # another family: still room
    assert time.sleeps == []
    await budget.spend("clob", "GET", "/book")
    assert time.sleeps == [pytest.approx(10.0)]


def test_limits_are_the_venue_table():
    families = {(s, m, p): limit for s, m, p, _, limit in LIMITS}
    assert families[("clob", "POST", "/order")] == 3500
    assert families[("gamma", "GET", "/markets")] == 300
    with pytest.raises(ValueError, match="fraction"):
        RateBudget(0)
