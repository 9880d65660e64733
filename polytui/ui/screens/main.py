"""The main screen: the status bar, the panes in tabs (keys 1-6), the footer. It routes the
bridge's updates to the panes; it decides nothing."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, TabPane

from polytui.ui.messages import EngineStatus, EngineUpdate
from polytui.ui.widgets.book import BookPane
from polytui.ui.widgets.copy_feed import CopyFeedPane
from polytui.ui.widgets.health import HealthPane
from polytui.ui.widgets.markets import MarketsPane
from polytui.ui.widgets.orders import OrdersPane
from polytui.ui.widgets.positions import PositionsPane
from polytui.ui.widgets.status_bar import StatusBar

TABS = (
    ("markets", "1 Markets"),
    ("book", "2 Book"),
    ("orders", "3 Orders"),
    ("positions", "4 Positions"),
    ("health", "5 Health"),
    ("copy", "6 Copy"),
)
FOCUS = {
    "markets": "#markets-table",
    "book": "#ladder-0",
    "orders": "#orders-table",
    "positions": "#positions-table",
    "health": "#health-log",
    "copy": "#copy-table",
}


class MainScreen(Screen):
    def __init__(self, mode: str, kill_key: str) -> None:
        super().__init__()
        self.mode = mode
        self.kill_key = kill_key
        self.latest: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        bar = StatusBar(id="status")
        bar.mode, bar.kill_key = self.mode, self.kill_key
        yield bar
        with TabbedContent(initial="markets", id="tabs"):
            panes = (MarketsPane, BookPane, OrdersPane, PositionsPane, HealthPane, CopyFeedPane)
            for (tab_id, title), pane in zip(TABS, panes, strict=True):
                with TabPane(title, id=tab_id):
                    yield pane(id=f"{tab_id}-pane")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(FOCUS["markets"]).focus()

    def show_tab(self, tab_id: str) -> None:
        self.query_one("#tabs", TabbedContent).active = tab_id

    @on(TabbedContent.TabActivated)
    def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        tab = event.pane.id or ""
        with self.app.batch_update():
            self._draw(tab, set(self.latest))  # what changed while it was hidden
        target = FOCUS.get(tab)
        if target:
            self.query_one(target).focus()

    @property
    def status(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    def apply(self, update: EngineUpdate) -> None:
        """Keep every view; draw only the pane on show (a hidden pane catches up when it is
        shown). The status bar and the event log always."""
        views = update.views
        self.latest.update(views)
        with self.app.batch_update():
            self._draw(self.query_one("#tabs", TabbedContent).active, set(views))
            for key in ("health", "book"):
                now = getattr(views.get(key), "now_ms", None)
                if now:
                    self.status.now_ms = now // 1000 * 1000  # it shows seconds: redraw as often
            if update.events:
                self.query_one(HealthPane).log_lines(update.events, self.app.theme_variables)

    def _draw(self, tab: str, keys: set[str]) -> None:
        palette, latest = self.app.theme_variables, self.latest
        if tab == "markets" and "markets" in keys:
            self.query_one(MarketsPane).show(latest["markets"], palette)
        elif tab == "book" and "book" in keys:
            self.query_one(BookPane).show(latest["book"], palette)
        elif tab == "orders" and "orders" in keys:
            self.query_one(OrdersPane).show(latest["orders"], palette)
        elif tab == "positions":
            if "orders" in keys:
                self.query_one(PositionsPane).show(latest["orders"], palette)
            if "pnl" in keys:
                self.query_one(PositionsPane).plot(latest["pnl"], palette)
        elif tab == "health" and "health" in keys:
            self.query_one(HealthPane).show(latest["health"], palette)
        elif tab == "copy" and "copy" in keys:
            self.query_one(CopyFeedPane).show(latest["copy"], palette)

    def restyle(self) -> None:
        """The theme changed: draw again with its colours."""
        self.query_one(MarketsPane).restyle(self.app.theme_variables)
        self._draw(self.query_one("#tabs", TabbedContent).active, set(self.latest))

    def show_status(self, status: EngineStatus) -> None:
        self.status.state, self.status.detail = status.state, status.detail
