"""Paper fills against the simulator's real matching: the same signed order, filled once by
the paper venue on the mirror's verified book and once by the simulator, over 200+ marketable
orders (BUY and SELL, FAK, FOK and crossing GTC, one to several levels deep, both tokens).

Every order meets the same book on both sides: before each one the mirror is waited for
until its book is the simulator's, level for level. The fills must be at the same prices,
and the quantities within 10 % (the figures are printed: ``pytest -s``).
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import pytest

from polytui.core.book import Side as BookSide
from polytui.engine.paper import PaperVenue
from polytui.protocol.amounts import Side, limit_order_amounts
from polytui.protocol.signing import Exchange, OrderType, intent_metadata
from tests.venue.wallet import Wallet

pytestmark = pytest.mark.slow

ORDERS = 240
D = Decimal


def _pick(rng: random.Random, book, tick: int):
    """A marketable order one to three levels deep: (side, type, limit units, shares)."""
    side = rng.choice((Side.BUY, Side.SELL))
    levels = book.levels(BookSide.ASK if side is Side.BUY else BookSide.BID)
    if len(levels) < 3:
        return None
    depth = rng.choice((1, 1, 2, 3))
    limit = levels[depth - 1].units
    reachable = sum(lv.size for lv in levels[:depth])
    shares = int(reachable * D(rng.uniform(0.3, 1.3)) / 10) * 10  # whole tens: exact pUSD
    if shares < 10:
        return None
    kind = rng.choice((OrderType.FAK, OrderType.FAK, OrderType.FOK, OrderType.GTC))
    return side, kind, limit, D(shares)


async def test_paper_fills_match_the_simulators_fills(rig) -> None:
    r = await rig(seed=21, markets=8, rate=100)
    markets = r.markets(8)
    tokens = await r.follow(markets)
    await r.all_live(tokens)
    wallet = await Wallet.open(r.running, r.http, lookup_delay_s=0)
    positions = dict.fromkeys(tokens, "100000")
    await r.running.admin(
        "POST", f"/wallets/{wallet.key.address}", {"usd": "1000000", "positions": positions}
    )
    paper = PaperVenue(r.mirror, r.mirror._clock, address=wallet.key.address, check_funds=False)
    rng = random.Random(5)
    compared = exact = levels = filled = 0
    worst = D(0)
    while compared < ORDERS:
        m = rng.choice(markets)
        token = rng.choice(m.tokens)
        await _in_step(r, token)
        book = r.mirror.live_book(token)
        picked = _pick(rng, book, m.tick)
        if picked is None:
            await r.running.advance(2_000)  # let the market refill
            continue
        side, kind, limit, shares = picked
        signed = wallet.signer.sign(
            token_id=token,
            side=side,
            amounts=limit_order_amounts(D(limit) / 10_000, shares, side, D(m.tick) / 10_000),
            salt=rng.randrange(1, 2**40),
            timestamp_ms=r.running.sim.clock.now_ms(),
            exchange=Exchange.NEG_RISK if m.neg_risk else Exchange.CTF,
            metadata=intent_metadata(f"compare-{compared}"),
        )
        ours = await paper.post_order(signed, kind)
        theirs = await wallet.trader.post_order(signed, kind)
        mine = _fills(paper.trade_records[t] for t in ours.response.trade_ids)
        sims = {}
        for trade_id in theirs.response.trade_ids:
            for t in await wallet.trader.trades(trade_id=trade_id):
                sims[t.price] = sims.get(t.price, D(0)) + t.size
        assert ours.accepted == theirs.accepted, (kind, side, ours, theirs)
        assert set(mine) == set(sims), (kind, side, mine, sims)  # the same prices
        for price, size in sims.items():
            off = abs(mine[price] - size) / size
            worst = max(worst, off)
            assert off <= D("0.10"), (kind, side, price, mine[price], size)
        exact += mine == sims
        filled += bool(sims)
        levels += len(sims)
        compared += 1
    assert filled >= 200
    print(
        f"\npaper vs simulator: {compared} marketable orders ({filled} filled, the others "
        f"killed by both), {levels} price levels filled, {exact} identical, largest quantity "
        f"difference {worst:.2%}"
    )


def _fills(trades) -> dict[Decimal, Decimal]:
    out: dict[Decimal, Decimal] = {}
    for t in trades:
        out[t.price] = out.get(t.price, D(0)) + t.size
    return out


async def _in_step(r, token: str) -> None:
    """Until the mirror holds the simulator's book for ``token``, level for level."""
    async with asyncio.timeout(10):
        while True:
            truth = await r.truth(token)
            if r.mirror.live_book(token) is not None:
                local = r.local(token)
                if _same(local, truth):
                    return
            await asyncio.sleep(0.01)


def _same(local, truth) -> bool:
    return all(
        [(u, D(s)) for u, s in mine] == [(u, D(s)) for u, s in theirs]
        for mine, theirs in zip(local, truth, strict=True)
    )
