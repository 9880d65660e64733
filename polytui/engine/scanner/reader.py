"""Reading Gamma for the scanner: the full listing, the newest markets, markets by id.

Gamma has no "changed since" filter, so the scanner combines three cheap reads:

* ``listing``: every open market, ``order=id`` in pages of ``page_size``, ``concurrency``
  of them in flight (none past the first short page). 20,000 markets are 40 pages of 500,
  within ``/markets``' 300 requests per 10 s.
* ``newest``: the markets with an id above the highest one known, newest first
  (``order=id&ascending=false``), usually one small page.
* ``by_ids``: given markets, ``ids_per_request`` ids per request (Gamma's URL cap is about
  400 ids), open or closed as asked (Gamma leaves closed markets out unless asked).

Every request goes through the venue's ``HttpClient`` (rate budget, retries). Reads are
counted in ``requests``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from polytui.protocol.wire import gamma as g
from polytui.venue.gamma import GammaClient

NEWEST_PAGE = 100
NEWEST_PAGES = 10  # a burst of more new markets in one cadence waits for the full scan


def id_number(gamma_id: str) -> int:
    return int(gamma_id) if gamma_id.isdigit() else -1


class GammaReader:
    def __init__(
        self, gamma: GammaClient, page_size: int, concurrency: int, ids_per_request: int
    ) -> None:
        self.gamma = gamma
        self.page_size = page_size
        self.concurrency = concurrency
        self.ids_per_request = ids_per_request
        self.requests = 0

    async def _page(self, offset: int, limit: int, **filters) -> tuple[g.GammaMarket, ...]:
        self.requests += 1
        return await self.gamma.markets(limit=limit, offset=offset, **filters)

    async def listing(
        self, on_page: Callable[[Sequence[g.GammaMarket]], None] | None = None
    ) -> list[g.GammaMarket]:
        """Every open market, in id order. ``concurrency`` pages are in flight at any time: a
        new one is asked as soon as one is answered, so Gamma serves the next pages while
        this one is decoded (and handed to ``on_page``); none is asked past a short page."""
        size = self.page_size
        pages: dict[int, Sequence[g.GammaMarket]] = {}
        flying: dict[asyncio.Task, int] = {}
        next_offset, end = 0, None
        try:
            while True:
                while end is None and len(flying) < self.concurrency:
                    task = asyncio.ensure_future(self._page(next_offset, size, order="id"))
                    flying[task] = next_offset
                    next_offset += size
                if not flying:
                    break
                answered, _ = await asyncio.wait(flying, return_when=asyncio.FIRST_COMPLETED)
                for task in answered:
                    offset = flying.pop(task)
                    page = pages[offset] = task.result()
                    if on_page is not None:
                        on_page(page)
                    if len(page) < size:
                        end = offset if end is None else min(end, offset)
        finally:
            for task in flying:
                task.cancel()
            await asyncio.gather(*flying, return_exceptions=True)
        return [row for offset in sorted(pages) if offset <= (end or 0) for row in pages[offset]]

    async def newest(self, above_id: int) -> list[g.GammaMarket]:
        """The open markets whose id is above ``above_id``."""
        found: list[g.GammaMarket] = []
        for page_no in range(NEWEST_PAGES):
            page = await self._page(page_no * NEWEST_PAGE, NEWEST_PAGE, order="id", ascending=False)
            fresh = [m for m in page if id_number(m.id) > above_id]
            found.extend(fresh)
            if len(fresh) < len(page) or len(page) < NEWEST_PAGE:
                break
        return found

    async def by_ids(self, ids: Sequence[str], closed: bool = False) -> list[g.GammaMarket]:
        chunks = [
            list(ids[i : i + self.ids_per_request])
            for i in range(0, len(ids), self.ids_per_request)
        ]
        pages = await asyncio.gather(*(self._ids(chunk, closed) for chunk in chunks))
        return [m for page in pages for m in page]

    async def _ids(self, ids: list[str], closed: bool) -> tuple[g.GammaMarket, ...]:
        self.requests += 1
        return await self.gamma.markets_by_id(ids, closed=closed)

    async def events(self, ids: Sequence[str]) -> list[g.GammaEvent]:
        """Events by id, for the tags of markets whose rows carry none."""
        out: list[g.GammaEvent] = []
        for i in range(0, len(ids), self.ids_per_request):
            chunk = list(ids[i : i + self.ids_per_request])
            self.requests += 1
            out.extend(await self.gamma.events_by_id(chunk))
        return out
