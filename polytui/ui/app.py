"""The Textual App: wiring only. It registers the themes, installs the main screen, builds the
bridge and hosts the engine (its own thread and event loop, in one thread worker), routes the
bridge's messages to the screens and turns keys into engine commands. Marked SIM at all times.

The kill switch (``ui.kill_key``, default ctrl+k) is a priority binding: it works whatever has
focus, an order ticket or an input included, shows HALTED at once and asks the engine to
engage its kill switch. Releasing it takes a typed confirmation (ctrl+r). SIGTERM and SIGHUP
stop in order (``polytui.ui.signals``), like ctrl+q.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingsMap
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from polytui.config import Settings
from polytui.engine.preview import Preview
from polytui.ui import commands as cmd
from polytui.ui import signals
from polytui.ui.bridge import Bridge
from polytui.ui.host import EngineHost
from polytui.ui.messages import CommandDone, EngineStatus, EngineUpdate
from polytui.ui.screens.main import TABS, MainScreen
from polytui.ui.screens.order_ticket import OrderTicket
from polytui.ui.screens.release import ReleaseKill
from polytui.ui.themes import VARIABLE_DEFAULTS, install_themes, next_theme
from polytui.ui.widgets.markets import MarketsPane
from polytui.ui.widgets.orders import OrdersPane

HostFactory = Callable[[Settings, Bridge, Callable[[Any], Any]], Any]


class PolytuiApp(App[None]):
    TITLE = "polytui [SIM]"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("o", "ticket", "Order"),
        Binding("t", "next_theme", "Theme"),
        Binding("ctrl+r", "release", "Release"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        *(
            Binding(str(i), f"tab('{tab}')", title, show=False)
            for i, (tab, title) in enumerate(TABS, 1)
        ),
    ]

    def __init__(self, settings: Settings, *, host: HostFactory = EngineHost) -> None:
        super().__init__()
        self.settings = settings
        self.animation_level = "none"  # over SSH: no animations (style-anchors §4(c))
        kill = BindingsMap([Binding(settings.ui.kill_key, "kill", "Kill", priority=True)])
        self._bindings = BindingsMap.merge([kill, self._bindings])  # first in the footer
        self.bridge = Bridge(self.post_message, refresh_hz=settings.ui.refresh_hz)
        self.host = host(settings, self.bridge, self.post_message)
        self.halted = False
        self.engine_halted = False  # what the engine last said
        self.updates = 0
        self._tickets = 0
        self._remove_signals: Callable[[], None] = lambda: None

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {**super().get_theme_variable_defaults(), **VARIABLE_DEFAULTS}

    @property
    def main(self) -> MainScreen:
        return self.get_screen("main")  # type: ignore[return-value]

    @property
    def kill_key_display(self) -> str:
        return self.get_key_display(self._bindings.key_to_bindings[self.settings.ui.kill_key][0])

    def on_mount(self) -> None:
        for problem in install_themes(self, self.settings.ui.theme):
            self.notify(problem, severity="warning")
        self.install_screen(MainScreen(mode_label(self.settings), self.kill_key_display), "main")
        self.push_screen("main")
        self._remove_signals = signals.install(asyncio.get_running_loop(), self.exit, self.host)
        if self.settings.run.duration is not None:
            self.set_timer(self.settings.run.duration, self.exit)
        self.theme_changed_signal.subscribe(self, lambda _theme: self.main.restyle())
        self.run_engine()

    async def on_unmount(self) -> None:
        self._remove_signals()
        self.host.stop()  # the cancel-on-exit policy, then the engine and the simulator stop
        for worker in [w for w in self.workers if w.group == "engine"]:
            with contextlib.suppress(WorkerCancelled, WorkerFailed, TimeoutError):
                await asyncio.wait_for(worker.wait(), signals.STOP_WAIT_S)

    @work(thread=True, exclusive=True, group="engine", exit_on_error=False)
    def run_engine(self) -> None:
        self.host.run()  # its own event loop, in this worker's thread

    # ---- from the engine --------------------------------------------------------------------

    def on_engine_update(self, update: EngineUpdate) -> None:
        self.main.apply(update)
        orders = update.views.get("orders")
        if orders is not None and orders.kill.engaged != self.engine_halted:
            self.engine_halted = orders.kill.engaged
            self.set_halted(orders.kill.engaged)
            if isinstance(self.screen, OrderTicket):
                self.screen.ask_again()  # its preview now meets the engine's kill switch gate
        for line in update.events:
            if line.kind in ("alert", "kill") and line.severity != "info":
                self.notify(line.text, severity="error" if line.severity == "error" else "warning")
        self.updates += 1
        self.bridge.acknowledge()

    def on_engine_status(self, status: EngineStatus) -> None:
        self.main.show_status(status)
        if status.state == "failed":
            self.notify(status.detail, title="engine", severity="error", timeout=30)

    def on_command_done(self, done: CommandDone) -> None:
        ticket = self.screen if isinstance(self.screen, OrderTicket) else None
        text = done.error or cmd.answer_text(done.result)
        if isinstance(done.command, cmd.PreviewOrder) and isinstance(done.result, Preview):
            if ticket is not None:
                ticket.show_preview(done.result)
        elif isinstance(done.command, cmd.SubmitOrder) and ticket is not None:
            ticket.show_answer(text)
        elif isinstance(done.command, cmd.EngageKill) and done.error is not None:
            # engaged: the engine's own event line says so (by whom, why); a failure is news
            self.notify(f"kill switch: {text}", severity="error", timeout=30)
        elif isinstance(done.command, cmd.CancelOrder):
            if done.error is not None:
                self.notify(f"cancel {done.command.order_id[:12]}: {text}", severity="error")
            elif isinstance(done.result, cmd.Answer) and done.command.order_id in (
                done.result.value or ()
            ):
                self.notify(f"order {done.command.order_id[:12]} cancelled", timeout=3)
            else:
                self.notify(
                    f"order {done.command.order_id[:12]} not cancelled: the venue did not "
                    "cancel it (filled or already gone?)",
                    severity="warning",
                )
        elif isinstance(done.command, cmd.ReleaseKill):
            if done.error is None:
                self.set_halted(False)
            self.notify(f"release: {text}", severity="warning")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.group == "engine":
            self.main.show_status(EngineStatus("failed", str(event.worker.error)))

    # ---- from the panes ----------------------------------------------------------------------

    @on(MarketsPane.Highlighted)
    def _market_highlighted(self, event: MarketsPane.Highlighted) -> None:
        self.bridge.send(cmd.SelectMarket(event.condition_id))

    @on(MarketsPane.Chosen)
    def _market_chosen(self, event: MarketsPane.Chosen) -> None:
        self.bridge.send(cmd.SelectMarket(event.condition_id))
        self.main.show_tab("book")

    @on(OrdersPane.CancelWanted)
    def _cancel_wanted(self, event: OrdersPane.CancelWanted) -> None:
        self.bridge.send(cmd.CancelOrder(event.order_id))

    @on(OrderTicket.Wanted)
    def _preview_wanted(self, event: OrderTicket.Wanted) -> None:
        self.bridge.send(cmd.PreviewOrder(event.ticket))

    @on(OrderTicket.Confirmed)
    def _order_confirmed(self, event: OrderTicket.Confirmed) -> None:
        self.bridge.send(cmd.SubmitOrder(event.intent))

    # ---- keys -------------------------------------------------------------------------------

    def action_kill(self) -> None:
        self.set_halted(True)  # at once, whatever the engine says and however long it takes
        self.bridge.send(cmd.EngageKill())

    def set_halted(self, halted: bool) -> None:
        self.halted = halted
        for screen in self.screen_stack:
            screen.set_class(halted, "-halted")
            if isinstance(screen, OrderTicket):
                screen.set_halted(halted)
        self.main.status.halted = halted
        self.refresh_bindings()

    def action_release(self) -> None:
        def released(confirmed: bool | None) -> None:
            if confirmed:
                self.bridge.send(cmd.ReleaseKill())

        self.push_screen(ReleaseKill(), released)

    def action_ticket(self) -> None:
        book = self.main.latest.get("book")
        if book is None:
            self.notify("pick a market first (Markets pane, Enter)", severity="warning")
            return
        self._tickets += 1
        ref = f"tui:{book.now_ms}:{self._tickets}"  # one ticket, one intent id
        self.push_screen(OrderTicket(book, ref, self.kill_key_display, self.halted))

    def action_tab(self, tab: str) -> None:
        self.main.show_tab(tab)

    def action_next_theme(self) -> None:
        name = next_theme(self.theme, set(self.available_themes))
        if name is not None:
            self.theme = name
            self.notify(f"theme {name}", timeout=2)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.halted if action == "release" else True


def mode_label(settings: Settings) -> str:
    """What the status bar says polytui runs on, at all times: ``SIM`` (orders go to the
    simulator) or ``PAPER`` (orders never leave the process)."""
    return "PAPER" if settings.run.mode == "paper" else "SIM"


def run_tui(settings: Settings) -> int:
    app = PolytuiApp(settings)
    app.run()
    signals.leave_if_stuck(app.host)  # the terminal is restored; the engine must not linger
    return app.return_code or 0
