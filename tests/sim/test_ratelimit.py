"""The venue's rate limits (protocol §8): per client, per endpoint family, sliding windows."""

from __future__ import annotations

from polytui.sim.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cancel_all_allows_250_per_10_s_then_says_when():
    clock = Clock()
    limiter = RateLimiter(clock)
    assert all(limiter.hit("a", "DELETE", "/cancel-all") is None for _ in range(250))
    retry = limiter.hit("a", "DELETE", "/cancel-all")
    assert retry is not None and 0 < retry <= 10
    assert limiter.hit("b", "DELETE", "/cancel-all") is None  # another client has its own budget
    assert limiter.hit("a", "POST", "/order") is None  # another family is unaffected
    clock.now += 10.01
    assert limiter.hit("a", "DELETE", "/cancel-all") is None
    assert limiter.rejected == 1


def test_order_posts_share_the_clob_general_budget():
    clock = Clock()
    limiter = RateLimiter(clock)
    for _ in range(3500):
        assert limiter.hit("a", "POST", "/order") is None
    assert limiter.hit("a", "POST", "/order") is not None
    assert limiter.hit("a", "GET", "/book") is None  # 3,501 of the general 9,000
