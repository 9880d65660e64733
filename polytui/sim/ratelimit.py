"""The venue's rate limits (protocol §8): sliding 10-second windows per client and family."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 10.0

# (method or "*", path, family, limit per window): the first match counts, and so does the
# service's general limit.
RULES: list[tuple[str, str, str, int]] = [
    ("GET", "/book", "clob:/book", 1500),
    ("POST", "/books", "clob:/books", 500),
    ("GET", "/price", "clob:/price", 1500),
    ("POST", "/prices", "clob:/prices", 500),
    ("GET", "/midpoint", "clob:/midpoint", 1500),
    ("POST", "/midpoints", "clob:/midpoints", 500),
    ("GET", "/prices-history", "clob:/prices-history", 1000),
    ("GET", "/tick-size", "clob:/tick-size", 200),
    ("GET", "/ok", "clob:/ok", 100),
    ("POST", "/order", "clob:POST /order", 3500),
    ("DELETE", "/order", "clob:DELETE /order", 3000),
    ("POST", "/orders", "clob:POST /orders", 1000),
    ("DELETE", "/orders", "clob:DELETE /orders", 1000),
    ("DELETE", "/cancel-all", "clob:/cancel-all", 250),
    ("DELETE", "/cancel-market-orders", "clob:/cancel-market-orders", 1000),
    ("GET", "/data/orders", "clob:/data/orders", 500),
    ("GET", "/data/trades", "clob:/data/trades", 500),
    ("GET", "/balance-allowance", "clob:/balance-allowance", 200),
    ("GET", "/balance-allowance/update", "clob:/balance-allowance/update", 50),
    ("POST", "/auth/api-key", "clob:auth", 100),
    ("GET", "/auth/derive-api-key", "clob:auth", 100),
    ("GET", "/data-api/trades", "data:/trades", 200),
    ("GET", "/data-api/positions", "data:/positions", 150),
    ("GET", "/gamma/markets", "gamma:/markets", 300),
    ("GET", "/gamma/events", "gamma:/events", 500),
    ("GET", "/gamma/tags", "gamma:/tags", 200),
]
GENERAL = {"clob": 9000, "gamma": 4000, "data": 1000}


def families(method: str, path: str) -> list[tuple[str, int]]:
    """The limits a request counts against: its endpoint's, and its service's general one."""
    service = (
        "gamma" if path.startswith("/gamma") else "data" if path.startswith("/data-api") else "clob"
    )
    out = [(f"{service}:*", GENERAL[service])]
    for rule_method, rule_path, family, limit in RULES:
        if rule_method in ("*", method) and path == rule_path:
            out.append((family, limit))
            break
    return out


class RateLimiter:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, window_s: float = WINDOW_S
    ) -> None:
        self._clock = clock
        self._window = window_s
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self.rejected = 0

    def hit(self, client: str, method: str, path: str) -> float | None:
        """Count a request; ``None`` if allowed, else seconds until it would be."""
        now = self._clock()
        checks = []
        for family, limit in families(method, path):
            hits = self._hits.setdefault((client, family), deque())
            while hits and hits[0] <= now - self._window:
                hits.popleft()
            checks.append((hits, limit))
        for hits, limit in checks:
            if len(hits) >= limit:
                self.rejected += 1
                return max(0.001, hits[0] + self._window - now)
        for hits, _ in checks:
            hits.append(now)
        return None


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
