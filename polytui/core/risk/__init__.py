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

from collections.abc import Sequence

from polytui.core.risk.daily import DAY_MS, loss_halt, period_bounds
from polytui.core.risk.dynamic import dynamic_scale, volatility
from polytui.core.risk.gates import GATES, crosses
from polytui.core.risk.inputs import Holding, MarketState, RiskLimits, RiskState
from polytui.core.risk.verdicts import (
    Approved,
    Candidate,
    Gate,
    GateFn,
    Rejected,
    Resize,
    Verdict,
)
from polytui.core.sizer import VenueRefusal, fit_venue, floor_shares
from polytui.core.strategy import OrderIntent, SizeUnit


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
    marketable = intent.order_type.immediate or crosses(c, state)
    fit = fit_venue(intent.side, c.shares, c.price, market.tick, market.min_size, marketable)
    if isinstance(fit, VenueRefusal):
        return Rejected(intent.intent_id, Gate.VENUE_RULES, fit.reason, fit.numbers)
    resized = c.resized
    if fit.shares < c.shares:
        note = f"fitted to the venue's rules: {fit.shares} shares at {fit.price}"
        resized = (*resized, Resize(Gate.VENUE_RULES, note, {"shares": fit.shares}))
    return Approved(intent, fit.shares, fit.price, fit.notional, marketable, c.requested, resized)


__all__ = [
    "DAY_MS",
    "GATES",
    "Approved",
    "Candidate",
    "Gate",
    "GateFn",
    "Holding",
    "MarketState",
    "Rejected",
    "Resize",
    "RiskLimits",
    "RiskState",
    "Verdict",
    "candidate",
    "dynamic_scale",
    "evaluate",
    "loss_halt",
    "period_bounds",
    "volatility",
]
