"""Market life in simulated time: synthetic traders and the lifecycle of markets.

Everything is drawn from one seeded generator in event order, on one heap keyed by simulated
time, so for a given seed and start time the sequence of operations (and so every message) is
the same on every run, whatever the wall clock does.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from polytui.sim.book import ASK, BID, RestingOrder
from polytui.sim.exchange import Exchange
from polytui.sim.markets import MINUTE, Market, MarketFactory
from polytui.sim.units import PRICE_SCALE, SIZE_SCALE

if TYPE_CHECKING:
    from polytui.sim.leaders import Leaders

SYNTHETIC = "synthetic"
EDGE = 400  # a market whose touch comes within 0.04 of 0 or 1 moves to the 0.001 tick


class MarketLife:
    def __init__(self, exchange: Exchange, seed: int, markets: int, rate: float) -> None:
        self.exchange = exchange
        self.rng = random.Random(seed)
        self.factory = MarketFactory(self.rng)
        self.rate = rate  # synthetic events per simulated second
        self.target = markets
        self._heap: list[tuple[int, int, str, str]] = []
        self._seq = 0
        self._resting: dict[str, list[str]] = {}  # market -> synthetic order ids
        self._tradable: list[Market] | None = None
        self.counts: dict[str, int] = {}
        now = exchange.now_ms
        for market in self.factory.universe(now, markets):
            self._open(market, announce=False)
        if rate > 0:
            self._schedule(now + self._gap(), "flow", "")
        self.leaders: Leaders | None = None

    def add_leaders(self, leaders: Leaders) -> None:
        """Let the leader wallets trade, each on its own schedule, from now on."""
        self.leaders = leaders
        leaders.backfill(self.tradable())
        for index in range(len(leaders.leaders)):
            self._schedule(self.exchange.now_ms + leaders.gap_ms(index), "leader", str(index))

    # ---- scheduling ----------------------------------------------------------------------

    def _schedule(self, t_ms: int, kind: str, arg: str) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t_ms, self._seq, kind, arg))

    def _gap(self) -> int:
        return max(0, round(self.rng.expovariate(self.rate) * 1000))

    def next_time(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def next_time_of(self, kind: str, arg: str) -> int | None:
        """When the next ``kind`` operation on ``arg`` is due (a test's way to land on it)."""
        due = [t for t, _, k, a in self._heap if k == kind and a == arg]
        return min(due) if due else None

    def run_until(
        self, t_ms: int, after_each: Callable[[], None] | None = None, limit: int = 0
    ) -> int:
        """Apply scheduled operations up to ``t_ms`` (at most ``limit`` of them if given);
        returns how many ran. Time reaches ``t_ms`` only once nothing before it is left."""
        done = 0
        while self._heap and self._heap[0][0] <= t_ms:
            if limit and done >= limit:
                return done
            t, _, kind, arg = heapq.heappop(self._heap)
            self.exchange.now_ms = max(self.exchange.now_ms, t)
            self._dispatch(kind, arg)
            self.counts[kind] = self.counts.get(kind, 0) + 1
            done += 1
            if after_each is not None:
                after_each()
        self.exchange.now_ms = max(self.exchange.now_ms, t_ms)
        return done

    def _dispatch(self, kind: str, arg: str) -> None:
        ex = self.exchange
        if kind == "flow":
            self._flow()
            self._schedule(ex.now_ms + self._gap(), "flow", "")
            return
        if kind == "new_event":
            self._new_event()
            return
        if kind == "leader":
            index = int(arg)
            self.leaders.trade(index, self.tradable())
            self._schedule(ex.now_ms + self.leaders.gap_ms(index), "leader", arg)
            return
        market = ex.markets[arg]
        if kind == "pause" and market.tradable:
            ex.set_accepting(market, False)
            self._schedule(ex.now_ms + self.rng.randint(1, 10) * MINUTE, "unpause", arg)
        elif kind == "unpause" and not market.closed and ex.now_ms < market.end_ms:
            ex.set_accepting(market, True)
        elif kind == "end":
            ex.set_accepting(market, False)
            delay = self.rng.randint(2, 10) * MINUTE
            self._schedule(ex.now_ms + delay // 2, "propose", arg)
            self._schedule(ex.now_ms + delay, "resolve", arg)
        elif kind == "propose":
            ex.set_uma_status(market, "proposed")
        elif kind == "resolve":
            self.resolve(market, self.rng.random() < market.fair)
            self._schedule(ex.now_ms + self.rng.randint(1, 5) * MINUTE, "new_event", "")
            self._schedule(ex.now_ms + 60 * MINUTE, "archive", arg)
        elif kind == "archive":
            ex.archive(market)
        self._tradable = None

    # ---- lifecycle -----------------------------------------------------------------------

    def _open(self, market: Market, announce: bool) -> None:
        ex = self.exchange
        ex.add_market(market, announce)
        self._resting[market.condition_id] = []
        ex.quiet = not announce  # the opening universe's books are the start state, not news
        try:
            self._seed_book(market)
        finally:
            ex.quiet = False
        self._schedule(market.end_ms, "end", market.condition_id)
        if self.rng.random() < 0.1:
            pause_at = self.rng.randint(ex.now_ms, market.end_ms)
            self._schedule(pause_at, "pause", market.condition_id)
        self._tradable = None

    def _new_event(self) -> None:
        live = sum(1 for m in self.exchange.markets.values() if not m.closed)
        size = 3 if self.rng.random() < 0.25 else 1
        if live < self.target + 3:
            for market in self.factory.event(self.exchange.now_ms, size):
                self._open(market, announce=True)

    def open_event(self, size: int) -> list[Market]:
        """Open an event of ``size`` markets now, announced (``new_market``): a test's way to
        have markets appear when it wants them."""
        markets = self.factory.event(self.exchange.now_ms, size)
        for market in markets:
            self._open(market, announce=True)
        return markets

    def resolve(self, market: Market, winner_yes: bool) -> None:
        self.exchange.resolve(market, winner_yes)
        self._resting[market.condition_id] = []
        self._tradable = None

    def invalidate(self) -> None:
        """Market flags changed from outside (the admin API): recompute who trades."""
        self._tradable = None

    def tradable(self) -> list[Market]:
        if self._tradable is None:
            self._tradable = [m for m in self.exchange.markets.values() if m.tradable]
        return self._tradable

    # ---- synthetic traders ---------------------------------------------------------------

    def _seed_book(self, market: Market) -> None:
        for _ in range(self.rng.randint(8, 16)):
            self._place(market, BID)
            self._place(market, ASK)

    def _flow(self) -> None:
        markets = self.tradable()
        if not markets:
            return
        market = markets[self.rng.randrange(len(markets))]
        market.fair = min(0.995, max(0.005, market.fair + self.rng.gauss(0, 0.002)))
        book = self.exchange.books[market.condition_id]
        thin = [s for s in (BID, ASK) if len(book.side(s)) < 4]
        r = self.rng.random()
        if thin:
            self._place(market, thin[0])
        elif r < 0.50:
            self._place(market, self.rng.choice((BID, ASK)))
        elif r < 0.88 and self._resting[market.condition_id]:
            self._cancel(market)
        else:
            self._take(market)
        self._maybe_refine_tick(market)

    def _token(self, market: Market) -> str:
        return market.yes_token if self.rng.random() < 0.5 else market.no_token

    def _size(self, mean_shares: float) -> int:
        shares = min(50_000.0, max(5.0, self.rng.lognormvariate(math.log(mean_shares), 0.9)))
        return round(shares * 100) * (SIZE_SCALE // 100)  # two decimals, like a limit order

    def _place(self, market: Market, side: int) -> None:
        ex = self.exchange
        book = ex.books[market.condition_id]
        tick = market.tick
        fair = round(market.fair * PRICE_SCALE / tick) * tick
        away = int(self.rng.expovariate(0.35)) * tick
        if side == BID:
            ask = book.best_ask()
            top = min(fair, ask - tick) if ask is not None else fair
            price = top - away
        else:
            bid = book.best_bid()
            top = max(fair, bid + tick) if bid is not None else fair
            price = top + away
        price = min(PRICE_SCALE - tick, max(tick, price))
        if (side == BID and book.best_ask() is not None and price >= book.best_ask()) or (
            side == ASK and book.best_bid() is not None and price <= book.best_bid()
        ):
            return
        size = self._size(80)
        order = RestingOrder(
            ex.next_order_id(SYNTHETIC), SYNTHETIC, side, price, size, size, ex.now_ms
        )
        ex.place(market, order, self._token(market))
        self._resting[market.condition_id].append(order.order_id)

    def _cancel(self, market: Market) -> None:
        resting = self._resting[market.condition_id]
        i = self.rng.randrange(len(resting))
        resting[i], resting[-1] = resting[-1], resting[i]
        order_id = resting.pop()
        if order_id in self.exchange.books[market.condition_id].orders:
            self.exchange.cancel(market, order_id, self._token(market))

    def _take(self, market: Market) -> None:
        ex = self.exchange
        book = ex.books[market.condition_id]
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            return
        fair = market.fair * PRICE_SCALE
        leaning = (
            BID if fair > (bid + ask) / 2 else ASK
        )  # buy what looks cheap, sell what looks dear
        side = leaning if self.rng.random() < 0.7 else (ASK if leaning == BID else BID)
        best = ask if side == BID else bid
        reach = self.rng.randint(0, 3) * market.tick
        limit = (
            min(PRICE_SCALE - market.tick, best + reach)
            if side == BID
            else max(market.tick, best - reach)
        )
        size = self._size(40)
        taker = RestingOrder(
            ex.next_order_id("taker"), SYNTHETIC, side, limit, size, size, ex.now_ms
        )
        fills = ex.take(market, taker, self._token(market), keep_rest=False)
        if fills:
            resting = set(book.orders)
            self._resting[market.condition_id] = [
                o for o in self._resting[market.condition_id] if o in resting
            ]

    def _maybe_refine_tick(self, market: Market) -> None:
        if market.tick != 100:
            return
        book = self.exchange.books[market.condition_id]
        bid, ask = book.best_bid(), book.best_ask()
        if (bid is not None and 0 < bid <= EDGE) or (ask is not None and ask >= PRICE_SCALE - EDGE):
            self.exchange.set_tick(market, 10)
