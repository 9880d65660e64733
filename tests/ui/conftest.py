"""UI test helpers: the App over a seeded ``FakeEngine`` (manual refresh), and ``settle`` to
wait for one full flush of the bridge to be on screen."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from polytui.config import load_settings
from polytui.ui.app import PolytuiApp
from tests.fake_engine import FakeEngine
from tests.ui.fake_host import FakeHost


@pytest.fixture(autouse=True)
def _no_colour_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stray NO_COLOR or TEXTUAL_THEME would change what the tests see."""
    for name in ("NO_COLOR", "TEXTUAL_THEME", "TEXTUAL_ANIMATIONS"):
        monkeypatch.delenv(name, raising=False)


def make_app(engine: FakeEngine | None = None, lines: tuple = (), **ui: Any) -> PolytuiApp:
    settings = load_settings(
        overrides={"ui": {"refresh_hz": 0, "theme": "polytui-dark", **ui}, "metrics": {"port": 0}}
    )
    engine = engine or FakeEngine(settings=settings)
    app = PolytuiApp(settings, host=partial(FakeHost, engine=engine, lines=lines))
    app.engine = engine  # type: ignore[attr-defined]
    return app


async def settle(app: PolytuiApp, pilot: Any, timeout_s: float = 10.0) -> None:
    """Every view built and flushed, and the update handled by the App."""
    host = app.host
    for _ in range(int(timeout_s / 0.01)):
        if host.ready.is_set():
            break
        await pilot.pause(0.01)
    seen = app.updates
    app.bridge.request_flush()
    for _ in range(int(timeout_s / 0.01)):
        await pilot.pause(0.01)
        if app.updates > seen:
            await pilot.pause()
            return
    pytest.fail("the bridge never flushed")


async def until(pilot: Any, condition: Any, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    pytest.fail("condition never met")
