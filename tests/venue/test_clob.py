"""Every public CLOB endpoint through polytui's typed client, against the simulator's truth."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polytui.protocol.wire import clob as w
from polytui.venue.clob import ClobClient
from polytui.venue.errors import HttpStatusError


@pytest.fixture
async def clob(venue, http_for) -> ClobClient:
    return ClobClient(http_for(venue))


def quoted(venue):
    for m in venue.sim.exchange.markets.values():
        bid, ask = venue.sim.exchange.best(m, m.yes_token)
        if m.tradable and bid and ask:
            return m, Decimal(bid) / 10_000, Decimal(ask) / 10_000
    raise AssertionError("no quoted market")


async def test_health_version_and_clock(clob, venue):
    assert await clob.ok() is True
    assert await clob.version() == 2
    assert await clob.server_time() == venue.sim.clock.now_ms() // 1000


async def test_book_and_books_match_the_exchange(clob, venue):
    m, bid, ask = quoted(venue)
    book = await clob.book(m.yes_token)
    assert isinstance(book, w.BookSummary)
    assert (book.asset_id, book.market) == (m.yes_token, m.condition_id)
    assert book.bids[-1].price == bid and book.asks[-1].price == ask
    assert all(isinstance(level.size, Decimal) for level in book.bids + book.asks)
    both = await clob.books([m.yes_token, m.no_token])
    assert [b.asset_id for b in both] == [m.yes_token, m.no_token]
    assert both[0].hash == book.hash


async def test_prices_midpoints_and_spreads(clob, venue):
    m, bid, ask = quoted(venue)
    assert await clob.price(m.yes_token, "BUY") == bid
    assert await clob.price(m.yes_token, "SELL") == ask
    prices = await clob.prices([(m.yes_token, "BUY"), (m.yes_token, "SELL")])
    assert prices[m.yes_token] == {"BUY": bid, "SELL": ask}
    assert await clob.midpoint(m.yes_token) == (bid + ask) / 2
    assert (await clob.midpoints([m.yes_token]))[m.yes_token] == (bid + ask) / 2
    assert await clob.spread(m.yes_token) == ask - bid
    assert (await clob.spreads([m.yes_token]))[m.yes_token] == ask - bid


async def test_market_facts(clob, venue):
    m, _, _ = quoted(venue)
    assert await clob.tick_size(m.yes_token) == Decimal(m.tick) / 10_000
    assert await clob.neg_risk(m.yes_token) is m.neg_risk
    assert await clob.fee_rate(m.yes_token) == 0
    info = await clob.clob_market_info(m.condition_id)
    assert [t.token_id for t in info.tokens] == [m.yes_token, m.no_token]
    assert info.min_tick_size == Decimal(m.tick) / 10_000
    by_token = await clob.market_by_token(m.no_token)
    assert by_token.condition_id == m.condition_id
    assert (await clob.builder_fees("abc")).builder_taker_fee_rate_bps == 0


async def test_last_trades_and_history(clob, venue):
    traded = [t for t in venue.tokens() if t in venue.sim.exchange.history][:2]
    assert traded, "the warm-up should have traded"
    last = await clob.last_trade_price(traded[0])
    assert last.side in ("BUY", "SELL") and 0 < last.price < 1
    many = await clob.last_trades_prices(traded)
    assert {t.token_id for t in many} == set(traded)
    history = await clob.prices_history(traded[0], interval="max")
    assert history.history and all(0 < p.p < 1 for p in history.history)


async def test_markets_listings_walk_every_page(clob, venue):
    everything = [m async for m in clob.all_markets()]
    assert {m.condition_id for m in everything} == set(venue.sim.exchange.markets)
    sampling = [m async for m in clob.all_markets("sampling-simplified-markets")]
    tradable = {cid for cid, m in venue.sim.exchange.markets.items() if m.tradable}
    assert {m.condition_id for m in sampling} == tradable
    one = await clob.market(everything[0].condition_id)
    assert one.condition_id == everything[0].condition_id and len(one.tokens) == 2


async def test_unknown_token_is_a_typed_404(clob):
    with pytest.raises(HttpStatusError) as info:
        await clob.book("123")
    assert info.value.status == 404 and not info.value.retryable
    assert info.value.error  # the venue's message, not a crash
