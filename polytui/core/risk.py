"""Risk gates: pure functions over ``(intent, limits, state)`` that approve, resize or reject.

    verdict = evaluate(intent, limits, state)
    if isinstance(verdict, Approved): sign(verdict.shares, verdict.price, intent.order_type)
    else: ledger.record(verdict.gate, verdict.reason, verdict.numbers)

The risk engine assembles a :class:`RiskState` (the kill switch, the mirror's book states,
the scanner's market flags, positions, exposure, PnL, open orders, recent order times) and
calls :func:`evaluate` for each intent. The gates run in this order and the first rejection
wins (architecture §3, issue 8):

 1. ``kill_switch``       engaged: nothing goes out, exits included
 2. ``book_live``         every book the order depends on is LIVE (the golden rule)
 3. ``market_tradable``   no scanner flag on the market
 4. ``resolution``        no new exposure within ``resolution_buffer_ms`` of the end date
 5. ``trade_size``        per-trade USDC: above the maximum is cut to it, below the minimum refused
 6. ``daily_loss``        realised + unrealised loss since the period start under the cap;
                          tripping it halts new exposure until the next period
 7. ``position_cap``      exposure in this market (held + open buys + this order)
 8. ``open_positions``    how many markets we hold
 9. ``total_exposure``    everything held and in open buys
10. ``leader_exposure``   what copies of this order's leader hold
11. ``category``          the market's tags meet the allow list
12. ``funds``             USDC balance and allowance (a BUY), shares held (a SELL)
13. ``freshness``         the signal is recent and the price has not run from its reference
14. ``slippage``          VWAP through the verified book within a bound of the reference
15. ``rate_limit``        orders sent within the window
then ``venue_rules`` (``sizer.fit_venue``): tick, 2-decimal shares, minimum size, the $1
marketable minimum.

**Caps stop, never warn.** A cap with room left cuts the order to the room (the cut is
noted in ``Approved.resized``); with less room than the trade minimum it rejects. Every
rejection names its gate, says why in words, and carries the numbers that decided it.

**Reductions** (every SELL, and a BUY flagged ``reduce_only``) lower risk, so the gates that
limit new exposure (resolution, trade size, the caps, category, freshness) let them through;
the kill switch, the golden rule, market flags, funds (shares held), slippage, the rate limit
and the venue rules still apply, and a halted strategy may reduce only if
``reduce_when_halted``.

**Dynamic limits** (``dynamic_limits``): the size of new exposure and the caps it meets are
scaled by ``min(1, volatility_ref / stdev)`` of the recent mid changes of the asset and by
``min(1, depth / thin_depth_usdc)`` of the USDC offered within the slippage bound; the
scaling is said in the reason of any cut or rejection it causes.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from polytui.core.market_flags import Flag, describe
from polytui.core.sizer import (
    VenueRefusal,
    depth_within,
    fit_venue,
    floor_shares,
    slippage_bound,
    take_within,
)
from polytui.core.strategy import BookRead, OrderIntent, OrderSide, SizeUnit

ZERO = Decimal(0)
ONE = Decimal(1)
DAY_MS = 86_400_000


class Gate(StrEnum):
    KILL_SWITCH = "kill_switch"
    BOOK_LIVE = "book_live"
    MARKET_TRADABLE = "market_tradable"
    RESOLUTION = "resolution"
    TRADE_SIZE = "trade_size"
    DAILY_LOSS = "daily_loss"
    POSITION_CAP = "position_cap"
    OPEN_POSITIONS = "open_positions"
    TOTAL_EXPOSURE = "total_exposure"
    LEADER_EXPOSURE = "leader_exposure"
    CATEGORY = "category"
    FUNDS = "funds"
    FRESHNESS = "freshness"
    SLIPPAGE = "slippage"
    RATE_LIMIT = "rate_limit"
    VENUE_RULES = "venue_rules"


# ---- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskLimits:
    """The risk settings as the gates read them (``config.RiskSettings`` -> :meth:`of`).
    Times in ms, money in USDC, prices in price units (0.01 is one cent)."""

    resolution_buffer_ms: int = 600_000
    min_trade_usdc: Decimal = ONE
    max_trade_usdc: Decimal = Decimal(100)
    daily_loss_cap_usdc: Decimal | None = Decimal(200)  # None: no cap
    daily_reset_hour_utc: int = 0
    reduce_when_halted: bool = True
    max_position_usdc: Decimal = Decimal(500)  # per market (condition id)
    max_open_positions: int = 20
    max_total_exposure_usdc: Decimal = Decimal(2000)
    max_leader_exposure_usdc: Decimal = Decimal(1000)
    leader_caps: Mapping[str, Decimal] = field(default_factory=dict)  # per leader (lower case)
    categories: frozenset[str] = frozenset()  # allow list of tags, lower case; empty: any
    max_signal_age_ms: int = 30_000
    max_chase: Decimal = Decimal("0.03")
    max_slippage: Decimal = Decimal("0.02")
    slippage_action: Literal["shrink", "skip"] = "shrink"
    rate_window_ms: int = 60_000
    max_orders_per_window: int = 30
    dynamic_limits: bool = False
    volatility_window_ms: int = 300_000
    volatility_ref: Decimal = Decimal("0.01")  # stdev of mid changes at which scaling starts
    thin_depth_usdc: Decimal = ZERO  # depth within the slippage bound under which it scales

    @classmethod
    def of(cls, section: Any, **overrides: Any) -> RiskLimits:
        """From a settings section with these field names (seconds become ms: ``*_s`` keys
        fill the ``*_ms`` fields); ``overrides`` win. Duck-typed, so ``core`` never imports
        the settings module."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if hasattr(section, f.name):
                values[f.name] = getattr(section, f.name)
            elif f.name.endswith("_ms") and hasattr(section, f.name[:-3] + "_s"):
                values[f.name] = round(getattr(section, f.name[:-3] + "_s") * 1000)
        if "categories" in values:
            values["categories"] = frozenset(c.lower() for c in values["categories"])
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True, slots=True)
class MarketState:
    """One market as the gates need it: the scanner's flags, end date and tags, and the
    book's tick and minimum size."""

    flags: frozenset[Flag] = frozenset()
    end_ms: int | None = None
    tags: frozenset[str] = frozenset()  # lower case
    tick: Decimal = Decimal("0.01")
    min_size: Decimal = Decimal(5)


