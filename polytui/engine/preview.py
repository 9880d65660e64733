"""The pre-trade preview of a manual order: what it would fill through the verified book, what
it costs, the fee, the exposure after it against the caps, and what the risk gates say.

    ticket = ManualTicket(condition_id, asset, "BUY", Decimal(100), limit_price=None, ref="t1")
    preview = await preview_ticket(engine, ticket)     # on the engine's event loop
    preview.intent                                     # the OrderIntent a submit sends

A manual order is an intent like any other (strategy ``manual``): the preview runs the same
pure gates (``polytui.core.risk.evaluate``) over a ``RiskState`` assembled from the engine,
and a submit hands ``preview.intent`` to ``engine.submit_manual(intent)``, which must run the
risk engine again before anything is signed. The intent id comes from the ticket's ``ref``,
so confirming the same ticket twice is the same intent (the ledger refuses the second).
When the engine has a risk engine (``engine.strategies.risk``) the preview reads the very
``RiskState`` it would (``risk.state``: read only; its ``evaluate`` counts and records, so it is
not called here); otherwise the state is assembled from the mirror, scanner and ledger.

Without a limit price the order is marketable up to the worst level the fill estimate
reaches. The estimate walks the book only while it is LIVE. A BUY's funds are checked when
the engine can say its balance (``engine.trader.balance_allowance()``); otherwise that gate
is left out and the preview says so (a SELL's are the shares held, always checked).
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polytui.core.book import units_price
from polytui.core.risk import (
    GATES,
    Approved,
    Gate,
    Holding,
    MarketState,
    RiskLimits,
    RiskState,
    evaluate,
)
from polytui.core.sizer import cost_of, take_within
from polytui.core.strategy import OrderIntent, OrderSide, OrderType, SizeUnit, intent_id
from polytui.engine.context import trusted_read
from polytui.engine.views import kill_state, mark_of

ZERO = Decimal(0)
BPS = Decimal(10_000)
BASE_UNITS = Decimal(1_000_000)  # pUSD has 6 decimals
STRATEGY = "manual"
VENUE_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class ManualTicket:
    condition_id: str
    asset: str
    side: str  # "BUY" | "SELL"
    shares: Decimal
    limit_price: Decimal | None = None  # None: marketable through the book
    order_type: str = "FAK"  # "FAK" | "GTC"
    ref: str = ""  # identifies the ticket: the same ref gives the same intent id


@dataclass(frozen=True, slots=True)
class Exposure:
    before: Decimal
    after: Decimal
    cap: Decimal


@dataclass(frozen=True, slots=True)
class Preview:
    ticket: ManualTicket
    book_state: str
    reference: Decimal | None  # the touch the order takes from
    filled: Decimal  # shares the verified book fills now within the limit
    vwap: Decimal | None
    worst: Decimal | None
    cost: Decimal  # USDC of the fill estimate
    fee: Decimal | None
    fee_bps: Decimal | None
    limit: Decimal | None  # the limit price the order carries
    market: Exposure | None
    total: Exposure | None
    verdict: str  # "approved", "resized", "rejected", "no price"
    gate: str
    reason: str
    shares: Decimal | None  # the approved order
    price: Decimal | None
    funds_checked: bool
    intent: OrderIntent | None
    can_submit: bool  # the engine takes manual orders (``submit_manual``)


async def preview_ticket(engine: Any, ticket: ManualTicket) -> Preview:
    fee_bps = await _fee_bps(engine, ticket.asset)
    funds = await _funds(engine)
    return build_preview(engine, ticket, fee_bps=fee_bps, funds=funds)


def build_preview(
    engine: Any,
    ticket: ManualTicket,
    *,
    fee_bps: Decimal | None = None,
    funds: tuple[Decimal, Decimal] | None = None,
) -> Preview:
    side = OrderSide(ticket.side)
    tok = engine.mirror.tokens.get(ticket.asset)
    book = engine.mirror.live_book(ticket.asset)  # the estimate trusts a LIVE book only
    touch, filled, notional, worst = _estimate(book, side, ticket)
    limit = ticket.limit_price if ticket.limit_price is not None else worst
    base = Preview(
        ticket=ticket,
        book_state=tok.state.value if tok is not None else "UNTRACKED",
        reference=touch,
        filled=filled,
        vwap=notional / filled if filled else None,
        worst=worst,
        cost=notional,
        fee=notional * fee_bps / BPS if fee_bps is not None else None,
        fee_bps=fee_bps,
        limit=limit,
        market=None,
        total=None,
        verdict="no price",
        gate="",
        reason="",
        shares=None,
        price=None,
        funds_checked=funds is not None or side is OrderSide.SELL,
        intent=None,
        can_submit=manual_orders(engine),
    )
    if ticket.shares <= ZERO:
        return dataclasses.replace(base, reason="type a size")
    if limit is None:
        why = "no price: the book is not LIVE or has no offers; type a limit price"
        return dataclasses.replace(base, reason=why)
    if not ZERO < limit < 1:
        return dataclasses.replace(base, reason=f"limit price {limit} is outside (0, 1)")
    intent = manual_intent(engine.clock.now_ms(), ticket, limit, touch)
    risk = getattr(getattr(engine, "strategies", None), "risk", None)
    if risk is not None:  # the engine's risk engine: the very state the order path reads
        limits, state, funds = risk.limits, risk.state(intent, None), (ZERO, ZERO)
        base = dataclasses.replace(base, funds_checked=True)
    else:
        limits = RiskLimits.of(engine.settings.risk)
        state = risk_state(engine, intent, funds)
    unknown = not base.funds_checked  # a SELL's funds are the shares held: always checked
    gates = [(g, fn) for g, fn in GATES if not (unknown and g is Gate.FUNDS)]
    verdict = evaluate(intent, limits, state, gates)
    adds = verdict.notional if isinstance(verdict, Approved) else intent.size * limit
    adds = adds if intent.opening else ZERO
    in_market, in_total = state.market_exposure(ticket.condition_id), state.total_exposure()
    base = dataclasses.replace(
        base,
        market=Exposure(in_market, in_market + adds, limits.max_position_usdc),
        total=Exposure(in_total, in_total + adds, limits.max_total_exposure_usdc),
        intent=intent,
    )
    if not isinstance(verdict, Approved):
        return dataclasses.replace(
            base, verdict="rejected", gate=verdict.gate.value, reason=verdict.reason
        )
    return dataclasses.replace(
        base,
        verdict="resized" if verdict.was_resized else "approved",
        gate=verdict.resized[-1].gate.value if verdict.resized else "",
        reason="; ".join(r.reason for r in verdict.resized) or "every gate passed",
        shares=verdict.shares,
        price=verdict.price,
    )


def manual_orders(engine: Any) -> bool:
    """Does the engine take manual orders: ``submit_manual``, or a strategy runner?"""
    runner = getattr(getattr(engine, "strategies", None), "runner", None)
    return callable(getattr(engine, "submit_manual", None)) or runner is not None


def _estimate(
    book: Any, side: OrderSide, ticket: ManualTicket
) -> tuple[Decimal | None, Decimal, Decimal, Decimal | None]:
    """The touch, and the shares, USDC and worst price the book fills now within the limit."""
    if book is None:
        return None, ZERO, ZERO, None
    top = book.best_ask if side is OrderSide.BUY else book.best_bid
    touch = top.price if top is not None else None
    if ticket.shares <= ZERO:
        return touch, ZERO, ZERO, None
    if ticket.limit_price is not None:
        take = take_within(book, side, ticket.shares, ticket.limit_price)
    else:
        take = cost_of(book, side, ticket.shares)
    walked = book.take(side.takes, take.shares)
    worst = units_price(walked.worst_units) if walked.worst_units is not None else None
    return touch, take.shares, take.notional, worst


def manual_intent(
    now_ms: int, ticket: ManualTicket, limit: Decimal, touch: Decimal | None
) -> OrderIntent:
    """The ticket as an intent of strategy ``manual``; its id is derived from the ticket."""
    cause = (ticket.ref or str(now_ms), ticket.asset, ticket.side, str(ticket.shares),
             str(limit), ticket.order_type)  # fmt: skip
    return OrderIntent(
        intent_id=intent_id(STRATEGY, *cause),
        strategy=STRATEGY,
        condition_id=ticket.condition_id,
        asset=ticket.asset,
        side=OrderSide(ticket.side),
        size=ticket.shares,
        unit=SizeUnit.SHARES,
        limit_price=limit,
        order_type=OrderType(ticket.order_type),
        reference_price=touch if touch is not None else limit,
        reason="manual order from the trader workstation",
        created_ms=now_ms,
        signal_ms=now_ms,
        cause=cause,
    )


def risk_state(
    engine: Any, intent: OrderIntent, funds: tuple[Decimal, Decimal] | None
) -> RiskState:
    """The gates' inputs from the engine: books and flags of the market, positions, open
    buys and the kill switch. Daily PnL is the ledger's realised plus unrealised PnL."""
    mirror, scanner = engine.mirror, engine.scanner
    books = {}
    for asset in intent.books:
        books[asset] = trusted_read(mirror, asset)
    info = scanner.markets.get(intent.condition_id)
    tok = mirror.tokens.get(intent.asset)
    market = MarketState(
        flags=scanner.flags(intent.condition_id),
        end_ms=info.end_ms if info is not None else None,
        tags=info.tags if info is not None else frozenset(),
        tick=units_price(tok.tick) if tok is not None and tok.tick else Decimal("0.01"),
        min_size=Decimal(tok.meta.min_order_size)
        if tok is not None and tok.meta.min_order_size
        else Decimal(5),
    )
    holdings: dict[str, Holding] = {}
    open_buys: dict[str, Decimal] = {}
    daily = ZERO
    store = getattr(engine, "store", None)
    if store is not None:
        model = store.model
        locked: dict[str, Decimal] = {}
        for o in model.unresolved_orders():
            left = (o.size or ZERO) - o.size_matched
            if o.side == "BUY":
                open_buys[o.market] = open_buys.get(o.market, ZERO) + left * (o.price or ZERO)
            else:
                locked[o.asset_id] = locked.get(o.asset_id, ZERO) + left
        for asset, p in model.positions.items():
            if not p.size:
                daily += p.realised
                continue
            mark = mark_of(engine, asset, model.marks)
            value = p.size * (mark if mark is not None else p.avg_cost)
            holdings[asset] = Holding(p.market, p.size, value, locked.get(asset, ZERO))
            daily += p.realised + (p.unrealised(mark) if mark is not None else ZERO)
    balance, allowance = funds if funds is not None else (ZERO, ZERO)
    return RiskState(
        now_ms=engine.clock.now_ms(),
        kill_switch=kill_state(engine).engaged,
        books=books,
        markets={intent.condition_id: market},
        holdings=holdings,
        open_buys_usdc=open_buys,
        balance_usdc=balance,
        allowance_usdc=allowance,
        reserved_usdc=sum(open_buys.values(), ZERO),
        daily_pnl=daily,
    )


async def _fee_bps(engine: Any, asset: str) -> Decimal | None:
    clob = getattr(getattr(engine, "venue", None), "clob", None)
    if clob is None:
        return None
    try:
        async with asyncio.timeout(VENUE_TIMEOUT_S):
            return Decimal(await clob.fee_rate(asset))
    except Exception:
        return None


async def _funds(engine: Any) -> tuple[Decimal, Decimal] | None:
    trader = getattr(engine, "trader", None)
    if trader is None:
        return None
    try:
        async with asyncio.timeout(VENUE_TIMEOUT_S):
            answer = await trader.balance_allowance()
    except Exception:
        return None
    balance = Decimal(answer.balance) / BASE_UNITS
    if answer.allowance is not None:
        allowance = Decimal(answer.allowance) / BASE_UNITS
    elif answer.allowances:
        allowance = Decimal(min(answer.allowances.values())) / BASE_UNITS
    else:
        allowance = balance
    return balance, allowance
