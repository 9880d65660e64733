"""The paper venue: where paper mode's orders go instead of the exchange (architecture §1).

    paper = PaperVenue(mirror, clock, address=..., cash_usdc=Decimal(1000))
    tracker = OrderTracker(store, paper, signer, clock, ...)   # the tracker's trader port
    paper.on_market(frame)        # every market-channel frame, as it arrives (resting fills)
    paper.tick()                  # on the engine's schedule: expiries, trade settlement

It answers what the order tracker, the venue heartbeat, the reconciler, the kill switch and
the funds job ask of ``ClobTrader`` (``post_order``, ``order``, ``open_orders``, ``trades``,
cancels, ``heartbeat``, ``balance_allowance``) from its own books, and tells the user channel's
news (``order`` and ``trade`` events) through ``user_stream``, exactly shaped like the venue's:
the tracker, the ledger and its projections are the same code as in live mode. Nothing is ever
sent to the venue.

Orders fill against the mirror's **verified** book only (``Mirror.live_book``): a marketable
order walks it at its current depth; a resting order fills as the market trades at or through
its price, its place in the queue estimated from the level's size changes
(``polytui.core.paper_fills``). What it took from a level is remembered until the venue
changes that level, so two paper orders do not take the same shares. Everything runs on the
engine clock, and ids are derived from the order ids: a recorded paper session replays exactly.

Cash starts at ``cash_usdc`` and moves with the fills; on start ``restore`` rebuilds the
resting orders, positions and cash from the ledger, so a restart goes on where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from polytui.core import paper_fills as pf
from polytui.core.book import UNIT, Book, Side, price_units
from polytui.core.clock import Clock
from polytui.core.orders import OrderState
from polytui.core.projections import ReadModel
from polytui.engine.mirror import Mirror
from polytui.protocol.signing import OrderType, SignedOrder
from polytui.protocol.signing import Side as OrderSide
from polytui.protocol.wire import clob as w
from polytui.protocol.wire import market_ws as mw
from polytui.protocol.wire.data_api import Position
from polytui.protocol.wire.user_ws import OrderEvent, TradeEvent
from polytui.venue.trading import MAX_BATCH, OrderAck, OrderRequest
from polytui.venue.ws import ConnectionChange, ConnState, CountedStream, Frame, Sink, StreamStats

log = logging.getLogger("polytui.engine.paper")

ZERO = Decimal(0)
BASE = Decimal(1_000_000)
DEFAULT_MIN_SIZE = Decimal(5)
GTD_THRESHOLD_S = 60  # the venue refuses a GTD order expiring sooner than a minute from now
SEEN_TRADES = 4096  # trade prints remembered, so a complement sent by the venue counts once
CONN = "paper"
_ONE_SHOT = (OrderType.FAK, OrderType.FOK)


class PaperRejected(Exception):
    """The venue would refuse the order; the message is the venue's."""


@dataclass(slots=True)
class PaperOrder:
    order_id: str
    market: str
    asset: str
    side: str  # BUY | SELL
    units: int  # limit, price units
    size: Decimal  # shares
    order_type: str
    expiration: int  # epoch seconds, 0 none
    created_ms: int
    matched: Decimal = ZERO
    status: str = "LIVE"  # LIVE | MATCHED | CANCELED | CANCELED_EXPIRED_ORDER
    trades: list[str] = field(default_factory=list)
    spot: pf.QueueSpot | None = None

    @property
    def price(self) -> Decimal:
        return Decimal(self.units) / UNIT

    @property
    def remaining(self) -> Decimal:
        return self.size - self.matched

    @property
    def resting(self) -> bool:
        return self.status == "LIVE"


@dataclass(slots=True)
class PaperTrade:
    trade_id: str
    taker_order_id: str
    market: str
    asset: str  # the taker's token
    side: str  # the taker's side
    size: Decimal
    price: Decimal
    match_ms: int
    tx: str
    maker_orders: tuple[w.MakerOrder, ...]
    trader_side: str  # TAKER | MAKER: our role
    status: str = "MATCHED"
    updated_ms: int = 0
    next_ms: int = 0  # when its settlement moves on


