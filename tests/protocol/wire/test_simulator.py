"""The wire decoders read everything a running simulator serves, without one error.

The simulator is an independent implementation of the venue (it shares no code with
``polytui.protocol``), so this is two readings of the protocol document checked against each
other on real frames: a real child process, real HTTP and a real WebSocket on loopback.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets

from polytui.protocol.wire.clob import (
    Books,
    BookSummary,
    ClobMarketInfo,
    ErrorResponse,
    LastTradePrice,
    Market,
    Midpoint,
    Page,
    Price,
    PricesHistory,
    ServerTime,
    Spread,
    TickSize,
    Version,
)
from polytui.protocol.wire.codec import decode
from polytui.protocol.wire.gamma import GammaMarkets
from polytui.protocol.wire.market_ws import decode_market_frame

REPO = Path(__file__).resolve().parents[3]
FRAMES = 200


@pytest.fixture
async def endpoints(tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """A real ``polytui sim`` child: 5 markets, clock at 20x; its URLs from stdout line one."""
    stderr = tmp_path / "sim.stderr"
    with stderr.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "polytui",
            "sim",
            "--markets",
            "5",
            "--time-scale",
            "20",
            "--start-ms",
            "1795000000000",
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
        )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line, f"the simulator printed no endpoints: {stderr.read_text()[-2000:]}"
        yield json.loads(line)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0


async def check_rest(http: httpx.AsyncClient, clob: str, gamma: str) -> list[str]:
    """Decode the listings, books and quotes; return the tokens of tradable markets."""
    page = decode(Page[Market], (await http.get(f"{clob}/markets")).content)
    assert page.is_last
    assert len(page.data) == 5
    tokens = [t.token_id for m in page.data if not m.closed for t in m.tokens]
    assert all(isinstance(t, str) and len(t) >= 70 for t in tokens)

    sample = tokens[:4]
    for token in sample:
        book = decode(
            BookSummary, (await http.get(f"{clob}/book", params={"token_id": token})).content
        )
        assert book.asset_id == token
        assert book.bids[-1].price < book.asks[-1].price  # best = last on both sides
    books = decode(
        Books, (await http.post(f"{clob}/books", json=[{"token_id": t} for t in sample])).content
    )
    assert [b.asset_id for b in books] == sample

    token, condition = sample[0], page.data[0].condition_id
    query = {"token_id": token, "side": "BUY"}
    decode(Price, (await http.get(f"{clob}/price", params=query)).content)
    decode(Midpoint, (await http.get(f"{clob}/midpoint", params=query)).content)
    decode(Spread, (await http.get(f"{clob}/spread", params=query)).content)
    decode(TickSize, (await http.get(f"{clob}/tick-size", params=query)).content)
    decode(LastTradePrice, (await http.get(f"{clob}/last-trade-price", params=query)).content)
    history = {"market": token, "interval": "1h"}
    decode(PricesHistory, (await http.get(f"{clob}/prices-history", params=history)).content)
    assert decode(ServerTime, (await http.get(f"{clob}/time")).content) >= 1795000000
    assert decode(Version, (await http.get(f"{clob}/version")).content).version == 2
    one = decode(Market, (await http.get(f"{clob}/markets/{condition}")).content)
    assert one.tokens[0].token_id == token  # prices move on the running clock; ids do not
    info = decode(ClobMarketInfo, (await http.get(f"{clob}/clob-markets/{condition}")).content)
    assert info.condition_id == condition
    missing = await http.get(f"{clob}/book", params={"token_id": "1" * 77})
    assert decode(ErrorResponse, missing.content).message

    gamma_markets = decode(GammaMarkets, (await http.get(f"{gamma}/markets")).content)
    by_condition = {m.condition_id: m for m in gamma_markets}
    for market in page.data:
        assert by_condition[market.condition_id].clob_token_ids == tuple(
            t.token_id for t in market.tokens
        )
    return tokens


async def test_everything_the_simulator_serves_decodes(endpoints: dict[str, str]) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        tokens = await check_rest(http, endpoints["clob"], endpoints["gamma"])

    kinds: Counter[str] = Counter()
    async with websockets.connect(f"{endpoints['ws']}/market", max_size=None) as ws:
        await ws.send(
            json.dumps({"type": "market", "assets_ids": tokens, "custom_feature_enabled": True})
        )
        async with asyncio.timeout(10):
            for _ in range(FRAMES):
                for event in decode_market_frame(await ws.recv(decode=False)):
                    kinds[event.__struct_config__.tag] += 1
        # Drop the socket: a polite close would queue behind the frames still streaming in.
        ws.transport.abort()
    assert {"book", "price_change", "last_trade_price"} <= set(kinds), kinds
