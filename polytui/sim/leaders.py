"""Leader wallets: a few synthetic traders worth copying, each with a style of its own.

They trade like a real user through the UI: takers on the shared book (so the market channel
shows their trades like any other), booked on their wallet, indexed by the Data API after a lag.
Each starts with a backfilled history, so a copy-trader has something to score on the first
run. Their choices come from their own seeded generator, apart from the synthetic flow.
"""

from __future__ import annotations

import hashlib
import math
import random
import uuid
from dataclasses import dataclass

from eth_utils import to_checksum_address

from polytui.sim.book import RestingOrder, to_book
from polytui.sim.markets import HOUR, Market
from polytui.sim.trading import Activity, Trading
from polytui.sim.units import PRICE_SCALE, SIZE_SCALE

BACKFILL = 120  # history trades per leader, before the start
BACKFILL_SPAN_MS = 7 * 24 * HOUR
LEADER_USD = 1_000_000  # pUSD a leader starts with


@dataclass(frozen=True, slots=True)
class Style:
    name: str
    pseudonym: str
    bio: str
    mean_usd: float  # typical trade size
    per_hour: float  # trades per simulated hour
    categories: tuple[str, ...]  # empty: any
    skill: float  # P(trading toward the fair value)
    sell_share: float  # P(a trade reduces a position rather than opening one)


STYLES = (
    Style("whale", "Deep Pockets", "Big, patient, usually right.", 1500, 3, (), 0.75, 0.25),
    Style("scalper", "Quick Flip", "In and out all day.", 40, 40, (), 0.55, 0.45),
    Style(
        "politico",
        "Beltway Insider",
        "Politics and macro only.",
        300,
        8,
        ("Politics", "Economics"),
        0.7,
        0.3,
    ),
    Style(
        "degen",
        "YOLO Sports",
        "Sports and crypto, gut feel.",
        90,
        15,
        ("Sports", "Crypto"),
        0.45,
        0.3,
    ),
)


@dataclass(frozen=True, slots=True)
class Leader:
    address: str  # checksummed proxy wallet
    owner: str  # the owner id its trades carry
    style: Style

    @property
    def key(self) -> str:
        return self.address.lower()

    def profile(self) -> dict:
        return {
            "name": self.style.name,
            "pseudonym": self.style.pseudonym,
            "bio": self.style.bio,
            "profileImage": "",
            "profileImageOptimized": "",
        }