@dataclass(frozen=True, slots=True)
class Holding:
    """A position in one asset: shares held (``locked`` of them in open SELL orders) and the
    USDC it is worth at the mark."""

    condition_id: str
    shares: Decimal
    value: Decimal
    locked: Decimal = ZERO


@dataclass(frozen=True)
class RiskState:
    """Everything the gates read, assembled by the risk engine for one evaluation.

    ``daily_pnl`` is realised + unrealised PnL since the current period began (a loss is
    negative). ``halted_until_ms`` is the strategy's persisted halt (from an earlier
    ``daily_loss`` rejection). ``recent_orders_ms`` are the send times of recent orders that
    count against the rate limit. ``mids`` holds recent ``(ms, mid)`` points per asset for
    dynamic limits."""

    now_ms: int
    kill_switch: bool = False
    books: Mapping[str, BookRead] = field(default_factory=dict)
    markets: Mapping[str, MarketState] = field(default_factory=dict)
    holdings: Mapping[str, Holding] = field(default_factory=dict)  # by asset
    open_buys_usdc: Mapping[str, Decimal] = field(default_factory=dict)  # by condition id
    balance_usdc: Decimal = ZERO
    allowance_usdc: Decimal = ZERO
    reserved_usdc: Decimal = ZERO  # locked by open BUY orders
    daily_pnl: Decimal = ZERO
    halted_until_ms: int | None = None
    leader_exposure: Mapping[str, Decimal] = field(default_factory=dict)
    recent_orders_ms: Sequence[int] = ()
    mids: Mapping[str, Sequence[tuple[int, Decimal]]] = field(default_factory=dict)

    def market_exposure(self, condition_id: str) -> Decimal:
        held = sum(
            (h.value for h in self.holdings.values() if h.condition_id == condition_id), ZERO
        )
        return held + self.open_buys_usdc.get(condition_id, ZERO)

    def total_exposure(self) -> Decimal:
        held = sum((h.value for h in self.holdings.values()), ZERO)
        return held + sum(self.open_buys_usdc.values(), ZERO)

    def open_markets(self) -> set[str]:
        held = {h.condition_id for h in self.holdings.values() if h.shares > ZERO}
        return held | {c for c, usdc in self.open_buys_usdc.items() if usdc > ZERO}


