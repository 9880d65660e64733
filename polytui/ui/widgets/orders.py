"""The Orders pane: orders with their state (open ones first), and fills with their settlement
status. Partly filled orders show what matched of their size."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message

from polytui.engine.views import OrdersView, is_partial
from polytui.ui import format as fmt
from polytui.ui.widgets.quiet import Quiet
from polytui.ui.widgets.table import KeyedTable

ORDER_COLUMNS = [
    ("time", "Time", 8),
    ("side", "Side", 4),
    ("price", ">Price", 6),
    ("size", ">Size", 8),
    ("matched", ">Matched", 8),
    ("state", "State", 16),
    ("type", "Type", 4),
    ("strategy", "Strategy", 8),
    ("id", "Order", 12),
]
FILL_COLUMNS = [
    ("time", "Time", 8),
    ("side", "Side", 4),
    ("price", ">Price", 6),
    ("size", ">Size", 8),
    ("fee", ">Fee", 6),
    ("status", "Settlement", 10),
    ("role", "Role", 5),
    ("id", "Trade", 12),
]
STATE_KEY = {
    "LIVE": "success",
    "PARTIALLY_FILLED": "warning",
    "FILLED": "success",
    "REJECTED": "error",
    "FAILED": "error",
    "UNKNOWN": "warning",
}
FILL_KEY = {
    "CONFIRMED": "success",
    "MINED": "accent",
    "MATCHED": "warning",
    "FAILED": "error",
    "RETRYING": "warning",
}


OPEN_STATES = ("LIVE", "PARTIALLY_FILLED")


class OrdersPane(Vertical):
    """``x`` cancels the highlighted order (an open one with a venue id), and only it."""

    BINDINGS = [Binding("x", "cancel_order", "Cancel order")]

    class CancelWanted(Message):
        def __init__(self, order_id: str) -> None:
            super().__init__()
            self.order_id = order_id

    DEFAULT_CSS = """
    OrdersPane { height: 1fr; }
    OrdersPane .caption { height: 1; padding: 0 1; text-style: bold; }
    OrdersPane KeyedTable { padding: 0 0 0 1; }
    OrdersPane #orders-table { height: 1fr; }
    OrdersPane #fills-table { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Quiet("Orders", id="orders-caption", classes="caption", fixed=True)
        yield KeyedTable(ORDER_COLUMNS, id="orders-table")
        yield Quiet("Fills", id="fills-caption", classes="caption", fixed=True)
        yield KeyedTable(FILL_COLUMNS, id="fills-table")

    def __init__(self, *children: Any, **kwargs: Any) -> None:
        super().__init__(*children, **kwargs)
        self._orders: dict[str, tuple[str, str]] = {}  # row key -> (order id, state)

    def action_cancel_order(self) -> None:
        key = self.query_one("#orders-table", KeyedTable).highlighted_key
        if key is None or key not in self._orders:
            self.notify("no order highlighted", severity="warning", timeout=3)
            return
        order_id, state = self._orders[key]
        if state not in OPEN_STATES or not order_id:
            self.notify(f"that order is {state}: nothing to cancel", severity="warning", timeout=3)
            return
        self.post_message(self.CancelWanted(order_id))

    def show(self, view: OrdersView, palette: dict[str, str]) -> None:
        orders = self.query_one("#orders-table", KeyedTable)
        fills = self.query_one("#fills-table", KeyedTable)
        if not view.available:
            self.query_one("#orders-caption", Quiet).show(
                "Orders: none: this engine has no order side yet (no ledger, no tracker)"
            )
            return
        self._orders = {o.key: (o.order_id, o.state.value) for o in view.orders}
        open_ = sum(1 for o in view.orders if o.state in OPEN_STATES)
        partial = sum(1 for o in view.orders if is_partial(o))
        self.query_one("#orders-caption", Quiet).show(
            f"Orders: {open_} open, {partial} partly filled, {len(view.orders)} shown"
        )
        rows = []
        for o in view.orders:
            state = o.state.value + (
                " (part)" if is_partial(o) and o.state != "PARTIALLY_FILLED" else ""
            )
            rows.append(
                (
                    o.key,
                    (
                        fmt.clock(o.updated_ts_ms),
                        fmt.styled(o.side, palette, "bid" if o.side == "BUY" else "ask"),
                        fmt.right(fmt.price(o.price), 6),
                        fmt.right(fmt.size(o.size), 8),
                        fmt.right(fmt.size(o.size_matched), 8),
                        fmt.styled(state, palette, STATE_KEY.get(o.state.value, "stale")),
                        o.order_type,
                        fmt.left(o.strategy, 8),
                        fmt.left(o.order_id or "-", 12),
                    ),
                )
            )
        if orders.sync(rows):
            orders.order_by([o.key for o in view.orders])
        confirmed = sum(1 for f in view.fills if f.status == "CONFIRMED")
        self.query_one("#fills-caption", Quiet).show(
            f"Fills: {len(view.fills)} shown, {confirmed} confirmed"
        )
        rows = [
            (
                f.key,
                (
                    fmt.clock(f.match_time_ms),
                    fmt.styled(f.side, palette, "bid" if f.side == "BUY" else "ask"),
                    fmt.right(fmt.price(f.price), 6),
                    fmt.right(fmt.size(f.size), 8),
                    fmt.right(fmt.money(f.fee), 6),
                    fmt.styled(f.status.value, palette, FILL_KEY.get(f.status.value, "stale")),
                    f.role,
                    fmt.left(f.trade_id, 12),
                ),
            )
            for f in view.fills
        ]
        if fills.sync(rows):
            fills.order_by([f.key for f in view.fills])