class Leaders:
    def __init__(self, trading: Trading, seed: int, count: int, activity: float = 1.0) -> None:
        self.trading = trading
        self.activity = activity  # times each style's trades per hour
        self.exchange = trading.exchange
        self.rng = random.Random(f"leaders:{seed}")
        self.leaders: list[Leader] = []
        for i in range(count):
            style = STYLES[i % len(STYLES)]
            raw = hashlib.sha256(f"leader:{seed}:{i}".encode()).digest()
            leader = Leader(
                to_checksum_address("0x" + raw[-20:].hex()),
                str(uuid.UUID(bytes=raw[:16], version=4)),
                style,
            )
            self.leaders.append(leader)
            trading.owner_keys[leader.key] = leader.owner
            trading.accounts.wallet(leader.address).usd = LEADER_USD * SIZE_SCALE
        self.by_address = {leader.key: leader for leader in self.leaders}
        self.trades = 0

    def gap_ms(self, index: int) -> int:
        rate = self.leaders[index].style.per_hour * self.activity
        if rate <= 0:
            return 365 * 24 * HOUR  # activity 0: the leaders do not trade
        return max(1, round(self.rng.expovariate(rate) * HOUR))

    # ---- history -------------------------------------------------------------------------

    def backfill(self, markets: list[Market]) -> None:
        """``BACKFILL`` trades per leader over the week before now, as history rows only."""
        now = self.exchange.now_ms
        for leader in self.leaders:
            pool = self._pool(leader, markets) or markets
            rows: list[Activity] = []
            held: dict[str, int] = {}
            for n in range(BACKFILL):
                market = pool[self.rng.randrange(len(pool))]
                token = market.yes_token if self.rng.random() < market.fair else market.no_token
                fair = market.fair if token == market.yes_token else 1 - market.fair
                price = self._on_grid(market, fair + self.rng.gauss(0, 0.03))
                sells = held.get(token, 0) > 0 and self.rng.random() < leader.style.sell_share
                size = self._shares(leader, price)
                if sells:
                    size = min(size, held[token])
                held[token] = held.get(token, 0) + (-size if sells else size)
                ts = now - BACKFILL_SPAN_MS + (n + 1) * BACKFILL_SPAN_MS // (BACKFILL + 1)
                tx = "0x" + hashlib.sha256(f"{leader.key}:history:{n}".encode()).hexdigest()
                rows.append(
                    Activity(
                        ts,
                        leader.key,
                        market.condition_id,
                        token,
                        "Yes" if token == market.yes_token else "No",
                        "SELL" if sells else "BUY",
                        size,
                        price,
                        tx,
                        "",
                        taker=True,
                    )
                )
            self.trading.activity.setdefault(leader.key, [])[:0] = rows

    # ---- live trading --------------------------------------------------------------------

    def trade(self, index: int, markets: list[Market]) -> None:
        """One taker trade by leader ``index`` on a tradable market of its style."""
        leader = self.leaders[index]
        pool = self._pool(leader, markets)
        if not pool:
            return
        wallet = self.trading.accounts.wallet(leader.address)
        held = [
            (m, t) for m in pool for t in m.tokens if wallet.positions.get(t, 0) >= 5 * SIZE_SCALE
        ]
        if held and self.rng.random() < leader.style.sell_share:
            market, token = held[self.rng.randrange(len(held))]
            self._take(leader, market, token, buy=False, shares=wallet.positions[token])
            return
        market = pool[self.rng.randrange(len(pool))]
        book = self.exchange.books[market.condition_id]
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            return
        yes_cheap = market.fair * PRICE_SCALE > (bid + ask) / 2
        right = self.rng.random() < leader.style.skill
        token = market.yes_token if yes_cheap == right else market.no_token
        best = self.exchange.best(market, token)[1]
        if best is None:
            return
        self._take(leader, market, token, buy=True, shares=self._shares(leader, best))

    def _take(self, leader: Leader, market: Market, token: str, buy: bool, shares: int) -> None:
        bid, ask = self.exchange.best(market, token)
        best = ask if buy else bid
        if best is None:
            return
        reach = 2 * market.tick
        limit = (
            min(PRICE_SCALE - market.tick, best + reach) if buy else max(market.tick, best - reach)
        )
        side, price = to_book(market.is_yes(token), buy, limit)
        shares = shares // (SIZE_SCALE // 100) * (SIZE_SCALE // 100)  # two decimals
        if shares < market.min_size * SIZE_SCALE:
            return
        self.trades += 1
        order_id = "0x" + hashlib.sha256(f"{leader.key}:order:{self.trades}".encode()).hexdigest()
        taker = RestingOrder(
            order_id, leader.key, side, price, shares, shares, self.exchange.now_ms
        )
        self.exchange.take(market, taker, token, keep_rest=False)

    # ---- helpers -------------------------------------------------------------------------

    def _pool(self, leader: Leader, markets: list[Market]) -> list[Market]:
        cats = leader.style.categories
        return [m for m in markets if not cats or m.category in cats]

    def _shares(self, leader: Leader, price: int) -> int:
        usd = min(50_000.0, max(2.0, self.rng.lognormvariate(math.log(leader.style.mean_usd), 0.7)))
        return round(usd / (price / PRICE_SCALE) * 100) * (SIZE_SCALE // 100)

    def _on_grid(self, market: Market, p: float) -> int:
        tick = market.tick
        units = round(p * PRICE_SCALE / tick) * tick
        return min(PRICE_SCALE - tick, max(tick, units))
