"""The order tracker: intents become signed, persisted, posted and tracked orders.

    tracker = OrderTracker(store, trader, signer, clock)
    await tracker.start()                    # restart safety: settle what the ledger left open
    view = await tracker.submit(intent)      # ApprovedOrder -> OrderView (state in the ledger)
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

**Partial fills**, per strategy (``StrategyPolicy``): ``LEAVE`` the rest working,
``CANCEL_REST``, or ``REPLACE`` it: cancel the rest and post what is left at the current
verified touch (``Markets.touch``: the best ask for a BUY, the best bid for a SELL, read from a
LIVE book only), if that is within the strategy's ``slippage`` of the original price; else the
rest is left working and an alert says why. A replacement is an intent of its own, with an id
derived from the original's (``<intent>:replace:<n>``), so a restart cannot double it.

**The kill switch** blocks ``submit`` at once (in memory, before its event is even written),
then ``KillSwitchEngaged`` keeps it blocked across restarts; an order the venue accepts while
it is engaged (a POST that was already on its way) is cancelled as soon as it is acked.

**What ``submit`` takes.** An ``ApprovedOrder``, or any plain shape with the same fields (a
mapping, or an object with those attributes), see ``ApprovedOrder.of``: this is how a
strategy runner's own intent type reaches the tracker without either importing the other.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

import msgspec

from polytui.core import ledger_events as ev
from polytui.core.clock import Clock
from polytui.core.orders import (
    OPEN_ORDER_STATES,
    FillStatus,
    OrderState,
    fill_status_from_venue,
)
from polytui.core.projections import KillSwitchView, OrderView
from polytui.engine.alerts import Alert, AlertSink, ignore
from polytui.engine.order_tracker.venue_events import order_event, trade_events
from polytui.protocol.amounts import Side, limit_order_amounts, marketable_size
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
    REPLACE = "replace"


@dataclass(frozen=True, slots=True)
class StrategyPolicy:
    """What the tracker does with a strategy's partly filled resting orders."""

    partial: PartialPolicy = PartialPolicy.LEAVE
    slippage: Decimal = Decimal(0)
    """``REPLACE`` only: how far (price units) the new price may be from the original."""
    max_replaces: int = 3
    """``REPLACE`` only: replacements of one original intent, at most."""
    min_size: Decimal = Decimal(5)
    """``REPLACE`` only: a rest smaller than this is left as it is (the venue's minimum)."""


_ALIASES = {
    "condition_id": "market",
    "asset": "asset_id",
    "limit_price": "price",
}


@dataclass(frozen=True, slots=True)
class ApprovedOrder:
    """What a strategy wants, sized and approved by risk. ``intent_id`` must be derived from
    the cause (a leader's trade, a signal), so the same cause always gives the same id.

    ``tick`` and ``neg_risk`` may be left ``None``: the tracker then asks its ``Markets``
    (the engine's mirror and scanner) for them."""

    intent_id: str
    strategy: str
    market: str
    """Condition id."""
    asset_id: str
    side: str
    """``BUY`` or ``SELL``."""
    price: Decimal
    size: Decimal
    """Shares."""
    tick: Decimal | None = None
    order_type: OrderType = OrderType.GTC
    neg_risk: bool | None = None
    expiration_s: int = 0
    post_only: bool = False
    reason: str = ""

    @classmethod
    def of(cls, obj: object) -> ApprovedOrder:
        """An ``ApprovedOrder`` from a plain shape: an ``ApprovedOrder``, a mapping, or any object
        with these attributes. The fields are the ones above; these spellings are accepted
        too: ``condition_id`` (market), ``asset`` (asset_id), ``limit_price`` (price),
        ``expires_ms`` (epoch ms; GTD). A ``unit`` other than ``SHARES`` is refused: sizes
        reach the tracker in shares. Enum values may be given as their strings."""
        if isinstance(obj, ApprovedOrder):
            return obj
        raw = _typed(_plain_fields(obj))
        intent = cls(**raw)
        if intent.side not in ("BUY", "SELL"):
            raise ValueError(f"side must be BUY or SELL, not {intent.side!r}")
        return intent


@dataclass(frozen=True, slots=True)
class TrackerTimeouts:
    unknown_s: float = 30.0
    """An order ``UNKNOWN`` for longer raises an alert."""
    matched_s: float = 120.0
    """A fill still ``MATCHED`` this long after its match raises an alert."""
    lost_after_s: float = 10.0
    """An order signed this long ago that the venue does not have never reached it."""
    post_s: float = 15.0
    """An order whose POST left this long ago with no answer (still ``SUBMITTED``) raises an
    alert; the HTTP timeout normally answers long before."""