class PaperUserStream(CountedStream):
    """The user channel of paper mode: the paper venue's own news, handed to the same sink
    (the tracker's ``UserFeed``) as the venue's channel would be."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.sink: Sink | None = None
        self.counters = StreamStats()
        self._open = False

    def bind(self, sink: Sink) -> None:
        self.sink = sink

    @property
    def connected(self) -> bool:
        return self._open

    async def start(self) -> None:
        self.open()

    def open(self) -> None:
        if not self._open:
            self._open = True
            self.counters.connects += 1
            self._tell(ConnectionChange(CONN, ConnState.CONNECTED, self._clock.now_ms(), ()))

    async def close(self) -> None:
        if self._open:
            self._open = False
            now = self._clock.now_ms()
            self._tell(ConnectionChange(CONN, ConnState.DISCONNECTED, now, (), "closed by client"))

    def emit(self, events: Sequence[object]) -> None:
        if events and self._open:
            self.counters.frames += 1
            self._tell(Frame(CONN, self._clock.now_ms(), tuple(events)))

    def _tell(self, item: Frame | ConnectionChange) -> None:
        if self.sink is not None:
            try:
                self.sink(item)
            except Exception:
                log.exception("paper: the user-channel sink raised")

    def stats(self) -> dict[str, int]:
        return {**self.counters.as_dict(), "connected": int(self._open)}


class PaperVenue:
    def __init__(
        self,
        mirror: Mirror,
        clock: Clock,
        *,
        address: str,
        api_key: str = "paper",
        cash_usdc: Decimal = Decimal(1000),
        settle_s: float = 2.0,
        check_funds: bool = True,
    ) -> None:
        self._mirror = mirror
        self._check_funds = check_funds
        self._clock = clock
        self.address = address
        self.api_key = api_key
        self.cash = Decimal(cash_usdc)
        self.settle_ms = int(settle_s * 1000)
        self.positions: dict[str, Decimal] = {}
        self.costs: dict[str, Decimal] = {}  # asset -> pUSD paid for the position held
        self.orders: dict[str, PaperOrder] = {}
        self.trade_records: dict[str, PaperTrade] = {}
        self._resting: dict[str, list[PaperOrder]] = {}  # asset -> its resting orders
        self._taken: dict[tuple[str, int], tuple[Decimal, Decimal]] = {}  # (asset, units) ->
        # (the level's size when we took from it, shares taken): until the venue changes it
        self._seen: deque[tuple[str, str, int]] = deque(maxlen=SEEN_TRADES)
        self._seen_set: set[tuple[str, str, int]] = set()
        self._heartbeats = 0
        self.user_stream = PaperUserStream(clock)
        self.stats: dict[str, int] = {
            "orders": 0,
            "rejected": 0,
            "taker_fills": 0,
            "maker_fills": 0,
            "canceled": 0,
            "expired": 0,
        }

    # ---- restart: the ledger is the memory ----------------------------------------------

    def restore(self, model: ReadModel) -> None:
        """Positions, cash and resting orders as the ledger holds them (a restart)."""
        for fill in model.fills.values():
            if str(fill.status) == "FAILED":
                continue
            usdc = fill.size * fill.price
            self.cash += usdc - fill.fee if fill.side == "SELL" else -usdc - fill.fee
        for asset, position in model.positions.items():
            if position.size:
                self.positions[asset] = position.size
                self.costs[asset] = position.size * position.avg_cost
        for view in model.open_orders.values():
            if not view.order_id or view.price is None or view.size is None:
                continue
            if view.state not in (OrderState.LIVE, OrderState.PARTIALLY_FILLED):
                continue
            order = PaperOrder(
                view.order_id,
                view.market,
                view.asset_id,
                view.side,
                int(view.price * UNIT),
                view.size,
                view.order_type or "GTC",
                0,
                view.updated_ts_ms,
                matched=view.size_matched,
            )
            self.orders[order.order_id] = order
            self._rest(order)

    # ---- the trader port: orders ----------------------------------------------------------

    async def post_order(
        self,
        order: SignedOrder,
        order_type: OrderType | str = OrderType.GTC,
        *,
        post_only: bool = False,
        defer_exec: bool = False,
    ) -> OrderAck:
        return self._place(OrderRequest(order, OrderType(order_type), post_only, defer_exec))

    async def post_orders(self, requests: Sequence[OrderRequest]) -> tuple[OrderAck, ...]:
        if not 0 < len(requests) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} orders, not {len(requests)}")
        return tuple(self._place(r) for r in requests)

    def _place(self, request: OrderRequest) -> OrderAck:
        order_id = request.order.order_id
        known = self.orders.get(order_id)
        if known is not None:  # the venue would refuse it as a duplicate, then we look it up
            return OrderAck(order_id, self._lookup_answer(known), True, known.matched)
        self.stats["orders"] += 1
        try:
            response = self._enter(request)
        except PaperRejected as exc:
            self.stats["rejected"] += 1
            response = w.PostOrderResponse(
                success=False, error_msg=str(exc), order_id="", status=""
            )
        return OrderAck(order_id, response)

    def _enter(self, request: OrderRequest) -> w.PostOrderResponse:
        signed, kind = request.order, request.order_type
        buy = signed.side is OrderSide.BUY
        asset = signed.token_id
        tok = self._mirror.tokens.get(asset)
        if tok is None:
            raise PaperRejected("the market of this token is not followed")
        book = self._mirror.live_book(asset)
        if book is None:
            raise PaperRejected(f"paper: no verified book for this token ({tok.state})")
        price, shares = pf.order_terms(buy, signed.maker_amount, signed.taker_amount)
        units = price_units(str(price.normalize()))
        self._check(signed, kind, request.post_only, book, price, units, shares, tok)
        order = PaperOrder(
            signed.order_id,
            tok.market,
            asset,
            "BUY" if buy else "SELL",
            units or 0,
            shares,
            kind.value,
            signed.expiration,
            self._clock.now_ms(),
        )
        fills = self._match(order, book, kind, Decimal(signed.maker_amount) / BASE)
        self.orders[order.order_id] = order
        events: list[object] = []
        for fill in fills:
            events.append(self._taker_trade(order, fill))
        if order.remaining > ZERO and kind not in _ONE_SHOT:
            self._rest(order, book)
            events.append(self._order_event(order, "PLACEMENT"))
        elif order.remaining > ZERO:
            order.status = "CANCELED"  # the unmatched rest of a FAK dies here
        else:
            order.status = "MATCHED"
        self.user_stream.emit(events)
        return self._post_answer(order)

    def _check(
        self,
        signed: SignedOrder,
        kind: OrderType,
        post_only: bool,
        book: Book,
        price: Decimal,
        units: int | None,
        shares: Decimal,
        tok,  # noqa: ANN001 - a TokenMirror
    ) -> None:
        """The venue's order rules that matter without a venue (§4.4, §4.5)."""
        oid = signed.order_id
        if units is None or units % book.tick or not 0 < units < UNIT:
            raise PaperRejected(f"order {oid} is invalid. Price ({price}) breaks the tick size")
        minimum = Decimal(tok.meta.min_order_size or DEFAULT_MIN_SIZE)
        if shares < minimum:
            raise PaperRejected(
                f"order {oid} is invalid. Size ({shares}) lower than the minimum: {minimum}"
            )
        now_s = self._clock.now_ms() // 1000
        if kind is OrderType.GTD and signed.expiration <= now_s + GTD_THRESHOLD_S:
            raise PaperRejected("invalid expiration")
        if post_only and kind in _ONE_SHOT:
            raise PaperRejected("invalid post-only order: only GTC and GTD order types are allowed")
        buy = signed.side is OrderSide.BUY
        best = book.best_ask_units if buy else book.best_bid_units
        if post_only and pf.crosses(buy, units, best):
            raise PaperRejected("invalid post-only order: order crosses book")
        if not self._check_funds:
            return
        if buy:
            have = self.cash - self.locked_usdc()
            if Decimal(signed.maker_amount) / BASE > have:
                raise PaperRejected("not enough balance / allowance")
        else:
            have = self.positions.get(signed.token_id, ZERO) - self.locked_shares(signed.token_id)
            if shares > have:
                raise PaperRejected("not enough balance / allowance")

    def _match(
        self, order: PaperOrder, book: Book, kind: OrderType, usdc: Decimal
    ) -> list[pf.PaperFill]:
        buy = order.side == "BUY"
        levels = self._levels(order.asset, book, Side.ASK if buy else Side.BID)
        if kind in _ONE_SHOT and buy:
            fills = pf.walk_spend(levels, order.units, usdc)
            full = pf.spends_all(fills, usdc)
        else:
            fills = pf.walk_shares(levels, buy, order.units, order.size)
            full = pf.filled_shares(fills) >= order.size
        if kind is OrderType.FOK and not full:
            raise PaperRejected(
                "order couldn't be fully filled. FOK orders are fully filled or killed."
            )
        if kind is OrderType.FAK and not fills:
            raise PaperRejected(
                "no orders found to match with FAK order. FAK orders are partially filled "
                "or killed if no match is found."
            )
        if kind in _ONE_SHOT and buy:
            order.size = pf.filled_shares(fills)  # a market buy's size is what it bought
        for fill in fills:
            self._took(order.asset, fill, book, Side.ASK if buy else Side.BID)
        return fills

    def _levels(self, asset: str, book: Book, side: Side) -> list:
        """The book's levels on ``side``, best first, less what paper orders took from them."""
        out = []
        for level in book.levels(side):
            taken = self._taken.get((asset, level.units))
            if taken is not None:
                seen, shares = taken
                if seen != level.size:  # the venue changed the level since: forget it
                    del self._taken[(asset, level.units)]
                else:
                    level = level._replace(size=max(ZERO, level.size - shares))
            out.append(level)
        return out

    def _took(self, asset: str, fill: pf.PaperFill, book: Book, side: Side) -> None:
        shown = book.size_at(side, fill.units)
        _, before = self._taken.get((asset, fill.units), (shown, ZERO))
        self._taken[(asset, fill.units)] = (shown, before + fill.shares)

    def _rest(self, order: PaperOrder, book: Book | None = None) -> None:
        book = book if book is not None else self._mirror.live_book(order.asset)
        passive = Side.BID if order.side == "BUY" else Side.ASK
        shown = book.size_at(passive, order.units) if book is not None else ZERO
        order.spot = pf.QueueSpot(order.remaining, shown)
        self._resting.setdefault(order.asset, []).append(order)

    # ---- the trader port: reads -------------------------------------------------------------

    async def order(self, order_id: str) -> w.OpenOrder | None:
        found = self.orders.get(order_id)
        return self._open_order(found) if found is not None else None

    async def open_orders(
        self, *, market: str | None = None, asset_id: str | None = None, order_id: str | None = None
    ) -> list[w.OpenOrder]:
        return [
            self._open_order(o)
            for o in self.orders.values()
            if o.resting
            and (market is None or o.market == market)
            and (asset_id is None or o.asset == asset_id)
            and (order_id is None or o.order_id == order_id)
        ]

    async def trades(self, *, trade_id: str | None = None, **_filters: object) -> list[w.Trade]:
        records = self.trade_records
        rows = records.values() if trade_id is None else [records.get(trade_id)]
        return [self._wire_trade(t) for t in rows if t is not None]

    async def balance_allowance(
        self, asset_type: str = "COLLATERAL", token_id: str | None = None
    ) -> w.BalanceAllowance:
        if asset_type == "COLLATERAL":
            balance = self.cash
        else:
            balance = self.positions.get(token_id or "", ZERO)
        units = int(balance * BASE)
        return w.BalanceAllowance(balance=units, allowance=10**18)

    update_balance_allowance = balance_allowance

    async def heartbeat(self, heartbeat_id: str | None = None) -> str:
        self._heartbeats += 1
        return f"paper-heartbeat-{self._heartbeats}"

    # ---- the Data API's positions (the reconciler reads them) -------------------------------

    async def all_positions(self, user: str, **_filters: object) -> AsyncIterator[Position]:
        for asset, size in sorted(self.positions.items()):
            if not size:
                continue
            tok = self._mirror.tokens.get(asset)
            avg = self.costs.get(asset, ZERO) / size if size else None
            yield Position(
                proxy_wallet=self.address.lower(),
                asset=asset,
                condition_id=tok.market if tok is not None else "",
                size=size,
                avg_price=avg,
            )

    # ---- cancels ----------------------------------------------------------------------------

    async def cancel(self, order_id: str) -> w.CancelResponse:
        return self._cancel([order_id])

    async def cancel_orders(self, order_ids: Iterable[str]) -> w.CancelResponse:
        return self._cancel(list(order_ids))

    async def cancel_all(self) -> w.CancelResponse:
        return self._cancel([o.order_id for o in self.orders.values() if o.resting])

    async def cancel_market_orders(
        self, market: str | None = None, asset_id: str | None = None
    ) -> w.CancelResponse:
        return self._cancel(
            [
                o.order_id
                for o in self.orders.values()
                if o.resting and (not market or o.market == market)
                if not asset_id or o.asset == asset_id
            ]
        )

    def _cancel(self, order_ids: list[str]) -> w.CancelResponse:
        canceled, not_canceled, events = [], {}, []
        for order_id in order_ids:
            order = self.orders.get(order_id)
            if order is None:
                not_canceled[order_id] = "order not found"
            elif not order.resting:
                not_canceled[order_id] = "order can't be canceled: it is not live"
            else:
                self._close(order, "CANCELED")
                self.stats["canceled"] += 1
                canceled.append(order_id)
                events.append(self._order_event(order, "CANCELLATION"))
        self.user_stream.emit(events)
        return w.CancelResponse(canceled=tuple(canceled), not_canceled=not_canceled)

    def _close(self, order: PaperOrder, status: str) -> None:
        order.status = status
        order.spot = None
        resting = self._resting.get(order.asset, [])
        if order in resting:
            resting.remove(order)

    # ---- time: expiries and settlement --------------------------------------------------------

    def tick(self) -> None:
        """GTD orders past their expiration expire; trades settle ``settle_s`` apart:
        MATCHED -> MINED -> CONFIRMED."""
        now = self._clock.now_ms()
        events: list[object] = []
        for order in [o for o in self.orders.values() if o.resting and o.expiration]:
            if order.expiration * 1000 <= now:
                self._close(order, "CANCELED_EXPIRED_ORDER")
                self.stats["expired"] += 1
                events.append(self._order_event(order, "CANCELLATION"))
        for trade in self.trade_records.values():
            if trade.status in ("MATCHED", "MINED") and trade.next_ms <= now:
                trade.status = "MINED" if trade.status == "MATCHED" else "CONFIRMED"
                trade.updated_ms, trade.next_ms = now, now + self.settle_ms
                events.append(self._trade_event(trade))
        self.user_stream.emit(events)

    # ---- the market: resting orders fill as it trades ----------------------------------------

    def on_market(self, item: Frame | ConnectionChange) -> None:
        """One market-channel frame, as it arrives (before the mirror applies it)."""
        if not self._resting or type(item) is not Frame:
            return
        events: list[object] = []
        for event in item.events:
            kind = type(event)
            if kind is mw.PriceChange:
                self._levels_changed(event)
            elif kind is mw.LastTradePrice:
                self._traded(event, events)
        self.user_stream.emit(events)

    def _levels_changed(self, ev: mw.PriceChange) -> None:
        """Level sizes at our prices: the queue estimate's input (fills come from trades)."""
        for entry in ev.price_changes:
            resting = self._resting.get(entry.asset_id)
            if not resting:
                continue
            units = price_units(entry.price)
            if units is None:
                continue
            bid = entry.side == "BUY"
            for order in resting:
                if bid == (order.side == "BUY") and units == order.units and order.spot:
                    order.spot.level(ev.timestamp, entry.size)

    def _traded(self, ev: mw.LastTradePrice, events: list[object]) -> None:
        units = price_units(str(ev.price))
        if units is None:
            return
        taker_buys = ev.side.upper() == "BUY"
        prints = [(ev.asset_id, units, taker_buys)]
        pair = self._mirror.markets.get(ev.market) or []
        other = next((a for a in pair if a != ev.asset_id), None)
        if other is not None:  # one book: a trade of one token is its complement's too
            prints.append((other, UNIT - units, not taker_buys))
        tx = ev.transaction_hash or f"{ev.market}:{ev.timestamp}:{ev.asset_id}:{units}"
        for asset, at, buys in prints:
            key = (tx, asset, at)
            if key in self._seen_set:
                continue
            if len(self._seen) == self._seen.maxlen:
                self._seen_set.discard(self._seen[0])
            self._seen.append(key)
            self._seen_set.add(key)
            for order in list(self._resting.get(asset, ())):
                if order.spot is None or (order.side == "BUY") == buys:
                    continue  # a taker BUY lifts asks: it fills our SELLs, not our BUYs
                beyond = at < order.units if order.side == "BUY" else at > order.units
                if beyond:
                    shares = order.spot.through(ev.size)
                elif at == order.units:
                    shares = order.spot.trade(ev.timestamp, ev.size)
                else:
                    continue
                self._maker_fill(order, shares, ev.timestamp, ev.transaction_hash or "", events)

    # ---- fills and their records ---------------------------------------------------------------

    def _taker_trade(self, order: PaperOrder, fill: pf.PaperFill) -> TradeEvent:
        self.stats["taker_fills"] += 1
        order.matched += fill.shares
        trade = PaperTrade(
            trade_id=self._trade_id(order.order_id, len(order.trades)),
            taker_order_id=order.order_id,
            market=order.market,
            asset=order.asset,
            side=order.side,
            size=fill.shares,
            price=fill.price,
            match_ms=self._clock.now_ms(),
            tx=self._tx(order.order_id, len(order.trades)),
            maker_orders=(),
            trader_side="TAKER",
        )
        self._book_trade(order, trade, fill.shares, fill.price)
        return self._trade_event(trade)

    def _maker_fill(
        self, order: PaperOrder, shares: Decimal, ts: int, tx: str, events: list[object]
    ) -> None:
        if shares <= ZERO:
            return
        self.stats["maker_fills"] += 1
        order.matched += shares
        n = len(order.trades)
        maker = w.MakerOrder(
            order_id=order.order_id,
            matched_amount=shares,
            price=order.price,
            owner=self.api_key,
            maker_address=self.address,
            asset_id=order.asset,
            side=order.side,
        )
        trade = PaperTrade(
            trade_id=self._trade_id(order.order_id, n),
            taker_order_id=f"paper-taker:{order.order_id}:{n}",
            market=order.market,
            asset=order.asset,
            side="SELL" if order.side == "BUY" else "BUY",
            size=shares,
            price=order.price,
            match_ms=self._clock.now_ms(),
            tx=tx or self._tx(order.order_id, n),
            maker_orders=(maker,),
            trader_side="MAKER",
        )
        self._book_trade(order, trade, shares, order.price)
        if order.remaining <= ZERO:
            self._close(order, "MATCHED")
        events.append(self._trade_event(trade))
        events.append(self._order_event(order, "UPDATE"))

    def _book_trade(self, order: PaperOrder, trade: PaperTrade, shares: Decimal, price) -> None:
        trade.updated_ms = trade.match_ms
        trade.next_ms = trade.match_ms + self.settle_ms
        self.trade_records[trade.trade_id] = trade
        order.trades.append(trade.trade_id)
        usdc = shares * price
        held = self.positions.get(order.asset, ZERO)
        if order.side == "BUY":
            self.cash -= usdc
            self.positions[order.asset] = held + shares
            self.costs[order.asset] = self.costs.get(order.asset, ZERO) + usdc
        else:
            self.cash += usdc
            self.positions[order.asset] = held - shares
            if held > ZERO:
                self.costs[order.asset] = self.costs.get(order.asset, ZERO) * (held - shares) / held

    @staticmethod
    def _trade_id(order_id: str, n: int) -> str:
        digest = hashlib.sha256(f"{order_id}:{n}".encode()).hexdigest()
        return f"paper-{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:28]}"

    @staticmethod
    def _tx(order_id: str, n: int) -> str:
        return "0x" + hashlib.sha256(f"paper-tx:{order_id}:{n}".encode()).hexdigest()

    # ---- balances ------------------------------------------------------------------------------

    def locked_usdc(self) -> Decimal:
        return sum(
            (o.remaining * o.price for o in self.orders.values() if o.resting and o.side == "BUY"),
            ZERO,
        )

    def locked_shares(self, asset: str) -> Decimal:
        return sum(
            (
                o.remaining
                for o in self.orders.values()
                if o.resting and o.side == "SELL" and o.asset == asset
            ),
            ZERO,
        )

    # ---- wire shapes -----------------------------------------------------------------------------

    def _post_answer(self, order: PaperOrder) -> w.PostOrderResponse:
        trades = [self.trade_records[t] for t in order.trades]
        if not trades:
            return w.PostOrderResponse(
                success=True, error_msg="", order_id=order.order_id, status="live"
            )
        shares = sum((t.size for t in trades), ZERO)
        usdc = pf.filled_usdc(pf.PaperFill(int(t.price * UNIT), t.size) for t in trades)
        making, taking = (usdc, shares) if order.side == "BUY" else (shares, usdc)
        return w.PostOrderResponse(
            success=True,
            error_msg="",
            order_id=order.order_id,
            status="matched",
            making_amount=making,
            taking_amount=taking,
            transactions_hashes=tuple(dict.fromkeys(t.tx for t in trades)),
            trade_ids=tuple(t.trade_id for t in trades),
        )

    def _lookup_answer(self, order: PaperOrder) -> w.PostOrderResponse:
        return w.PostOrderResponse(
            success=True,
            error_msg="",
            order_id=order.order_id,
            status=order.status.lower(),
            trade_ids=tuple(order.trades),
        )

    def _open_order(self, o: PaperOrder) -> w.OpenOrder:
        return w.OpenOrder(
            id=o.order_id,
            status=o.status,
            market=o.market,
            asset_id=o.asset,
            side=o.side,
            original_size=o.size,
            size_matched=o.matched,
            price=o.price,
            owner=self.api_key,
            maker_address=self.address,
            associate_trades=tuple(o.trades),
            created_at=o.created_ms // 1000,
            expiration=o.expiration,
            order_type=o.order_type,
        )

    def _order_event(self, o: PaperOrder, kind: str) -> OrderEvent:
        return OrderEvent(
            type=kind,
            id=o.order_id,
            market=o.market,
            asset_id=o.asset,
            side=o.side,
            price=o.price,
            original_size=o.size,
            size_matched=o.matched,
            timestamp=self._clock.now_ms(),
            status=o.status,
            owner=self.api_key,
            maker_address=self.address,
            order_type=o.order_type,
            associate_trades=tuple(o.trades),
            expiration=o.expiration,
            created_at=o.created_ms // 1000,
        )

    def _trade_fields(self, t: PaperTrade) -> dict[str, object]:
        return {
            "id": t.trade_id,
            "taker_order_id": t.taker_order_id,
            "market": t.market,
            "asset_id": t.asset,
            "side": t.side,
            "size": t.size,
            "price": t.price,
            "owner": self.api_key,
            "maker_address": self.address,
            "transaction_hash": t.tx,
            "trader_side": t.trader_side,
            "maker_orders": t.maker_orders,
        }

    def _trade_event(self, t: PaperTrade) -> TradeEvent:
        return TradeEvent(
            **self._trade_fields(t),  # type: ignore[arg-type]
            status=t.status,
            match_time=t.match_ms,
            last_update=t.updated_ms,
            timestamp=self._clock.now_ms(),
        )

    def _wire_trade(self, t: PaperTrade) -> w.Trade:
        return w.Trade(
            **self._trade_fields(t),  # type: ignore[arg-type]
            status="TRADE_STATUS_" + t.status,
            match_time=t.match_ms // 1000,
            last_update=t.updated_ms // 1000,
        )

    def kpis(self) -> dict[str, object]:
        return {
            **self.stats,
            "cash_usdc": str(self.cash),
            "resting": sum(len(v) for v in self._resting.values()),
            "positions": len([p for p in self.positions.values() if p]),
        }
