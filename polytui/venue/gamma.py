"""Gamma, the market catalogue (protocol §6): markets, events and tags, typed.

Listings page by ``limit``/``offset`` and answer bare arrays; ``all_markets`` walks the pages
until a short one. Gamma leaves closed markets out unless asked (``closed`` defaults to false
on the venue), so the filters are passed as given and nothing is assumed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TypeVar

from polytui.protocol.wire import gamma as g
from polytui.protocol.wire.codec import decode
from polytui.venue.http import HttpClient, Params

T = TypeVar("T")

PAGE_SIZE = 100
MAX_PAGES = 1000  # 100,000 markets: far beyond the venue, so a server that never ends is caught

Markets = tuple[g.GammaMarket, ...]
Events = tuple[g.GammaEvent, ...]


class GammaClient:
    def __init__(self, http: HttpClient) -> None:
        self.http = http

    async def _get(self, tp: type[T] | object, path: str, params: Params | None = None) -> T:
        return decode(tp, await self.http.call("gamma", "GET", path, params=params))

    async def markets(
        self, *, limit: int = PAGE_SIZE, offset: int = 0, **filters: str | int | bool
    ) -> Markets:
        """One page; ``filters`` are Gamma's own (``closed=False``, ``order="volume24hr"``...)."""
        return await self._get(Markets, "/markets", {**filters, "limit": limit, "offset": offset})

    async def all_markets(
        self, *, page_size: int = PAGE_SIZE, **filters: str | int | bool
    ) -> AsyncIterator[g.GammaMarket]:
        async for row in self._walk(self.markets, page_size, filters):
            yield row

    async def markets_by_id(
        self, ids: Sequence[str], *, closed: bool = False, **filters: str | int | bool
    ) -> Markets:
        """The markets of these Gamma ids (one request: keep it under ~400 ids, the URL cap),
        open ones unless ``closed``: Gamma leaves the others out."""
        params = {**filters, "id": list(ids), "closed": closed, "limit": len(ids), "offset": 0}
        return await self._get(Markets, "/markets", params)

    async def market(self, market_id: str) -> g.GammaMarket:
        return await self._get(g.GammaMarket, f"/markets/{market_id}")

    async def market_by_slug(self, slug: str) -> g.GammaMarket:
        return await self._get(g.GammaMarket, f"/markets/slug/{slug}")

    async def events(
        self, *, limit: int = PAGE_SIZE, offset: int = 0, **filters: str | int | bool
    ) -> Events:
        return await self._get(Events, "/events", {**filters, "limit": limit, "offset": offset})

    async def all_events(
        self, *, page_size: int = PAGE_SIZE, **filters: str | int | bool
    ) -> AsyncIterator[g.GammaEvent]:
        async for row in self._walk(self.events, page_size, filters):
            yield row

    async def events_by_id(self, ids: Sequence[str], **filters: str | int | bool) -> Events:
        params = {**filters, "id": list(ids), "limit": len(ids), "offset": 0}
        return await self._get(Events, "/events", params)

    async def event(self, event_id: str) -> g.GammaEvent:
        return await self._get(g.GammaEvent, f"/events/{event_id}")

    async def tags(self) -> tuple[g.GammaTag, ...]:
        return await self._get(tuple[g.GammaTag, ...], "/tags")

    @staticmethod
    async def _walk(fetch, page_size: int, filters: Mapping[str, str | int | bool]):
        for page in range(MAX_PAGES):
            rows = await fetch(limit=page_size, offset=page * page_size, **filters)
            for row in rows:
                yield row
            if len(rows) < page_size:
                return
        raise RuntimeError(f"Gamma listed more than {MAX_PAGES} pages of {page_size}")
