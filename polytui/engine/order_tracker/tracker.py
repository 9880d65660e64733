"""The order tracker: intents become signed, persisted, posted and tracked orders.

    tracker = OrderTracker(store, trader, signer, clock)
    await tracker.start()                    # restart safety: settle what the ledger left open
    view = await tracker.submit(intent)      # OrderIntent -> OrderView (state in the ledger)
    sink = tracker.user_event                # feed it the user channel's events
    await tracker.sync()                     # REST truth, after every reconnect

**Persist, then post.** An intent and its signed order (whose id, the EIP-712 digest, is
known before sending; ``metadata`` = hash of the intent id) are written to the ledger in one
durable write before the POST. After a crash the order is found again by that id: on
``start()`` every order without a terminal outcome is looked up at the venue (``GET
/data/order/<id>``), never re-sent. One the venue does not have ``lost_after_s`` after it was
signed never reached it: ``FAILED``.

**One intent, one order.** Submitting an intent id the ledger already has returns that
order as it is; nothing is signed or sent again.

**Ambiguous POSTs.** ``ClobTrader`` already looks an order up after a POST without a clear
answer; when even that cannot settle it, the order is ``UNKNOWN`` until a lookup
(``resolve()``, ``sync()``) finds it or finds that the venue never had it.

**Tracking.** User-channel ``order`` events move order states; ``trade`` events record fills
(taker and maker side) and their settlement (``MATCHED → MINED → CONFIRMED``, or ``FAILED``,
which the projections reverse). ``GET /data/orders``/``/data/order``/``/data/trades`` are
the truth on start and after reconnects (``sync()``). Each fact has a natural event id, so
the channel and REST reporting the same one store it once.

**Timeouts** (``check_timeouts()``, called by the engine's scheduler): an order ``UNKNOWN``
too long, a fill stuck at ``MATCHED``; each raises an ``Alert`` once. A POST with no answer
is the HTTP client's timeout, which makes it ambiguous (above).

**Partial fills**: per strategy, ``LEAVE`` the rest working or ``CANCEL_REST``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from polytui.core import ledger_events as ev
from polytui.core.clock import Clock
from polytui.core.orders import (
    OPEN_ORDER_STATES,
    FillStatus,
    OrderState,
    fill_status_from_venue,
)
from polytui.core.projections import OrderView
from polytui.engine.order_tracker.venue_events import order_event, trade_events
from polytui.protocol.amounts import Side, limit_order_amounts
from polytui.protocol.signing import (
    Exchange,
    OrderSigner,
    OrderType,
    SignedOrder,
    intent_metadata,
    official_salt,
)
from polytui.protocol.wire.user_ws import OrderEvent, TradeEvent
from polytui.store.store import Store
from polytui.venue.errors import OrderOutcomeUnknown, VenueError
from polytui.venue.trading import MAX_BATCH, ClobTrader, OrderAck, OrderRequest

_BEFORE_VENUE = frozenset({OrderState.SIGNED, OrderState.SUBMITTED, OrderState.UNKNOWN})
_ONE_SHOT = frozenset({OrderType.FOK, OrderType.FAK})


class PartialPolicy(StrEnum):
    LEAVE = "leave"
    CANCEL_REST = "cancel_rest"


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What a strategy wants, sized and approved by risk. ``intent_id`` must be derived from
    the cause (a leader's trade, a signal), so the same cause always gives the same id."""

    intent_id: str
    strategy: str
    market: str
    """Condition id."""
    asset_id: str
    side: str
    """``BUY`` or ``SELL``."""
    price: Decimal
    size: Decimal
    tick: Decimal
    order_type: OrderType = OrderType.GTC
    neg_risk: bool = False
    expiration_s: int = 0
    post_only: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TrackerTimeouts:
    unknown_s: float = 30.0
    """An order ``UNKNOWN`` for longer raises an alert."""
    matched_s: float = 120.0
    """A fill still ``MATCHED`` this long after its match raises an alert."""
    lost_after_s: float = 10.0
    """An order signed this long ago that the venue does not have never reached it."""


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str
    key: str
    message: str


class OrderRefused(Exception):
    """The tracker would not send the intent (the kill switch is engaged); recorded."""


