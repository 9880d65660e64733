"""The App on the real simulator, driven with Pilot."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static
from textual.widgets._header import HeaderTitle

from polytui.config import load_settings
from polytui.ui.app import PolytuiApp
from tests.processes import process_is_gone

pytestmark = pytest.mark.slow


def make_app(tmp_path: Path, **sim: object) -> PolytuiApp:
    settings = load_settings(overrides={"paths": {"data_dir": tmp_path / "data"}, "sim": sim})
    return PolytuiApp(settings)


async def wait_for_state(app: PolytuiApp, pilot, prefix: str, timeout_s: float = 30.0) -> None:
    for _ in range(int(timeout_s / 0.1)):
        if app.status.state.startswith(prefix):
            return
        await pilot.pause(0.1)
    pytest.fail(f"state is {app.status.state!r}, never {prefix!r}")


def panel_text(app: PolytuiApp) -> str:
    return str(app.query_one("#status", Static).render())


async def test_the_app_is_marked_sim_and_shows_the_simulator_status(tmp_path: Path) -> None:
    app = make_app(tmp_path, markets=5)
    async with app.run_test(size=(100, 30)) as pilot:
        assert "SIM" in str(app.query_one(HeaderTitle).render())
        assert "SIM" in panel_text(app)  # from the first frame, before the simulator answers
        await wait_for_state(app, pilot, "ready")
        text = panel_text(app)
        assert "SIM" in str(app.query_one(HeaderTitle).render())
        assert app.status.markets == 5
        assert app.status.address is not None
        assert app.status.address in text
        assert app.status.endpoints is not None
        assert app.status.endpoints.clob in text
        assert "sim clock" in text
        assert "UTC" in text
        sim_pid = app.status.sim_pid
        assert sim_pid is not None
        assert not process_is_gone(sim_pid)
        await pilot.press("ctrl+q")
    assert app.return_code == 0
    assert process_is_gone(sim_pid)  # quitting stopped the simulator child


async def test_a_simulator_that_cannot_be_reached_is_shown_not_hidden(tmp_path: Path) -> None:
    app = make_app(tmp_path, url="http://127.0.0.1:9")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_state(app, pilot, "failed")
        assert "cannot reach the simulator" in panel_text(app)
        assert "SIM" in str(app.query_one(HeaderTitle).render())


async def test_the_polytui_themes_are_registered_and_used(tmp_path: Path) -> None:
    app = make_app(tmp_path, url="http://127.0.0.1:9")
    async with app.run_test(size=(100, 30)):
        assert {"polytui-dark", "polytui-light"} <= set(app.available_themes)
        assert app.theme == "polytui-dark"
        assert app.get_css_variables()["bid"] == "#3fb950"
