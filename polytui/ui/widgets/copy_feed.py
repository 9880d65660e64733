"""The Copy feed pane: each leader trade the copy strategy saw and what polytui did with it
(copied, resized or skipped, and why). Reads ``engine.copy_trader``; until a copy strategy
runs in the engine it says so."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical

from polytui.engine.views import CopyFeedView
from polytui.ui import format as fmt
from polytui.ui.widgets.quiet import Quiet
from polytui.ui.widgets.table import KeyedTable

COLUMNS = [
    ("time", "Time", 8),
    ("leader", "Leader", 10),
    ("market", "Market", 22),
    ("trade", "Leader trade", 18),
    ("outcome", "Ours", 8),
    ("shares", ">Shares", 8),
    ("why", "Why", 40),
]
OUTCOME_KEY = {"copied": "success", "resized": "warning", "skipped": "stale"}


class CopyFeedPane(Vertical):
    DEFAULT_CSS = """
    CopyFeedPane { height: 1fr; }
    CopyFeedPane #copy-note { height: auto; padding: 0 1; }
    CopyFeedPane #copy-table { height: 1fr; padding: 0 0 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Quiet("no strategy running", id="copy-note")
        yield KeyedTable(COLUMNS, id="copy-table")

    def show(self, view: CopyFeedView, palette: dict[str, str]) -> None:
        note = self.query_one("#copy-note", Quiet)
        if not view.running:
            note.show(
                "no strategy running: the copy-trading strategy is not wired into this engine yet"
            )
            return
        copied = sum(1 for r in view.rows if r.outcome_kind != "skipped")
        note.show(f"copy strategy running: {len(view.rows)} leader trades, {copied} copied")
        rows = [
            (
                f"{r.at_ms}:{i}",
                (
                    fmt.clock(r.at_ms),
                    fmt.left(r.leader, 10),
                    fmt.left(r.title, 22),
                    # net shares over the window: none when the leader's fills cancel out
                    f"{r.side if r.leader_shares else 'FLAT'} {fmt.size(r.leader_shares)} "
                    f"{r.outcome} @ {fmt.price(r.leader_price)}",
                    fmt.styled(r.outcome_kind, palette, OUTCOME_KEY.get(r.outcome_kind, "stale")),
                    fmt.right(fmt.size(r.shares), 8),
                    fmt.left(f"{r.gate}: {r.reason}" if r.gate else r.reason, 200),
                ),
            )
            for i, r in enumerate(reversed(view.rows))
        ]
        table = self.query_one("#copy-table", KeyedTable)
        if table.sync(rows):
            table.order_by([key for key, _ in reversed(rows)])
