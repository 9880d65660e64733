"""A session recorded under the UI (``polytui --record DIR``): the order ticket's orders and an
``x`` on one order are recorded inputs like a kill, and the replay decides as the session did."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Select

from polytui.config import load_settings
from polytui.engine.session.replay import replay_session
from polytui.ui.app import PolytuiApp
from polytui.ui.screens.order_ticket import OrderTicket
from tests.ui.conftest import until
from tests.ui.test_app import live_markets
from tests.ui.textdump import screen_text

pytestmark = pytest.mark.slow


async def send_from_the_ticket(
    app: PolytuiApp,
    pilot,  # noqa: ANN001
    shares: str,
    *,
    gtc_at: str | None = None,
) -> None:
    """Shares of the highlighted market through the ticket: marketable, or a GTC."""
    await pilot.press("o")
    await until(pilot, lambda: isinstance(app.screen, OrderTicket))
    ticket = app.screen
    if gtc_at is not None:
        ticket.query_one("#ticket-type", Select).value = "GTC"
        ticket.query_one("#ticket-limit", Input).value = gtc_at
    ticket.query_one("#ticket-size", Input).focus()
    await pilot.press(*shares)
    await until(pilot, lambda: ticket.preview is not None and "APPROVED" in screen_text(app))
    await pilot.click("#ticket-submit")
    await pilot.pause(0.3)  # the button debounces a double click
    await pilot.click("#ticket-submit")
    await until(pilot, lambda: "sent:" in screen_text(app), timeout_s=10)
    assert not ticket.query_one("#ticket-submit", Button).disabled
    await pilot.press("escape")


async def test_a_ui_session_with_manual_orders_and_a_cancel_replays_to_its_decisions(
    tmp_path: Path,
) -> None:
    record = tmp_path / "session"
    settings = load_settings(
        overrides={
            "paths": {"data_dir": tmp_path / "data"},
            "sim": {"markets": 4},
            "ui": {"refresh_hz": 10, "theme": "polytui-dark"},
            "metrics": {"port": 0},
            "run": {"record": record, "seed": 5},
        }
    )
    app = PolytuiApp(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: live_markets(app) == 4, timeout_s=30)
        await until(pilot, lambda: app.main.latest.get("book") is not None)  # a market chosen
        await send_from_the_ticket(app, pilot, "10")  # through the book
        await send_from_the_ticket(app, pilot, "30", gtc_at="0.05")  # rests under the market
        await pilot.press("3")
        await until(pilot, lambda: "1 open" in screen_text(app))
        await pilot.press("x")  # the open one is first
        await until(pilot, lambda: "0 open" in screen_text(app), timeout_s=5)
        await pilot.press("ctrl+q")
    assert app.host.finished.wait(10)

    result = await asyncio.to_thread(replay_session, record)
    manual = [d for d in result.recorded if d["strategy"] == "manual"]
    assert len(manual) == 2 and all(d["approved"] for d in manual)
    assert result.fidelity.identical, [d.describe() for d in result.fidelity.differences]
    assert result.fidelity.orders_recorded >= 2
    assert [d for d in result.decisions if d["strategy"] == "manual"] == manual
