"""The reconciler (architecture §6): the ledger's projections against what the venue says.

    reconciler = Reconciler(store, trader, data_api, address, clock, alert=...)
    report = await reconciler.run_once()     # on a schedule, and after every reconnect

Three comparisons, each on its own read, in this order:

1. **Trades** (``GET /data/trades``) against our fills. A trade of ours the ledger lacks is
   recorded (``FillRecorded``), a settlement it missed is recorded
   (``FillSettlementChanged``). A fill of ours the venue does not list, and does not know
   when asked by its trade id, is reversed (``FillSettlementChanged`` to ``FAILED``, which
   takes it out of the position), but only when two runs in a row found it so.
2. **Open orders** (``GET /data/orders``) against our open orders. An order open here but not
   there is looked up by id; a venue state the ledger missed is recorded (a correction when it
   moves an order out of a terminal state). An order open there that no intent of ours
   explains is recorded as the venue's and alerted. One the venue does not know at all is
   ``FAILED`` after two runs in a row.
3. **Positions** (Data API ``/positions``, dust included) against our positions. A difference
   that no recent fill explains (the Data API indexes fills late: ``data_lag_s``) and that two
   runs in a row found the same is corrected (``PositionCorrected``).

Every difference is written as a ``ReconciliationDiff`` (with its correction, in the same
write) and alerted. **An empty or failed venue answer never means "flat"**: a read that fails
concludes nothing for its part of the run, and anything that would remove or reverse what we
hold (a fill, an order, a position) needs the second, agreeing read, so one empty answer
changes nothing. Facts the ledger learnt while the venue was being read (changed after the
run's starting seq) are left to the next run, so a run never races the user channel.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from polytui.core import ledger_events as ev
from polytui.core.clock import Clock
from polytui.core.orders import (
    OPEN_ORDER_STATES,
    TERMINAL_ORDER_STATES,
    FillStatus,
    OrderState,
    fill_status_from_venue,
    state_from_venue,
)
from polytui.core.projections import FillView, OrderView, ReadModel
from polytui.engine.alerts import Alert, AlertSink, ignore
from polytui.engine.order_tracker.venue_events import order_event, trade_events
from polytui.protocol.wire import clob as w
from polytui.protocol.wire.errors import WireError
from polytui.store.errors import StoreError
from polytui.store.store import Store
from polytui.venue.data_api import DataApiClient
from polytui.venue.errors import VenueError
from polytui.venue.trading import ClobTrader

TOLERANCE = Decimal("0.000001")  # the Data API serves sizes as floats
_READ_ERRORS = (VenueError, WireError, RuntimeError)


@dataclass(slots=True)
class Part:
    """What one comparison of one run found."""

    checked: int = 0
    diffs: int = 0
    corrected: int = 0
    confirming: int = 0
    failed: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "diffs": self.diffs,
            "corrected": self.corrected,
            "confirming": self.confirming,
            "failed": self.failed,
        }


@dataclass(slots=True)
class Report:
    ref: str
    at_ms: int
    fills: Part = field(default_factory=Part)
    orders: Part = field(default_factory=Part)
    positions: Part = field(default_factory=Part)

    @property
    def diffs(self) -> int:
        return self.fills.diffs + self.orders.diffs + self.positions.diffs

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "at_ms": self.at_ms,
            "fills": self.fills.as_dict(),
            "orders": self.orders.as_dict(),
            "positions": self.positions.as_dict(),
        }


class Reconciler:
    def __init__(
        self,
        store: Store,
        trader: ClobTrader,
        data: DataApiClient,
        address: str,
        clock: Clock,
        *,
        data_lag_s: float = 30.0,
        alert: AlertSink = ignore,
    ) -> None:
        self._store = store
        self._trader = trader
        self._data = data
        self._address = address
        self._clock = clock
        self.data_lag_s = data_lag_s
        self._alert = alert
        self._alerted: set[tuple[str, str]] = set()
        self._runs = itertools.count(1)
        # What the previous run found that needs this run to agree before anything is done.
        self._missing_fills: set[str] = set()
        self._missing_orders: set[str] = set()
        self._position_drift: dict[str, tuple[Decimal, Decimal]] = {}
        self._moved: dict[str, tuple[int, float]] = {}  # asset -> (position seq, since)
        self.last: Report | None = None
        self.runs = 0
        self.corrections = 0

    async def run_once(self) -> Report:
        now = self._clock.now_ms()
        report = Report(f"rec:{now}:{next(self._runs)}", now)
        snapshot_seq = self._store.last_seq  # facts newer than this are the next run's
        await self._fills(report, snapshot_seq)
        await self._orders(report, snapshot_seq)
        await self._positions(report, snapshot_seq)
        self.last = report
        self.runs += 1
        return report

    def stats(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "corrections": self.corrections,
            "confirming": len(self._missing_fills)
            + len(self._missing_orders)
            + len(self._position_drift),
            "last": self.last.as_dict() if self.last else None,
        }

    # ---- trades -----------------------------------------------------------------------

    async def _fills(self, report: Report, snapshot_seq: int) -> None:
        part = report.fills
        try:
            trades = await self._trader.trades()
        except _READ_ERRORS as exc:
            part.failed = _reason(exc)
            return  # no conclusion
        model = self._store.model
        listed = {t.id for t in trades}
        for trade in trades:
            part.checked += 1
            for event in self._news_of(trade):
                await self._fill_news(report, event)
        seen_missing: set[str] = set()
        for fill in list(model.fills.values()):
            if fill.trade_id in listed or fill.status is FillStatus.FAILED:
                continue
            if fill.recorded_seq > snapshot_seq:
                continue  # recorded while we read: the next run looks at it
            part.checked += 1
            try:
                found = await self._trader.trades(trade_id=fill.trade_id)
            except _READ_ERRORS as exc:
                part.failed = _reason(exc)
                continue
            if found:  # the listing left it out, the lookup has it
                for trade in found:
                    for event in self._news_of(trade):
                        await self._fill_news(report, event)
                continue
            seen_missing.add(fill.key)
            if fill.key in self._missing_fills:
                await self._reverse(report, fill)
            else:
                part.confirming += 1
        failed = {k for k, f in self._store.model.fills.items() if f.status is FillStatus.FAILED}
        self._missing_fills = seen_missing - failed

    def _news_of(self, trade: w.Trade) -> list[ev.LedgerEvent]:
        """What the ledger lacks of one venue trade (new fills of ours, settlement moves)."""
        status = fill_status_from_venue(trade.status)
        if status is None:
            return []  # the tracker alerts on statuses it does not know
        model = self._store.model
        return trade_events(trade, _ours(model), model.fills.get, status)

    async def _fill_news(self, report: Report, event: ev.LedgerEvent) -> None:
        part = report.fills
        part.diffs += 1
        part.corrected += 1
        if isinstance(event, ev.FillRecorded):
            key, what, action = event.trade_id, "missing", "recorded"
            venue = f"{event.side} {event.size} @ {event.price} {event.status}"
            self._raise(
                Alert("fill_missing", key, f"trade {key} was not in the ledger: {venue} recorded")
            )
        else:
            assert isinstance(event, ev.FillSettlementChanged)
            key, what, action, venue = event.trade_id, "behind", "settled", str(event.status)
        diff = ev.ReconciliationDiff(
            ref=report.ref, subject="fill", key=f"{key}:{event.order_id}", ours=what,
            venue=venue, action=action,
        )  # fmt: skip
        await self._write([event, diff])

    async def _reverse(self, report: Report, fill: FillView) -> None:
        part = report.fills
        part.diffs += 1
        part.corrected += 1
        self._raise(
            Alert(
                "fill_unknown_at_venue",
                fill.key,
                f"fill {fill.key} ({fill.side} {fill.size}) is unknown at the venue: reversed",
            )
        )
        await self._write(
            [
                ev.FillSettlementChanged(
                    trade_id=fill.trade_id, order_id=fill.order_id, status=FillStatus.FAILED
                ),
                ev.ReconciliationDiff(
                    ref=report.ref,
                    subject="fill",
                    key=fill.key,
                    ours=str(fill.status),
                    venue="unknown",
                    action="reversed",
                ),
            ]
        )

    # ---- open orders ------------------------------------------------------------------

    async def _orders(self, report: Report, snapshot_seq: int) -> None:
        part = report.orders
        try:
            venue_open = await self._trader.open_orders()
        except _READ_ERRORS as exc:
            part.failed = _reason(exc)
            return
        model = self._store.model
        open_there = {o.id: o for o in venue_open}
        for order in venue_open:
            part.checked += 1
            current = model.order(order.id)
            if current is None:
                await self._foreign(report, order)
            elif current.updated_seq <= snapshot_seq:
                await self._order_news(report, order, current)
        seen_missing: set[str] = set()
        for current in list(model.orders.values()):
            if current.state not in OPEN_ORDER_STATES or not current.order_id:
                continue
            if current.order_id in open_there or current.updated_seq > snapshot_seq:
                continue
            part.checked += 1
            try:
                found = await self._trader.order(current.order_id)
            except _READ_ERRORS as exc:
                part.failed = _reason(exc)
                continue
            if found is not None:
                await self._order_news(report, found, current)
                continue
            seen_missing.add(current.order_id)
            if current.order_id in self._missing_orders:
                await self._order_gone(report, current)
            else:
                part.confirming += 1
        self._missing_orders = seen_missing

    async def _foreign(self, report: Report, order: w.OpenOrder) -> None:
        part = report.orders
        part.diffs += 1
        part.corrected += 1
        self._raise(
            Alert(
                "foreign_order",
                order.id,
                f"order {order.id} ({order.side} {order.original_size} @ {order.price}) is open "
                "at the venue and no intent of ours explains it",
            )
        )
        state = state_from_venue(order.status, order.size_matched, order.original_size)
        await self._write(
            [
                ev.OrderStateChanged(
                    order_id=order.id,
                    state=state if state is not OrderState.UNKNOWN else OrderState.LIVE,
                    size_matched=order.size_matched,
                    venue_status=order.status,
                    source="reconciler",
                    reason="open at the venue, not from an intent of ours",
                    correction=True,
                    ref=report.ref,
                ),
                _diff(report, "order", order.id, "none", order.status, "recorded"),
            ]
        )

    async def _order_news(self, report: Report, order: w.OpenOrder, current: OrderView) -> None:
        """Record what the venue knows about one of ours that the ledger missed."""
        change = order_event(order, current, "reconciler")
        if change is None and current.state in TERMINAL_ORDER_STATES:
            state = state_from_venue(order.status, order.size_matched, current.size or Decimal(0))
            if state is not OrderState.UNKNOWN and state != current.state:
                change = ev.OrderStateChanged(
                    order_id=order.id,
                    state=state,
                    size_matched=order.size_matched,
                    venue_status=order.status,
                    source="reconciler",
                    reason=f"the venue says {order.status}",
                    correction=True,
                    ref=report.ref,
                )
        if change is None:
            return
        part = report.orders
        part.diffs += 1
        part.corrected += 1
        if change.correction:
            self._raise(
                Alert(
                    "order_drift",
                    order.id,
                    f"order {order.id} is {current.state} here, {order.status} at the venue",
                )
            )
        diff = _diff(report, "order", order.id, str(current.state), order.status, "updated")
        await self._write([change, diff])

    async def _order_gone(self, report: Report, current: OrderView) -> None:
        part = report.orders
        part.diffs += 1
        part.corrected += 1
        self._raise(
            Alert(
                "order_unknown_at_venue",
                current.order_id,
                f"order {current.order_id} is {current.state} here and unknown at the venue",
            )
        )
        await self._write(
            [
                ev.OrderStateChanged(
                    order_id=current.order_id,
                    state=OrderState.FAILED,
                    source="reconciler",
                    reason="unknown at the venue (two reads)",
                    correction=True,
                    ref=report.ref,
                ),
                _diff(report, "order", current.order_id, str(current.state), "unknown", "failed"),
            ]
        )

    # ---- positions ----------------------------------------------------------------------

    async def _positions(self, report: Report, snapshot_seq: int) -> None:
        part = report.positions
        try:
            rows = [p async for p in self._data.all_positions(self._address)]
        except _READ_ERRORS as exc:
            part.failed = _reason(exc)
            return
        model = self._store.model
        venue: dict[str, Decimal] = {}
        venue_avg: dict[str, Decimal] = {}
        markets: dict[str, str] = {}
        for row in rows:
            venue[row.asset] = venue.get(row.asset, Decimal(0)) + row.size
            if row.avg_price is not None:
                venue_avg[row.asset] = row.avg_price
            markets[row.asset] = row.condition_id
        drift: dict[str, tuple[Decimal, Decimal]] = {}
        assets = sorted(set(venue) | {a for a, p in model.positions.items() if p.size})
        for asset in assets:
            position = model.positions.get(asset)
            ours = position.size if position is not None else Decimal(0)
            theirs = venue.get(asset, Decimal(0))
            part.checked += 1
            if abs(ours - theirs) <= TOLERANCE:
                continue
            if position is not None and position.updated_seq > snapshot_seq:
                continue  # moved while we read: next run
            if self._recently_moved(asset, position.updated_seq if position else 0):
                continue  # the Data API may not have indexed the newest fill yet
            drift[asset] = (ours, theirs)
            if self._position_drift.get(asset) != (ours, theirs):
                part.confirming += 1
                continue
            part.diffs += 1
            part.corrected += 1
            price = venue_avg.get(asset) or (position.avg_cost if position else Decimal(0))
            self._raise(
                Alert(
                    "position_drift",
                    asset,
                    f"position {asset}: {ours} here, {theirs} at the venue (two reads): corrected",
                )
            )
            await self._write(
                [
                    ev.PositionCorrected(
                        ref=report.ref,
                        asset_id=asset,
                        market=markets.get(asset, position.market if position else ""),
                        delta=theirs - ours,
                        venue_size=theirs,
                        price=price,
                        reason="the Data API holds it so, two reads in a row",
                    ),
                    _diff(report, "position", asset, str(ours), str(theirs), "corrected"),
                ]
            )
            del drift[asset]
        self._position_drift = drift

    # ---- helpers ------------------------------------------------------------------------

    def _recently_moved(self, asset: str, seq: int) -> bool:
        """Whether the asset's position changed (or was first seen) less than ``data_lag_s``
        of engine time ago: the Data API indexes fills late."""
        now = self._clock.monotonic()
        seen = self._moved.get(asset)
        if seen is None or seen[0] != seq:
            self._moved[asset] = (seq, now)
            return True
        return now - seen[1] < self.data_lag_s

    async def _write(self, events: list[ev.LedgerEvent]) -> None:
        try:
            await self._store.append_many(events)
        except StoreError as exc:
            self._raise(Alert("reconciler_write", type(exc).__name__, str(exc)))
            raise
        self.corrections += 1

    def _raise(self, alert: Alert) -> None:
        if (alert.kind, alert.key) in self._alerted:
            return
        self._alerted.add((alert.kind, alert.key))
        self._alert(alert)


def _diff(
    report: Report, subject: str, key: str, ours: str, venue: str, action: str
) -> ev.ReconciliationDiff:
    return ev.ReconciliationDiff(
        ref=report.ref,
        subject=subject,  # type: ignore[arg-type]
        key=key,
        ours=ours,
        venue=venue,
        action=action,
    )


def _ours(model: ReadModel) -> Callable[[str], bool]:
    return lambda order_id: model.order(order_id) is not None


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
