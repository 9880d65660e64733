"""Paper orders through the engine's own order path: the order tracker posts to the paper venue,
the paper user channel feeds the tracker, the ledger and its projections hold the result, as
in live mode. A marketable fill walks the book; a resting order fills as the market trades at
its price (after the queue ahead of it) and through it; cancels; GTD expiry; settlement; the
venue's refusals; a restart that goes on from the ledger. Market data is synthetic frames on a
held clock: no network."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account import Account

from polytui.core.clock import FakeClock
from polytui.core.orders import FillStatus, OrderState
from polytui.engine.mirror import BookState, Mirror
from polytui.engine.order_tracker import ApprovedOrder, OrderTracker, UserFeed
from polytui.engine.paper import PaperVenue
from polytui.protocol.signing import OrderSigner, OrderType
from polytui.protocol.wire.market_ws import decode_market_frame
from polytui.store.store import Store
from polytui.venue.ws import Frame

D = Decimal
MARKET = "0x" + "ab" * 32
YES, NO = "1" * 70, "2" * 70
TICK = D("0.01")


def book(asset: str, bids, asks, ts: int) -> dict:
    """A WS book: bids ascending, asks descending (best last), as the venue sends them."""
    return {
        "event_type": "book",
        "market": MARKET,
        "asset_id": asset,
        "timestamp": str(ts),
        "hash": "0",
        "bids": [{"price": p, "size": s} for p, s in sorted(bids)],
        "asks": [{"price": p, "size": s} for p, s in sorted(asks, reverse=True)],
        "tick_size": "0.01",
    }


def complement(levels):
    return [(f"{1 - D(p):.2f}", s) for p, s in levels]


YES_BIDS = [("0.44", "50"), ("0.43", "40")]
YES_ASKS = [("0.46", "30"), ("0.47", "60")]


class Paper:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = FakeClock()
        self.db = tmp_path / "paper.db"
        self.mirror = Mirror(clock=self.clock)
        self.mirror.track(MARKET, [YES, NO])
        self.signer = OrderSigner(Account.create().key.hex(), 137)
        self.feed_task: asyncio.Task | None = None

    async def open(self) -> None:
        self.store = await Store.open(self.db, self.clock)
        self.paper = PaperVenue(
            self.mirror, self.clock, address=self.signer.address, cash_usdc=D(100), settle_s=2
        )
        self.paper.restore(self.store.model)
        self.tracker = OrderTracker(self.store, self.paper, self.signer, self.clock)
        self.feed = UserFeed(self.tracker)
        self.paper.user_stream.bind(self.feed.sink)
        await self.paper.user_stream.start()
        self.feed_task = asyncio.create_task(self.feed.run())

    async def close(self) -> None:
        if self.feed_task is not None:
            self.feed_task.cancel()
            await asyncio.gather(self.feed_task, return_exceptions=True)
        await self.store.close()

    def market(self, *events: dict) -> None:
        """Frames as the market stream delivers them: to the mirror and to paper."""
        frame = Frame(
            "market-1", self.clock.now_ms(), tuple(decode_market_frame(json.dumps(events)))
        )
        self.paper.on_market(frame)
        self.mirror.process(frame)
        self.mirror.complete_bursts(force=True)

    def prime(self) -> None:
        ts = self.clock.now_ms()
        self.market(
            book(YES, YES_BIDS, YES_ASKS, ts),
            book(NO, complement(YES_ASKS), complement(YES_BIDS), ts),
        )
        assert self.mirror.state(YES) is BookState.LIVE

    async def submit(self, intent_id: str, side: str, price: str, size: str, **kw) -> object:
        view = await self.tracker.submit(
            ApprovedOrder(
                intent_id=intent_id,
                strategy="test",
                market=MARKET,
                asset_id=YES,
                side=side,
                price=D(price),
                size=D(size),
                tick=TICK,
                neg_risk=False,
                **kw,
            )
        )
        await self.feed.drain()
        return view

    def order(self, intent_id: str):
        return self.store.model.orders[intent_id]

    async def settle(self) -> None:
        await self.feed.drain()
        await self.store.flush()


@pytest.fixture
async def paper(tmp_path: Path):
    p = Paper(tmp_path)
    await p.open()
    p.prime()
    yield p
    await p.close()


def trade(price: str, side: str, size: str, ts: int) -> dict:
    return {
        "event_type": "last_trade_price",
        "market": MARKET,
        "asset_id": YES,
        "price": price,
        "side": side,
        "size": size,
        "timestamp": str(ts),
    }


def level(price: str, size: str, side: str, ts: int, best: tuple[str, str]) -> dict:
    no_price = f"{1 - D(price):.2f}"
    no_side = "SELL" if side == "BUY" else "BUY"
    bid, ask = best
    return {
        "event_type": "price_change",
        "market": MARKET,
        "timestamp": str(ts),
        "price_changes": [
            {"asset_id": YES, "price": price, "size": size, "side": side, "hash": "0",
             "best_bid": bid, "best_ask": ask},
            {"asset_id": NO, "price": no_price, "size": size, "side": no_side, "hash": "0",
             "best_bid": f"{1 - D(ask):.2f}", "best_ask": f"{1 - D(bid):.2f}"},
        ],
    }  # fmt: skip


async def test_a_marketable_order_walks_the_book_into_the_ledger(paper: Paper) -> None:
    await paper.submit("take", "BUY", "0.47", "40")
    order = paper.order("take")
    assert order.state is OrderState.FILLED and order.size_matched == 40
    fills = sorted(paper.store.model.fills.values(), key=lambda f: f.price)
    assert [(f.price, f.size, f.role) for f in fills] == [
        (D("0.46"), D(30), "TAKER"),
        (D("0.47"), D(10), "TAKER"),
    ]
    position = paper.store.model.positions[YES]
    assert position.size == 40 and position.avg_cost == D("0.4625")
    assert paper.paper.cash == D(100) - D("18.5")
    funds = await paper.paper.balance_allowance()
    assert funds.balance == 81_500_000
    # the next order does not take what the first one took: the venue's book shows it still
    await paper.submit("again", "BUY", "0.46", "10", order_type=OrderType.FAK)
    assert paper.order("again").state is OrderState.REJECTED  # as the venue kills a FAK
    assert "no orders found to match" in paper.order("again").reason


async def test_a_resting_order_fills_after_the_queue_ahead_and_through_its_price(
    paper: Paper,
) -> None:
    await paper.submit("rest", "BUY", "0.44", "15")
    assert paper.order("rest").state is OrderState.LIVE  # behind the 50 shown at 0.44
    t = paper.clock.now_ms()
    best = ("0.44", "0.46")
    paper.market(level("0.44", "20", "BUY", t + 1, best), trade("0.44", "SELL", "30", t + 1))
    await paper.settle()
    assert paper.order("rest").size_matched == 0  # 20 still ahead of it
    empty = ("0.43", "0.46")
    paper.market(level("0.44", "0", "BUY", t + 2, empty), trade("0.44", "SELL", "25", t + 2))
    await paper.settle()
    order = paper.order("rest")
    assert order.state is OrderState.PARTIALLY_FILLED and order.size_matched == 5
    paper.market(level("0.43", "25", "BUY", t + 3, ("0.43", "0.46")))
    paper.market(trade("0.43", "SELL", "15", t + 3))  # traded through 0.44: the rest fills
    await paper.settle()
    order = paper.order("rest")
    assert order.state is OrderState.FILLED and order.size_matched == 15
    fills = list(paper.store.model.fills.values())
    assert {(f.price, f.role) for f in fills} == {(D("0.44"), "MAKER")}
    assert sum(f.size for f in fills) == 15
    assert paper.store.model.positions[YES].size == 15


async def test_a_trade_of_the_other_token_fills_the_complement(paper: Paper) -> None:
    await paper.submit("rest", "BUY", "0.44", "10")
    t = paper.clock.now_ms() + 1
    # a taker BUY of NO at 0.58 is a sale of YES at 0.42: beyond our bid
    no_trade = {**trade("0.58", "BUY", "12", t), "asset_id": NO}
    paper.market(no_trade)
    await paper.settle()
    assert paper.order("rest").state is OrderState.FILLED


async def test_cancel_expiry_and_settlement_go_through_the_ledger(paper: Paper) -> None:
    await paper.submit("c", "BUY", "0.40", "10")
    view = paper.order("c")
    assert view.state is OrderState.LIVE
    assert await paper.tracker.cancel([view.order_id]) == [view.order_id]
    await paper.settle()
    assert paper.order("c").state is OrderState.CANCELED
    expires = paper.clock.now_ms() // 1000 + 90
    await paper.submit("g", "BUY", "0.41", "10", order_type=OrderType.GTD, expiration_s=expires)
    assert paper.order("g").state is OrderState.LIVE
    await paper.submit("f", "BUY", "0.46", "10")  # filled: MATCHED for now
    paper.clock.advance(2_000)
    paper.paper.tick()
    paper.clock.advance(2_000)
    paper.paper.tick()
    await paper.settle()
    statuses = {f.status for f in paper.store.model.fills.values()}
    assert statuses == {FillStatus.CONFIRMED}
    paper.clock.advance(90_000)
    paper.paper.tick()
    await paper.settle()
    assert paper.order("g").state is OrderState.EXPIRED
    assert paper.paper.locked_usdc() == 0


async def test_the_venues_refusals_are_paper_refusals(paper: Paper) -> None:
    await paper.submit("po", "BUY", "0.46", "10", post_only=True)
    assert paper.order("po").state is OrderState.REJECTED
    await paper.submit("fok", "BUY", "0.46", "50", order_type=OrderType.FOK)
    assert paper.order("fok").state is OrderState.REJECTED
    await paper.submit("small", "BUY", "0.40", "2")
    assert paper.order("small").state is OrderState.REJECTED
    await paper.submit("rich", "BUY", "0.40", "1000")  # 400 pUSD with 100 in cash
    assert paper.order("rich").state is OrderState.REJECTED
    assert "balance" in paper.order("rich").reason
    paper.mirror.untrack([YES, NO])
    paper.mirror.track(MARKET, [YES, NO])  # no verified book any more
    await paper.submit("blind", "BUY", "0.46", "10")
    assert paper.order("blind").state is OrderState.REJECTED


async def test_a_restart_goes_on_from_the_ledger(tmp_path: Path) -> None:
    p = Paper(tmp_path)
    await p.open()
    p.prime()
    await p.submit("hold", "BUY", "0.46", "20")
    await p.submit("rest", "BUY", "0.43", "10")
    cash = p.paper.cash
    await p.close()
    again = Paper(tmp_path)
    again.mirror, again.signer, again.clock = p.mirror, p.signer, p.clock
    await again.open()
    try:
        await again.tracker.start()  # settles the open order with the (paper) venue
        assert again.paper.cash == cash
        assert again.paper.positions[YES] == 20
        assert again.order("rest").state is OrderState.LIVE
        t = again.clock.now_ms() + 1
        again.market(trade("0.42", "SELL", "10", t))  # through the resting bid
        await again.settle()
        assert again.order("rest").state is OrderState.FILLED
    finally:
        await again.close()
