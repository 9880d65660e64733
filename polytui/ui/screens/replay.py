"""The scrub screen: a recorded session replayed to any instant (``polytui replay DIR --ui``).

Marked REPLAY at all times. It shows the session's span, the instant, the book of one asset at
that instant (``a``/``A`` pick another), the positions and open orders then, and the decisions
within the window around it (the latest one at or before the instant marked ``▶``). Keys move
the instant; the move runs on the scrubber's own thread (``polytui.engine.scrub``) while this
screen shows "replaying to …", and the latest asked instant wins (moves are coalesced).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Static

from polytui.engine.scrub import Scrubber, ScrubView
from polytui.engine.session.decisions import outcome_text
from polytui.engine.session.report import clock_time, parse_instant, short, utc
from polytui.ui.widgets.inputs import SteadyInput

STEP_MS, BIG_STEP_MS = 1000, 10_000


def _offset(ms: int, start_ms: int) -> str:
    return f"{(ms - start_ms) / 1000:+.3f} s"


class GoTo(ModalScreen[int | None]):
    """Type an instant: HH:MM:SS.mmm (UTC), +SECONDS, an ISO date-time or epoch ms."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    GoTo { align: center middle; }
    GoTo #goto { width: 70; max-width: 100%; height: auto; border: thick $accent;
                 background: $surface; padding: 0 1; }
    GoTo #goto-error { color: $error; height: auto; }
    """

    def __init__(self, start_ms: int, end_ms: int) -> None:
        super().__init__()
        self.start_ms, self.end_ms = start_ms, end_ms

    def compose(self) -> ComposeResult:
        with Vertical(id="goto"):
            yield Static(
                "Go to: HH:MM:SS.mmm UTC, +SECONDS, ISO date-time or epoch ms",
                markup=False,
            )
            yield SteadyInput(placeholder="+12.5", id="goto-time", compact=True)
            yield Static("", id="goto-error", markup=False)

    def on_mount(self) -> None:
        self.query_one("#goto-time", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            at = parse_instant(event.value, self.start_ms, self.end_ms)
        except ValueError as exc:
            self.query_one("#goto-error", Static).update(str(exc))
            return
        self.dismiss(at)

    def action_cancel(self) -> None:
        self.dismiss(None)


HOLDING_ROWS = 12  # the middle row's 14 lines, less the two section headings


def split_rows(positions: int, orders: int, room: int) -> tuple[int, int]:
    """Rows for each section: what each needs when both fit, else orders get at most half
    and positions the rest (a section short of its share gives the other what it leaves)."""
    if positions + orders <= room:
        return positions, orders
    orders_room = min(orders, room // 2)
    positions_room = room - orders_room
    if positions < positions_room:
        positions_room, orders_room = positions, room - positions
    return positions_room, orders_room


def fit_rows(lines: list[str], room: int) -> list[str]:
    """``lines`` within ``room`` rows, the last one saying how many did not fit."""
    if len(lines) <= room:
        return lines
    if room <= 0:
        return []
    return [*lines[: room - 1], f"  ... {len(lines) - room + 1} more"]


def _cost(position: dict[str, Any]) -> Decimal:
    size, cost = position.get("size"), position.get("avg_cost")
    try:
        return abs(Decimal(str(size)) * Decimal(str(cost)))
    except (ArithmeticError, ValueError):
        return Decimal(0)


class ReplayScreen(Screen):
    BINDINGS = [
        Binding("left", "step(-1000)", "-1s"),
        Binding("right", "step(1000)", "+1s"),
        Binding("shift+left,left_square_bracket", "step(-10000)", "-10s", key_display="["),
        Binding("shift+right,right_square_bracket", "step(10000)", "+10s", key_display="]"),
        Binding("p", "decision(-1)", "Prev decision"),
        Binding("n", "decision(1)", "Next decision"),
        Binding("g", "goto", "Go to"),
        Binding("home", "edge(0)", "Start"),
        Binding("end", "edge(1)", "End"),
        Binding("a", "asset(1)", "Asset"),
        Binding("A", "asset(-1)", "Asset", show=False),
        Binding("q", "app.quit", "Quit"),
    ]
    DEFAULT_CSS = """
    ReplayScreen #replay-bar { height: 2; padding: 0 1; background: $panel; }
    ReplayScreen #replay-middle { height: auto; max-height: 14; }
    ReplayScreen #replay-book { width: 1fr; height: auto; padding: 0 1;
                                border-right: solid $panel; }
    ReplayScreen #replay-holdings { width: 1fr; height: auto; padding: 0 1;
                                    text-wrap: nowrap; text-overflow: ellipsis; }
    ReplayScreen #replay-decisions { height: 1fr; padding: 0 1; border-top: solid $panel;
                                     text-wrap: nowrap; text-overflow: ellipsis;
                                     overflow-y: auto; }
    """

    def __init__(self, scrubber: Scrubber, at_ms: int | None = None) -> None:
        super().__init__()
        self.scrubber = scrubber
        self.target_ms = scrubber.clamp(at_ms if at_ms is not None else scrubber.start_ms)
        self.view: ScrubView | None = None
        self.asset: str | None = None  # the book shown; None: follow the current decision
        self.error: str | None = None
        self._moving = False

    def compose(self) -> ComposeResult:
        yield Static(id="replay-bar")
        with Horizontal(id="replay-middle"):
            yield Static(id="replay-book")
            yield Static(id="replay-holdings")
        yield Static(id="replay-decisions")
        yield Footer()

    def on_mount(self) -> None:
        self.move_to(self.target_ms)

    # ---- moving -----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._moving

    def move_to(self, at_ms: int, asset: str | None = None) -> None:
        self.target_ms = self.scrubber.clamp(at_ms)
        if asset is not None:
            self.asset = asset
        self._draw_bar()
        if not self._moving:
            self._moving = True
            self._draw_bar()
            self._mover()

    @work(group="replay", exit_on_error=False)
    async def _mover(self) -> None:
        try:
            while self.view is None or self.view.at_ms != self.target_ms:
                target = self.target_ms
                try:
                    view = await asyncio.wrap_future(self.scrubber.move(target))
                except Exception as exc:  # noqa: BLE001 - shown, not raised into the App
                    self.error = f"{type(exc).__name__}: {exc}"
                    self.notify(f"replay failed: {self.error}", severity="error", timeout=30)
                    break
                self.view = view
                if target == self.target_ms:
                    self._moving = False
                self.show(view)
        finally:
            self._moving = False
            self._draw_bar()

    def action_step(self, delta_ms: int) -> None:
        self.move_to(self.target_ms + delta_ms)

    def action_edge(self, end: int) -> None:
        self.move_to(self.scrubber.end_ms if end else self.scrubber.start_ms)

    def action_decision(self, direction: int) -> None:
        s = self.scrubber
        found = (
            s.next_decision(self.target_ms)
            if direction > 0
            else s.previous_decision(self.target_ms)
        )
        if found is None:
            self.notify(
                "no decision after this instant"
                if direction > 0
                else "no decision before this instant",
                timeout=3,
            )
            return
        self.move_to(found["at_ms"], asset=found["asset"])

    def action_goto(self) -> None:
        def chosen(at: int | None) -> None:
            if at is not None:
                self.move_to(at)

        self.app.push_screen(GoTo(self.scrubber.start_ms, self.scrubber.end_ms), chosen)

    def action_asset(self, direction: int) -> None:
        view = self.view
        if view is None or not view.books:
            return
        assets = [b["asset"] for b in view.books]
        current = self._shown_asset(view)
        i = assets.index(current) if current in assets else -1
        self.asset = assets[(i + direction) % len(assets)]
        self._draw_book(view)

    # ---- drawing ----------------------------------------------------------------------------

    def show(self, view: ScrubView) -> None:
        with self.app.batch_update():
            self._draw_bar()
            self._draw_book(view)
            self._draw_holdings(view)
            self._draw_decisions(view)

    def _draw_bar(self) -> None:
        s, view = self.scrubber, self.view
        palette = self.app.theme_variables
        out = Text()
        out.append(" REPLAY ", style=f"bold reverse {palette.get('accent', '')}")
        out.append(
            f"  session {utc(s.start_ms)} to {clock_time(s.end_ms)} UTC ({s.length_s:.1f} s), "
            f"{len(s.recorded)} decisions"
        )
        out.append("\n")
        if view is not None:
            out.append(f" at {clock_time(view.at_ms)} UTC", style="bold")
            out.append(f"  {_offset(view.at_ms, s.start_ms)}")
            if view.reopened:
                out.append("  (replayed again from the start)", style="dim")
        if self._moving:
            out.append(
                f"  replaying to {clock_time(self.target_ms)} "
                f"({_offset(self.target_ms, s.start_ms)}) …",
                style=f"bold {palette.get('warning', '')}",
            )
        if self.error:
            out.append(f"  {self.error}", style=palette.get("error", ""))
        elif view is not None and view.failed:
            out.append(f"  the replayed engine stopped: {view.failed}", style="bold")
        out.append(f"  {s.directory.name}", style="dim")
        self.query_one("#replay-bar", Static).update(out)

    def _shown_asset(self, view: ScrubView) -> str | None:
        assets = {b["asset"] for b in view.books}
        if self.asset in assets:
            return self.asset
        current = [d for d in view.decisions if d["intent_id"] in view.current]
        for candidate in [d["asset"] for d in current] + [p["asset"] for p in view.positions]:
            if candidate in assets:
                return candidate
        return view.books[0]["asset"] if view.books else None

    def _draw_book(self, view: ScrubView) -> None:
        asset = self._shown_asset(view)
        book = next((b for b in view.books if b["asset"] == asset), None)
        out = Text()
        if book is None:
            out.append("book: none held at this instant (the mirror has no market yet)")
            self.query_one("#replay-book", Static).update(out)
            return
        index = [b["asset"] for b in view.books].index(asset) + 1
        out.append(f"book {index}/{len(view.books)} (a/A: another)  ", style="bold")
        out.append(book["state"], style="bold")
        out.append(f"\nasset  {book['asset'][:40]}\nmarket {str(book['market'])[:40]}\n")
        out.append(f"{'bid size':>12} {'bid':>7} | {'ask':<7} {'ask size':<12}\n", style="dim")
        bids, asks = book["bids"], book["asks"]
        for i in range(max(len(bids), len(asks), 1)):
            bp, bs = bids[i] if i < len(bids) else ("-", "")
            ap, as_ = asks[i] if i < len(asks) else ("-", "")
            out.append(
                f"{short(bs) if bs else '':>12} {bp:>7} | {ap:<7} {short(as_) if as_ else '':<12}\n"
            )
        self.query_one("#replay-book", Static).update(out)

    def _draw_holdings(self, view: ScrubView) -> None:
        """Positions (the largest cost first) and open orders, within the pane's height: a
        section that does not fit ends with how many more there are."""
        positions = sorted(view.positions, key=_cost, reverse=True)
        p_room, o_room = split_rows(len(positions), len(view.open_orders), HOLDING_ROWS)
        out = Text()
        out.append(
            f"positions ({len(positions)})\n" if positions else "positions: none\n",
            style="bold",
        )
        for line in fit_rows(
            [
                f"  {p['asset'][:14]}  {short(p['size'])} @ {short(p['avg_cost'])}  "
                f"mark {short(p['mark'])}  realised {short(p['realised'])}"
                for p in positions
            ],
            p_room,
        ):
            out.append(line + "\n")
        out.append(
            f"open orders ({len(view.open_orders)})\n"
            if view.open_orders
            else "open orders: none\n",
            style="bold",
        )
        for line in fit_rows(
            [
                f"  {o['asset'][:14]}  {o['side']} {short(o['size'])} @ {short(o['price'])}  "
                f"matched {short(o['matched'])}  {o['state']}"
                for o in view.open_orders
            ],
            o_room,
        ):
            out.append(line + "\n")
        self.query_one("#replay-holdings", Static).update(out)

    def _draw_decisions(self, view: ScrubView) -> None:
        """One line a decision (cropped, never wrapped): the current one marked ``▶``, those
        after the instant dim, ``[rec]`` where the outcome is the record's (the replay has not
        published it yet: an approved intent's outcome waits for its order's answer)."""
        start = view.start_ms
        palette = self.app.theme_variables
        out = Text(no_wrap=True, overflow="ellipsis")
        window = view.window_ms / 1000
        if not view.decisions:
            out.append(
                f"decisions: none within {window:g} s (n/p: next/previous decision)", style="bold"
            )
        else:
            out.append(
                f"decisions within {window:g} s: time, intent, asset, outcome (rejected by gate: "
                "reason), asked\n",
                style="bold",
            )
        for d in view.decisions:
            current = d["intent_id"] in view.current
            mark = "▶" if current else " "
            asked = (
                f"{d['side']} {short(d['size'])} {str(d['unit']).lower()} {d['order_type']} "
                f"@ {short(d['limit_price'])}"
            )
            style = "bold" if current else ("dim" if d["ahead"] else "")
            out.append(
                f"{mark} {clock_time(d['at_ms'])} {_offset(d['at_ms'], start):>10}  "
                f"{'[rec] ' if d.get('recorded') else '      '}"
                f"{d['intent_id'][:16]}  {str(d['asset'])[:12]}  ",
                style=style,
            )
            colour = palette.get("success" if d["approved"] else "error", "")
            out.append(outcome_text(d), style=f"{style} {colour}".strip())
            out.append(f"  asked {asked}", style="dim")
            if d["approved"] and d.get("reason"):
                out.append(f" ({d['reason']})", style="dim")
            out.append("\n")
        self.query_one("#replay-decisions", Static).update(out)


__all__ = ["GoTo", "ReplayScreen"]
