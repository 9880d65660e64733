"""Snapshots (pytest-textual-snapshot) of the main screen at 80x24 and 160x48 and of the order
ticket. Stable by construction (style-anchors §3.12, §4(a)): a seeded engine on a frozen clock
(``FakeEngine``), manual refresh (one full flush before the picture), a pinned theme, no
wall-clock widget, inputs that do not blink, no animations. Review ``snapshot_report.html``
before ``pytest --snapshot-update``."""

from __future__ import annotations

import pytest

from tests.ui.conftest import make_app, settle, until

pytestmark = pytest.mark.snapshot


def snap_app():
    return make_app()


async def flushed(pilot) -> None:
    await settle(pilot.app, pilot)
    await settle(pilot.app, pilot)  # the book of the market the cursor starts on, too
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_main_screen_markets(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(snap_app(), terminal_size=size, run_before=flushed)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_main_screen_book_with_cost_of_a_size(snap_compare, size: tuple[int, int]) -> None:
    async def book(pilot) -> None:
        await flushed(pilot)
        await pilot.press("down", "enter")
        await settle(pilot.app, pilot)
        pilot.app.main.query_one("#cost-size").value = "500"
        await pilot.pause()

    assert snap_compare(snap_app(), terminal_size=size, run_before=book)


def test_order_ticket_with_preview(snap_compare) -> None:
    async def ticket(pilot) -> None:
        await flushed(pilot)
        await pilot.press("o")
        from polytui.ui.screens.order_ticket import OrderTicket

        await until(pilot, lambda: isinstance(pilot.app.screen, OrderTicket))
        await pilot.press("4", "0")
        await until(pilot, lambda: pilot.app.screen.preview is not None)
        await pilot.pause()

    assert snap_compare(snap_app(), terminal_size=(100, 30), run_before=ticket)


def test_main_screen_halted(snap_compare) -> None:
    async def halted(pilot) -> None:
        await flushed(pilot)
        await pilot.press("ctrl+k")
        await until(pilot, lambda: pilot.app.engine.kills)
        await settle(pilot.app, pilot)
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(snap_app(), terminal_size=(80, 24), run_before=halted)
