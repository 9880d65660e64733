"""The App on the real simulator (a child process) and the real engine in its own thread,
driven with Pilot."""

from __future__ import annotations

import threading
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from polytui.config import load_settings
from polytui.ui.app import PolytuiApp
from polytui.ui.host import EngineHost, default_engine
from polytui.ui.screens.order_ticket import OrderTicket
from tests.processes import process_is_gone
from tests.ui.conftest import until
from tests.ui.textdump import screen_text

pytestmark = pytest.mark.slow


def make_app(tmp_path: Path, factory: Any = default_engine, **sim: object) -> PolytuiApp:
    settings = load_settings(
        overrides={
            "paths": {"data_dir": tmp_path / "data"},
            "sim": {"markets": 4, **sim},
            "ui": {"refresh_hz": 10, "theme": "polytui-dark"},
            "metrics": {"port": 0},
        }
    )
    return PolytuiApp(settings, host=partial(EngineHost, engine_factory=factory))


def recording_kill(calls: list[tuple[str, str]]) -> Any:
    """The real engine, whose kill switch records each call (and then engages the real one,
    once the engine has one: it cancels every order at the simulator)."""

    def factory(settings, venue, key):  # noqa: ANN001, ANN202
        engine = default_engine(settings, venue, key)
        real = getattr(engine, "kill", None)

        async def kill(reason: str, source: str = "engine") -> str:
            calls.append((reason, source, threading.current_thread().name))
            return await real(reason, source) if real is not None else "recorded"

        engine.kill = kill
        return engine

    return factory


def live_markets(app: PolytuiApp) -> int:
    view = app.main.latest.get("markets")
    return sum(1 for r in view.rows if r.state == "LIVE") if view is not None else 0


async def test_the_app_shows_live_books_from_the_simulator_and_stops_it_on_quit(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        assert "SIM" in screen_text(app).splitlines()[0]  # from the first frame
        await until(pilot, lambda: live_markets(app) == 4, timeout_s=30)
        host: EngineHost = app.host
        assert host.engine is not None
        assert threading.current_thread() is threading.main_thread()
        text = screen_text(app)
        assert "SIM" in text.splitlines()[0] and "running" in text.splitlines()[0]
        assert "4 of 4 markets shown, 4 with every book LIVE" in text
        await pilot.press("enter")
        await until(pilot, lambda: app.main.latest.get("book") is not None)
        await until(pilot, lambda: "YES LIVE" in screen_text(app))
        await pilot.press("5")
        await until(pilot, lambda: "8/8 LIVE" in screen_text(app))
        sim_pid = _sim_pid(host)
        assert not process_is_gone(sim_pid)
        await pilot.press("ctrl+q")
    assert app.return_code == 0
    assert host.finished.wait(10)
    assert process_is_gone(sim_pid)  # quitting stopped the simulator child


async def test_the_kill_key_reaches_the_engine_with_the_ticket_open_and_an_input_focused(
    tmp_path: Path,
) -> None:
    calls: list[tuple[str, str, str]] = []
    app = make_app(tmp_path, recording_kill(calls))
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: live_markets(app) == 4, timeout_s=30)
        await until(pilot, lambda: app.main.latest.get("book") is not None)
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, OrderTicket))
        await pilot.press("1", "0")
        assert isinstance(app.focused, Input)
        await pilot.press("ctrl+k")
        assert app.halted
        await until(pilot, lambda: calls)
        reason, source, thread = calls[0]
        assert source == "tui"
        assert thread != threading.main_thread().name  # it ran on the engine's own thread
        engine = app.host.engine
        if getattr(engine, "kill_switch", None) is not None:  # the real kill switch is wired
            await until(pilot, lambda: engine.kill_switch.engaged)
        assert "HALTED" in screen_text(app)
        await pilot.press("ctrl+q")


async def test_a_simulator_that_cannot_be_reached_is_shown_not_hidden(tmp_path: Path) -> None:
    app = make_app(tmp_path, url="http://127.0.0.1:9")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.main.status.state == "failed", timeout_s=30)
        text = screen_text(app)
        assert "cannot reach the simulator" in text
        assert "SIM" in text.splitlines()[0]


def _sim_pid(host: EngineHost) -> int:
    assert host.simulator is not None and host.simulator.child is not None
    return host.simulator.child.pid
