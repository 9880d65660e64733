"""Where leader fills come from: the :class:`FillSource` interface and its Data API poller.

The feed (``feed.LeaderFeed``) needs three things of a source: a leader's fills from a time
on (at-least-once: repeats are fine, the feed dedupes), its positions and its portfolio
value. :class:`DataApiSource` reads them from the Data API v1 through :class:`DataApiReads`,
the narrow port the engine fills with ``polytui.venue.data_api.DataApiClient`` (tests use
the real client against the simulator, or a fake). An on-chain log listener can implement
``FillSource`` later by answering ``fills`` from what it heard.

**Paging without skips.** ``/activity`` is read oldest first (``sortDirection=ASC``) from
the watermark: a fill indexed while the pages are read lands after the rows already read
(or, indexed late with an older timestamp, shifts them by one, which repeats a row and
never skips one), whereas newest-first pages shift under a reader and skip. When the
offset would pass the venue's cap the next page starts again from the last timestamp read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from polytui.core.clock import Clock
from polytui.protocol.wire.data_api import Activity, Position, Value
from polytui.strategies.copytrade.fills import LeaderFill, fills_from_activity

ZERO = Decimal(0)
PAGE = 500  # the venue's largest /activity page
MAX_OFFSET = 5_000  # the venue refuses larger offsets (protocol §7.1: current docs)


class DataApiReads(Protocol):
    """What the poller calls; ``polytui.venue.data_api.DataApiClient`` has these methods."""

    async def activity(
        self,
        user: str,
        *,
        limit: int = ...,
        offset: int = ...,
        types: str | None = ...,
        start: int | None = ...,
        sort_direction: str | None = ...,
    ) -> tuple[Activity, ...]: ...

    async def positions(
        self, user: str, *, limit: int = ..., offset: int = ..., size_threshold: float = ...
    ) -> tuple[Position, ...]: ...

    async def value(self, user: str) -> tuple[Value, ...]: ...


@dataclass(frozen=True, slots=True)
class LeaderHolding:
    asset: str
    condition_id: str
    shares: Decimal
    price: Decimal | None  # the venue's current price of the asset


class FillSource(Protocol):
    async def fills(self, leader: str, since_ms: int | None) -> list[LeaderFill]:
        """The leader's fills at or after ``since_ms`` (``None``: all it can tell), oldest
        first. Repeats across calls are allowed."""
        ...

    async def holdings(self, leader: str) -> list[LeaderHolding]:
        """The leader's positions now, dust included."""
        ...

    async def value(self, leader: str) -> Decimal:
        """The leader's portfolio value (its positions at current prices) in USDC."""
        ...


class DataApiSource:
    """A :class:`FillSource` over the Data API v1."""

    def __init__(self, api: DataApiReads, clock: Clock, page: int = PAGE) -> None:
        self.api = api
        self.clock = clock
        self.page = page
        self.requests = 0

    async def fills(self, leader: str, since_ms: int | None) -> list[LeaderFill]:
        start = since_ms // 1000 if since_ms is not None else None
        rows: list[Activity] = []
        offset = 0
        while True:
            got = await self.api.activity(
                leader,
                limit=self.page,
                offset=offset,
                types="TRADE",
                start=start,
                sort_direction="ASC",
            )
            self.requests += 1
            rows.extend(got)
            if len(got) < self.page:
                break
            offset += self.page
            if offset + self.page > MAX_OFFSET:  # restart from the last second read, whole
                last = got[-1].timestamp
                if start is not None and last <= start:
                    break  # one second holds more rows than the venue pages: take what we have
                start, offset = last, 0
                rows = [r for r in rows if r.timestamp < last]
        return fills_from_activity(rows, self.clock.now_ms())

    async def holdings(self, leader: str) -> list[LeaderHolding]:
        out: list[LeaderHolding] = []
        offset = 0
        while True:
            rows: Sequence[Position] = await self.api.positions(
                leader, limit=self.page, offset=offset, size_threshold=0
            )
            self.requests += 1
            out.extend(LeaderHolding(p.asset, p.condition_id, p.size, p.cur_price) for p in rows)
            if len(rows) < self.page or offset + self.page > MAX_OFFSET:
                return out
            offset += self.page

    async def value(self, leader: str) -> Decimal:
        rows = await self.api.value(leader)
        self.requests += 1
        return sum((r.value for r in rows), ZERO)
