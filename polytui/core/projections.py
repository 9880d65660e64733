"""Projections: orders, fills, positions, PnL and the kill switch, folded from ledger records.

The ledger is the truth and everything here is derived from it, deterministically: the
running store applies each record as it commits, ``polytui ledger rebuild`` folds the whole
ledger from seq 1, and both run this one code path over the same records in the same order,
so both end with the same state to the last digit.

``Projector.apply`` folds one record and returns the ``Changes`` it made (new versions of the
views it touched, all frozen). The store writes those rows in the same transaction as the
event, and hands the same ``Changes`` to the event loop side, which merges them into its own
``ReadModel``: the writer thread and the readers never share a mutable object.

Positions use average cost. A fill counts at once (provisionally); ``settled`` is what the
``CONFIRMED`` fills add up to, ``pending`` what buys not confirmed yet add, and ``sellable``
what can be sold now (confirmed shares less every sale not failed). A fill that settles
``FAILED`` is taken out: that asset's position is folded again from its remaining fills, as if
the fill never was.

Moves the state machines forbid (``polytui.core.orders``) and events about things never
seen are not errors here (the ledger holds what happened, and a projection must never refuse
to load it): they are ignored and counted as anomalies, with a note, for the reconciler and
for people.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

import msgspec

from polytui.core import ledger_events as ev
from polytui.core.orders import (
    TERMINAL_ORDER_STATES,
    FillStatus,
    OrderState,
    can_move,
    can_settle,
    state_from_venue,
)

ZERO = Decimal(0)
_CTX = Context(prec=34, rounding=ROUND_HALF_EVEN)
"""All arithmetic here runs in this context, never the thread's: the writer thread, the
event loop and a rebuild must round alike."""
MAX_NOTES = 20


class OrderView(msgspec.Struct, frozen=True):
    """One order as the ledger knows it. ``key`` is ``intent_id`` for our orders, or
    ``venue:<order_id>`` for one the venue reported that no intent of ours explains."""

    key: str
    intent_id: str
    order_id: str
    strategy: str
    market: str
    asset_id: str
    side: str
    price: Decimal | None
    size: Decimal | None
    order_type: str
    state: OrderState
    size_matched: Decimal
    venue_status: str
    reason: str
    created_seq: int
    updated_seq: int
    updated_ts_ms: int


class FillView(msgspec.Struct, frozen=True):
    trade_id: str
    order_id: str
    market: str
    asset_id: str
    side: str
    price: Decimal
    size: Decimal
    fee: Decimal
    status: FillStatus
    role: str
    match_time_ms: int | None
    tx_hash: str
    recorded_seq: int
    updated_seq: int

    @property
    def key(self) -> str:
        return fill_key(self.trade_id, self.order_id)


class PositionView(msgspec.Struct, frozen=True):
    asset_id: str
    market: str
    size: Decimal
    """Net shares, provisional fills included."""
    settled: Decimal
    """Net shares of ``CONFIRMED`` fills."""
    selling: Decimal
    """Shares of sales not confirmed yet: held on chain still, but spoken for."""
    avg_cost: Decimal
    realised: Decimal
    """Closed PnL in pUSD, net of fees."""
    fees: Decimal
    bought: Decimal
    sold: Decimal
    fills: int
    """Fills counted (failed ones are not)."""
    updated_seq: int

    @property
    def pending(self) -> Decimal:
        """Shares bought by fills not confirmed yet: held once they settle, not sellable
        before. Never negative (a sale not confirmed yet is in ``selling``), so that
        ``size == sellable + pending`` while no more is being sold than is settled."""
        return self.size - self.settled + self.selling

    @property
    def sellable(self) -> Decimal:
        """Shares that can be sold now: confirmed, less what is already being sold."""
        return max(ZERO, self.settled - self.selling)

    def unrealised(self, mark: Decimal) -> Decimal:
        return self.size * (mark - self.avg_cost) if self.size else ZERO


class PnlSnapshotView(msgspec.Struct, frozen=True):
    seq: int
    at_ms: int
    realised: Decimal
    unrealised: Decimal
    marks: dict[str, Decimal]
    """Every mark known at that point (this snapshot's over earlier ones)."""
    unmarked: tuple[str, ...]
    """Assets held without a mark: left out of ``unrealised``."""


class KillSwitchView(msgspec.Struct, frozen=True):
    engaged: bool = False
    ref: str = ""
    reason: str = ""
    source: str = ""
    since_seq: int = 0
    since_ts_ms: int = 0


class LedgerStats(msgspec.Struct, frozen=True):
    events: int = 0
    last_seq: int = 0
    last_ts_ms: int = 0
    risk_rejections: dict[str, int] = {}
    """By gate."""
    reconciliation_diffs: int = 0
    anomalies: int = 0
    notes: tuple[str, ...] = ()
    """The latest anomalies (at most ``MAX_NOTES``), each naming its seq."""


class Changes(msgspec.Struct, frozen=True):
    """What one or more records changed: the new version of each view they touched."""

    orders: tuple[OrderView, ...] = ()
    fills: tuple[FillView, ...] = ()
    positions: tuple[PositionView, ...] = ()
    pnl_snapshots: tuple[PnlSnapshotView, ...] = ()
    marks: dict[str, Decimal] = {}
    kill_switch: KillSwitchView | None = None
    halts: dict[str, int] = {}
    stats: LedgerStats | None = None


def fill_key(trade_id: str, order_id: str) -> str:
    return f"{trade_id}:{order_id}"


@dataclass
class ReadModel:
    """The projections, for reading: plain dicts of frozen views."""

    orders: dict[str, OrderView] = field(default_factory=dict)
    open_orders: dict[str, OrderView] = field(default_factory=dict)
    """The orders without a terminal outcome yet (a subset of ``orders``, kept as they move):
    what the risk engine and the heartbeat read on every decision, without a scan."""
    fills: dict[str, FillView] = field(default_factory=dict)
    positions: dict[str, PositionView] = field(default_factory=dict)
    pnl_snapshots: list[PnlSnapshotView] = field(default_factory=list)
    marks: dict[str, Decimal] = field(default_factory=dict)
    kill_switch: KillSwitchView = field(default_factory=KillSwitchView)
    halts: dict[str, int] = field(default_factory=dict)
    """Strategy -> until when the daily loss cap halts its new exposure (epoch ms)."""
    stats: LedgerStats = field(default_factory=LedgerStats)
    resting_buys: dict[str, Decimal] = field(default_factory=dict)
    """Market -> USDC our open buys still hold (unmatched size x price), kept as orders move."""
    resting_sells: dict[str, Decimal] = field(default_factory=dict)
    """Asset -> shares our open sells still hold."""
    _by_order_id: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def merge(self, changes: Changes) -> None:
        for order in changes.orders:
            self.orders[order.key] = order
            before = self.open_orders.get(order.key)
            if before is not None:
                self._hold(before, -1)
            if order.state in TERMINAL_ORDER_STATES:
                self.open_orders.pop(order.key, None)
            else:
                self.open_orders[order.key] = order
                self._hold(order, 1)
            if order.order_id:
                self._by_order_id[order.order_id] = order.key
        for fill in changes.fills:
            self.fills[fill.key] = fill
        for position in changes.positions:
            self.positions[position.asset_id] = position
        self.pnl_snapshots.extend(changes.pnl_snapshots)
        self.marks.update(changes.marks)
        if changes.kill_switch is not None:
            self.kill_switch = changes.kill_switch
        for strategy, until in changes.halts.items():
            self.halts[strategy] = max(until, self.halts.get(strategy, 0))
        if changes.stats is not None:
            self.stats = changes.stats

    def _hold(self, order: OrderView, sign: int) -> None:
        """Add (1) or take away (-1) what one open order holds."""
        if order.size is None or order.price is None:
            return
        rest = order.size - order.size_matched
        if rest <= 0:
            return
        if order.side == "BUY":
            book, key, amount = self.resting_buys, order.market, rest * order.price
        else:
            book, key, amount = self.resting_sells, order.asset_id, rest
        total = book.get(key, Decimal(0)) + sign * amount
        if total:
            book[key] = total
        else:
            book.pop(key, None)

    def order(self, order_id: str) -> OrderView | None:
        """The order with this venue id, if the ledger knows it."""
        key = self._by_order_id.get(order_id)
        return self.orders.get(key) if key is not None else None

    def unresolved_orders(self) -> list[OrderView]:
        """Orders without a terminal outcome, oldest first: what a restart must settle with
        the venue (by order id, never by sending again)."""
        return sorted(self.open_orders.values(), key=lambda o: o.created_seq)

    def realised(self) -> Decimal:
        return _total(p.realised for _, p in sorted(self.positions.items()))

    def fees(self) -> Decimal:
        return _total(p.fees for _, p in sorted(self.positions.items()))

    def unrealised(self, marks: dict[str, Decimal] | None = None) -> tuple[Decimal, list[str]]:
        """Unrealised PnL at ``marks`` (default: the latest mark of each asset in the ledger's
        PnL snapshots), and the assets held that have no mark."""
        return unrealised_at(self.positions.values(), self.marks if marks is None else marks)


def _total(values) -> Decimal:  # type: ignore[no-untyped-def]
    """A sum in the projections' context, in the order given (callers sort: rounding makes
    a sum of Decimals depend on its order)."""
    with localcontext(_CTX):
        return sum(values, ZERO)


def unrealised_at(positions, marks: dict[str, Decimal]) -> tuple[Decimal, list[str]]:  # type: ignore[no-untyped-def]
    total = ZERO
    unmarked = []
    with localcontext(_CTX):
        for p in sorted(positions, key=lambda p: p.asset_id):
            if not p.size:
                continue
            mark = marks.get(p.asset_id)
            if mark is None:
                unmarked.append(p.asset_id)
            else:
                total += p.unrealised(mark)
    return total, unmarked


class _Position:
    """Running average-cost state of one asset."""

    __slots__ = (
        "market",
        "size",
        "settled",
        "selling",
        "avg_cost",
        "realised",
        "fees",
        "bought",
        "sold",
    )

    def __init__(self, market: str) -> None:
        self.market = market
        self.size = ZERO
        self.settled = ZERO
        self.selling = ZERO
        self.avg_cost = ZERO
        self.realised = ZERO
        self.fees = ZERO
        self.bought = ZERO
        self.sold = ZERO

    def add(self, fill: FillView) -> None:
        signed = fill.size if fill.side == "BUY" else -fill.size
        if fill.side == "BUY":
            self.bought += fill.size
        else:
            self.sold += fill.size
        self.fees += fill.fee
        self.realised -= fill.fee
        if fill.status is FillStatus.CONFIRMED:
            self.settled += signed
        elif fill.side == "SELL":
            self.selling += fill.size
        q = self.size
        if not q or (q > 0) == (signed > 0):  # opening or adding
            held = abs(q)
            self.avg_cost = (held * self.avg_cost + fill.size * fill.price) / (held + fill.size)
            self.size = q + signed
            return
        closing = min(abs(q), fill.size)
        direction = 1 if q > 0 else -1
        self.realised += closing * (fill.price - self.avg_cost) * direction
        self.size = q + signed
        if not self.size:
            self.avg_cost = ZERO
        elif (self.size > 0) != (q > 0):  # flipped: the rest opens at this price
            self.avg_cost = fill.price

    def adjust(self, delta: Decimal, price: Decimal) -> None:
        """A reconciler's correction: ``delta`` settled shares appear (at ``price``) or
        vanish (at the average cost: nothing is realised, they were not sold here)."""
        if not delta:
            return
        q = self.size
        self.settled += delta
        if not q or (q > 0) == (delta > 0):
            held, added = abs(q), abs(delta)
            self.avg_cost = (held * self.avg_cost + added * price) / (held + added)
            self.size = q + delta
            return
        self.size = q + delta
        if not self.size:
            self.avg_cost = ZERO
        elif (self.size > 0) != (q > 0):
            self.avg_cost = price

    def view(self, asset_id: str, fills: int, seq: int) -> PositionView:
        return PositionView(
            asset_id=asset_id,
            market=self.market,
            size=self.size,
            settled=self.settled,
            selling=self.selling,
            avg_cost=self.avg_cost,
            realised=self.realised,
            fees=self.fees,
            bought=self.bought,
            sold=self.sold,
            fills=fills,
            updated_seq=seq,
        )


class Projector:
    """Folds ledger records, in seq order, into a ``ReadModel`` (``self.model``)."""

    def __init__(self) -> None:
        self.model = ReadModel()
        self._positions: dict[str, _Position] = {}
        self._asset_fills: dict[str, list[str]] = {}  # fill keys and correction keys, in order
        self._corrections: dict[str, ev.PositionCorrected] = {}
        self._counts: Counter[str] = Counter()  # fills per asset that did not fail
        self._risk: Counter[str] = Counter()
        self._notes: deque[str] = deque(maxlen=MAX_NOTES)
        self._anomalies = 0
        self._diffs = 0
        self._events = 0
        self._last_seq = 0
        self._last_ts_ms = 0

    # ---- entry points --------------------------------------------------------------------

    def apply(self, record: ev.LedgerRecord) -> Changes:
        """Fold one record; the returned ``Changes`` are already merged into ``self.model``."""
        changes = self._apply_one(record)
        stats = self._stats()
        self.model.stats = stats
        return msgspec.structs.replace(changes, stats=stats)

    def apply_all(self, records) -> Changes:  # type: ignore[no-untyped-def]
        """Fold several records; one ``Changes`` for all of them (the latest version of each
        view touched)."""
        orders: dict[str, OrderView] = {}
        fills: dict[str, FillView] = {}
        positions: dict[str, PositionView] = {}
        snapshots: list[PnlSnapshotView] = []
        marks: dict[str, Decimal] = {}
        halts: dict[str, int] = {}
        kill_switch = None
        for record in records:
            c = self._apply_one(record)
            for strategy, until in c.halts.items():
                halts[strategy] = max(until, halts.get(strategy, 0))
            for o in c.orders:
                orders[o.key] = o
            for f in c.fills:
                fills[f.key] = f
            for p in c.positions:
                positions[p.asset_id] = p
            if c.pnl_snapshots:
                snapshots.extend(c.pnl_snapshots)
                marks.update(c.marks)
            kill_switch = c.kill_switch or kill_switch
        stats = self._stats()
        self.model.stats = stats
        return Changes(
            orders=tuple(orders.values()),
            fills=tuple(fills.values()),
            positions=tuple(positions.values()),
            pnl_snapshots=tuple(snapshots),
            marks=marks,
            kill_switch=kill_switch,
            halts=halts,
            stats=stats,
        )

    def _apply_one(self, record: ev.LedgerRecord) -> Changes:
        if record.seq <= self._last_seq:
            raise ValueError(f"record seq {record.seq} after seq {self._last_seq}: out of order")
        with localcontext(_CTX):
            changes = self._fold(record)
        self._events += 1
        self._last_seq = record.seq
        self._last_ts_ms = record.ts_ms
        self.model.merge(changes)
        return changes

    def _stats(self) -> LedgerStats:
        return LedgerStats(
            events=self._events,
            last_seq=self._last_seq,
            last_ts_ms=self._last_ts_ms,
            risk_rejections=dict(sorted(self._risk.items())),
            reconciliation_diffs=self._diffs,
            anomalies=self._anomalies,
            notes=tuple(self._notes),
        )

    # ---- one record ----------------------------------------------------------------------

    def _fold(self, record: ev.LedgerRecord) -> Changes:
        e = record.event
        match e:
            case ev.IntentRecorded():
                return self._intent(record, e)
            case ev.OrderSigned():
                return self._order_move(record, e.order_id, OrderState.SIGNED, signed=e)
            case ev.OrderSubmitted():
                return self._order_move(record, e.order_id, OrderState.SUBMITTED)
            case ev.OrderAcked():
                return self._ack(record, e)
            case ev.OrderStateChanged():
                return self._order_move(
                    record,
                    e.order_id,
                    e.state,
                    size_matched=e.size_matched,
                    venue_status=e.venue_status,
                    reason=e.reason,
                    correction=e.correction,
                )
            case ev.FillRecorded():
                return self._fill(record, e)
            case ev.FillSettlementChanged():
                return self._settle(record, e)
            case ev.KillSwitchEngaged() | ev.KillSwitchReleased():
                return self._kill_switch(record, e)
            case ev.ReconciliationDiff():
                self._diffs += 1
                return Changes()
            case ev.PositionCorrected():
                return self._correct(record, e)
            case ev.RiskRejected():
                return self._rejected(e)
            case ev.PnlSnapshot():
                return self._pnl(record, e)
        raise TypeError(f"no projection for {type(e).__name__}")  # pragma: no cover

    def _rejected(self, e: ev.RiskRejected) -> Changes:
        self._risk[e.gate] += 1
        if e.halt_until_ms is not None:  # the daily loss cap: the strategy halts until then
            return Changes(halts={e.strategy: e.halt_until_ms})
        return Changes()

    def _kill_switch(
        self, record: ev.LedgerRecord, e: ev.KillSwitchEngaged | ev.KillSwitchReleased
    ) -> Changes:
        if isinstance(e, ev.KillSwitchEngaged):
            ks = KillSwitchView(True, e.ref, e.reason, e.source, record.seq, record.ts_ms)
            return Changes(kill_switch=ks)
        if not self.model.kill_switch.engaged:
            self._note(record, "kill switch released while not engaged")
        ks = KillSwitchView(False, e.ref, "", e.source, record.seq, record.ts_ms)
        return Changes(kill_switch=ks)

    def _note(self, record: ev.LedgerRecord, text: str) -> None:
        self._anomalies += 1
        self._notes.append(f"seq {record.seq} ({record.kind}): {text}")

    def _intent(self, record: ev.LedgerRecord, e: ev.IntentRecorded) -> Changes:
        if e.intent_id in self.model.orders:
            self._note(record, f"intent {e.intent_id} recorded again")
            return Changes()
        view = OrderView(
            key=e.intent_id,
            intent_id=e.intent_id,
            order_id="",
            strategy=e.strategy,
            market=e.market,
            asset_id=e.asset_id,
            side=e.side,
            price=e.price,
            size=e.size,
            order_type=e.order_type,
            state=OrderState.INTENDED,
            size_matched=ZERO,
            venue_status="",
            reason=e.reason,
            created_seq=record.seq,
            updated_seq=record.seq,
            updated_ts_ms=record.ts_ms,
        )
        return Changes(orders=(view,))

    def _ack(self, record: ev.LedgerRecord, e: ev.OrderAcked) -> Changes:
        if not e.accepted:
            return self._order_move(
                record,
                e.order_id,
                OrderState.REJECTED,
                venue_status=e.venue_status,
                reason=e.error,
            )
        current = self.model.order(e.order_id)
        size = current.size if current is not None and current.size is not None else ZERO
        state = state_from_venue(e.venue_status, e.size_matched, size)
        return self._order_move(
            record, e.order_id, state, size_matched=e.size_matched, venue_status=e.venue_status
        )

    def _order_move(
        self,
        record: ev.LedgerRecord,
        order_id: str,
        state: OrderState,
        *,
        signed: ev.OrderSigned | None = None,
        size_matched: Decimal | None = None,
        venue_status: str = "",
        reason: str = "",
        correction: bool = False,
    ) -> Changes:
        if signed is not None:
            current = self.model.orders.get(signed.intent_id)
            if current is None:
                self._note(record, f"order {order_id} signed for unknown intent {signed.intent_id}")
                return Changes()
            if current.order_id and current.order_id != order_id:
                self._note(record, f"intent {signed.intent_id} signed twice")
                return Changes()
        else:
            current = self.model.order(order_id)
        if current is None:
            # An order we never intended: the venue (or the reconciler) says it exists.
            current = OrderView(
                key=f"venue:{order_id}",
                intent_id="",
                order_id=order_id,
                strategy="",
                market="",
                asset_id="",
                side="",
                price=None,
                size=None,
                order_type="",
                state=state,
                size_matched=ZERO,
                venue_status="",
                reason="",
                created_seq=record.seq,
                updated_seq=record.seq,
                updated_ts_ms=record.ts_ms,
            )
            self._note(record, f"order {order_id} not from an intent of ours")
        elif not correction and current.state != state and not can_move(current.state, state):
            self._note(record, f"order {order_id}: {current.state} -> {state} ignored")
            return Changes()
        view = msgspec.structs.replace(
            current,
            order_id=order_id,
            state=state,
            size_matched=current.size_matched if size_matched is None else size_matched,
            venue_status=venue_status or current.venue_status,
            reason=reason or current.reason,
            updated_seq=record.seq,
            updated_ts_ms=record.ts_ms,
        )
        return Changes(orders=(view,))

    def _fill(self, record: ev.LedgerRecord, e: ev.FillRecorded) -> Changes:
        key = fill_key(e.trade_id, e.order_id)
        if key in self.model.fills:
            self._note(record, f"fill {key} recorded again")
            return Changes()
        fill = FillView(
            trade_id=e.trade_id,
            order_id=e.order_id,
            market=e.market,
            asset_id=e.asset_id,
            side=e.side,
            price=e.price,
            size=e.size,
            fee=e.fee,
            status=e.status,
            role=e.role,
            match_time_ms=e.match_time_ms,
            tx_hash=e.tx_hash,
            recorded_seq=record.seq,
            updated_seq=record.seq,
        )
        self.model.fills[key] = fill  # the position fold below reads it
        self._asset_fills.setdefault(e.asset_id, []).append(key)
        if fill.status is FillStatus.FAILED:
            position = self._refold(e.asset_id, e.market, record.seq)
        else:
            acc = self._positions.setdefault(e.asset_id, _Position(e.market))
            acc.add(fill)
            self._counts[e.asset_id] += 1
            position = acc.view(e.asset_id, self._counts[e.asset_id], record.seq)
        return Changes(fills=(fill,), positions=(position,))

    def _settle(self, record: ev.LedgerRecord, e: ev.FillSettlementChanged) -> Changes:
        key = fill_key(e.trade_id, e.order_id)
        fill = self.model.fills.get(key)
        if fill is None:
            self._note(record, f"settlement of unknown fill {key}")
            return Changes()
        if not can_settle(fill.status, e.status):
            self._note(record, f"fill {key}: {fill.status} -> {e.status} ignored")
            return Changes()
        new = msgspec.structs.replace(
            fill, status=e.status, tx_hash=e.tx_hash or fill.tx_hash, updated_seq=record.seq
        )
        self.model.fills[key] = new
        if e.status is FillStatus.FAILED:
            position = self._refold(fill.asset_id, fill.market, record.seq)
        else:
            acc = self._positions[fill.asset_id]
            if e.status is FillStatus.CONFIRMED:
                acc.settled += fill.size if fill.side == "BUY" else -fill.size
                if fill.side == "SELL":
                    acc.selling -= fill.size
            position = acc.view(fill.asset_id, self._counts[fill.asset_id], record.seq)
        return Changes(fills=(new,), positions=(position,))

    def _correct(self, record: ev.LedgerRecord, e: ev.PositionCorrected) -> Changes:
        key = f"correction:{record.seq}"
        self._corrections[key] = e
        self._asset_fills.setdefault(e.asset_id, []).append(key)
        current = self._positions.get(e.asset_id)
        acc = self._positions.setdefault(
            e.asset_id, _Position(e.market or (current.market if current else ""))
        )
        acc.adjust(e.delta, e.price)
        return Changes(positions=(acc.view(e.asset_id, self._counts[e.asset_id], record.seq),))

    def _refold(self, asset_id: str, market: str, seq: int) -> PositionView:
        """The asset's position from its fills that did not fail (and the reconciler's
        corrections), in the order recorded."""
        acc = _Position(market)
        counted = 0
        for k in self._asset_fills.get(asset_id, ()):
            correction = self._corrections.get(k)
            if correction is not None:
                acc.adjust(correction.delta, correction.price)
                continue
            fill = self.model.fills[k]
            if fill.status is not FillStatus.FAILED:
                acc.add(fill)
                counted += 1
        self._positions[asset_id] = acc
        self._counts[asset_id] = counted
        return acc.view(asset_id, counted, seq)

    def _pnl(self, record: ev.LedgerRecord, e: ev.PnlSnapshot) -> Changes:
        marks = {**self.model.marks, **e.marks}
        unrealised, unmarked = unrealised_at(self.model.positions.values(), marks)
        snap = PnlSnapshotView(
            seq=record.seq,
            at_ms=e.at_ms,
            realised=self.model.realised(),
            unrealised=unrealised,
            marks=dict(sorted(marks.items())),
            unmarked=tuple(unmarked),
        )
        return Changes(pnl_snapshots=(snap,), marks=dict(e.marks))


def fold(records) -> Projector:  # type: ignore[no-untyped-def]
    """A projector that has folded ``records`` (in seq order) from nothing."""
    projector = Projector()
    for record in records:
        projector._apply_one(record)
    projector.model.stats = projector._stats()
    return projector
