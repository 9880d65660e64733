"""The Data API v1 (protocol §7.1): any wallet's trades, activity, positions and value, typed.

The copy-trading leader feed and the reconciler read it. Listings page by ``limit``/``offset``
and answer bare arrays; the ``all_*`` helpers walk the pages until a short one.

Two venue defaults that hide rows are made explicit here: ``/trades`` shows taker fills only
unless ``takerOnly=false`` (a leader's maker fills matter), and ``/positions`` hides positions
under one share unless ``sizeThreshold=0`` (reconciliation must see dust).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from polytui.protocol.wire import data_api as d
from polytui.protocol.wire.codec import decode
from polytui.venue.http import HttpClient, Params

T = TypeVar("T")

PAGE_SIZE = 100
MAX_PAGES = 101  # the venue refuses offsets beyond 10,000: a page more means a loop


class DataApiClient:
    def __init__(self, http: HttpClient) -> None:
        self.http = http

    async def _get(self, tp: type[T] | object, path: str, params: Params) -> T:
        return decode(tp, await self.http.call("data", "GET", path, params=params))

    async def trades(
        self,
        user: str,
        *,
        limit: int = PAGE_SIZE,
        offset: int = 0,
        taker_only: bool = False,
        market: str | None = None,
        side: str | None = None,
    ) -> tuple[d.DataTrade, ...]:
        params = {
            "user": user,
            "limit": limit,
            "offset": offset,
            "takerOnly": taker_only,
            "market": market,
            "side": side,
        }
        return await self._get(tuple[d.DataTrade, ...], "/trades", params)

    async def activity(
        self,
        user: str,
        *,
        limit: int = PAGE_SIZE,
        offset: int = 0,
        types: str | None = None,
        start: int | None = None,
        end: int | None = None,
        market: str | None = None,
        side: str | None = None,
        sort_direction: str | None = None,
    ) -> tuple[d.Activity, ...]:
        """``types`` is a CSV of activity types (``TRADE,REDEEM``); ``start``/``end`` epoch s."""
        params = {
            "user": user,
            "limit": limit,
            "offset": offset,
            "type": types,
            "start": start,
            "end": end,
            "market": market,
            "side": side,
            "sortDirection": sort_direction,
        }
        return await self._get(tuple[d.Activity, ...], "/activity", params)

    async def positions(
        self,
        user: str,
        *,
        limit: int = PAGE_SIZE,
        offset: int = 0,
        size_threshold: float = 0,
        market: str | None = None,
    ) -> tuple[d.Position, ...]:
        params = {
            "user": user,
            "limit": limit,
            "offset": offset,
            "sizeThreshold": size_threshold,
            "market": market,
        }
        return await self._get(tuple[d.Position, ...], "/positions", params)

    async def value(self, user: str) -> tuple[d.Value, ...]:
        return await self._get(tuple[d.Value, ...], "/value", {"user": user})

    async def all_trades(self, user: str, **filters) -> AsyncIterator[d.DataTrade]:
        async for row in _walk(lambda offset: self.trades(user, offset=offset, **filters)):
            yield row

    async def all_activity(self, user: str, **filters) -> AsyncIterator[d.Activity]:
        async for row in _walk(lambda offset: self.activity(user, offset=offset, **filters)):
            yield row

    async def all_positions(self, user: str, **filters) -> AsyncIterator[d.Position]:
        async for row in _walk(lambda offset: self.positions(user, offset=offset, **filters)):
            yield row


async def _walk(fetch: Callable[[int], Awaitable[tuple]], page_size: int = PAGE_SIZE):
    for page in range(MAX_PAGES):
        rows = await fetch(page * page_size)
        for row in rows:
            yield row
        if len(rows) < page_size:
            return
    raise RuntimeError(f"the Data API listed more than {MAX_PAGES} pages; narrow the query")
