"""A fixed-bucket histogram for latencies: O(1) to record on a hot path, quantiles by bucket.

    lag = Histogram()          # milliseconds, buckets 0, 1, 2, 5, 10, ... 10,000, more
    lag.add(3)
    lag.quantile(0.99)         # the upper bound of the bucket holding the 99th percentile

The same bounds are what a Prometheus histogram of the figure uses, so the two agree.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence

MS_BOUNDS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000)


class Histogram:
    __slots__ = ("bounds", "counts", "max", "sum")

    def __init__(self, bounds: Sequence[float] = MS_BOUNDS) -> None:
        if list(bounds) != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ValueError("histogram bounds must increase")
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last bucket: above every bound
        self.max = 0.0
        self.sum = 0.0  # of every value added (a Prometheus histogram's _sum)

    def add(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value
        if value > self.max:
            self.max = value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def quantile(self, q: float) -> float:
        """The upper bound of the bucket that holds quantile ``q`` (the exact maximum for the
        open last bucket); 0 when empty."""
        if not 0 <= q <= 1:
            raise ValueError("a quantile is between 0 and 1")
        count = self.count
        if not count:
            return 0.0
        rank = max(1, math.ceil(q * count))
        seen = 0
        for i, n in enumerate(self.counts):
            seen += n
            if seen >= rank:
                return float(self.bounds[i]) if i < len(self.bounds) else self.max
        return self.max

    def as_dict(self) -> dict[str, float]:
        return {
            "count": self.count,
            "p50": self.quantile(0.5),
            "p99": self.quantile(0.99),
            "max": self.max,
        }
