"""The CLOB's public market data (protocol §2), typed: one method per endpoint.

    clob = ClobClient(http)
    book = await clob.book(token_id)                 # BookSummary
    books = await clob.books([t1, t2])               # tuple[BookSummary, ...]
    async for market in clob.all_markets(): ...      # every page until ``LTE=``

Reads retry (see ``http.HttpClient``); errors are ``HttpStatusError`` (a 404 for an unknown
token is ``status == 404``), ``NoAnswer`` or, for an answer that is not what the contract says,
``WireError`` with the raw body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from typing import Literal, TypeVar

import msgspec

from polytui.protocol.wire import clob as w
from polytui.protocol.wire.codec import decode
from polytui.venue.http import HttpClient, Params

T = TypeVar("T")

Listing = Literal[
    "markets", "simplified-markets", "sampling-markets", "sampling-simplified-markets"
]
BookSide = Literal["BUY", "SELL"]

_ENCODE = msgspec.json.Encoder()


def json_body(value: object) -> bytes:
    """Compact JSON, as the official clients send it (and as an L2 signature covers it)."""
    return _ENCODE.encode(value)


class ClobClient:
    def __init__(self, http: HttpClient) -> None:
        self.http = http

    async def _get(self, tp: type[T] | object, path: str, params: Params | None = None) -> T:
        return decode(tp, await self.http.call("clob", "GET", path, params=params))

    async def _post(self, tp: type[T] | object, path: str, body: object) -> T:
        return decode(tp, await self.http.call("clob", "POST", path, body=json_body(body)))

    # ---- health and clock -----------------------------------------------------------------

    async def ok(self) -> bool:
        """``GET /ok`` answers ``"OK"`` (a JSON string) while the CLOB is up."""
        body = await self.http.call("clob", "GET", "/ok")
        return body.strip().strip(b'"') == b"OK"

    async def version(self) -> int:
        return (await self._get(w.Version, "/version")).version

    async def server_time(self) -> int:
        """The venue's clock, Unix seconds."""
        return await self._get(int, "/time")

    # ---- books and prices -----------------------------------------------------------------

    async def book(self, token_id: str) -> w.BookSummary:
        return await self._get(w.BookSummary, "/book", {"token_id": token_id})

    async def books(self, token_ids: Iterable[str]) -> w.Books:
        return await self._post(w.Books, "/books", [{"token_id": t} for t in token_ids])

    async def price(self, token_id: str, side: BookSide) -> Decimal:
        """BUY: the best bid; SELL: the best ask."""
        return (await self._get(w.Price, "/price", {"token_id": token_id, "side": side})).price

    async def prices(self, requests: Iterable[tuple[str, BookSide]]) -> w.Prices:
        body = [{"token_id": t, "side": side} for t, side in requests]
        return await self._post(w.Prices, "/prices", body)

    async def midpoint(self, token_id: str) -> Decimal:
        return (await self._get(w.Midpoint, "/midpoint", {"token_id": token_id})).mid

    async def midpoints(self, token_ids: Iterable[str]) -> w.Midpoints:
        return await self._post(w.Midpoints, "/midpoints", [{"token_id": t} for t in token_ids])

    async def spread(self, token_id: str) -> Decimal:
        return (await self._get(w.Spread, "/spread", {"token_id": token_id})).spread

    async def spreads(self, token_ids: Iterable[str]) -> w.Spreads:
        return await self._post(w.Spreads, "/spreads", [{"token_id": t} for t in token_ids])

    async def last_trade_price(self, token_id: str) -> w.LastTradePrice:
        return await self._get(w.LastTradePrice, "/last-trade-price", {"token_id": token_id})

    async def last_trades_prices(self, token_ids: Iterable[str]) -> w.LastTradesPrices:
        body = [{"token_id": t} for t in token_ids]
        return await self._post(w.LastTradesPrices, "/last-trades-prices", body)

    async def prices_history(
        self,
        token_id: str,
        *,
        interval: str | None = None,
        start_ts: int | None = None,
        end_ts: int | None = None,
        fidelity: int | None = None,
    ) -> w.PricesHistory:
        """``interval`` is one of the venue's (``1h``, ``1d``, ``max`` ...) or give a range."""
        params = {
            "market": token_id,
            "interval": interval,
            "startTs": start_ts,
            "endTs": end_ts,
            "fidelity": fidelity,
        }
        return await self._get(w.PricesHistory, "/prices-history", params)

    # ---- per-token market facts -----------------------------------------------------------

    async def tick_size(self, token_id: str) -> Decimal:
        answer = await self._get(w.TickSize, "/tick-size", {"token_id": token_id})
        return answer.minimum_tick_size

    async def neg_risk(self, token_id: str) -> bool:
        return (await self._get(w.NegRisk, "/neg-risk", {"token_id": token_id})).neg_risk

    async def fee_rate(self, token_id: str) -> int:
        """Basis points; only V1 orders sign it."""
        return (await self._get(w.FeeRate, "/fee-rate", {"token_id": token_id})).base_fee

    # ---- markets --------------------------------------------------------------------------

    async def markets_page(
        self, cursor: str = w.START_CURSOR, listing: Listing = "markets"
    ) -> w.Page[w.Market]:
        return await self._get(w.Page[w.Market], f"/{listing}", {"next_cursor": cursor})

    async def all_markets(self, listing: Listing = "markets") -> AsyncIterator[w.Market]:
        """Every market of a listing, page after page until the venue says ``LTE=``."""
        cursor = w.START_CURSOR
        seen: set[str] = set()
        while True:
            page = await self.markets_page(cursor, listing)
            for market in page.data:
                yield market
            if page.is_last or not page.data:
                return
            if page.next_cursor in seen:  # a venue that loops must not hang us
                raise RuntimeError(f"/{listing} returned cursor {page.next_cursor!r} twice")
            seen.add(page.next_cursor)
            cursor = page.next_cursor

    async def market(self, condition_id: str) -> w.Market:
        return await self._get(w.Market, f"/markets/{condition_id}")

    async def market_by_token(self, token_id: str) -> w.MarketByToken:
        return await self._get(w.MarketByToken, f"/markets-by-token/{token_id}")

    async def clob_market_info(self, condition_id: str) -> w.ClobMarketInfo:
        return await self._get(w.ClobMarketInfo, f"/clob-markets/{condition_id}")

    async def builder_fees(self, code: str) -> w.BuilderFees:
        return await self._get(w.BuilderFees, f"/fees/builder-fees/{code}")
