"""``POST /_sim/disconnect`` cuts the channel it is asked to: market (the default), user, or all,
and leaves the other one alone."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.sim.conftest import MarketClient
from tests.sim.trading import WARMUP_MS, Trader, UserChannel


@pytest.fixture
async def venue(start_sim):
    running = await start_sim(seed=4, markets=3, rate=0)
    await running.advance(WARMUP_MS)
    return running


async def open_both(venue):
    trader = await Trader.open(venue)
    market = await MarketClient.connect(venue.endpoints["ws"], venue.tokens()[:2])
    user = await UserChannel.connect(venue.endpoints["ws"], trader.creds)
    await market.sync()
    await user.sync()  # authenticated: the PONG comes after the subscription was taken
    return market, user


async def closed_with(client) -> int:
    with pytest.raises(ConnectionClosed) as info:
        await client.sync()
    assert info.value.rcvd is not None
    return info.value.rcvd.code


async def test_the_user_channel_alone(venue):
    market, user = await open_both(venue)
    answer = await venue.admin("POST", "/disconnect", {"channel": "user"})
    assert answer["disconnected"] == [] and len(answer["user_disconnected"]) == 1
    assert await closed_with(user) == 1001
    await market.sync()  # still open
    for _ in range(300):  # the handler forgets the connection as it ends
        if not (await venue.admin("GET", "/stats"))["user_connections"]:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the cut user connection is still listed")
    await market.close()


async def test_the_market_channel_by_default(venue):
    market, user = await open_both(venue)
    answer = await venue.admin("POST", "/disconnect")
    assert len(answer["disconnected"]) == 1 and answer["user_disconnected"] == []
    assert await closed_with(market) == 1001
    await user.sync()  # still open
    await user.close()


async def test_all_channels(venue):
    market, user = await open_both(venue)
    answer = await venue.admin("POST", "/disconnect", {"channel": "all"})
    assert len(answer["disconnected"]) == 1 and len(answer["user_disconnected"]) == 1
    assert await closed_with(market) == 1001
    assert await closed_with(user) == 1001


async def test_an_unknown_channel_is_a_bad_request(venue):
    with pytest.raises(httpx.HTTPStatusError) as info:
        await venue.admin("POST", "/disconnect", {"channel": "both"})
    assert info.value.response.status_code == 400
