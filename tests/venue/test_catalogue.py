"""Gamma and the Data API through polytui's typed clients, against the simulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polytui.venue.data_api import DataApiClient
from polytui.venue.errors import HttpStatusError
from polytui.venue.gamma import GammaClient


async def test_gamma_markets_pages_and_lookups(venue, http_for):
    gamma = GammaClient(http_for(venue))
    listed = [m async for m in gamma.all_markets(page_size=4, closed=False)]
    open_ids = {m.condition_id for m in venue.sim.exchange.markets.values() if not m.closed}
    assert {m.condition_id for m in listed} == open_ids
    assert len(listed) == len(open_ids)  # no page read twice
    first = listed[0]
    assert len(first.clob_token_ids) == 2 and first.outcomes == ("Yes", "No")
    assert all(isinstance(p, Decimal) for p in first.outcome_prices)
    assert (await gamma.market(first.id)).condition_id == first.condition_id
    assert (await gamma.market_by_slug(first.slug)).id == first.id
    with pytest.raises(HttpStatusError) as info:
        await gamma.market("no-such-market")
    assert info.value.status == 404


async def test_gamma_events_and_tags(venue, http_for):
    gamma = GammaClient(http_for(venue))
    events = [e async for e in gamma.all_events(page_size=2)]
    in_events = {m.condition_id for e in events for m in e.markets}
    assert in_events == {
        m.condition_id for m in venue.sim.exchange.markets.values() if not m.closed
    }
    one = await gamma.event(events[0].id)
    assert one.id == events[0].id and one.markets
    tags = await gamma.tags()
    assert tags and all(t.id and t.label for t in tags)


async def test_data_api_rows_of_a_leader(venue, http_for):
    leader = (await venue.admin("GET", "/leaders"))[0]
    await venue.advance(120_000)  # past the Data API's lag
    data = DataApiClient(http_for(venue))
    trades = [t async for t in data.all_trades(leader["address"])]
    assert trades and all(t.proxy_wallet.lower() == leader["address"].lower() for t in trades)
    assert all(isinstance(t.price, Decimal) and 0 < t.price < 1 for t in trades)
    page = await data.trades(leader["address"], limit=5)
    assert len(page) == 5 and page == tuple(trades[:5])
    activity = [a async for a in data.all_activity(leader["address"], types="TRADE")]
    assert len(activity) == len(trades)
    positions = [p async for p in data.all_positions(leader["address"])]
    assert positions and all(p.size > 0 for p in positions)
    (value,) = await data.value(leader["address"])
    assert value.value >= 0


async def test_data_api_refuses_a_missing_user(venue, http_for):
    data = DataApiClient(http_for(venue))
    with pytest.raises(HttpStatusError) as info:
        await data.trades("")
    assert info.value.status == 400
