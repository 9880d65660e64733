"""The summary text that `polytui ledger rebuild` and the running engine both print."""

from __future__ import annotations

from polytui.core import ledger_events as ev
from polytui.core.ledger_summary import render_summary
from polytui.core.orders import FillStatus, OrderState
from tests.core.test_projections import model_of, placed
from tests.ledger_data import ASSET_A, ASSET_B, d, fill, intent, settle

EXPECTED = """\
ledger: 16 events, last seq 16, 2026-11-18 11:06:40 UTC
kill switch: ENGAGED since seq 14 (2026-11-18 11:06:40 UTC, cli): drawdown
orders: 2 (INTENDED 1, FILLED 1)
fills: 5 (CONFIRMED 2, MATCHED 3)
positions: 2 open, 1 closed
  asset                 size    sellable     pending avg cost     mark    realised  unrealised
  5211431…222426        5.00        0.00        5.00   0.2000        -     +0.0000           -
  7132104…992563        6.00        6.00        0.00   0.4000   0.5500     +0.3960     +0.9000
  999                   0.00        0.00        0.00   0.0000        -     -1.0000           -
pnl: realised -0.6040, unrealised +0.9000 (1 open without a mark), fees +0.0040, snapshots 1
risk rejections: 1 (caps 1); reconciliation diffs: 0; anomalies: 1
  seq 16 (fill_settlement_changed): settlement of unknown fill t9:x"""


def sample_events() -> list[ev.LedgerEvent]:
    return placed() + [
        fill("t1", "0xo1", "BUY", "0.40", "10", fee="0.004"),
        settle("t1", "0xo1", FillStatus.CONFIRMED),
        fill("t2", "0xo1", "SELL", "0.50", "4"),
        ev.OrderStateChanged(order_id="0xo1", state=OrderState.FILLED, size_matched=d(10)),
        intent("i2"),
        ev.RiskRejected(intent_id="i3", gate="caps"),
        fill("t3", "0xo9", "BUY", "0.2", "5", asset=ASSET_B),
        fill("t4", "0xo8", "SELL", "0.3", "10", asset="999"),  # a short...
        fill("t5", "0xo7", "BUY", "0.4", "10", asset="999", status=FillStatus.CONFIRMED),  # closed
        ev.KillSwitchEngaged(ref="k", reason="drawdown", source="cli"),
        ev.PnlSnapshot(at_ms=1, marks={ASSET_A: d("0.55")}),
        settle("t9", "x", FillStatus.MINED),
    ]


def test_the_summary_text() -> None:
    assert render_summary(model_of(sample_events())) == EXPECTED


def test_marks_given_replace_the_ledger_s() -> None:
    text = render_summary(model_of(sample_events()), {ASSET_A: d("0.40"), ASSET_B: d("0.30")})
    assert "pnl: realised -0.6040, unrealised +0.5000, fees" in text
    assert "without a mark" not in text


def test_an_empty_ledger() -> None:
    assert render_summary(model_of([])).splitlines()[:5] == [
        "ledger: 0 events, last seq 0, never",
        "kill switch: off",
        "orders: 0",
        "fills: 0",
        "positions: 0 open, 0 closed",
    ]
