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
        target = FOCUS.get(event.pane.id or "")
        if target:
            self.query_one(target).focus()

    @property
    def status(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    def apply(self, update: EngineUpdate) -> None:
        palette = self.app.theme_variables
        views = update.views
        self.latest.update(views)
        with self.app.batch_update():
            if "markets" in views:
                self.query_one(MarketsPane).show(views["markets"], palette)
            if "book" in views:
                self.query_one(BookPane).show(views["book"], palette)
                if views["book"] is not None:
                    self.status.now_ms = views["book"].now_ms
            if "orders" in views:
                self.query_one(OrdersPane).show(views["orders"], palette)
                self.query_one(PositionsPane).show(views["orders"], palette)
            if "pnl" in views:
                self.query_one(PositionsPane).plot(views["pnl"], palette)
            if "health" in views:
                self.query_one(HealthPane).show(views["health"], palette)
                self.status.now_ms = views["health"].now_ms
            if "copy" in views:
                self.query_one(CopyFeedPane).show(views["copy"], palette)
            if update.events:
                self.query_one(HealthPane).log_lines(update.events, palette)

    def restyle(self) -> None:
        """The theme changed: draw again with its colours."""
        self.apply(EngineUpdate(0, dict(self.latest), ()))

    def show_status(self, status: EngineStatus) -> None:
        self.status.state, self.status.detail = status.state, status.detail