class OrderTracker:
    def __init__(
        self,
        store: Store,
        trader: ClobTrader,
        signer: OrderSigner,
        clock: Clock,
        *,
        timeouts: TrackerTimeouts = TrackerTimeouts(),  # noqa: B008 - frozen
        policies: Mapping[str, PartialPolicy] | None = None,
        alert: Callable[[Alert], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._trader = trader
        self._signer = signer
        self._clock = clock
        self.timeouts = timeouts
        self._policies = dict(policies or {})
        self._alert = alert or (lambda _alert: None)
        self._rng = rng or random.Random()
        self._alerted: set[tuple[str, str]] = set()
        self.stats: dict[str, int] = {
            "submitted": 0,
            "unknown": 0,
            "foreign events": 0,
            "unknown trade statuses": 0,
        }

    # ---- submitting ---------------------------------------------------------------------

    async def submit(self, intent: OrderIntent) -> OrderView:
        return (await self.submit_batch([intent]))[0]

    async def submit_batch(self, intents: Sequence[OrderIntent]) -> list[OrderView]:
        """Sign, persist (one durable write), post (one request of up to 15) and record."""
        if not 0 < len(intents) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} intents, not {len(intents)}")
        model = self._store.model
        fresh = list({i.intent_id: i for i in intents if i.intent_id not in model.orders}.values())
        if fresh and model.kill_switch.engaged:
            for intent in fresh:
                await self._store.append(
                    ev.RiskRejected(
                        intent_id=intent.intent_id,
                        gate="kill_switch",
                        reason="engaged",
                        strategy=intent.strategy,
                        asset_id=intent.asset_id,
                    )
                )
            raise OrderRefused("the kill switch is engaged")
        if fresh:
            await self._place(fresh)
        return [model.orders[i.intent_id] for i in intents]

    async def _place(self, intents: list[OrderIntent]) -> None:
        signed = [(intent, self._sign(intent)) for intent in intents]
        persisted: list[ev.LedgerEvent] = []
        for intent, order in signed:
            persisted += [_intent_event(intent), _signed_event(intent, order)]
        await self._store.append_many(persisted)  # durable, before anything leaves
        await self._store.append_many([ev.OrderSubmitted(order_id=o.order_id) for _, o in signed])
        self.stats["submitted"] += len(signed)
        requests = [
            OrderRequest(order, intent.order_type, post_only=intent.post_only)
            for intent, order in signed
        ]
        try:
            if len(requests) == 1:
                r = requests[0]
                acks: Sequence[OrderAck] = [
                    await self._trader.post_order(r.order, r.order_type, post_only=r.post_only)
                ]
            else:
                acks = await self._trader.post_orders(requests)
        except OrderOutcomeUnknown as exc:
            self.stats["unknown"] += len(signed)
            await self._store.append_many(
                [
                    ev.OrderStateChanged(
                        order_id=o.order_id,
                        state=OrderState.UNKNOWN,
                        source="post",
                        reason=str(exc),
                    )
                    for _, o in signed
                ]
            )
            return
        except VenueError as exc:  # the trader says the venue did not take them
            await self._store.append_many(
                [
                    ev.OrderStateChanged(
                        order_id=o.order_id, state=OrderState.FAILED, source="post", reason=str(exc)
                    )
                    for _, o in signed
                ]
            )
            return
        for (intent, order), ack in zip(signed, acks, strict=True):
            await self._record_ack(intent, order, ack)

    def _sign(self, intent: OrderIntent) -> SignedOrder:
        side = Side[intent.side]
        now_ms = self._clock.now_ms()
        return self._signer.sign(
            token_id=intent.asset_id,
            side=side,
            amounts=limit_order_amounts(intent.price, intent.size, side, intent.tick),
            salt=official_salt(now_ms, self._rng.random),
            timestamp_ms=now_ms,
            exchange=Exchange.NEG_RISK if intent.neg_risk else Exchange.CTF,
            metadata=intent_metadata(intent.intent_id),
            expiration=intent.expiration_s,
        )

    async def _record_ack(self, intent: OrderIntent, order: SignedOrder, ack: OrderAck) -> None:
        r = ack.response
        if not ack.accepted:
            await self._store.append(
                ev.OrderAcked(
                    order_id=order.order_id,
                    accepted=False,
                    venue_status=r.status,
                    error=r.error_msg or "refused",
                    looked_up=ack.looked_up,
                )
            )
            return
        shares = r.taking_amount if intent.side == "BUY" else r.making_amount
        matched = shares or Decimal(0)
        events: list[ev.LedgerEvent] = [
            ev.OrderAcked(
                order_id=order.order_id,
                accepted=True,
                venue_status=r.status,
                size_matched=matched,
                trade_ids=r.trade_ids,
                looked_up=ack.looked_up,
            )
        ]
        if intent.order_type in _ONE_SHOT and matched < intent.size:
            # FAK/FOK: what did not match now is cancelled by the venue.
            events.append(
                ev.OrderStateChanged(
                    order_id=order.order_id,
                    state=OrderState.CANCELED,
                    size_matched=matched,
                    source="post",
                    reason=f"{intent.order_type} rest not matched",
                )
            )
        await self._store.append_many(events)
        if ack.looked_up:
            await self._refresh_orders([order.order_id])
        if r.trade_ids:
            await self._sync_trades(trade_ids=r.trade_ids)
        await self._apply_policy(order.order_id)

    # ---- the venue's news ---------------------------------------------------------------

    async def user_event(self, event: object) -> None:
        """One decoded user-channel event (``OrderEvent`` or ``TradeEvent``); anything else
        (connection changes) is for the caller, which should ``sync()`` after a reconnect."""
        if isinstance(event, OrderEvent):
            current = self._store.model.order(event.id)
            if current is None:
                self.stats["foreign events"] += 1
                return
            change = order_event(event, current, "ws")
            if change is not None:
                await self._store.append(change)
                await self._apply_policy(event.id)
        elif isinstance(event, TradeEvent):
            await self._record_trades([event])

    async def sync(self) -> None:
        """REST truth: every order the ledger holds open, then our trades."""
        await self._refresh_orders(
            [o.order_id for o in self._store.model.unresolved_orders() if o.order_id]
        )
        await self._fail_unsigned()
        await self._sync_trades()

    start = sync
    """On start the ledger's open orders are settled with the venue exactly as after a
    reconnect: looked up by id, never re-sent."""

    async def resolve(self) -> None:
        """Look up the orders whose fate is not known (``SIGNED``, ``SUBMITTED``,
        ``UNKNOWN``); the engine calls it every few seconds while there are any."""
        await self._refresh_orders(
            [
                o.order_id
                for o in self._store.model.unresolved_orders()
                if o.order_id and o.state in _BEFORE_VENUE
            ]
        )

    async def _refresh_orders(self, order_ids: Iterable[str]) -> None:
        for order_id in order_ids:
            found = await self._trader.order(order_id)
            current = self._store.model.order(order_id)
            if current is None:
                continue
            if found is None:
                await self._not_at_venue(current)
                continue
            events: list[ev.LedgerEvent] = []
            if current.state is OrderState.SIGNED:  # posted just before a crash: it got there
                events.append(ev.OrderSubmitted(order_id=order_id))
                current = _with_state(current, OrderState.SUBMITTED)
            change = order_event(found, current, "rest")
            if change is not None:
                events.append(change)
            if events:
                await self._store.append_many(events)
                await self._apply_policy(order_id)

    async def _not_at_venue(self, order: OrderView) -> None:
        if order.state not in _BEFORE_VENUE:
            self._raise(
                Alert(
                    "order_missing",
                    order.order_id,
                    f"order {order.order_id} is {order.state} here, unknown at the venue",
                )
            )
            return
        age_s = (self._clock.now_ms() - order.updated_ts_ms) / 1000
        if age_s >= self.timeouts.lost_after_s:
            await self._store.append(
                ev.OrderStateChanged(
                    order_id=order.order_id,
                    state=OrderState.FAILED,
                    source="lookup",
                    reason="the venue does not have it",
                )
            )

    async def _fail_unsigned(self) -> None:
        """An intent recorded without its signed order cannot be: both go in one write. Any
        such (written by an older or foreign writer) is closed, not guessed at."""
        for o in self._store.model.unresolved_orders():
            if not o.order_id and o.state is OrderState.INTENDED:
                self._raise(Alert("intent_unsigned", o.key, f"intent {o.key} was never signed"))

    async def _sync_trades(self, trade_ids: Iterable[str] = ()) -> None:
        ids = list(trade_ids)
        if ids:
            trades = [t for tid in ids for t in await self._trader.trades(trade_id=tid)]
        else:
            trades = await self._trader.trades()
        await self._record_trades(trades)

    async def _record_trades(self, trades: Iterable[object]) -> None:
        model = self._store.model
        events: list[ev.LedgerEvent] = []
        for trade in trades:
            status = fill_status_from_venue(trade.status)  # type: ignore[attr-defined]
            if status is None:
                self.stats["unknown trade statuses"] += 1
                self._raise(
                    Alert(
                        "trade_status",
                        trade.id,  # type: ignore[attr-defined]
                        f"trade {trade.id} has status {trade.status!r}",
                    )
                )  # type: ignore[attr-defined]
                continue
            events += trade_events(
                trade,
                lambda oid: model.order(oid) is not None,
                model.fills.get,
                status,  # type: ignore[arg-type]
            )
        if events:
            await self._store.append_many(_dedupe(events))

    # ---- policies, cancels --------------------------------------------------------------

    async def _apply_policy(self, order_id: str) -> None:
        order = self._store.model.order(order_id)
        if order is None or order.state is not OrderState.PARTIALLY_FILLED:
            return
        if self._policies.get(order.strategy) is PartialPolicy.CANCEL_REST:
            await self.cancel([order_id])

    async def cancel(self, order_ids: Sequence[str]) -> list[str]:
        """Cancel these orders; the ids the venue cancelled (recorded ``CANCELED``)."""
        if not order_ids:
            return []
        if len(order_ids) == 1:
            answer = await self._trader.cancel(order_ids[0])
        else:
            answer = await self._trader.cancel_orders(order_ids)
        await self._record_cancels(answer.canceled)
        return list(answer.canceled)

    async def cancel_all(self) -> list[str]:
        """``DELETE /cancel-all``, then check that none remain (and cancel any that do).
        The ids that still rest afterwards raise an alert and are returned."""
        answer = await self._trader.cancel_all()
        await self._record_cancels(answer.canceled)
        left = await self._trader.open_orders()
        if left:
            again = await self._trader.cancel_orders([o.id for o in left])
            await self._record_cancels(again.canceled)
            left = await self._trader.open_orders()
        if left:
            ids = [o.id for o in left]
            self._raise(Alert("cancel_all", "open", f"orders still open after cancel-all: {ids}"))
        return [o.id for o in left]

    async def _record_cancels(self, order_ids: Iterable[str]) -> None:
        events: list[ev.LedgerEvent] = []
        for order_id in order_ids:
            current = self._store.model.order(order_id)
            if current is not None and current.state in OPEN_ORDER_STATES | _BEFORE_VENUE:
                events.append(
                    ev.OrderStateChanged(
                        order_id=order_id, state=OrderState.CANCELED, source="cancel"
                    )
                )
        if events:
            await self._store.append_many(events)

    async def engage_kill_switch(self, ref: str, reason: str, source: str) -> list[str]:
        """Record the kill switch (every later ``submit`` is refused, across restarts), then
        cancel everything at the venue and verify; the ids still open, if any."""
        await self._store.append(ev.KillSwitchEngaged(ref=ref, reason=reason, source=source))
        return await self.cancel_all()

    async def release_kill_switch(self, ref: str, source: str) -> None:
        await self._store.append(ev.KillSwitchReleased(ref=ref, source=source))

    # ---- timeouts -----------------------------------------------------------------------

    def check_timeouts(self) -> list[Alert]:
        """Alerts for orders ``UNKNOWN`` and fills ``MATCHED`` for too long (each once)."""
        now = self._clock.now_ms()
        raised = []
        model = self._store.model
        for o in model.unresolved_orders():
            if (
                o.state is OrderState.UNKNOWN
                and now - o.updated_ts_ms > self.timeouts.unknown_s * 1000
            ):
                raised += self._raise(
                    Alert(
                        "order_unknown",
                        o.order_id,
                        f"order {o.order_id} UNKNOWN since {o.updated_ts_ms}",
                    )
                )
        for f in model.fills.values():
            if (
                f.status is FillStatus.MATCHED
                and f.match_time_ms is not None
                and now - f.match_time_ms > self.timeouts.matched_s * 1000
            ):
                raised += self._raise(
                    Alert(
                        "fill_stuck", f.key, f"fill {f.key} still MATCHED since {f.match_time_ms}"
                    )
                )
        return raised

    def _raise(self, alert: Alert) -> list[Alert]:
        if (alert.kind, alert.key) in self._alerted:
            return []
        self._alerted.add((alert.kind, alert.key))
        self._alert(alert)
        return [alert]


def _intent_event(intent: OrderIntent) -> ev.IntentRecorded:
    return ev.IntentRecorded(
        intent_id=intent.intent_id,
        strategy=intent.strategy,
        market=intent.market,
        asset_id=intent.asset_id,
        side="BUY" if intent.side == "BUY" else "SELL",
        price=intent.price,
        size=intent.size,
        order_type=intent.order_type.value,  # type: ignore[arg-type]
        reason=intent.reason,
        expiration_s=intent.expiration_s,
        post_only=intent.post_only,
    )


def _signed_event(intent: OrderIntent, order: SignedOrder) -> ev.OrderSigned:
    body = order.post_body("", intent.order_type, post_only=intent.post_only)
    return ev.OrderSigned(
        intent_id=intent.intent_id,
        order_id=order.order_id,
        metadata=order.metadata,
        order=body["order"],  # type: ignore[arg-type]
    )


def _with_state(view: OrderView, state: OrderState) -> OrderView:
    import msgspec

    return msgspec.structs.replace(view, state=state)


def _dedupe(events: list[ev.LedgerEvent]) -> list[ev.LedgerEvent]:
    """One event per natural id (the same trade can come twice in one page of REST)."""
    return list({ev.event_id(e): e for e in events}.values())
