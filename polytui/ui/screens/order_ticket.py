"""The order ticket: a manual order with a pre-trade preview from the engine (fill estimate
through the verified book, cost, fee, exposure after it against the caps, the risk verdict),
then a confirmation step. It goes through the risk engine like any intent: the ticket only
asks (``Wanted`` for a preview, ``Confirmed`` to send), the App sends the commands."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from polytui.core.strategy import OrderIntent
from polytui.engine.preview import ManualTicket, Preview
from polytui.engine.views import BookView
from polytui.ui import format as fmt
from polytui.ui.widgets.inputs import SteadyInput

UNAVAILABLE = (
    "orders are unavailable: this engine has no order path for manual orders yet "
    "(engine.submit_manual); the preview is what the risk gates would say"
)


def preview_text(p: Preview, palette: dict[str, str]) -> Text:
    t = p.ticket
    out = Text()
    out.append(
        f"book {p.book_state}",
        style="bold" if p.book_state == "LIVE" else f"bold {palette.get('error', '')}",
    )
    out.append(f"   touch {fmt.price(p.reference)}   limit {fmt.price(p.limit)}\n")
    if p.filled:
        vwap = p.vwap.quantize(Decimal("0.0001")) if p.vwap is not None else None
        out.append(
            f"fills now {fmt.size(p.filled)} of {fmt.size(t.shares)} at vwap {fmt.price(vwap)}, "
        )
        out.append(f"worst {fmt.price(p.worst)}, cost {fmt.money(p.cost)} USDC\n")
    else:
        out.append("fills now: nothing (no LIVE book or no offers within the limit)\n")
    fee = f"{fmt.money(p.fee)} USDC ({p.fee_bps} bps)" if p.fee is not None else "unknown"
    out.append(f"fee {fee}\n")
    if p.market is not None and p.total is not None:
        out.append(
            f"exposure in market {fmt.money(p.market.before)} -> {fmt.money(p.market.after)}"
            f" of {fmt.money(p.market.cap)};  total {fmt.money(p.total.before)} -> "
            f"{fmt.money(p.total.after)} of {fmt.money(p.total.cap)}\n"
        )
    key = {"approved": "success", "resized": "warning"}.get(p.verdict, "error")
    out.append(p.verdict.upper(), style=f"bold {palette.get(key, '')}")
    if p.gate:
        out.append(f" [{p.gate}]")
    out.append(f": {p.reason}")
    if p.shares is not None:
        out.append(f"\norder: {t.side} {fmt.size(p.shares)} @ {fmt.price(p.price)} {t.order_type}")
    if not p.funds_checked:
        out.append(
            "\nfunds not checked: the engine cannot say its balance", style=palette.get("stale", "")
        )
    return out


class OrderTicket(ModalScreen[None]):
    BINDINGS = [Binding("escape", "close", "Close")]
    DEFAULT_CSS = """
    OrderTicket { align: center middle; }
    OrderTicket #ticket { width: 78; max-width: 100%; height: auto; max-height: 100%;
                          border: thick $primary; background: $surface; padding: 0 1; }
    OrderTicket.-halted #ticket { border: thick $error; }
    OrderTicket #ticket-title { text-style: bold; }
    OrderTicket #ticket-halted { color: $error; text-style: bold; display: none; }
    OrderTicket.-halted #ticket-halted { display: block; }
    OrderTicket .row { height: auto; }
    OrderTicket Select { width: 1fr; }
    OrderTicket Input { width: 1fr; }
    OrderTicket #ticket-preview { height: auto; min-height: 6; border-top: solid $panel; }
    OrderTicket #ticket-note { color: $text-muted; }
    OrderTicket Button { margin: 0 1 0 0; }
    """

    class Wanted(Message):
        def __init__(self, ticket: ManualTicket) -> None:
            super().__init__()
            self.ticket = ticket

    class Confirmed(Message):
        def __init__(self, intent: OrderIntent) -> None:
            super().__init__()
            self.intent = intent

    def __init__(self, book: BookView, ref: str, kill_key: str, halted: bool) -> None:
        super().__init__()
        self.book = book
        self.ref = ref
        self.kill_key = kill_key
        self.preview: Preview | None = None
        self.armed = False
        self.set_class(halted, "-halted")

    def compose(self) -> ComposeResult:
        outcomes = [(f"{o.outcome}", i) for i, o in enumerate(self.book.outcomes)]
        with Vertical(id="ticket"):
            yield Static(f"Order ticket: {self.book.title}", id="ticket-title", markup=False)
            yield Static(
                "HALTED: the kill switch is engaged; nothing will be sent", id="ticket-halted"
            )
            with Horizontal(classes="row"):
                yield Select(
                    [("BUY", "BUY"), ("SELL", "SELL")],
                    value="BUY",
                    allow_blank=False,
                    id="ticket-side",
                    compact=True,
                )
                yield Select(
                    outcomes, value=0, allow_blank=False, id="ticket-outcome", compact=True
                )
                yield Select(
                    [("FAK (now or never)", "FAK"), ("GTC (rests)", "GTC")],
                    value="FAK",
                    allow_blank=False,
                    id="ticket-type",
                    compact=True,
                )
            with Horizontal(classes="row"):
                yield SteadyInput(
                    placeholder="shares", id="ticket-size", type="number", compact=True
                )
                yield SteadyInput(
                    placeholder="limit price (empty: through the book)",
                    id="ticket-limit",
                    type="number",
                    compact=True,
                )
            yield Static("type a size to see the preview", id="ticket-preview", markup=False)
            with Horizontal(classes="row"):
                yield Button(
                    "Review", id="ticket-submit", variant="primary", disabled=True, compact=True
                )
                yield Button("Cancel", id="ticket-cancel", compact=True)
            yield Static(
                f"{self.kill_key}: kill switch (works here too)   escape: close",
                id="ticket-note",
                markup=False,
            )

    def on_mount(self) -> None:
        self.query_one("#ticket-size", Input).focus()

    def set_halted(self, halted: bool) -> None:
        self.set_class(halted, "-halted")
        self._refresh_button()

    def ask_again(self) -> None:
        """The engine's state changed under the ticket (the kill switch): a new preview."""
        self._changed()

    # ---- the ticket ---------------------------------------------------------------------------

    def ticket(self) -> ManualTicket | None:
        size = _decimal(self.query_one("#ticket-size", Input).value)
        if size is None or size <= 0:
            return None
        index = self.query_one("#ticket-outcome", Select).value
        outcome = self.book.outcomes[index if isinstance(index, int) else 0]
        return ManualTicket(
            condition_id=self.book.condition_id,
            asset=outcome.asset,
            side=str(self.query_one("#ticket-side", Select).value),
            shares=size,
            limit_price=_decimal(self.query_one("#ticket-limit", Input).value),
            order_type=str(self.query_one("#ticket-type", Select).value),
            ref=self.ref,
        )

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self.armed = False
        ticket = self.ticket()
        self.preview = None
        self._refresh_button()
        if ticket is None:
            self.query_one("#ticket-preview", Static).update("type a size to see the preview")
            return
        self.query_one("#ticket-preview", Static).update("asking the engine for a preview…")
        self.post_message(self.Wanted(ticket))

    def show_preview(self, preview: Preview) -> None:
        if preview.ticket != self.ticket():
            return  # an answer to an older version of the ticket
        self.preview = preview
        text = preview_text(preview, self.app.theme_variables)
        if not preview.can_submit:
            text.append(f"\n{UNAVAILABLE}", style=self.app.theme_variables.get("warning", ""))
        self.query_one("#ticket-preview", Static).update(text)
        self._refresh_button()

    def show_answer(self, text: str) -> None:
        self.query_one("#ticket-preview", Static).update(text)
        self.armed = False
        self._refresh_button()

    def _sendable(self) -> bool:
        p = self.preview
        return (
            p is not None
            and p.can_submit
            and p.intent is not None
            and p.verdict in ("approved", "resized")
            and not self.has_class("-halted")
        )

    def _refresh_button(self) -> None:
        button = self.query_one("#ticket-submit", Button)
        button.disabled = not self._sendable()
        button.label = "Confirm: send it" if self.armed else "Review"

    @on(Button.Pressed, "#ticket-submit")
    def _submit(self) -> None:
        if not self._sendable() or self.preview is None or self.preview.intent is None:
            return
        if not self.armed:  # the deliberate second step
            self.armed = True
            p, t = self.preview, self.preview.ticket
            outcome = next((o.outcome for o in self.book.outcomes if o.asset == t.asset), "")
            self.query_one("#ticket-preview", Static).update(
                f"CONFIRM: {t.side} {fmt.size(p.shares)} {outcome} of {self.book.title} at "
                f"{fmt.price(p.price)} "
                f"{t.order_type}. Press 'Confirm: send it' to send, or change anything to go back."
            )
            self._refresh_button()
            return
        self.post_message(self.Confirmed(self.preview.intent))
        self.show_answer("sent to the engine; waiting for its answer…")

    @on(Button.Pressed, "#ticket-cancel")
    def action_close(self) -> None:
        self.dismiss(None)


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip()) if text.strip() else None
    except InvalidOperation:
        return None
    return value if value is not None and value.is_finite() else None
