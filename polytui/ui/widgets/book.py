"""The Book pane: the selected market's depth ladder for both outcomes, each book's state and
freshness, a cumulative depth chart, and the cost of a typed size through the book."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Horizontal, Vertical
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input

from polytui.engine.views import BookView, Levels, OutcomeBook, cost_in_view
from polytui.ui import format as fmt
from polytui.ui.widgets.inputs import SteadyInput
from polytui.ui.widgets.quiet import Quiet
from polytui.ui.widgets.table import KeyedTable

DEPTH = 10  # ladder rows (fixed: rows are keyed by level, never added or removed)
CHART_EVERY = 5  # book updates per chart redraw (2 a second at 10 Hz): it costs the most
LADDER = [("bsize", ">Size", 9), ("bid", ">Bid", 6), ("ask", ">Ask", 6), ("asize", ">Size", 9)]


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


BLOCKS = " ▁▂▃▄▅▆▇█"
LABEL = 9  # the left column: cumulative shares


Row = list[tuple[str, str]]  # (text, palette key) runs of one line


def depth_rows(ob: OutcomeBook | None, width: int, height: int) -> list[Row]:
    """Cumulative depth as a bar per price column: from the best bid down (what a sale down
    to that price could fill) and from the best ask up (what a buy up to it could), drawn
    with eighth blocks. Lines of (text, palette key) runs: a few per line."""
    rows = max(2, height - 2)
    cols = max(10, width - LABEL)
    if ob is None or not (ob.bids or ob.asks):
        return [[("cumulative depth: no book", "")]]
    prices = [p for p, _ in ob.bids] + [p for p, _ in ob.asks]
    lo, hi = min(prices), max(prices)
    step = (hi - lo) / (cols - 1) if hi > lo else Decimal(1)
    column_prices = [lo + step * c for c in range(cols)]
    best_bid = ob.bids[0][0] if ob.bids else None
    split = sum(1 for p in column_prices if best_bid is not None and p <= best_bid)
    values = [_cumulative(ob.bids, p, below=True) for p in column_prices[:split]]
    values += [_cumulative(ob.asks, p, below=False) for p in column_prices[split:]]
    top = max(values) or Decimal(1)
    eighths = [int(v / top * rows * 8) for v in values]
    out: list[Row] = [[(f"{ob.outcome} cumulative depth (shares)", "bold")]]
    for r in range(rows):
        label = fmt.size(top) if r == 0 else ("0" if r == rows - 1 else "")
        floor = (rows - 1 - r) * 8
        line = "".join(BLOCKS[max(0, min(8, e - floor))] for e in eighths)
        out.append(
            [(f"{label:>{LABEL - 1}} ", "stale"), (line[:split], "bid"), (line[split:], "ask")]
        )
    axis = f"{fmt.price(lo)}".ljust(cols // 2) + f"{fmt.price(hi)}".rjust(cols - cols // 2)
    out.append([(" " * LABEL + axis, "stale")])
    return out


def _cumulative(levels: Levels, price: Decimal, *, below: bool) -> Decimal:
    """Shares on ``levels`` (best first) at prices no worse than ``price`` for the taker."""
    total = Decimal(0)
    for p, size in levels:
        if (p < price) if below else (p > price):
            break
        total += size
    return total


class DepthChart(Widget):
    """The chart above, drawn line by line (Line API) from plain runs: built again only
    when its book or size changes, each line a handful of segments."""

    DEFAULT_CSS = "DepthChart { height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._book: OutcomeBook | None = None
        self._rows: list[Row] = []
        self._strips: list[Strip] = []
        self._base: Style | None = None

    def draw(self, ob: OutcomeBook | None, palette: dict[str, str]) -> None:
        self._book = ob
        rows = depth_rows(ob, self.size.width, self.size.height)
        if rows != self._rows:
            self._rows = rows
            self._strips = []
            self.refresh()

    def on_resize(self) -> None:
        self.draw(self._book, self.app.theme_variables)

    def render_line(self, y: int) -> Strip:
        if self.rich_style != self._base:  # the theme changed: draw again
            self._base, self._strips = self.rich_style, []
        if not self._strips and self._rows:
            palette, base = self.app.theme_variables, self.rich_style
            styles = {key: base + Style.parse(palette.get(key, key) if key != "bold" else "bold")
                      for key in ("bid", "ask", "stale", "bold", "")}  # fmt: skip
            self._strips = [Strip([Segment(text, styles[key]) for text, key in row if text])
                            for row in self._rows]  # fmt: skip
        width = self.size.width
        if y >= len(self._strips):
            return Strip.blank(width, self.rich_style)
        return self._strips[y].crop_extend(0, width, self.rich_style)


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
        self._updates = 0
        self._charted: str | None = None
        self.shares: Decimal | None = None

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
        chart = self.query_one(DepthChart)
        market = view.condition_id if view is not None else None
        self._updates += 1
        if chart.display and (market != self._charted or self._updates % CHART_EVERY == 0):
            self._charted = market
            chart.draw(outcomes[0] if outcomes else None, palette)

    @on(Input.Changed, "#cost-size")
    def _size_changed(self, event: Input.Changed) -> None:
        try:
            shares = Decimal(event.value) if event.value.strip() else None
        except InvalidOperation:
            shares = None
        self.shares = shares if shares is not None and shares > 0 else None
        self.query_one("#cost-readout", Quiet).show(cost_text(self.view, self.shares))
