"""The Book pane: the selected market's depth ladder for both outcomes, each book's state and
freshness, a cumulative depth chart, and the cost of a typed size through the book."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Horizontal, Vertical
from textual.widgets import Input
from textual_plotext import PlotextPlot

from polytui.engine.views import BookView, OutcomeBook, cost_in_view
from polytui.ui import format as fmt
from polytui.ui.widgets.inputs import SteadyInput
from polytui.ui.widgets.quiet import Quiet
from polytui.ui.widgets.table import KeyedTable

DEPTH = 10  # ladder rows (fixed: rows are keyed by level, never added or removed)
LADDER = [("bsize", ">Size", 9), ("bid", ">Bid", 6), ("ask", ">Ask", 6), ("asize", ">Size", 9)]
REPLOT_EVERY = 3  # book updates per chart rebuild (the chart costs more than the ladder)


def rgb(colour: str | None) -> tuple[int, int, int] | None:
    if not colour:
        return None
    try:
        return Color.parse(colour).rgb
    except Exception:
        return None


def ladder_rows(ob: OutcomeBook | None, palette: dict[str, str]) -> list[tuple[str, tuple]]:
    rows = []
    for i in range(DEPTH):
        bid = ob.bids[i] if ob is not None and i < len(ob.bids) else None
        ask = ob.asks[i] if ob is not None and i < len(ob.asks) else None
        rows.append(
            (
                f"lvl-{i}",
                (
                    fmt.right(fmt.size(bid[1]) if bid else "", 9),
                    fmt.right(fmt.styled(fmt.price(bid[0]), palette, "bid") if bid else "", 6),
                    fmt.right(fmt.styled(fmt.price(ask[0]), palette, "ask") if ask else "", 6),
                    fmt.right(fmt.size(ask[1]) if ask else "", 9),
                ),
            )
        )
    return rows


def outcome_info(ob: OutcomeBook | None, now_ms: int, palette: dict[str, str]) -> Text:
    """Three lines: the book's state (and why it is not LIVE), its freshness, its grid."""
    if ob is None:
        return Text("-\n\n")
    updated = now_ms - ob.last_update_ms if ob.last_update_ms else None
    verified = now_ms - ob.last_verified_ms if ob.last_verified_ms else None
    stale = updated is not None and updated > 10_000
    why = f" {ob.reason}" if ob.state != "LIVE" and ob.reason != "PRIME" else ""
    return Text.assemble(
        (f"{ob.outcome} ", "bold"),
        fmt.state_badge(ob.state, palette),
        fmt.styled(why, palette, "warning"),
        "\nage ",
        fmt.styled(fmt.age(updated), palette, "stale") if stale else fmt.age(updated),
        f"  verified {fmt.age(verified)}" if verified is not None else "  never verified",
        f"  lag {fmt.age(ob.apply_lag_ms)}",
        f"\ntick {fmt.price(ob.tick)}  min {ob.min_size or '-'}  "
        f"lvls {ob.bid_levels}/{ob.ask_levels}",
    )


def cost_text(view: BookView | None, shares: Decimal | None) -> str:
    if view is None or shares is None:
        return "type a size in shares to see what it costs through the book"
    lines = []
    for ob in view.outcomes:
        parts = []
        for side in ("BUY", "SELL"):
            c = cost_in_view(ob, side, shares)
            if not c.filled:
                parts.append(f"{side.lower()}: no offers")
                continue
            part = f"{side.lower()} vwap {fmt.price(c.vwap.quantize(Decimal('0.0001')))}"
            part += f" worst {fmt.price(c.worst)} = {fmt.money(c.cost)}"
            if not c.complete:
                part += f" (only {fmt.size(c.filled)})"
            parts.append(part)
        trust = "" if ob.live else f" [{ob.state}: not verified]"
        lines.append(f"{ob.outcome} {fmt.size(shares)}: " + " | ".join(parts) + trust)
    return "\n".join(lines)