# ---- outputs ----------------------------------------------------------------------------------

Numbers = Mapping[str, Decimal | int | str]


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why an intent does not go out. ``halt_until_ms`` is set when the daily loss cap
    tripped: the engine persists it and passes it back as ``RiskState.halted_until_ms``."""

    intent_id: str
    gate: Gate
    reason: str
    numbers: Numbers = field(default_factory=dict)
    halt_until_ms: int | None = None

    @property
    def approved(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Resize:
    gate: Gate
    reason: str
    numbers: Numbers


@dataclass(frozen=True, slots=True)
class Approved:
    """The order to sign: ``shares`` at ``price`` (on the tick grid), with the intent's order
    type. ``resized`` lists every gate that cut it, in order."""

    intent: OrderIntent
    shares: Decimal
    price: Decimal
    notional: Decimal
    marketable: bool
    requested_shares: Decimal
    resized: tuple[Resize, ...] = ()

    @property
    def approved(self) -> bool:
        return True

    @property
    def was_resized(self) -> bool:
        return self.shares < self.requested_shares


Verdict = Approved | Rejected


@dataclass(frozen=True, slots=True)
class Candidate:
    """An intent on its way through the gates: the shares it asks for now, at its limit."""

    intent: OrderIntent
    shares: Decimal
    requested: Decimal
    scale: Decimal = ONE  # dynamic limits' factor for new exposure
    scale_reason: str = ""
    resized: tuple[Resize, ...] = ()

    @property
    def price(self) -> Decimal:
        return self.intent.limit_price

    @property
    def notional(self) -> Decimal:
        return self.shares * self.intent.limit_price

    @property
    def opening(self) -> bool:
        return self.intent.opening


GateResult = Candidate | Rejected
GateFn = Callable[[Candidate, RiskLimits, RiskState], GateResult]


def _reject(c: Candidate, gate: Gate, reason: str, **numbers: Any) -> Rejected:
    if c.scale < ONE and c.opening:
        reason = f"{reason} ({c.scale_reason})"
        numbers["scale"] = c.scale
    return Rejected(c.intent.intent_id, gate, reason, numbers)


def _cut(c: Candidate, limits: RiskLimits, gate: Gate, usdc: Decimal, why: str, **nums: Any):
    """Cut new exposure to ``usdc`` (the room a cap leaves), or reject if that is under the
    trade minimum."""
    if usdc >= c.notional:
        return c
    nums = {**nums, "room_usdc": usdc, "asked_usdc": c.notional}
    if usdc < limits.min_trade_usdc:
        return _reject(
            c,
            gate,
            f"{why}: {max(usdc, ZERO):.2f} USDC of room, under the "
            f"{limits.min_trade_usdc} USDC trade minimum",
            **nums,
        )
    return _shrink(c, gate, f"{why}: cut to {usdc:.2f} USDC", floor_shares(usdc / c.price), nums)


def _shrink(c: Candidate, gate: Gate, reason: str, shares: Decimal, numbers: Numbers) -> Candidate:
    if c.scale < ONE and c.opening:
        reason = f"{reason} ({c.scale_reason})"
    note = Resize(gate, reason, {**numbers, "shares": shares})
    return dataclasses.replace(c, shares=shares, resized=(*c.resized, note))


# ---- the gates, in order ----------------------------------------------------------------------


def kill_switch(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    if state.kill_switch:
        return _reject(c, Gate.KILL_SWITCH, "the kill switch is engaged")
    return c


def book_live(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    for asset in c.intent.books:
        read = state.books.get(asset)
        if read is None or not read.live:
            shown = read.state if read is not None else "UNTRACKED"
            return _reject(
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
        return _reject(c, Gate.MARKET_TRADABLE, describe(flags), flags=",".join(sorted(flags)))
    return c


def resolution(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    market = state.markets.get(c.intent.condition_id)
    if not c.opening or market is None or market.end_ms is None:
        return c
    left = market.end_ms - state.now_ms
    if left < limits.resolution_buffer_ms:
        return _reject(
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
        c = _shrink(c, Gate.TRADE_SIZE, "size scaled", scaled, {"requested": c.shares})
    top = limits.max_trade_usdc * c.scale
    if c.notional > top:
        c = _shrink(
            c,
            Gate.TRADE_SIZE,
            f"cut to the {top:.2f} USDC per-trade maximum",
            floor_shares(top / c.price),
            {"max_usdc": top},
        )
    if c.notional < limits.min_trade_usdc:
        return _reject(
            c,
            Gate.TRADE_SIZE,
            f"{c.notional:.2f} USDC is under the {limits.min_trade_usdc} USDC per-trade minimum",
            usdc=c.notional,
            min_usdc=limits.min_trade_usdc,
        )
    return c


def period_bounds(now_ms: int, reset_hour_utc: int) -> tuple[int, int]:
    """The daily-loss period holding ``now_ms``: from the last ``reset_hour_utc`` o'clock UTC
    to the next."""
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    start = now.replace(hour=reset_hour_utc, minute=0, second=0, microsecond=0)
    if start > now:
        start -= timedelta(days=1)
    start_ms = int(start.timestamp() * 1000)
    return start_ms, start_ms + DAY_MS


def loss_halt(limits: RiskLimits, now_ms: int, daily_pnl: Decimal) -> int | None:
    """When the daily loss cap is reached: the end of the period (the halt lasts until then);
    else ``None``. The engine may call it on every PnL update, not only on intents."""
    cap = limits.daily_loss_cap_usdc
    if cap is None or -daily_pnl < cap:
        return None
    return period_bounds(now_ms, limits.daily_reset_hour_utc)[1]


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
    return _cut(
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
        return _reject(
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
    return _cut(
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
    return _cut(
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
        return _reject(
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
            return _reject(c, Gate.FUNDS, f"no free shares of {intent.asset} to sell", free=free)
        if c.shares > free:
            return _shrink(
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
            return _reject(c, Gate.FUNDS, f"no USDC free: {why}", **numbers)
        return _shrink(
            c, Gate.FUNDS, f"cut to {free:.2f} USDC free", floor_shares(free / c.price), numbers
        )
    return _cut(c, limits, Gate.FUNDS, free, why, **numbers)


def _best(state: RiskState, c: Candidate) -> Decimal | None:
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
        return _reject(
            c,
            Gate.FRESHNESS,
            f"the signal is {age / 1000:.1f} s old, "
            f"older than {limits.max_signal_age_ms / 1000:g} s",
            age_ms=age,
            max_age_ms=limits.max_signal_age_ms,
        )
    best = _best(state, c)
    if best is None:
        return _reject(c, Gate.FRESHNESS, "the book has no offer to take", age_ms=age)
    moved = (
        best - intent.reference_price
        if intent.side is OrderSide.BUY
        else (intent.reference_price - best)
    )
    if moved > limits.max_chase:
        return _reject(
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


def _crosses(c: Candidate, state: RiskState) -> bool:
    best = _best(state, c)
    if best is None:
        return False
    return c.price >= best if c.intent.side is OrderSide.BUY else c.price <= best


def slippage(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    """The part of the order that fills now must average within ``max_slippage`` of the
    reference price. A resting order's unfilled rest counts at its limit price; an immediate
    order is cut to what the book fills up to its limit (its rest would die anyway)."""
    intent = c.intent
    read = state.books.get(intent.asset)
    if read is None or read.book is None or not _crosses(c, state):
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
            return _reject(c, Gate.SLIPPAGE, why, **numbers)
        fit = take_within(read.book, side, c.shares, c.price, bound).shares
        why = f"{why}: cut to {fit} shares"
    elif immediate and now.shares < c.shares:
        fit = now.shares
        why = f"the book fills {fit} of {c.shares} shares up to the limit {c.price}"
    else:
        return c
    if fit <= ZERO or (c.opening and fit * c.price < limits.min_trade_usdc):
        return _reject(c, Gate.SLIPPAGE, f"{why}, under the trade minimum", fit=fit, **numbers)
    return _shrink(c, Gate.SLIPPAGE, why, fit, numbers)


def rate_limit(c: Candidate, limits: RiskLimits, state: RiskState) -> GateResult:
    since = state.now_ms - limits.rate_window_ms
    sent = sum(1 for t in state.recent_orders_ms if t > since)
    if sent >= limits.max_orders_per_window:
        return _reject(
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


# ---- dynamic limits ---------------------------------------------------------------------------


def volatility(mids: Sequence[tuple[int, Decimal]], now_ms: int, window_ms: int) -> Decimal | None:
    """Population stdev of consecutive mid changes within the window; ``None`` with fewer
    than two changes."""
    points = [mid for ms, mid in mids if ms >= now_ms - window_ms]
    changes = [b - a for a, b in zip(points, points[1:], strict=False)]
    if len(changes) < 2:
        return None
    return statistics.pstdev(changes)


def dynamic_scale(intent: OrderIntent, limits: RiskLimits, state: RiskState) -> tuple[Decimal, str]:
    """The factor (at most 1) for new exposure from volatility and thin depth, and why."""
    if not limits.dynamic_limits or not intent.opening:
        return ONE, ""
    scale, why = ONE, []
    vol = volatility(state.mids.get(intent.asset, ()), state.now_ms, limits.volatility_window_ms)
    if vol is not None and vol > limits.volatility_ref:
        factor = limits.volatility_ref / vol
        scale *= factor
        why.append(f"volatility {vol:.4f} > {limits.volatility_ref}: x{factor:.2f}")
    read = state.books.get(intent.asset)
    if limits.thin_depth_usdc > ZERO and read is not None and read.book is not None:
        bound = slippage_bound(intent.side, intent.reference_price, limits.max_slippage)
        _, depth = depth_within(read.book, intent.side, bound)
        if depth < limits.thin_depth_usdc:
            factor = depth / limits.thin_depth_usdc
            scale *= factor
            why.append(f"depth {depth:.2f} < {limits.thin_depth_usdc} USDC: x{factor:.2f}")
    return scale, "; ".join(f"scaled {w}" for w in why)


# ---- the pipeline -----------------------------------------------------------------------------


def candidate(intent: OrderIntent, limits: RiskLimits, state: RiskState) -> Candidate:
    """The intent in shares (USDC at the limit price: never more than the USDC asked)."""
    if intent.unit is SizeUnit.USDC:
        shares = floor_shares(intent.size / intent.limit_price)
    else:
        shares = intent.size
    scale, why = dynamic_scale(intent, limits, state)
    return Candidate(intent, shares, shares, scale, why)


def evaluate(
    intent: OrderIntent,
    limits: RiskLimits,
    state: RiskState,
    gates: Sequence[tuple[Gate, GateFn]] = GATES,
) -> Verdict:
    """Run the gates in order, then fit the order to the venue's rules."""
    c = candidate(intent, limits, state)
    for _, gate in gates:
        result = gate(c, limits, state)
        if isinstance(result, Rejected):
            return result
        c = result
    market = state.markets.get(intent.condition_id, MarketState())
    marketable = intent.order_type.immediate or _crosses(c, state)
    fit = fit_venue(intent.side, c.shares, c.price, market.tick, market.min_size, marketable)
    if isinstance(fit, VenueRefusal):
        return Rejected(intent.intent_id, Gate.VENUE_RULES, fit.reason, fit.numbers)
    resized = c.resized
    if fit.shares < c.shares:
        note = f"fitted to the venue's rules: {fit.shares} shares at {fit.price}"
        resized = (*resized, Resize(Gate.VENUE_RULES, note, {"shares": fit.shares}))
    return Approved(intent, fit.shares, fit.price, fit.notional, marketable, c.requested, resized)


__all__ = [
    "GATES",
    "Approved",
    "Candidate",
    "Gate",
    "Holding",
    "MarketState",
    "Rejected",
    "Resize",
    "RiskLimits",
    "RiskState",
    "Verdict",
    "dynamic_scale",
    "evaluate",
    "loss_halt",
    "period_bounds",
    "volatility",
]