class Markets(Protocol):
    """What the tracker reads about markets (the kernel implements it over the mirror)."""

    def touch(self, asset_id: str, side: str) -> Decimal | None:
        """The price a ``side`` order would take at now (BUY: best ask, SELL: best bid),
        from a LIVE book only; ``None`` when there is no such book or level."""
        ...

    def tick(self, asset_id: str) -> Decimal | None: ...

    def neg_risk(self, market: str) -> bool | None: ...


class OrderRefused(Exception):
    """The tracker would not send the intent (the kill switch is engaged); recorded."""


_REPLACE_RE = re.compile(r"^(?P<root>.*):replace:(?P<n>\d+)$")


class OrderTracker:
    def __init__(
        self,
        store: Store,
        trader: ClobTrader,
        signer: OrderSigner,
        clock: Clock,
        *,
        timeouts: TrackerTimeouts = TrackerTimeouts(),  # noqa: B008 - frozen
        policies: Mapping[str, PartialPolicy | StrategyPolicy] | None = None,
        default_policy: StrategyPolicy = StrategyPolicy(),  # noqa: B008 - frozen
        alert: AlertSink | None = None,
        rng: random.Random | None = None,
        markets: Markets | None = None,
        before_post: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._trader = trader
        self._signer = signer
        self._clock = clock
        self.timeouts = timeouts
        self._policies = {
            name: p if isinstance(p, StrategyPolicy) else StrategyPolicy(PartialPolicy(p))
            for name, p in (policies or {}).items()
        }
        self._default_policy = default_policy
        self._alert = alert or ignore
        self._rng = rng or random.Random()
        self._markets = markets
        self._before_post = before_post
        self._alerted: set[tuple[str, str]] = set()
        self._halted = False
        self._in_flight: set[str] = set()  # order ids whose POST has not answered yet
        self._replacing: set[str] = set()
        self._intents: dict[str, ApprovedOrder] = {}  # this process's intents, by id
        self.stats: dict[str, int] = {
            "submitted": 0,
            "unknown": 0,
            "foreign events": 0,
            "unknown trade statuses": 0,
            "replaced": 0,
            "cancelled while halted": 0,
        }

    @property
    def halted(self) -> bool:
        """New orders are refused: the kill switch is engaged (or being engaged)."""
        return self._halted or self._store.model.kill_switch.engaged

    @property
    def kill_switch_record(self) -> KillSwitchView:
        """The ledger's kill switch: engaged or not, by whom, why and since when."""
        return self._store.model.kill_switch

    @property
    def in_flight(self) -> int:
        """Orders whose POST has not answered yet."""
        return len(self._in_flight)

    def policy(self, strategy: str) -> StrategyPolicy:
        return self._policies.get(strategy, self._default_policy)

    # ---- submitting ---------------------------------------------------------------------

    async def submit(self, intent: ApprovedOrder | object) -> OrderView:
        return (await self.submit_batch([intent]))[0]

    async def submit_batch(self, intents: Sequence[ApprovedOrder | object]) -> list[OrderView]:
        """Sign, persist (one durable write), post (one request of up to 15) and record.
        Each intent is an ``ApprovedOrder`` or a plain shape (``ApprovedOrder.of``)."""
        if not 0 < len(intents) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} intents, not {len(intents)}")
        intents = [ApprovedOrder.of(i) for i in intents]
        model = self._store.model
        fresh = list({i.intent_id: i for i in intents if i.intent_id not in model.orders}.values())
        if fresh and self.halted:
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

    async def _place(self, intents: list[ApprovedOrder]) -> None:
        intents = [self._completed_intent(i) for i in intents]
        signed = [(intent, self._sign(intent)) for intent in intents]
        persisted: list[ev.LedgerEvent] = []
        for intent, order in signed:
            persisted += [_intent_event(intent), _signed_event(intent, order)]
            self._intents[intent.intent_id] = intent
        await self._store.append_many(persisted)  # durable, before anything leaves
        if self._before_post is not None:
            await self._before_post()  # the venue heartbeat: beat first if one is due
        await self._store.append_many([ev.OrderSubmitted(order_id=o.order_id) for _, o in signed])
        self.stats["submitted"] += len(signed)
        requests = [
            OrderRequest(order, intent.order_type, post_only=intent.post_only)
            for intent, order in signed
        ]
        ids = {o.order_id for _, o in signed}
        self._in_flight |= ids
        try:
            acks = await self._post(requests)
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
        finally:
            self._in_flight -= ids
        for (intent, order), ack in zip(signed, acks, strict=True):
            await self._record_ack(intent, order, ack)

    async def _post(self, requests: list[OrderRequest]) -> Sequence[OrderAck]:
        if len(requests) == 1:
            r = requests[0]
            return [await self._trader.post_order(r.order, r.order_type, post_only=r.post_only)]
        return await self._trader.post_orders(requests)

    def _completed_intent(self, intent: ApprovedOrder) -> ApprovedOrder:
        """The intent with its tick and neg-risk flag, asked of ``Markets`` when missing."""
        tick, neg_risk = intent.tick, intent.neg_risk
        if tick is None and self._markets is not None:
            tick = self._markets.tick(intent.asset_id)
        if neg_risk is None and self._markets is not None:
            neg_risk = self._markets.neg_risk(intent.market)
        if tick is None:
            raise ValueError(f"intent {intent.intent_id}: the tick size of its asset is unknown")
        return dataclasses.replace(intent, tick=tick, neg_risk=bool(neg_risk))

    def _sign(self, intent: ApprovedOrder) -> SignedOrder:
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

    async def _record_ack(self, intent: ApprovedOrder, order: SignedOrder, ack: OrderAck) -> None:
        await self._record_answer(intent, order, ack)
        if self.halted and ack.accepted and intent.order_type not in _ONE_SHOT:
            current = self._store.model.order(order.order_id)
            if current is not None and current.state in OPEN_ORDER_STATES | _BEFORE_VENUE:
                # On its way before the kill switch: it must not stay on the book.
                self.stats["cancelled while halted"] += 1
                with contextlib.suppress(VenueError):
                    await self.cancel([order.order_id])

    async def _record_answer(
        self, intent: ApprovedOrder, order: SignedOrder, ack: OrderAck
    ) -> None:
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
        if ack.looked_up and ack.size_matched is not None:
            matched = ack.size_matched  # a lookup's answer carries no amounts: the order does
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
                if o.order_id and o.state in _BEFORE_VENUE and o.order_id not in self._in_flight
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
        policy = self.policy(order.strategy)
        if policy.partial is PartialPolicy.CANCEL_REST:
            await self.cancel([order_id])
        elif policy.partial is PartialPolicy.REPLACE and order_id not in self._replacing:
            self._replacing.add(order_id)
            try:
                await self._replace(order, policy)
            finally:
                self._replacing.discard(order_id)

    async def _replace(self, order: OrderView, policy: StrategyPolicy) -> None:
        """Cancel the rest of ``order`` and post it again at the verified touch, within the
        strategy's slippage bound; otherwise leave it working (and say why, once)."""
        if order.price is None or order.size is None or self.halted:
            return
        root, n = order.intent_id, 0
        if (m := _REPLACE_RE.match(order.intent_id)) is not None:
            root, n = m["root"], int(m["n"])
        if n >= policy.max_replaces:
            self._raise(Alert("replace_limit", order.order_id, f"{root}: {n} replacements"))
            return
        touch = self._markets.touch(order.asset_id, order.side) if self._markets else None
        if touch is None:
            self._raise(
                Alert("replace_skipped", order.order_id, "no LIVE book to re-price at: left")
            )
            return
        worse = touch - order.price if order.side == "BUY" else order.price - touch
        if worse > policy.slippage:
            self._raise(
                Alert(
                    "replace_skipped",
                    order.order_id,
                    f"touch {touch} is {worse} from {order.price}, beyond the slippage "
                    f"bound {policy.slippage}: left",
                )
            )
            return
        if order.size - order.size_matched < policy.min_size:
            return
        canceled = await self.cancel([order.order_id])
        if order.order_id not in canceled:
            return  # filled or gone meanwhile
        await self._refresh_orders([order.order_id])  # the final matched size
        done = self._store.model.order(order.order_id) or order
        rest = marketable_size(order.size - done.size_matched, touch, Side[order.side])
        if rest < policy.min_size:  # it crosses at the touch: the marketable precision rules
            return
        original = self._intents.get(order.intent_id)
        replacement = ApprovedOrder(
            intent_id=f"{root}:replace:{n + 1}",
            strategy=order.strategy,
            market=order.market,
            asset_id=order.asset_id,
            side=order.side,
            price=touch,
            size=rest,
            tick=original.tick if original else None,
            order_type=OrderType(order.order_type),
            neg_risk=original.neg_risk if original else None,
            expiration_s=original.expiration_s if original else 0,
            reason=f"replaces {order.order_id} at the touch",
        )
        self.stats["replaced"] += 1
        with contextlib.suppress(OrderRefused):
            await self.submit(replacement)

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

    async def engage_kill_switch(
        self, ref: str, reason: str, source: str, *, cancel: bool = True
    ) -> list[str]:
        """Block every new order now, record the kill switch (refused across restarts), then
        (``cancel``) cancel everything at the venue and verify; the ids still open, if any."""
        self._halted = True
        await self._store.append(ev.KillSwitchEngaged(ref=ref, reason=reason, source=source))
        return await self.cancel_all() if cancel else []

    async def release_kill_switch(self, ref: str, source: str) -> None:
        await self._store.append(ev.KillSwitchReleased(ref=ref, source=source))
        self._halted = False

    # ---- timeouts -----------------------------------------------------------------------

    def check_timeouts(self) -> list[Alert]:
        """Alerts for orders ``UNKNOWN`` and fills ``MATCHED`` for too long (each once)."""
        now = self._clock.now_ms()
        raised = []
        model = self._store.model
        for o in model.unresolved_orders():
            if (
                o.state is OrderState.SUBMITTED
                and now - o.updated_ts_ms > self.timeouts.post_s * 1000
            ):
                raised += self._raise(
                    Alert(
                        "post_unanswered",
                        o.order_id,
                        f"order {o.order_id} posted at {o.updated_ts_ms}, still no answer",
                    )
                )
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


