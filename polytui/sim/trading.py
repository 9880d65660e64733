"""The venue's trading side: order entry with every server-side check, matching through the shared
book, accounts, settlement (MATCHED -> MINED -> CONFIRMED, or RETRYING -> FAILED), heartbeats,
expiry, and what the user channel says about each of them (protocol §4, §5.3).

Everything here runs at the exchange's simulated time. Fills come back from the exchange through
its listener, so a synthetic taker that hits a user's resting order is booked exactly like a
user's own taker order.
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from polytui.sim.accounts import Accounts, ApiKey, Wallet
from polytui.sim.book import BID, Fill, RestingOrder, to_book
from polytui.sim.exchange import Exchange
from polytui.sim.markets import Market
from polytui.sim.orders import (
    GTD_THRESHOLD_S,
    PAYLOAD_ERROR,
    OrderRecord,
    OrderRejected,
    Submission,
    decimal_str,
    decimals,
    implied_price,
    price_units,
    shares_of,
)
from polytui.sim.signatures import BadSignature, order_digest, recover_digest
from polytui.sim.units import PRICE_SCALE, SIZE_SCALE, tick_str

SYNTHETIC_OWNER = "00000000-0000-4000-8000-000000000000"
SYNTHETIC_ADDRESS = "0x000000000000000000000000000000000000dEaD"
HEARTBEAT_TIMEOUT_MS = 10_000  # protocol §4.10: no valid beat for 10 s cancels everything
RECEIVED_LIMIT = 100_000  # orders kept in the admin log
MIN_MARKETABLE_BUY = SIZE_SCALE  # $1
SHARE_STEP = 100  # marketable BUYs receive shares to 4 decimals


@dataclass(slots=True)
class TradeRecord:
    """One match of a taker at one price level (one ``last_trade_price``, one tx hash)."""

    trade_id: str
    taker_order_id: str
    market: str
    token: str  # the taker's token
    outcome: str
    side: str  # the taker's side
    size: int
    price: int  # taker terms
    match_ms: int
    tx: str
    taker_owner: str
    taker_address: str
    maker_orders: list[dict]
    parties: dict[str, tuple[str, str]]  # lower address -> (TAKER|MAKER, owner key)
    deltas: list[tuple[str, str, int, int]]  # (address, token, shares, pUSD) per participant
    status: str = "MATCHED"
    updated_ms: int = 0

    def _base(self, address: str) -> dict:
        role, owner = self.parties.get(address, ("TAKER", self.taker_owner))
        return {
            "id": self.trade_id,
            "taker_order_id": self.taker_order_id,
            "market": self.market,
            "asset_id": self.token,
            "side": self.side,
            "size": decimal_str(self.size),
            "price": decimal_str(self.price, PRICE_SCALE),
            "fee_rate_bps": "0",
            "status": self.status,
            "match_time": str(self.match_ms // 1000),
            "last_update": str(self.updated_ms // 1000),
            "outcome": self.outcome,
            "bucket_index": 0,
            "owner": owner,
            "maker_address": self.taker_address,
            "transaction_hash": self.tx,
            "trader_side": role,
            "maker_orders": self.maker_orders,
        }

    def wire(self, address: str) -> dict:
        """As ``/data/trades`` shows it to ``address`` (REST prefixes the status)."""
        body = self._base(address)
        body["status"] = "TRADE_STATUS_" + self.status
        return body

    def event(self, address: str, now_ms: int) -> dict:
        body = self._base(address)
        body = {"event_type": "trade", "type": "TRADE", **body}
        body["trade_owner"] = body["owner"]
        body["timestamp"] = str(now_ms)
        return body


@dataclass(frozen=True, slots=True)
class Activity:
    """One wallet's side of one fill, in its own token's terms: a Data API trade row."""

    ts_ms: int
    address: str  # lower-case
    market: str
    token: str
    outcome: str
    side: str
    size: int
    price: int
    tx: str
    trade_id: str
    taker: bool


def _maker_entry(
    order_id: str,
    owner: str,
    address: str,
    size: int,
    price: int,
    token: str,
    outcome: str,
    side: str,
) -> dict:
    return {
        "order_id": order_id,
        "owner": owner,
        "maker_address": address,
        "matched_amount": decimal_str(size),
        "price": decimal_str(price, PRICE_SCALE),
        "fee_rate_bps": "0",
        "asset_id": token,
        "outcome": outcome,
        "side": side,
    }


@dataclass(slots=True)
class UserEvent:
    address: str  # lower-case
    market: str
    payload: dict
    due_ms: int


@dataclass(slots=True)
class Heartbeat:
    beat_id: str
    last_ms: int


@dataclass
class Settlement:
    mined_ms: int = 2_000  # simulated ms from match to MINED
    confirmed_ms: int = 6_000  # ... and to CONFIRMED
    fail: float = 0.0  # P(RETRYING -> FAILED)


@dataclass
class Trading:
    exchange: Exchange
    accounts: Accounts
    rng: random.Random
    settlement: Settlement = field(default_factory=Settlement)
    user_delay_ms: int = 0
    on_order: Callable[[str, str, str], None] | None = None  # (client, token, order id)

    orders: dict[str, OrderRecord] = field(default_factory=dict)
    received: list[dict] = field(default_factory=list)
    trades: dict[str, TradeRecord] = field(default_factory=dict)
    # every wallet's fills, by lower-case address, in time order: what the Data API indexes
    activity: dict[str, list[Activity]] = field(default_factory=dict)
    user_events: list[UserEvent] = field(default_factory=list)
    owner_keys: dict[str, str] = field(default_factory=dict)  # address -> owner, non-API wallets
    funders: dict[str, str] = field(default_factory=dict)  # signer -> last proxy funder used
    heartbeats: dict[str, Heartbeat] = field(default_factory=dict)  # lower address -> session
    _live: dict[str, set[str]] = field(default_factory=dict)  # lower address -> live order ids
    _timers: list[tuple[int, int, str, str]] = field(default_factory=list)
    _seq: int = 0

    def __post_init__(self) -> None:
        self.exchange.listener = self

    # ---- identifiers ---------------------------------------------------------------------

    def _uuid(self) -> str:
        self._seq += 1
        return str(uuid.UUID(int=self.rng.getrandbits(128) ^ self._seq, version=4))

    def _timer(self, due_ms: int, kind: str, arg: str) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (due_ms, self._seq, kind, arg))

    # ---- order entry ---------------------------------------------------------------------

    def submit(self, key: ApiKey, sub: Submission, client: str) -> dict:
        """Check, match and rest one order; the §4.5 success body, or OrderRejected."""
        entry = {
            "received_ms": self.exchange.now_ms,
            "client": client,
            "order_id": "",
            "signer": sub.fields.signer,
            "maker": sub.fields.maker,
            "owner": sub.owner,
            "token_id": sub.token,
            "side": sub.side,
            "order_type": sub.order_type,
            "metadata": sub.fields.metadata,
            "status": "rejected",
            "reason": "",
        }
        try:
            body = self._accept(key, sub, entry)
        except OrderRejected as exc:
            entry["reason"] = exc.message
            raise
        finally:
            self.received.append(entry)
            del self.received[:-RECEIVED_LIMIT]
            if self.on_order is not None and entry["order_id"]:
                self.on_order(client, sub.token, entry["order_id"])
        entry["status"] = body["status"]
        return body

    def _accept(self, key: ApiKey, sub: Submission, entry: dict) -> dict:
        market, order_id = self._authenticate(key, sub, entry)
        units, crosses = self._validate(sub, market, order_id)
        self._check_funds(sub)
        shares = self._fillable(sub, market, units) if sub.immediate else shares_of(sub)
        return self._enter(key, sub, market, order_id, units, shares, crosses)

    def _authenticate(self, key: ApiKey, sub: Submission, entry: dict) -> tuple[Market, str]:
        """Owner, signer and signature checks; the market and the order id (EIP-712 digest)."""
        f = sub.fields
        if sub.owner != key.key:
            raise OrderRejected("the order owner has to be the owner of the API KEY")
        if f.signer.lower() != key.address.lower():
            raise OrderRejected("the order signer address has to be the address of the API KEY")
        market = self.exchange.market_of(sub.token)
        if market is None:
            raise OrderRejected(PAYLOAD_ERROR)
        digest = order_digest(f, market.neg_risk)
        order_id = entry["order_id"] = "0x" + digest.hex()
        try:
            signer = recover_digest(digest, sub.signature)
        except BadSignature:
            signer = ""
        if (
            signer.lower() != f.signer.lower()
            or f.signature_type == 3  # ERC-7739 deposit-wallet signatures are not simulated
            or (f.signature_type == 0 and f.maker.lower() != f.signer.lower())
        ):
            raise OrderRejected("invalid signature")
        if order_id in self.orders:
            raise OrderRejected(f"order {order_id} is invalid. Duplicated.")
        return market, order_id

    def _validate(self, sub: Submission, market: Market, order_id: str) -> tuple[int, bool]:
        """The venue's order rules (§4.4, §4.5); the price in 1e-4 units and whether it crosses."""
        if not market.tradable:
            raise OrderRejected("the market is not yet ready to process new orders")
        price = implied_price(sub)
        if not 0 < price < 1:
            raise OrderRejected("invalid price, price must be greater than 0 and less than 1")
        units = price_units(price)
        if units is None or units % market.tick:
            raise OrderRejected(
                f"order {order_id} is invalid. Price ({format(price.normalize(), 'f')}) "
                f"breaks minimum tick size rule: {tick_str(market.tick)}"
            )
        shares = shares_of(sub)
        if shares < market.min_size * SIZE_SCALE:
            raise OrderRejected(
                f"order {order_id} is invalid. Size ({decimal_str(shares)}) "
                f"lower than the minimum: {market.min_size}"
            )
        now_s = self.exchange.now_ms // 1000
        if sub.order_type == "GTD" and sub.expiration <= now_s + GTD_THRESHOLD_S:
            raise OrderRejected("invalid expiration")
        if sub.post_only and sub.immediate:
            raise OrderRejected("invalid post-only order: only GTC and GTD order types are allowed")
        bid, ask = self.exchange.best(market, sub.token)
        if sub.side == "BUY":
            crosses = ask is not None and units >= ask
        else:
            crosses = bid is not None and units <= bid
        if sub.post_only and crosses:
            raise OrderRejected("invalid post-only order: order crosses book")
        if crosses or sub.immediate:
            self._check_marketable(sub)
        return units, crosses

    def _check_funds(self, sub: Submission) -> None:
        f = sub.fields
        funder = f.maker.lower()
        if f.signature_type in (1, 2):
            self.funders[f.signer.lower()] = funder
        wallet = self.accounts.wallet(f.maker)
        if sub.side == "BUY":
            have = min(wallet.usd - self.locked_usd(funder), wallet.allowance)
        else:
            have = wallet.positions.get(sub.token, 0) - self.locked_shares(funder, sub.token)
        if f.maker_amount > have:
            raise OrderRejected("not enough balance / allowance")

    def _fillable(self, sub: Submission, market: Market, units: int) -> int:
        """Shares a FOK/FAK order takes now: a BUY spends its pUSD, a SELL sells its shares."""
        is_yes = market.is_yes(sub.token)
        book_side, book_price = to_book(is_yes, sub.side == "BUY", units)
        usd = sub.fields.maker_amount
        if sub.side == "BUY":
            shares = self._shares_for(market, book_side, book_price, is_yes, usd)
            full = self._spends_all(market, book_side, book_price, is_yes, usd, shares)
        else:
            depth = self.exchange.books[market.condition_id].depth(book_side, book_price)
            shares = min(shares_of(sub), depth)
            full = shares == shares_of(sub)
        if sub.order_type == "FOK" and not full:
            raise OrderRejected(
                "order couldn't be fully filled. FOK orders are fully filled or killed."
            )
        if shares == 0:
            raise OrderRejected(
                "no orders found to match with FAK order. FAK orders are partially filled "
                "or killed if no match is found."
            )
        return shares

    def _enter(
        self,
        key: ApiKey,
        sub: Submission,
        market: Market,
        order_id: str,
        units: int,
        shares: int,
        crosses: bool,
    ) -> dict:
        """Match what crosses, rest what is left (GTC/GTD), tell the user channel."""
        f = sub.fields
        now = self.exchange.now_ms
        is_yes = market.is_yes(sub.token)
        record = OrderRecord(
            order_id=order_id,
            owner=key.key,
            address=f.maker.lower(),
            maker_address=f.maker,
            signer=f.signer,
            market=market.condition_id,
            token=sub.token,
            outcome="Yes" if is_yes else "No",
            side=sub.side,
            price=units,
            original=shares,
            order_type=sub.order_type,
            expiration=sub.expiration,
            created_ms=now,
            metadata=f.metadata,
        )
        self.orders[order_id] = record
        book_side, book_price = to_book(is_yes, sub.side == "BUY", units)
        resting = RestingOrder(order_id, record.address, book_side, book_price, shares, shares, now)
        if crosses:
            self.exchange.take(market, resting, sub.token, keep_rest=not sub.immediate)
        else:
            self.exchange.place(market, resting, sub.token)
        if record.remaining and not sub.immediate:
            self._live.setdefault(record.address, set()).add(order_id)
            self._emit(record.address, record.market, record.event("PLACEMENT", now))
            if sub.order_type == "GTD":
                self._timer(sub.expiration * 1000, "expire", order_id)
        elif record.remaining:
            record.status = "CANCELED"  # the unfilled rest of a FAK dies here
        return self._post_answer(record, list(record.trades))

    def _check_marketable(self, sub: Submission) -> None:
        f = sub.fields
        if decimals(f.maker_amount) > 2 or decimals(f.taker_amount) > 4:
            kind = "market buy orders" if sub.side == "BUY" else "sell orders"
            raise OrderRejected(
                f"invalid amounts, the {kind} maker amount supports a max accuracy of 2 decimals, "
                "taker amount a max of 4 decimals"
            )
        if sub.side == "BUY" and f.maker_amount < MIN_MARKETABLE_BUY:
            raise OrderRejected(
                f"invalid amount for a marketable BUY order (${decimal_str(f.maker_amount)}), "
                "min size: $1"
            )

    def _levels(self, market: Market, book_side: int, book_price: int, is_yes: bool):
        """(token-terms price, shares) of the levels a taker can reach, best first."""
        for price, level in self.exchange.books[market.condition_id].makers(book_side, book_price):
            yield (price if is_yes else PRICE_SCALE - price), level.total

    def _shares_for(
        self, market: Market, book_side: int, book_price: int, is_yes: bool, usd: int
    ) -> int:
        """Shares a market BUY of ``usd`` gets, walking the book (4 decimals per level)."""
        left = usd * PRICE_SCALE  # 1e-10 pUSD
        shares = 0
        for price, total in self._levels(market, book_side, book_price, is_yes):
            take = min(total, left // price // SHARE_STEP * SHARE_STEP)
            shares += take
            left -= take * price
            if take < total:
                break
        return shares

    def _spends_all(
        self, market: Market, book_side: int, book_price: int, is_yes: bool, usd: int, shares: int
    ) -> bool:
        """Whether buying ``shares`` spends ``usd`` up to less than one more share step."""
        left, spent, worst = shares, 0, book_price
        for price, total in self._levels(market, book_side, book_price, is_yes):
            take = min(total, left)
            spent += take * price
            left -= take
            worst = price
            if not left:
                break
        return usd * PRICE_SCALE - spent < SHARE_STEP * worst

    def _post_answer(self, record: OrderRecord, trade_ids: list[str]) -> dict:
        trades = [self.trades[t] for t in trade_ids]
        filled = sum(t.size for t in trades)
        usd = sum(t.size * t.price for t in trades) // PRICE_SCALE
        making, taking = (usd, filled) if record.side == "BUY" else (filled, usd)
        return {
            "success": True,
            "errorMsg": "",
            "orderID": record.order_id,
            "status": "matched" if trades else "live",
            "makingAmount": decimal_str(making) if trades else "",
            "takingAmount": decimal_str(taking) if trades else "",
            "transactionsHashes": list(dict.fromkeys(t.tx for t in trades)),
            "tradeIDs": [t.trade_id for t in trades],
        }

    # ---- balances ------------------------------------------------------------------------

    def locked_usd(self, address: str) -> int:
        total = 0
        for oid in self._live.get(address, ()):
            rec = self.orders[oid]
            if rec.side == "BUY":
                total += -(-rec.remaining * rec.price // PRICE_SCALE)
        return total

    def locked_shares(self, address: str, token: str) -> int:
        return sum(
            self.orders[oid].remaining
            for oid in self._live.get(address, ())
            if self.orders[oid].side == "SELL" and self.orders[oid].token == token
        )

    def live_orders(self, address: str) -> list[OrderRecord]:
        return [self.orders[oid] for oid in sorted(self._live.get(address, ()))]

    # ---- fills, from the exchange --------------------------------------------------------

    def on_fills(
        self,
        market: Market,
        taker: RestingOrder,
        token: str,
        fills: list[Fill],
        txs: dict[int, str],
    ) -> None:
        """Book the trades of one taker, one per maker price level, if a wallet took part."""
        taker_rec = self.orders.get(taker.order_id)
        taker_addr = taker.owner if taker.owner in self.accounts.wallets else ""
        if not taker_addr and all(f.maker.order_id not in self.orders for f in fills):
            return  # synthetic against synthetic: nobody the venue reports to
        by_price: dict[int, list[Fill]] = {}
        for fill in fills:
            by_price.setdefault(fill.price, []).append(fill)
        for book_price, group in by_price.items():
            self._trade(market, taker, taker_rec, taker_addr, token, group, txs[book_price])

    def _trade(
        self,
        market: Market,
        taker: RestingOrder,
        taker_rec: OrderRecord | None,
        taker_addr: str,
        token: str,
        group: list[Fill],
        tx: str,
    ) -> None:
        now = self.exchange.now_ms
        taker_yes = market.is_yes(token)
        taker_buys = (taker.side == BID) == taker_yes
        price = group[0].price if taker_yes else PRICE_SCALE - group[0].price
        size = sum(f.size for f in group)
        trade_id = self._uuid()
        owner = taker_rec.owner if taker_rec else self.owner_keys.get(taker_addr, SYNTHETIC_OWNER)
        parties: dict[str, tuple[str, str]] = {}
        deltas = []
        fills: list[Activity] = []
        side = "BUY" if taker_buys else "SELL"
        outcome = "Yes" if taker_yes else "No"
        if taker_addr:
            parties[taker_addr] = ("TAKER", owner)
            deltas.append(self._delta(taker_addr, token, taker_buys, size, price))
            fills.append(
                Activity(
                    now,
                    taker_addr,
                    market.condition_id,
                    token,
                    outcome,
                    side,
                    size,
                    price,
                    tx,
                    trade_id,
                    taker=True,
                )
            )
        maker_orders = []
        touched: dict[str, OrderRecord] = {}
        for fill in group:
            rec = self.orders.get(fill.maker.order_id)
            if rec is None:
                maker_orders.append(
                    _maker_entry(
                        fill.maker.order_id,
                        SYNTHETIC_OWNER,
                        SYNTHETIC_ADDRESS,
                        fill.size,
                        price,
                        token,
                        outcome,
                        "SELL" if taker_buys else "BUY",
                    )
                )
                continue
            maker_orders.append(
                _maker_entry(
                    rec.order_id,
                    rec.owner,
                    rec.maker_address,
                    fill.size,
                    rec.price,
                    rec.token,
                    rec.outcome,
                    rec.side,
                )
            )
            parties.setdefault(rec.address, ("MAKER", rec.owner))
            deltas.append(
                self._delta(rec.address, rec.token, rec.side == "BUY", fill.size, rec.price)
            )
            fills.append(
                Activity(
                    now,
                    rec.address,
                    rec.market,
                    rec.token,
                    rec.outcome,
                    rec.side,
                    fill.size,
                    rec.price,
                    tx,
                    trade_id,
                    taker=False,
                )
            )
            self._filled(rec, fill.size, trade_id)
            touched[rec.order_id] = rec
        trade = TradeRecord(
            trade_id=trade_id,
            taker_order_id=taker.order_id,
            market=market.condition_id,
            token=token,
            outcome=outcome,
            side=side,
            size=size,
            price=price,
            match_ms=now,
            tx=tx,
            taker_owner=owner,
            taker_address=taker_rec.maker_address if taker_rec else taker_addr or SYNTHETIC_ADDRESS,
            maker_orders=maker_orders,
            parties=parties,
            deltas=deltas,
            updated_ms=now,
        )
        self.trades[trade_id] = trade
        for row in fills:
            self.activity.setdefault(row.address, []).append(row)
        if taker_rec is not None:
            self._filled(taker_rec, size, trade_id)
        for address in parties:
            self._emit(address, trade.market, trade.event(address, now))
        for rec in touched.values():
            self._emit(rec.address, rec.market, rec.event("UPDATE", now))
        self._schedule_settlement(trade)

    def _delta(self, address: str, token: str, buys: bool, size: int, price: int) -> tuple:
        """Move pUSD and shares now (the provisional position); FAILED moves them back."""
        usd = size * price
        usd = -(-usd // PRICE_SCALE) if buys else usd // PRICE_SCALE
        delta = (address, token, size if buys else -size, -usd if buys else usd)
        self._apply(self.accounts.wallet(address), delta, 1)
        return delta

    @staticmethod
    def _apply(wallet: Wallet, delta: tuple[str, str, int, int], sign: int) -> None:
        _, token, shares, usd = delta
        wallet.positions[token] = wallet.positions.get(token, 0) + shares * sign
        wallet.usd += usd * sign

    def _filled(self, rec: OrderRecord, size: int, trade_id: str) -> None:
        rec.matched += size
        if trade_id not in rec.trades:
            rec.trades.append(trade_id)
        if rec.remaining <= 0:
            rec.status = "MATCHED"
            self._live.get(rec.address, set()).discard(rec.order_id)

    def on_removed(self, market: Market, orders: list[RestingOrder], status: str) -> None:
        for order in orders:
            rec = self.orders.get(order.order_id)
            if rec is not None and rec.status == "LIVE":
                self._close(rec, status)

    # ---- cancels -------------------------------------------------------------------------

    def cancel(self, address: str, order_ids: list[str]) -> dict:
        canceled, not_canceled = [], {}
        for oid in order_ids:
            rec = self.orders.get(oid)
            if rec is None or rec.address != address:
                not_canceled[oid] = "order not found"
            elif rec.status != "LIVE":
                not_canceled[oid] = "already canceled or matched"
            else:
                self._pull(rec, "CANCELED")
                canceled.append(oid)
        return {"canceled": canceled, "not_canceled": not_canceled}

    def cancel_where(self, address: str, market: str = "", token: str = "") -> dict:
        ids = [
            r.order_id
            for r in self.live_orders(address)
            if (not market or r.market == market) and (not token or r.token == token)
        ]
        return self.cancel(address, ids)

    def _pull(self, rec: OrderRecord, status: str) -> None:
        """Take a live order off the book and tell its owner."""
        market = self.exchange.markets[rec.market]
        if rec.order_id in self.exchange.books[rec.market].orders:
            self.exchange.cancel(market, rec.order_id, rec.token)
        self._close(rec, status)

    def _close(self, rec: OrderRecord, status: str) -> None:
        rec.status = status
        self._live.get(rec.address, set()).discard(rec.order_id)
        self._emit(rec.address, rec.market, rec.event("CANCELLATION", self.exchange.now_ms))

    # ---- heartbeats ----------------------------------------------------------------------

    def heartbeat(self, address: str, beat_id: str | None) -> tuple[int, dict]:
        now = self.exchange.now_ms
        session = self.heartbeats.get(address)
        if session is not None and beat_id != session.beat_id:
            return 400, {"error_msg": "Invalid Heartbeat ID", "heartbeat_id": session.beat_id}
        session = self.heartbeats[address] = Heartbeat(self._uuid(), now)
        self._timer(now + HEARTBEAT_TIMEOUT_MS, "heartbeat", address)
        return 200, {"heartbeat_id": session.beat_id}

    # ---- time ----------------------------------------------------------------------------

    def next_due(self) -> int | None:
        return self._timers[0][0] if self._timers else None

    def run_until(self, now_ms: int) -> None:
        """Settlement steps, GTD expiries and heartbeat deadlines due by ``now_ms``."""
        while self._timers and self._timers[0][0] <= now_ms:
            due, _, kind, arg = heapq.heappop(self._timers)
            saved = self.exchange.now_ms
            self.exchange.now_ms = max(saved, due)
            if kind == "settle":
                trade_id, status = arg.split(" ")
                self._settle(self.trades[trade_id], status)
            elif kind == "expire":
                rec = self.orders[arg]
                if rec.status == "LIVE":
                    self._pull(rec, "CANCELED_EXPIRED_ORDER")
            elif kind == "heartbeat":
                session = self.heartbeats.get(arg)
                if session is not None and now_ms - session.last_ms >= HEARTBEAT_TIMEOUT_MS:
                    del self.heartbeats[arg]
                    for rec in self.live_orders(arg):
                        self._pull(rec, "CANCELED")
            self.exchange.now_ms = max(saved, self.exchange.now_ms)

    def _schedule_settlement(self, trade: TradeRecord) -> None:
        s = self.settlement
        fails = s.fail > 0 and self.rng.random() < s.fail
        first, last = ("RETRYING", "FAILED") if fails else ("MINED", "CONFIRMED")
        self._timer(trade.match_ms + s.mined_ms, "settle", f"{trade.trade_id} {first}")
        self._timer(trade.match_ms + s.confirmed_ms, "settle", f"{trade.trade_id} {last}")

    def fail(self, trade: TradeRecord) -> bool:
        """Make a trade fail now (admin): its provisional moves are undone."""
        if trade.status in ("CONFIRMED", "FAILED"):
            return False
        self._settle(trade, "RETRYING")
        self._settle(trade, "FAILED")
        return True

    def _settle(self, trade: TradeRecord, status: str) -> None:
        if trade.status in ("CONFIRMED", "FAILED"):
            return  # already final (an admin failure beat the schedule)
        now = self.exchange.now_ms
        trade.status = status
        trade.updated_ms = now
        if status == "FAILED":
            for delta in trade.deltas:
                self._apply(self.accounts.wallet(delta[0]), delta, -1)
        for address in trade.parties:
            self._emit(address, trade.market, trade.event(address, now))

    # ---- the user channel ----------------------------------------------------------------

    def _emit(self, address: str, market: str, payload: dict) -> None:
        if address in self.owner_keys:
            return  # a leader trades through the UI: nobody listens on its user channel
        self.user_events.append(
            UserEvent(address, market, payload, self.exchange.now_ms + self.user_delay_ms)
        )

    def due_events(self, now_ms: int) -> list[UserEvent]:
        """User events whose (possibly delayed) time has come, in order."""
        due = [e for e in self.user_events if e.due_ms <= now_ms]
        if due:
            self.user_events = [e for e in self.user_events if e.due_ms > now_ms]
        return due
