"""Leader scoring from history: trades, results, the composite score, the cutoffs, the
usual trade size, and the cash estimate."""

from __future__ import annotations

import math
from decimal import Decimal as D

from polytui.core.sizer import Edge
from polytui.core.strategy import OrderSide
from polytui.strategies.copytrade.params import ScoreParams
from polytui.strategies.copytrade.scoring import (
    estimate_cash,
    group_trades,
    replay,
    score_leader,
    shape_cap,
)
from tests.strategies.copytrade.helpers import ASSET, ASSET_B, LEADER, T0, fill

DAY_S = 86_400


def round_trips(days: int, sell_price: str = "0.50", size: int = 100, losers: int = 0):
    """One buy at .40 and one sell per day; the last ``losers`` days sell at .30."""
    out = []
    for d in range(days):
        price = "0.30" if d >= days - losers else sell_price
        out.append(fill(d * DAY_S + 3600, "BUY", size, "0.40", tx=f"0xb{d}"))
        out.append(fill(d * DAY_S + 7200, "SELL", size, price, tx=f"0xs{d}"))
    return out


def test_fills_close_together_in_one_asset_and_side_are_one_trade() -> None:
    fills = [
        fill(0, size=10),
        fill(1, size=20, tx="0x2"),  # same trade: 1 s later
        fill(1, size=5, asset=ASSET_B, tx="0x3"),  # another asset breaks the run
        fill(2, size=30, tx="0x4"),
        fill(20, size=40, tx="0x5"),  # beyond the window
        fill(21, "SELL", 40, tx="0x6"),
    ]
    trades = group_trades(fills, window_ms=3000)
    assert [(t.asset == ASSET, t.side, t.shares) for t in trades] == [
        (True, OrderSide.BUY, D(30)),
        (False, OrderSide.BUY, D(5)),
        (True, OrderSide.BUY, D(30)),
        (True, OrderSide.BUY, D(40)),
        (True, OrderSide.SELL, D(40)),
    ]
    assert trades[0].usdc == D(15)


def test_replay_closes_at_average_cost_and_marks_open_positions() -> None:
    fills = [
        fill(0, "BUY", 100, "0.40"),
        fill(10, "BUY", 100, "0.60", tx="0x2"),  # average .50
        fill(20, "SELL", 50, "0.70", tx="0x3"),  # +10
        fill(30, "SELL", 60, "0.45", asset=ASSET_B, tx="0x4"),  # never bought: ignored
    ]
    r = replay(fills, {ASSET: D("0.80")}, now_ms=T0 + 40_000)
    assert r.closed == (D(10),)
    assert r.curve[-1] == D(10) + 150 * (D("0.80") - D("0.50"))  # realised + open at the mark
    assert (r.invested_peak, r.invested_now) == (D(100), D(75))


def test_cash_estimate_is_what_the_leader_took_back_out_of_positions() -> None:
    assert estimate_cash([fill(0, "BUY", 100, "0.5"), fill(9, "SELL", 100, "0.6", tx="0x2")]) == 50
    assert estimate_cash([fill(0, "BUY", 100, "0.5")]) == 0
    assert estimate_cash([]) == 0


def test_a_profitable_leader_scores_and_is_eligible() -> None:
    fills = round_trips(20)  # 40 trades, every sell a win
    params = ScoreParams(min_trades=30)
    s = score_leader(LEADER, fills, {}, D(1000), T0 + 21 * DAY_S * 1000, params)
    assert s.trades == 40 and s.eligible and s.reasons == ()
    assert s.win_rate == 1.0 and s.payoff is None and s.loss_streak == 0
    assert s.max_drawdown == 0.0 and s.edge is None
    # +10 USDC a day on a 1000 bankroll, then a flat last day
    assert s.sharpe is not None and s.sharpe > 3
    expected = 0.5 * math.tanh(s.sharpe / 2) + 0.3 * 1 + 0.2 * 1
    assert s.score is not None and math.isclose(s.score, expected)


def test_the_sample_size_floor() -> None:
    params = ScoreParams(min_trades=30)
    s = score_leader(LEADER, round_trips(14) + [fill(99 * DAY_S)], {}, D(1000), T0, params)
    assert s.trades == 29 and not s.eligible and s.score is None
    assert s.reasons == ("29 trades, under the 30 needed to score",)
    s = score_leader(LEADER, round_trips(15), {}, D(1000), T0, params)
    assert s.trades == 30 and s.eligible


def test_a_losing_streak_and_a_deep_drawdown_cut_a_leader_off() -> None:
    params = ScoreParams(min_trades=10, max_loss_streak=3, max_drawdown=0.05)
    fills = round_trips(20, losers=3)  # the last three sells lose 10 USDC each
    s = score_leader(LEADER, fills, {}, D(1000), T0 + 21 * DAY_S * 1000, params)
    assert s.loss_streak == 3 and not s.eligible
    assert any("3 losing trades in a row" in r for r in s.reasons)
    assert math.isclose(s.drawdown, 0.03) and math.isclose(s.max_drawdown, 0.03)
    assert s.win_rate == 17 / 20 and s.payoff == 1.0  # +10 wins, -10 losses
    assert s.edge == Edge(D(str(17 / 20)), D("1.0"))
    deep = score_leader(LEADER, fills, {}, D(500), T0 + 21 * DAY_S * 1000, params)
    assert any("drawdown 6.0% at or over the 5% cutoff" in r for r in deep.reasons)


def test_a_score_under_the_threshold_is_not_eligible() -> None:
    losing = round_trips(20, sell_price="0.35")  # every trade loses 5
    s = score_leader(LEADER, losing, {}, D(1000), T0 + 21 * DAY_S * 1000,
                     ScoreParams(min_trades=30, max_loss_streak=100, max_drawdown=1.0))  # fmt: skip
    assert s.score is not None and s.score < 0 and not s.eligible
    assert s.reasons[0].startswith(f"score {s.score:.3f} under the 0.0 threshold")


def test_the_usual_largest_trade_is_a_quantile_of_buy_sizes() -> None:
    trades = group_trades([fill(i * 10, size=2 * (i + 1), price="0.5", tx=f"0x{i}")
                           for i in range(100)], 3000)  # fmt: skip
    assert shape_cap(trades, 0.95) == D("95.05")  # buys of 1..100 USDC
    assert shape_cap(trades[:1], 0.95) is None
    s = score_leader(LEADER, [], {}, D(0), T0, ScoreParams())
    assert s.trades == 0 and s.shape_cap_usdc is None and not s.eligible