class DepthChart(PlotextPlot):
    """Cumulative depth of the first outcome: bids and asks, shares against price."""

    def draw(self, ob: OutcomeBook | None, palette: dict[str, str]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(f"{ob.outcome} cumulative depth" if ob else "cumulative depth")
        if ob is not None:
            for levels, key in ((ob.bids, "bid"), (ob.asks, "ask")):
                if not levels:
                    continue
                xs, ys, total = [], [], Decimal(0)
                for price, size in levels:
                    total += size
                    xs.append(float(price))
                    ys.append(float(total))
                colour = rgb(palette.get(key))
                plt.plot(xs, ys, marker="braille", color=colour, label=key)
        plt.xlabel("price")
        self.refresh()


class BookPane(Vertical):
    DEFAULT_CSS = """
    BookPane { height: 1fr; }
    BookPane #book-head { height: 2; padding: 0 1; }
    BookPane .outcome { width: 1fr; height: auto; }
    BookPane .outcome-info { height: 3; padding: 0 1; }
    BookPane .ladder { height: 11; padding: 0 0 0 1; }
    BookPane #book-ladders { height: auto; }
    BookPane #depth-chart { height: 1fr; min-height: 8; }
    BookPane.-short #depth-chart { display: none; }
    BookPane #cost { height: auto; }
    BookPane #cost-size { width: 16; height: 1; border: none; }
    BookPane #cost-readout { width: 1fr; height: 4; padding: 0 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.view: BookView | None = None
        self.shares: Decimal | None = None
        self._updates = 0
        self._plotted: str | None = None

    def compose(self) -> ComposeResult:
        yield Quiet("select a market in the Markets pane (Enter)", id="book-head", fixed=True)
        with Horizontal(id="book-ladders"):
            for i in range(2):
                with Vertical(classes="outcome"):
                    yield Quiet("-", id=f"outcome-info-{i}", classes="outcome-info", fixed=True)
                    yield KeyedTable(LADDER, id=f"ladder-{i}", classes="ladder", show_cursor=False)
        with Horizontal(id="cost"):
            yield SteadyInput(placeholder="size", id="cost-size", compact=True, type="number")
            yield Quiet(cost_text(None, None), id="cost-readout", fixed=True)
        yield DepthChart(id="depth-chart")

    def on_mount(self) -> None:
        for i in range(2):
            self.query_one(f"#ladder-{i}", KeyedTable).sync(ladder_rows(None, {}))

    def on_resize(self) -> None:
        self.set_class(self.size.height < 30, "-short")

    def show(self, view: BookView | None, palette: dict[str, str]) -> None:
        self.view = view
        self._updates += 1
        head = self.query_one("#book-head", Quiet)
        if view is None:
            head.show("select a market in the Markets pane (Enter)")
        else:
            flags = f"  flags: {', '.join(view.flags)}" if view.flags else ""
            head.show(
                Text.assemble(
                    (view.title, "bold"),
                    f"\nends in {fmt.until(view.end_ms, view.now_ms)}{flags}",
                )
            )
        outcomes = view.outcomes if view is not None else ()
        for i in range(2):
            ob = outcomes[i] if i < len(outcomes) else None
            now = view.now_ms if view is not None else 0
            self.query_one(f"#outcome-info-{i}", Quiet).show(outcome_info(ob, now, palette))
            self.query_one(f"#ladder-{i}", KeyedTable).sync(ladder_rows(ob, palette))
        self.query_one("#cost-readout", Quiet).show(cost_text(view, self.shares))
        market = view.condition_id if view is not None else None
        if market != self._plotted or self._updates % REPLOT_EVERY == 0:
            self._plotted = market
            self.query_one(DepthChart).draw(outcomes[0] if outcomes else None, palette)

    @on(Input.Changed, "#cost-size")
    def _size_changed(self, event: Input.Changed) -> None:
        try:
            shares = Decimal(event.value) if event.value.strip() else None
        except InvalidOperation:
            shares = None
        self.shares = shares if shares is not None and shares > 0 else None
        self.query_one("#cost-readout", Quiet).show(cost_text(self.view, self.shares))