def _intent_event(intent: ApprovedOrder) -> ev.IntentRecorded:
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


def _signed_event(intent: ApprovedOrder, order: SignedOrder) -> ev.OrderSigned:
    body = order.post_body("", intent.order_type, post_only=intent.post_only)
    return ev.OrderSigned(
        intent_id=intent.intent_id,
        order_id=order.order_id,
        metadata=order.metadata,
        order=body["order"],  # type: ignore[arg-type]
    )


def _plain_fields(obj: object) -> dict[str, Any]:
    """The fields of a plain intent shape, under ``ApprovedOrder``'s names."""
    known = {f.name for f in fields(ApprovedOrder)}
    if isinstance(obj, Mapping):
        raw: dict[str, Any] = dict(obj)
    else:
        names = known | set(_ALIASES) | {"expires_ms", "unit"}
        raw = {n: getattr(obj, n) for n in names if hasattr(obj, n)}
    unit = raw.pop("unit", None)
    if unit is not None and _text(unit).upper() != "SHARES":
        raise ValueError(f"an order intent's size must be in shares, not {unit}")
    for alias, name in _ALIASES.items():
        if alias in raw:
            raw.setdefault(name, raw.pop(alias))
    expires_ms = raw.pop("expires_ms", None)
    if expires_ms is not None:
        raw.setdefault("expiration_s", int(expires_ms) // 1000)
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"unknown order intent fields: {sorted(unknown)}")
    missing = {f.name for f in fields(ApprovedOrder) if f.default is dataclasses.MISSING}
    if missing - set(raw):
        raise ValueError(f"order intent fields missing: {sorted(missing - set(raw))}")
    return raw


def _typed(raw: dict[str, Any]) -> dict[str, Any]:
    """Numbers as ``Decimal``, the side upper case, the order type an ``OrderType``."""
    for name in ("price", "size", "tick"):
        if raw.get(name) is not None and not isinstance(raw[name], Decimal):
            try:
                raw[name] = Decimal(str(raw[name]))
            except ArithmeticError:
                raise ValueError(f"order intent {name} {raw[name]!r} is no number") from None
    if raw.get("side") is not None:
        raw["side"] = _text(raw["side"]).upper()
    if raw.get("order_type") is not None:
        raw["order_type"] = OrderType(_text(raw["order_type"]))  # ValueError if unknown
    return raw


def _text(value: object) -> str:
    """An enum's value, or the text of anything else."""
    return str(getattr(value, "value", value))


def _with_state(view: OrderView, state: OrderState) -> OrderView:
    return msgspec.structs.replace(view, state=state)


def _dedupe(events: list[ev.LedgerEvent]) -> list[ev.LedgerEvent]:
    """One event per natural id (the same trade can come twice in one page of REST)."""
    return list({ev.event_id(e): e for e in events}.values())
