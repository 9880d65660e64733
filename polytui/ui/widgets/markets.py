"""The Markets pane: the watched universe with its books' state; filter, sort, pick one."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input

from polytui.engine.views import STATE_RANK, MarketRow, MarketsView
from polytui.ui import format as fmt
from polytui.ui.widgets.inputs import SteadyInput
from polytui.ui.widgets.quiet import Quiet
from polytui.ui.widgets.table import KeyedTable

# (key, label, width); the market column takes what the others leave.
FIXED = [
    ("state", "State", 9),
    ("bid", ">Bid", 5),
    ("ask", ">Ask", 5),
    ("spread", ">Sprd", 5),
    ("volume", ">Vol24h", 6),
    ("ends", ">Ends", 5),
    ("age", ">Age", 5),
    ("flags", "Flags", 9),
]
SORTS = ("rank", "spread", "volume", "ends", "state", "age", "title")
NO_VALUE = Decimal(10)  # sorts a missing spread last


def sort_key(row: MarketRow, by: str) -> tuple:
    if by == "spread":
        return (row.spread if row.spread is not None else NO_VALUE, row.rank)
    if by == "volume":
        return (-row.volume_24h, row.rank)
    if by == "ends":
        return (row.end_ms if row.end_ms is not None else float("inf"), row.rank)
    if by == "state":
        return (STATE_RANK.get(row.state, -1), row.rank)
    if by == "age":
        return (-(row.staleness_ms if row.staleness_ms is not None else 10**12), row.rank)
    if by == "title":
        return (row.title.lower(), row.rank)
    return (row.rank,)


def matches(row: MarketRow, words: Sequence[str]) -> bool:
    hay = f"{row.title} {row.condition_id} {row.state} {' '.join(row.flags)}".lower()
    return all(w in hay for w in words)


class MarketsPane(Vertical):
    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
    ]
    DEFAULT_CSS = """
    MarketsPane { height: 1fr; }
    MarketsPane #markets-filter { height: 1; border: none; padding: 0 1; }
    MarketsPane #markets-table { padding: 0 0 0 1; }
    MarketsPane #markets-table { height: 1fr; }
    MarketsPane #markets-info { height: 1; padding: 0 1; }
    """

    class Highlighted(Message):
        def __init__(self, condition_id: str) -> None:
            super().__init__()
            self.condition_id = condition_id

    class Chosen(Message):
        """Enter on a market: show its book."""

        def __init__(self, condition_id: str) -> None:
            super().__init__()
            self.condition_id = condition_id

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: dict[str, MarketRow] = {}
        self.order: tuple[str, ...] = ()
        self.sort_by = "rank"
        self.words: list[str] = []
        self.now_ms = 0
        self._cache: dict[str, tuple[tuple, tuple]] = {}

    def compose(self) -> ComposeResult:
        yield SteadyInput(
            placeholder="/ filter: words of the question, a state (live, suspect), a flag",
            id="markets-filter",
            compact=True,
        )
        yield KeyedTable(self._columns(80), id="markets-table")
        yield Quiet("no markets yet", id="markets-info", fixed=True)

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#markets-table", KeyedTable)

    def _columns(self, width: int) -> list[tuple[str, str, int]]:
        fixed = sum(w + 1 for _, _, w in FIXED)
        title = max(12, width - fixed - 1 - 1 - 1)  # its gap, the left padding, the scrollbar
        return [("title", "Market", title), *FIXED]

    def on_resize(self) -> None:
        columns = self._columns(self.size.width)
        if self.table.width_of("title") != columns[0][2]:
            self.table.set_columns(columns)
            self.table.order_by(self.order)

    def show(self, view: MarketsView, palette: dict[str, str]) -> None:
        self.rows = {r.condition_id: r for r in view.rows}
        self.now_ms = view.now_ms
        self._render_rows(palette)

    def restyle(self, palette: dict[str, str]) -> None:
        self._cache.clear()
        self._render_rows(palette)

    def _render_rows(self, palette: dict[str, str]) -> None:
        shown = [r for r in self.rows.values() if matches(r, self.words)]
        changed = self.table.sync((r.condition_id, self._cells(r, palette)) for r in shown)
        if changed:  # re-sorted when rows come or go, or on request: never every flush
            self._sort(self._ordered(shown))
        live = sum(1 for r in self.rows.values() if r.state == "LIVE")
        self.query_one("#markets-info", Quiet).show(
            f"{len(shown)} of {len(self.rows)} markets shown, {live} with every book LIVE; "
            f"sorted by {self.sort_by}"
            + (f", filter: {' '.join(self.words)}" if self.words else "")
        )

    def _sort(self, order: tuple[str, ...]) -> None:
        self.order = order
        self.table.order_by(order)

    def _ordered(self, rows: Sequence[MarketRow]) -> tuple[str, ...]:
        return tuple(r.condition_id for r in sorted(rows, key=lambda r: sort_key(r, self.sort_by)))

    def _cells(self, r: MarketRow, palette: dict[str, str]) -> tuple:
        """The row's cells, built again only when what they show changed (a cache by row)."""
        title_width = self.table.width_of("title") or 20
        flags = ",".join(fmt.FLAG_WORDS.get(f, f) for f in r.flags)
        stale = r.staleness_ms is not None and r.staleness_ms > 10_000
        shown = (r.title, title_width, r.state, r.bid, r.ask, r.spread, fmt.volume(r.volume_24h),
                 fmt.until(r.end_ms, self.now_ms), fmt.age_coarse(r.staleness_ms), stale, flags,
                 id(palette))  # fmt: skip
        cached = self._cache.get(r.condition_id)
        if cached is not None and cached[0] == shown:
            return cached[1]
        age = shown[8]
        cells = (
            fmt.left(r.title, title_width),
            fmt.state_badge(r.state, palette),
            fmt.right(fmt.styled(fmt.price(r.bid), palette, "bid"), 5),
            fmt.right(fmt.styled(fmt.price(r.ask), palette, "ask"), 5),
            fmt.right(fmt.price(r.spread), 5),
            fmt.right(shown[6], 6),
            fmt.right(shown[7], 5),
            fmt.right(fmt.styled(age, palette, "stale") if stale else Text(age), 5),
            fmt.left(fmt.styled(flags, palette, "warning"), 9),
        )
        self._cache[r.condition_id] = (shown, cells)
        return cells

    # ---- keys and events -----------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one("#markets-filter", Input).focus()

    def action_sort(self) -> None:
        self.sort_by = SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)]
        shown = [r for r in self.rows.values() if r.condition_id in self.table.shown]
        self._sort(self._ordered(shown))
        self.notify(f"markets sorted by {self.sort_by}", timeout=2)

    @on(Input.Changed, "#markets-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.words = event.value.lower().split()
        self._render_rows(self.app.theme_variables)

    @on(Input.Submitted, "#markets-filter")
    def _filter_done(self) -> None:
        self.table.focus()

    @on(KeyedTable.RowHighlighted, "#markets-table")
    def _highlighted(self, event: KeyedTable.RowHighlighted) -> None:
        if type(event) is KeyedTable.RowHighlighted:
            self.post_message(self.Highlighted(event.key))

    @on(KeyedTable.RowSelected, "#markets-table")
    def _selected(self, event: KeyedTable.RowSelected) -> None:
        self.post_message(self.Chosen(event.key))
