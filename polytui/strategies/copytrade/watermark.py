"""Where a leader's next poll starts, and which fills from there on were already seen.

The Data API is indexed from settlement, so a fill shows up some time after it happened
(seconds to minutes), timestamps are whole seconds, and several fills share one. A
watermark at "the newest timestamp seen" would skip a fill of that same second indexed a
moment later, and any fill indexed late. So each poll asks again from ``newest -
lookback`` (inclusive) and drops what it has seen by key: a fill is never skipped unless it
was indexed more than ``lookback`` after a newer one was visible, and never delivered twice.

Keys older than the window are forgotten (memory stays bounded by the fills of one
lookback). A fill older than the window that still turns up (a source that does not honour
``since``, or one indexed later than the lookback) cannot be told from one forgotten, so it
is dropped and counted as ``late``: a missed fill shows as drift when the leader's positions
are re-synced, a doubled one would be a doubled copy.
"""

from __future__ import annotations

from collections.abc import Iterable

from polytui.strategies.copytrade.fills import LeaderFill


class Watermark:
    def __init__(self, lookback_ms: int) -> None:
        self.lookback_ms = lookback_ms
        self.newest_ms: int | None = None
        self._seen: dict[str, int] = {}  # key -> ts_ms, for the fills inside the window
        self.duplicates = 0
        self.late = 0

    def since_ms(self) -> int | None:
        """Where the next poll starts (inclusive); ``None``: from the beginning."""
        if self.newest_ms is None:
            return None
        return max(0, self.newest_ms - self.lookback_ms)

    def admit(self, fills: Iterable[LeaderFill]) -> list[LeaderFill]:
        """The fills not seen before, in order; remembers them."""
        floor = self.since_ms()
        new: list[LeaderFill] = []
        for fill in fills:
            if fill.key in self._seen:
                self.duplicates += 1
            elif floor is not None and fill.ts_ms < floor:
                self.late += 1
            else:
                self._seen[fill.key] = fill.ts_ms
                new.append(fill)
        self._advance(new)
        return new

    def begin(self, now_ms: int) -> None:
        """Start from ``now_ms`` if no fill was ever seen (a leader with no history), so the
        first poll does not read everything there is."""
        if self.newest_ms is None:
            self.newest_ms = now_ms

    def mark(self, fills: Iterable[LeaderFill]) -> None:
        """Remember fills as seen without delivering them (the history at start)."""
        fills = list(fills)
        for fill in fills:
            self._seen[fill.key] = fill.ts_ms
        self._advance(fills)

    def _advance(self, fills: list[LeaderFill]) -> None:
        if not fills:
            return
        newest = max(f.ts_ms for f in fills)
        if self.newest_ms is None or newest > self.newest_ms:
            self.newest_ms = newest
            floor = self.since_ms()
            assert floor is not None
            self._seen = {k: ts for k, ts in self._seen.items() if ts >= floor}

    def __len__(self) -> int:
        return len(self._seen)
