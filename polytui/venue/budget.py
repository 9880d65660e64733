"""The client-side rate budget: polytui spends at most a fraction of each of the venue's limits.

Polymarket counts requests per endpoint family over sliding 10-second windows, and each request
also counts against its service's general limit (protocol §8). ``RateBudget.spend`` waits until
every window the request belongs to has room, so normal work never earns a 429. The windows
are the venue's own shape (a sliding log, not a leaky bucket, whose burst plus refill would
overshoot a sliding window), kept per family with an injected monotonic clock.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

WINDOW_S = 10.0
DEFAULT_FRACTION = 0.8

# (service, method, path, family, the venue's limit per window). Path "" matches the service's
# general limit, which every request of the service also spends.
LIMITS: tuple[tuple[str, str, str, str, int], ...] = (
    ("clob", "*", "", "clob", 9000),
    ("clob", "GET", "/book", "clob /book", 1500),
    ("clob", "POST", "/books", "clob /books", 500),
    ("clob", "GET", "/price", "clob /price", 1500),
    ("clob", "POST", "/prices", "clob /prices", 500),
    ("clob", "GET", "/midpoint", "clob /midpoint", 1500),
    ("clob", "POST", "/midpoints", "clob /midpoints", 500),
    ("clob", "GET", "/prices-history", "clob /prices-history", 1000),
    ("clob", "GET", "/tick-size", "clob /tick-size", 200),
    ("clob", "GET", "/ok", "clob /ok", 100),
    ("clob", "POST", "/order", "clob POST /order", 3500),
    ("clob", "DELETE", "/order", "clob DELETE /order", 3000),
    ("clob", "POST", "/orders", "clob POST /orders", 1000),
    ("clob", "DELETE", "/orders", "clob DELETE /orders", 1000),
    ("clob", "DELETE", "/cancel-all", "clob /cancel-all", 250),
    ("clob", "DELETE", "/cancel-market-orders", "clob /cancel-market-orders", 1000),
    ("clob", "GET", "/data/orders", "clob /data/orders", 500),
    ("clob", "GET", "/data/trades", "clob /data/trades", 500),
    ("clob", "GET", "/trades", "clob ledger", 900),
    ("clob", "GET", "/notifications", "clob /notifications", 125),
    ("clob", "GET", "/balance-allowance", "clob /balance-allowance", 200),
    ("clob", "GET", "/balance-allowance/update", "clob /balance-allowance/update", 50),
    ("clob", "POST", "/auth/api-key", "clob auth", 100),
    ("clob", "GET", "/auth/derive-api-key", "clob auth", 100),
    ("clob", "GET", "/auth/api-keys", "clob auth", 100),
    ("clob", "DELETE", "/auth/api-key", "clob auth", 100),
    ("gamma", "*", "", "gamma", 4000),
    ("gamma", "GET", "/markets", "gamma /markets", 300),
    ("gamma", "GET", "/events", "gamma /events", 500),
    ("gamma", "GET", "/tags", "gamma /tags", 200),
    ("data", "*", "", "data", 1000),
    ("data", "GET", "/trades", "data /trades", 200),
    ("data", "GET", "/positions", "data /positions", 150),
)


@dataclass(slots=True)
class Window:
    """One family's sliding window: the send times still inside it."""

    limit: int
    sent: deque[float]

    def wait_s(self, now: float, window_s: float) -> float:
        while self.sent and self.sent[0] <= now - window_s:
            self.sent.popleft()
        if len(self.sent) < self.limit:
            return 0.0
        return self.sent[0] + window_s - now


class RateBudget:
    """Shared by every client of one venue; ``fraction`` of each limit is ours to spend."""

    def __init__(
        self,
        fraction: float = DEFAULT_FRACTION,
        *,
        window_s: float = WINDOW_S,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not 0 < fraction <= 1:
            raise ValueError("the rate budget fraction must be in (0, 1]")
        self._window_s = window_s
        self._monotonic = monotonic
        self._sleep = sleep
        self._windows: dict[str, Window] = {}
        self._routes: dict[tuple[str, str, str], tuple[Window, ...]] = {}
        self._limits = {family: max(1, int(limit * fraction)) for _, _, _, family, limit in LIMITS}
        self.waited_s = 0.0  # total time requests spent waiting for the budget

    def windows(self, service: str, method: str, path: str) -> tuple[Window, ...]:
        key = (service, method, path)
        found = self._routes.get(key)
        if found is None:
            families = [
                family
                for s, m, p, family, _ in LIMITS
                if s == service and (p == "" or (p == path and m in ("*", method)))
            ]
            found = tuple(self._window(f) for f in dict.fromkeys(families))
            self._routes[key] = found
        return found

    def _window(self, family: str) -> Window:
        window = self._windows.get(family)
        if window is None:
            window = self._windows[family] = Window(self._limits[family], deque())
        return window

    def usage(self) -> dict[str, tuple[int, int]]:
        """Per endpoint family used so far: requests in the current window and our limit."""
        now = self._monotonic()
        out = {}
        for family, window in self._windows.items():
            window.wait_s(now, self._window_s)  # drops the sends that left the window
            out[family] = (len(window.sent), window.limit)
        return out

    async def spend(self, service: str, method: str, path: str) -> None:
        """Wait until the request fits every window it counts against, then count it."""
        windows = self.windows(service, method, path)
        while True:
            now = self._monotonic()
            wait = max((w.wait_s(now, self._window_s) for w in windows), default=0.0)
            if wait <= 0:
                for w in windows:
                    w.sent.append(now)
                return
            self.waited_s += wait
            await self._sleep(wait)
