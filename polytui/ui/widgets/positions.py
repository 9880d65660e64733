"""The Positions pane: positions with sellable and pending shares, realised and unrealised
PnL, and the session's PnL chart (textual-plotext, seconds of engine time on the x axis)."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual_plotext import PlotextPlot

from polytui.engine.views import OrdersView
from polytui.ui import format as fmt
from polytui.ui.widgets.book import rgb
from polytui.ui.widgets.quiet import Quiet
from polytui.ui.widgets.table import KeyedTable

COLUMNS = [
    ("market", "Market", 16),
    ("outcome", "Out", 3),
    ("size", ">Size", 7),
    ("sellable", ">Sellable", 8),
    ("pending", ">Pending", 7),
    ("avg", ">Avg", 6),
    ("mark", ">Mark", 6),
    ("unreal", ">Unreal", 8),
    ("real", ">Realised", 8),
]


class PnlChart(PlotextPlot):
    def draw(self, points: tuple[tuple[int, Decimal], ...], palette: dict[str, str]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("session PnL (USDC)")
        if points:
            start = points[0][0]
            xs = [(ms - start) / 1000 for ms, _ in points]
            ys = [float(v) for _, v in points]
            up = ys[-1] >= 0
            plt.plot(
                xs, ys, marker="braille", color=rgb(palette.get("pnl-up" if up else "pnl-down"))
            )
        plt.xlabel("seconds")
        self.refresh()


class PositionsPane(Vertical):
    DEFAULT_CSS = """
    PositionsPane { height: 1fr; }
    PositionsPane #positions-total { height: 1; padding: 0 1; }
    PositionsPane #positions-table { height: 1fr; padding: 0 0 0 1; }
    PositionsPane #pnl-chart { height: 1fr; min-height: 6; }
    """

    def compose(self) -> ComposeResult:
        yield Quiet("positions: none yet", id="positions-total", fixed=True)
        yield KeyedTable(COLUMNS, id="positions-table")
        yield PnlChart(id="pnl-chart")

    def show(self, view: OrdersView, palette: dict[str, str]) -> None:
        if not view.available:
            self.query_one("#positions-total", Quiet).show(
                "positions: none: this engine has no order side yet (no ledger)"
            )
            return
        held = sum(1 for p in view.positions if p.size)
        unmarked = f", {view.unmarked} without a mark" if view.unmarked else ""
        self.query_one("#positions-total", Quiet).show(
            Text.assemble(
                f"{held} open position(s)  realised ",
                fmt.signed(view.realised, palette),
                "  unrealised ",
                fmt.signed(view.unrealised, palette),
                "  total ",
                fmt.signed(view.pnl, palette),
                unmarked,
            )
        )
        rows = [
            (
                p.asset,
                (
                    fmt.left(p.title, 16),
                    p.outcome,
                    fmt.right(fmt.size(p.size), 7),
                    fmt.right(fmt.size(p.sellable), 8),
                    fmt.right(fmt.size(p.pending), 7),
                    fmt.right(fmt.price(p.avg_cost.quantize(Decimal("0.0001"))), 6),
                    fmt.right(fmt.price(p.mark), 6),
                    fmt.right(fmt.signed(p.unrealised, palette), 8),
                    fmt.right(fmt.signed(p.realised, palette), 8),
                ),
            )
            for p in view.positions
        ]
        self.query_one("#positions-table", KeyedTable).sync(rows)

    def plot(self, points: tuple[tuple[int, Decimal], ...], palette: dict[str, str]) -> None:
        self.query_one(PnlChart).draw(points, palette)
