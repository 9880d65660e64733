"""The exchange's state and the operations that change it.

Every operation takes effect at ``self.now_ms`` and appends to ``self.outbox`` the market-channel
messages a real venue would send for it, in order, with the book hash of §2.14 per entry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

import msgspec

from polytui.sim.book import ASK, BID, Book, Fill, RestingOrder, token_best, token_levels
from polytui.sim.markets import MINUTE, Market
from polytui.sim.messages import Change, Levels, Outbound
from polytui.sim.units import PRICE_SCALE, price_str, size_str, tick_str

_encode = msgspec.json.Encoder().encode


def book_hash(summary: dict) -> str:
    """SHA-1 of the compact JSON summary with ``hash`` empty (protocol §2.14)."""
    return hashlib.sha1(_encode(summary)).hexdigest()


def wire_levels(levels: list[tuple[int, int]]) -> list[dict[str, str]]:
    return [{"price": price_str(p), "size": size_str(s)} for p, s in levels]


@dataclass(slots=True)
class Snapshot:
    """A token's book as served at one instant: what a stale REST answer replays."""

    ts_ms: int
    levels: Levels
    last_trade: str
    tick: int


class Listener(Protocol):
    """Who else must know about fills and removals: the trading side keeps accounts."""

    def on_fills(
        self,
        market: Market,
        taker: RestingOrder,
        token: str,
        fills: list[Fill],
        txs: dict[int, str],
    ) -> None: ...

    def on_removed(self, market: Market, orders: list[RestingOrder], status: str) -> None: ...


