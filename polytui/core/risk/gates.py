"""The risk gates, one pure function each, in the order they run (``GATES``).

Each takes the candidate order, the limits and the state, and answers the candidate (as is,
or cut) or a rejection. See ``polytui.core.risk`` for the order and the rules they share.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal

from polytui.core.market_flags import Flag, describe
from polytui.core.risk.daily import loss_halt
from polytui.core.risk.inputs import RiskLimits, RiskState
from polytui.core.risk.verdicts import (
    Candidate,
    Gate,
    GateFn,
    GateResult,
    Rejected,
    cut,
    reject,
    shrink,
)
from polytui.core.sizer import floor_shares, slippage_bound, take_within
from polytui.core.strategy import OrderSide

ZERO = Decimal(0)
ONE = Decimal(1)


def kill_switch(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    if state.kill_switch:
        return reject(c, Gate.KILL_SWITCH, "the kill switch is engaged")
    return c


def book_live(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    for asset in c.intent.books:
        read = state.books.get(asset)
        if read is None or not read.live:
            shown = read.state if read is not None else "UNTRACKED"
            return reject(
                c,
                Gate.BOOK_LIVE,
                f"the book of {asset} is {shown}, not LIVE",
                asset=asset,
                state=shown,
            )
    return c


def market_tradable(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    market = state.markets.get(c.intent.condition_id)
    flags = market.flags if market is not None else frozenset((Flag.UNKNOWN,))
    if flags:
        return reject(c, Gate.MARKET_TRADABLE, describe(flags), flags=",".join(sorted(flags)))
    return c


def resolution(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    market = state.markets.get(c.intent.condition_id)
    if not c.opening or market is None or market.end_ms is None:
        return c
    left = market.end_ms - state.now_ms
    if left < limits.resolution_buffer_ms:
        return reject(
            c,
            Gate.RESOLUTION,
            f"the market ends in {left / 60_000:.1f} min, within the "
            f"{limits.resolution_buffer_ms / 60_000:g} min buffer: no new exposure",
            ms_to_end=left,
            buffer_ms=limits.resolution_buffer_ms,
        )
    return c


def trade_size(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    if not c.opening:
        return c
    if c.scale < ONE:
        scaled = floor_shares(c.shares * c.scale)
        c = shrink(c, Gate.TRADE_SIZE, "size scaled", scaled, {"requested": c.shares})
    top = limits.max_trade_usdc * c.scale
    if c.notional > top:
        c = shrink(
            c,
            Gate.TRADE_SIZE,
            f"cut to the {top:.2f} USDC per-trade maximum",
            floor_shares(top / c.price),
            {"max_usdc": top},
        )
    if c.notional < limits.min_trade_usdc:
        return reject(
            c,
            Gate.TRADE_SIZE,
            f"{_floored(c.notional)} USDC is under the {limits.min_trade_usdc} USDC per-trade "
            "minimum",
            usdc=c.notional,
            min_usdc=limits.min_trade_usdc,
        )
    return c


def _floored(usdc: Decimal) -> str:
    """Rounded down to 4 places: a figure under a limit never reads as the limit itself."""
    return f"{usdc.quantize(Decimal('0.0001'), rounding=ROUND_FLOOR):f}"


def daily_loss(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    if not c.opening and limits.reduce_when_halted:
        return c
    halted = state.halted_until_ms is not None and state.now_ms < state.halted_until_ms
    until = state.halted_until_ms if halted else loss_halt(limits, state.now_ms, state.daily_pnl)
    if until is None:
        return c
    cap = limits.daily_loss_cap_usdc
    at = datetime.fromtimestamp(until / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
    if halted:
        reason = f"halted by the daily loss cap until {at}"
    else:
        reason = (
            f"daily loss {-state.daily_pnl:.2f} USDC reached the {cap} USDC cap: halted until {at}"
        )
    numbers = {
        "daily_pnl": state.daily_pnl,
        "cap_usdc": cap if cap is not None else "none",
        "halted_until_ms": until,
    }
    return Rejected(c.intent.intent_id, Gate.DAILY_LOSS, reason, numbers, halt_until_ms=until)


def position_cap(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    if not c.opening:
        return c
    cap = limits.max_position_usdc * c.scale
    held = state.market_exposure(c.intent.condition_id)
    return cut(
        c,
        limits,
        Gate.POSITION_CAP,
        cap - held,
        f"market exposure {held:.2f} of {cap:.2f} USDC",
        held_usdc=held,
        cap_usdc=cap,
    )


def open_positions(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    if not c.opening:
        return c
    markets = state.open_markets()
    if c.intent.condition_id not in markets and len(markets) >= limits.max_open_positions:
        return reject(
            c,
            Gate.OPEN_POSITIONS,
            f"{len(markets)} markets held, the maximum is {limits.max_open_positions}",
            open=len(markets),
            max_open=limits.max_open_positions,
        )
    return c


def total_exposure(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    if not c.opening:
        return c
    cap = limits.max_total_exposure_usdc * c.scale
    held = state.total_exposure()
    return cut(
        c,
        limits,
        Gate.TOTAL_EXPOSURE,
        cap - held,
        f"total exposure {held:.2f} of {cap:.2f} USDC",
        held_usdc=held,
        cap_usdc=cap,
    )


def leader_exposure(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    leader = c.intent.leader
    if not c.opening or leader is None:
        return c
    cap = limits.leader_caps.get(leader, limits.max_leader_exposure_usdc) * c.scale
    held = state.leader_exposure.get(leader, ZERO)
    return cut(
        c,
        limits,
        Gate.LEADER_EXPOSURE,
        cap - held,
        f"copies of {leader} hold {held:.2f} of {cap:.2f} USDC",
        held_usdc=held,
        cap_usdc=cap,
    )


def category(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    if not c.opening or not limits.categories:
        return c
    market = state.markets.get(c.intent.condition_id)
    tags = market.tags if market is not None else frozenset()
    if not tags & limits.categories:
        return reject(
            c,
            Gate.CATEGORY,
            f"tags [{', '.join(sorted(tags))}] are outside the allowed categories "
            f"[{', '.join(sorted(limits.categories))}]",
            tags=",".join(sorted(tags)),
        )
    return c


def funds(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    intent = c.intent
    if intent.side is OrderSide.SELL:
        holding = state.holdings.get(intent.asset)
        free = (holding.shares - holding.locked) if holding is not None else ZERO
        if free <= ZERO:
            return reject(c, Gate.FUNDS, f"no free shares of {intent.asset} to sell", free=free)
        if c.shares > free:
            return shrink(
                c,
                Gate.FUNDS,
                f"cut to the {free} shares held",
                floor_shares(free),
                {"free": free},
            )
        return c
    free = min(state.balance_usdc, state.allowance_usdc) - state.reserved_usdc
    numbers = {
        "balance_usdc": state.balance_usdc,
        "allowance_usdc": state.allowance_usdc,
        "reserved_usdc": state.reserved_usdc,
    }
    if c.notional <= free:
        return c
    why = (
        f"balance {state.balance_usdc:.2f}, allowance {state.allowance_usdc:.2f}, "
        f"{state.reserved_usdc:.2f} in open orders"
    )
    if not c.opening:  # a reducing BUY: as much as we can pay for
        if free <= ZERO:
            return reject(c, Gate.FUNDS, f"no USDC free: {why}", **numbers)
        return shrink(
            c, Gate.FUNDS, f"cut to {free:.2f} USDC free", floor_shares(free / c.price), numbers
        )
    return cut(c, limits, Gate.FUNDS, free, why, **numbers)


def best_price(state: RiskState, c: Candidate) -> Decimal | None:
    read = state.books.get(c.intent.asset)
    book = read.book if read is not None else None
    if book is None:
        return None
    best = book.best_ask if c.intent.side is OrderSide.BUY else book.best_bid
    return best.price if best is not None else None


def freshness(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    if not c.opening:
        return c
    intent = c.intent
    age = state.now_ms - intent.signal_ms
    if age > limits.max_signal_age_ms:
        return reject(
            c,
            Gate.FRESHNESS,
            f"the signal is {age / 1000:.1f} s old, "
            f"older than {limits.max_signal_age_ms / 1000:g} s",
            age_ms=age,
            max_age_ms=limits.max_signal_age_ms,
        )
    best = best_price(state, c)
    if best is None:
        return reject(c, Gate.FRESHNESS, "the book has no offer to take", age_ms=age)
    moved = (
        best - intent.reference_price
        if intent.side is OrderSide.BUY
        else (intent.reference_price - best)
    )
    if moved > limits.max_chase:
        return reject(
            c,
            Gate.FRESHNESS,
            f"the price ran {moved} from the reference {intent.reference_price} "
            f"(now {best}), more than the {limits.max_chase} chase limit",
            moved=moved,
            reference=intent.reference_price,
            best=best,
            max_chase=limits.max_chase,
        )
    return c


def crosses(c: Candidate, state: RiskState) -> bool:
    best = best_price(state, c)
    if best is None:
        return False
    return c.price >= best if c.intent.side is OrderSide.BUY else c.price <= best


def slippage(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    """The part of the order that fills now must average within ``max_slippage`` of the
    reference price. A resting order's unfilled rest counts at its limit price; an immediate
    order is cut to what the book fills up to its limit (its rest would die anyway)."""
    intent = c.intent
    read = state.books.get(intent.asset)
    if read is None or read.book is None or not crosses(c, state):
        return c  # it rests at its limit: nothing is taken now
    side, immediate = intent.side, intent.order_type.immediate
    bound = slippage_bound(side, intent.reference_price, limits.max_slippage)
    now = take_within(read.book, side, c.shares, c.price)
    if immediate:
        vwap = now.vwap if now.vwap is not None else c.price
    else:
        vwap = (now.notional + (c.shares - now.shares) * c.price) / c.shares
    numbers = {"vwap": vwap, "bound": bound, "reference": intent.reference_price}
    worse = vwap > bound if side is OrderSide.BUY else vwap < bound
    if worse:
        why = (
            f"VWAP {vwap:.4f} is beyond {bound} "
            f"(reference {intent.reference_price} +/- {limits.max_slippage})"
        )
        if limits.slippage_action == "skip":
            return reject(c, Gate.SLIPPAGE, why, **numbers)
        fit = take_within(read.book, side, c.shares, c.price, bound).shares
        why = f"{why}: cut to {fit} shares"
    elif immediate and now.shares < c.shares:
        fit = now.shares
        why = f"the book fills {fit} of {c.shares} shares up to the limit {c.price}"
    else:
        return c
    if fit <= ZERO or (c.opening and fit * c.price < limits.min_trade_usdc):
        return reject(c, Gate.SLIPPAGE, f"{why}, under the trade minimum", fit=fit, **numbers)
    return shrink(c, Gate.SLIPPAGE, why, fit, numbers)


def rate_limit(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    since = state.now_ms - limits.rate_window_ms
    sent = sum(1 for t in state.recent_orders_ms if t > since)
    if sent >= limits.max_orders_per_window:
        return reject(
            c,
            Gate.RATE_LIMIT,
            f"{sent} orders in the last {limits.rate_window_ms / 1000:g} s, "
            f"the limit is {limits.max_orders_per_window}",
            sent=sent,
            max_orders=limits.max_orders_per_window,
        )
    return c


GATES: tuple[tuple[Gate, GateFn], ...] = (
    (Gate.KILL_SWITCH, kill_switch),
    (Gate.BOOK_LIVE, book_live),
    (Gate.MARKET_TRADABLE, market_tradable),
    (Gate.RESOLUTION, resolution),
    (Gate.TRADE_SIZE, trade_size),
    (Gate.DAILY_LOSS, daily_loss),
    (Gate.POSITION_CAP, position_cap),
    (Gate.OPEN_POSITIONS, open_positions),
    (Gate.TOTAL_EXPOSURE, total_exposure),
    (Gate.LEADER_EXPOSURE, leader_exposure),
    (Gate.CATEGORY, category),
    (Gate.FUNDS, funds),
    (Gate.FRESHNESS, freshness),
    (Gate.SLIPPAGE, slippage),
    (Gate.RATE_LIMIT, rate_limit),
)
