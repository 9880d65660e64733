"""The Textual App: wiring only. It opens on the embedded simulator and is always marked SIM.

For now it shows one status panel (mode, endpoints, wallet, simulator clock, markets), filled by
the same startup code as the headless run, in a worker, so the UI never blocks. Quitting (Ctrl+Q,
SIGTERM, SIGHUP) stops the simulator child before the process exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
from datetime import UTC, datetime

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Static
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from polytui.config import Settings
from polytui.engine.sim_child import SimulatorError
from polytui.engine.startup import (
    check_venue,
    connect_venue,
    fetch_server_time,
    open_simulator,
)
from polytui.keys import load_or_create_sim_key
from polytui.ui.themes import FALLBACK_THEME, VARIABLE_DEFAULTS, load_themes, theme_dir
from polytui.venue.endpoints import Endpoints

MODE_LABEL = "SIM: simulated exchange, no real money"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@dataclasses.dataclass(frozen=True)
class StatusView:
    state: str = "starting"
    address: str | None = None
    endpoints: Endpoints | None = None
    sim_pid: int | None = None
    server_time: int | None = None
    clock_skew_s: float | None = None
    markets: int | None = None


def render_status(view: StatusView) -> str:
    def shown(value: object) -> str:
        return "…" if value is None else str(value)

    clock = None
    if view.server_time is not None:
        clock = datetime.fromtimestamp(view.server_time, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        clock += f"  (skew {view.clock_skew_s:+.1f} s)"
    rows = [("mode", MODE_LABEL), ("state", view.state), ("wallet", shown(view.address))]
    rows += [("simulator pid", shown(view.sim_pid))] if view.sim_pid else []
    for name, url in (view.endpoints.as_dict() if view.endpoints else {"clob": None}).items():
        rows.append((name, shown(url)))
    rows += [("sim clock", shown(clock)), ("markets", shown(view.markets))]
    return "\n".join(f"{name:>14}  {value}" for name, value in rows)


class PolytuiApp(App[None]):
    TITLE = "polytui [SIM]"
    SUB_TITLE = "simulated exchange"
    CSS_PATH = "app.tcss"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.status = StatusView()

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {**super().get_theme_variable_defaults(), **VARIABLE_DEFAULTS}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(render_status(self.status), id="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._apply_theme()
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self.exit)
        if self.settings.run.duration is not None:
            self.set_timer(self.settings.run.duration, self.exit)
        self.run_simulator()

    async def on_unmount(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        for worker in [w for w in self.workers if w.group == "engine"]:
            if not worker.is_cancelled:
                worker.cancel()
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()  # the simulator child is stopped when this returns

    def _apply_theme(self) -> None:
        themes, problems = load_themes(theme_dir())
        for theme in themes:
            self.register_theme(theme)
        wanted = self.settings.ui.theme
        if wanted not in self.available_themes:
            problems.append(f"theme {wanted!r} not found; using {FALLBACK_THEME}")
            wanted = FALLBACK_THEME
        self.theme = wanted
        for problem in problems:
            self.notify(problem, severity="warning")

    def show(self, **changes: object) -> None:
        self.status = dataclasses.replace(self.status, **changes)
        self.query_one("#status", Static).update(render_status(self.status))

    @work(exclusive=True, group="engine", exit_on_error=False)
    async def run_simulator(self) -> None:
        self.show(address=load_or_create_sim_key(self.settings.paths.data_dir).address)
        self.show(state="starting the simulator")
        async with (
            open_simulator(self.settings.sim) as sim,
            connect_venue(sim.endpoints, self.settings.venue) as venue,
        ):
            self.show(
                state="checking the venue",
                endpoints=sim.endpoints,
                sim_pid=sim.child.pid if sim.child else None,
            )
            status = await check_venue(venue)
            self.show(
                state="ready",
                server_time=status.server_time,
                clock_skew_s=status.clock_skew_s,
                markets=status.markets,
            )
            while True:
                await asyncio.sleep(self.settings.run.heartbeat_s)
                if sim.child is not None and sim.child.returncode is not None:
                    raise SimulatorError(f"the simulator exited with code {sim.child.returncode}")
                server_time, skew = await fetch_server_time(venue)
                self.show(server_time=server_time, clock_skew_s=skew)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.group == "engine":
            self.show(state=f"failed: {event.worker.error}")
            self.notify(str(event.worker.error), title="simulator", severity="error", timeout=30)


def run_tui(settings: Settings) -> int:
    app = PolytuiApp(settings)
    app.run()
    return app.return_code or 0