class Exchange:
    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms
        self.markets: dict[str, Market] = {}
        self.by_token: dict[str, Market] = {}
        self.books: dict[str, Book] = {}
        self.book_ms: dict[str, int] = {}  # market -> time of its last book change
        self.last_trade: dict[str, tuple[int, str, int]] = {}  # token -> (price, side, size)
        self.history: dict[str, dict[int, int]] = {}  # token -> minute -> last price
        self.snapshots: dict[str, tuple[Snapshot, Snapshot]] = {}  # market -> (yes, no) ~1 s old
        self.outbox: list[Outbound] = []
        self.quiet = False  # seeding the opening books: nobody hears it, so say nothing
        self.listener: Listener | None = None
        self._trade_seq = 0
        self._order_seq = 0

    # ---- queries -------------------------------------------------------------------------

    def market_of(self, token: str) -> Market | None:
        return self.by_token.get(token)

    def last_trade_str(self, token: str) -> str:
        last = self.last_trade.get(token)
        return price_str(last[0]) if last else ""

    def levels(self, market: Market, token: str) -> Levels:
        return token_levels(self.books[market.condition_id], market.is_yes(token))

    def summary(self, market: Market, token: str, ts_ms: int, snap: Snapshot | None = None) -> dict:
        """The §2.1 book object, hash included, keys in the hashed order."""
        if snap is None:
            bids, asks = self.levels(market, token)
            last, tick = self.last_trade_str(token), market.tick
        else:
            (bids, asks), last, tick = snap.levels, snap.last_trade, snap.tick
        summary = {
            "market": market.condition_id,
            "asset_id": token,
            "timestamp": str(ts_ms),
            "hash": "",
            "bids": wire_levels(bids),
            "asks": wire_levels(asks),
            "min_order_size": str(market.min_size),
            "tick_size": tick_str(tick),
            "neg_risk": market.neg_risk,
            "last_trade_price": last,
        }
        summary["hash"] = book_hash(summary)
        return summary

    def stale_snapshot(self, market: Market, token: str) -> Snapshot | None:
        pair = self.snapshots.get(market.condition_id)
        if pair is None:
            return None
        return pair[0] if market.is_yes(token) else pair[1]

    def best(self, market: Market, token: str) -> tuple[int | None, int | None]:
        return token_best(self.books[market.condition_id], market.is_yes(token))

    # ---- markets -------------------------------------------------------------------------

    def add_market(self, market: Market, announce: bool) -> None:
        self.markets[market.condition_id] = market
        self.by_token[market.yes_token] = market
        self.by_token[market.no_token] = market
        self.books[market.condition_id] = Book()
        self.book_ms[market.condition_id] = self.now_ms
        if announce:
            self.outbox.append(self._new_market_msg(market))

    def set_accepting(self, market: Market, accepting: bool) -> None:
        market.accepting_orders = accepting
        market.updated_ms = self.now_ms

    def set_uma_status(self, market: Market, status: str) -> None:
        market.uma_status = status
        market.updated_ms = self.now_ms

    def resolve(self, market: Market, winner_yes: bool) -> list[RestingOrder]:
        """Close and resolve: resting orders are cancelled, the book is gone."""
        market.accepting_orders = False
        market.closed = True
        market.uma_status = "resolved"
        market.winner = market.yes_token if winner_yes else market.no_token
        market.closed_ms = market.updated_ms = self.now_ms
        canceled = self.books[market.condition_id].clear()
        self.snapshots.pop(market.condition_id, None)
        if self.listener is not None:
            self.listener.on_removed(market, canceled, "CANCELED_MARKET_RESOLVED")
        self.outbox.append(
            Outbound(
                kind="market_resolved",
                market=market.condition_id,
                payload={
                    "event_type": "market_resolved",
                    "id": market.gamma_id,
                    "market": market.condition_id,
                    "assets_ids": list(market.tokens),
                    "winning_asset_id": market.winner,
                    "winning_outcome": "Yes" if winner_yes else "No",
                    "tags": [market.category.lower()],
                    "timestamp": str(self.now_ms),
                },
                assets=market.tokens,
                custom=True,
                broadcast=True,
            )
        )
        return canceled

    def archive(self, market: Market) -> None:
        market.archived = True
        market.active = False
        market.updated_ms = self.now_ms

    def set_tick(self, market: Market, tick: int) -> None:
        old = market.tick
        if tick == old:
            return
        market.tick = tick
        market.updated_ms = self.now_ms
        for token in market.tokens:
            self.outbox.append(
                Outbound(
                    kind="tick_size_change",
                    market=market.condition_id,
                    payload={
                        "event_type": "tick_size_change",
                        "market": market.condition_id,
                        "asset_id": token,
                        "old_tick_size": tick_str(old),
                        "new_tick_size": tick_str(tick),
                        "timestamp": str(self.now_ms),
                    },
                    assets=(token,),
                )
            )

    # ---- orders --------------------------------------------------------------------------

    def next_order_id(self, prefix: str = "") -> str:
        self._order_seq += 1
        digest = hashlib.sha256(f"{prefix}:{self._order_seq}:{self.now_ms}".encode()).hexdigest()
        return "0x" + digest

    def place(self, market: Market, order: RestingOrder, first_token: str | None = None) -> None:
        """Rest a non-crossing order and announce the level change."""
        self._keep_snapshot(market)
        book = self.books[market.condition_id]
        if self.quiet:
            book.add(order)
            self.book_ms[market.condition_id] = self.now_ms
            return
        before = self._bbo(market)
        total = book.add(order)
        msg = self._price_change(market, [(order.side, order.price, total)], first_token)
        self._finish(market, [msg], before)

    def cancel(self, market: Market, order_id: str, first_token: str | None = None) -> None:
        self._keep_snapshot(market)
        book = self.books[market.condition_id]
        order = book.orders[order_id]
        before = self._bbo(market)
        total = book.remove(order_id)
        msg = self._price_change(market, [(order.side, order.price, total)], first_token)
        self._finish(market, [msg], before)

    def take(self, market: Market, taker: RestingOrder, token: str, keep_rest: bool) -> list[Fill]:
        """Match ``taker`` (YES terms) against the book, price-time priority.

        The burst is the one a venue sends: the taker's level appears (the book is crossed),
        each maker level shrinks, then the taker's level goes (or keeps its rest when
        ``keep_rest``). All messages share one timestamp; every entry carries the settled
        best bid and ask. Then one ``last_trade_price`` per maker level and a ``book`` per token.
        """
        self._keep_snapshot(market)
        book = self.books[market.condition_id]
        before = self._bbo(market)
        side, limit = taker.side, taker.price
        msgs = [self._price_change(market, [(side, limit, book.add(taker))], token)]
        fills: list[Fill] = []
        for price, level in book.makers(side, limit):
            if taker.size == 0:
                break
            for maker in list(level.orders.values()):
                if taker.size == 0:
                    break
                size = min(maker.size, taker.size)
                fills.append(Fill(maker=maker, price=price, size=size))
                book.reduce(maker.order_id, size)
                book.reduce(taker.order_id, size)
            opposite = ASK if side == BID else BID
            msgs.append(
                self._price_change(
                    market,
                    [
                        (opposite, price, book.total(opposite, price)),
                        (side, limit, book.total(side, limit)),
                    ],
                    token,
                )
            )
        if taker.size and not keep_rest:
            book.remove(taker.order_id)
            msgs.append(self._price_change(market, [(side, limit, book.total(side, limit))], token))
        self._finish(market, msgs, before)
        if fills:
            txs = self._trades(market, token, side, fills)
            if self.listener is not None:
                self.listener.on_fills(market, taker, token, fills, txs)
        return fills

    # ---- messages ------------------------------------------------------------------------

    def _keep_snapshot(self, market: Market) -> None:
        """Keep a copy of each token's book about a second old, for stale REST answers."""
        pair = self.snapshots.get(market.condition_id)
        if pair is not None and self.now_ms - pair[0].ts_ms < 1000:
            return
        ts = self.book_ms[market.condition_id]
        self.snapshots[market.condition_id] = tuple(  # type: ignore[assignment]
            Snapshot(ts, self.levels(market, t), self.last_trade_str(t), market.tick)
            for t in market.tokens
        )

    def _bbo(self, market: Market) -> tuple[int | None, int | None]:
        book = self.books[market.condition_id]
        return book.best_bid(), book.best_ask()

    def _price_change(
        self, market: Market, changes: list[tuple[int, int, int]], first_token: str | None
    ) -> Outbound:
        """One price_change for YES-terms level changes, with entries for both tokens.

        Per-entry hashes describe the book right now (possibly crossed, mid-burst); best
        bid/ask are filled in by ``_finish`` once the burst has settled.
        """
        ts = str(self.now_ms)
        tokens = market.tokens if first_token != market.no_token else market.tokens[::-1]
        entries: list[dict] = []
        token_changes: list[Change] = []
        hashes = {}
        for token in tokens:
            is_yes = market.is_yes(token)
            for book_side, price, total in changes:
                is_bid = (book_side == BID) == is_yes
                p = price if is_yes else PRICE_SCALE - price
                if token not in hashes:
                    hashes[token] = self.summary(market, token, self.now_ms)["hash"]
                entries.append(
                    {
                        "asset_id": token,
                        "price": price_str(p),
                        "size": size_str(total),
                        "side": "BUY" if is_bid else "SELL",
                        "hash": hashes[token],
                        "best_bid": "",
                        "best_ask": "",
                    }
                )
                token_changes.append((token, is_bid, p, total))
        return Outbound(
            kind="price_change",
            market=market.condition_id,
            payload={
                "event_type": "price_change",
                "market": market.condition_id,
                "timestamp": ts,
                "price_changes": entries,
            },
            assets=market.tokens,
            changes=tuple(token_changes),
        )

    def _finish(self, market: Market, msgs: list[Outbound], before: tuple) -> None:
        self.book_ms[market.condition_id] = self.now_ms
        best = {t: self.best(market, t) for t in market.tokens}
        wire_best = {
            t: (price_str(b) if b is not None else "0", price_str(a) if a is not None else "1")
            for t, (b, a) in best.items()
        }
        for msg in msgs:
            for entry in msg.payload["price_changes"]:
                entry["best_bid"], entry["best_ask"] = wire_best[entry["asset_id"]]
        self.outbox.extend(msgs)
        if self._bbo(market) != before:
            for token in market.tokens:
                bid, ask = best[token]
                spread = price_str(ask - bid) if bid is not None and ask is not None else ""
                self.outbox.append(
                    Outbound(
                        kind="best_bid_ask",
                        market=market.condition_id,
                        payload={
                            "event_type": "best_bid_ask",
                            "market": market.condition_id,
                            "asset_id": token,
                            "best_bid": wire_best[token][0],
                            "best_ask": wire_best[token][1],
                            "spread": spread,
                            "timestamp": str(self.now_ms),
                        },
                        assets=(token,),
                        custom=True,
                    )
                )

    def _trades(self, market: Market, token: str, side: int, fills: list[Fill]) -> dict[int, str]:
        """``last_trade_price`` per maker level, then the books; returns each level's tx hash."""
        is_yes = market.is_yes(token)
        taker_buys = (side == BID) == is_yes
        by_price: dict[int, int] = {}
        for fill in fills:
            by_price[fill.price] = by_price.get(fill.price, 0) + fill.size
        minute = self.now_ms // MINUTE
        txs: dict[int, str] = {}
        for price, size in by_price.items():
            self._trade_seq += 1
            tx = (
                "0x"
                + hashlib.sha256(f"{market.condition_id}:{self._trade_seq}".encode()).hexdigest()
            )
            txs[price] = tx
            p = price if is_yes else PRICE_SCALE - price
            wire_side = "BUY" if taker_buys else "SELL"
            self.last_trade[token] = (p, wire_side, size)
            other = market.no_token if is_yes else market.yes_token
            self.last_trade[other] = (PRICE_SCALE - p, "SELL" if taker_buys else "BUY", size)
            self.history.setdefault(token, {})[minute] = p
            self.history.setdefault(other, {})[minute] = PRICE_SCALE - p
            market.add_volume(self.now_ms, (price / PRICE_SCALE) * (size / 1_000_000))
            self.outbox.append(
                Outbound(
                    kind="last_trade_price",
                    market=market.condition_id,
                    payload={
                        "event_type": "last_trade_price",
                        "market": market.condition_id,
                        "asset_id": token,
                        "price": price_str(p),
                        "side": wire_side,
                        "size": size_str(size),
                        "fee_rate_bps": "0",
                        "timestamp": str(self.now_ms),
                        "transaction_hash": tx,
                    },
                    assets=(token,),
                )
            )
        for t in market.tokens:
            self.outbox.append(self.book_msg(market, t, self.now_ms))
        return txs

    def book_msg(self, market: Market, token: str, ts_ms: int) -> Outbound:
        """A WS ``book`` event: the REST summary less ``min_order_size`` and ``neg_risk``."""
        summary = self.summary(market, token, ts_ms)
        payload = {"event_type": "book"}
        payload.update(summary)
        del payload["min_order_size"], payload["neg_risk"]
        return Outbound(
            kind="book",
            market=market.condition_id,
            payload=payload,
            assets=(token,),
            books={token: self.levels(market, token)},
        )

    def _new_market_msg(self, market: Market) -> Outbound:
        return Outbound(
            kind="new_market",
            market=market.condition_id,
            payload={
                "event_type": "new_market",
                "id": market.gamma_id,
                "question": market.question,
                "market": market.condition_id,
                "condition_id": market.condition_id,
                "slug": market.slug,
                "description": f"Resolves Yes if: {market.question}",
                "assets_ids": list(market.tokens),
                "clob_token_ids": list(market.tokens),
                "outcomes": ["Yes", "No"],
                "event_message": {
                    "id": market.event_id,
                    "ticker": market.event_slug,
                    "slug": market.event_slug,
                    "title": market.event_title,
                    "description": "",
                },
                "tags": [market.category.lower()],
                "active": True,
                "order_price_min_tick_size": tick_str(market.tick),
                "group_item_title": market.question if market.neg_risk else "",
                "sports_market_type": "",
                "line": "",
                "game_start_time": "",
                "timestamp": str(self.now_ms),
            },
            assets=market.tokens,
            custom=True,
            broadcast=True,
        )
