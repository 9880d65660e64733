"""Every key in the footer, the kill switch above all: it works whatever has focus."""

from __future__ import annotations

import pytest
from textual.widgets import Button, Input, TabbedContent
from textual.widgets._footer import FooterKey

from polytui.config import ConfigError, load_settings
from polytui.core.projections import KillSwitchView
from polytui.ui.screens.order_ticket import OrderTicket
from polytui.ui.screens.release import ReleaseKill
from tests.fake_engine import FakeEngine
from tests.ui.conftest import make_app, settle, until
from tests.ui.textdump import screen_text


def footer_actions(app) -> list[str]:
    return [key.action for key in app.main.query(FooterKey)]


async def open_ticket(app, pilot, size: str = "25") -> OrderTicket:
    await settle(app, pilot)
    await pilot.press("o")
    await until(pilot, lambda: isinstance(app.screen, OrderTicket))
    ticket = app.screen
    await pilot.press(*size)
    await until(pilot, lambda: ticket.preview is not None)
    return ticket


async def test_the_kill_key_works_with_the_order_ticket_open_and_its_input_focused() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        ticket = await open_ticket(app, pilot)
        size = ticket.query_one("#ticket-size", Input)
        assert app.focused is size and size.value == "25"
        size.cursor_position = 0  # ctrl+k in an Input would delete to the end: it must not
        await pilot.press("ctrl+k")
        assert app.halted  # at once, before the engine answered
        await until(pilot, lambda: app.engine.kills)
        assert app.engine.kills == [{"reason": "kill key in the TUI", "source": "tui"}]
        assert size.value == "25"
        assert ticket.has_class("-halted")
        assert "HALTED: the kill switch is engaged" in screen_text(app)
        assert ticket.query_one("#ticket-submit", Button).disabled
        assert app.main.status.halted and app.main.has_class("-halted")


async def test_the_kill_key_works_with_the_markets_filter_focused() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", "b", "t")
        assert isinstance(app.focused, Input)
        await pilot.press("ctrl+k")
        await until(pilot, lambda: app.engine.kills)
        assert app.focused.value == "bt"
        await settle(app, pilot)
        assert "HALTED" in screen_text(app).splitlines()[0]


async def test_the_kill_key_is_configurable_and_always_in_the_footer() -> None:
    app = make_app(kill_key="f12")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(app, pilot)
        assert footer_actions(app)[:1] == ["kill"] or "kill" in footer_actions(app)
        await pilot.press("2")
        await pilot.pause()
        assert "kill" in footer_actions(app)
        await pilot.press("f12")
        await until(pilot, lambda: app.engine.kills)
        assert "f12 kill switch" in screen_text(app).splitlines()[0]


@pytest.mark.parametrize("key", ["escape", "alt+k", "ctrl+k,ctrl+j", ""])
def test_a_kill_key_that_does_not_survive_ssh_is_refused(key: str) -> None:
    with pytest.raises(ConfigError, match="ui.kill_key"):
        load_settings(overrides={"ui": {"kill_key": key}})


async def test_releasing_needs_the_typed_word() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(app, pilot)
        assert "release" not in footer_actions(app)  # nothing to release
        await pilot.press("ctrl+k")
        await until(pilot, lambda: app.engine.kills)
        await pilot.pause()
        assert "release" in footer_actions(app)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ReleaseKill))
        await pilot.press(*"resume", "enter")  # not the word: still halted
        assert isinstance(app.screen, ReleaseKill) and app.halted
        assert "that is not RESUME" in screen_text(app)
        await pilot.press("escape")
        assert app.halted and not app.engine.resumes
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ReleaseKill))
        await pilot.press(*"RESUME", "enter")
        await until(pilot, lambda: not app.halted)
        assert app.engine.resumes == [{"source": "tui"}]


async def test_a_kill_switch_engaged_elsewhere_shows_halted() -> None:
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(app, pilot)
        assert not app.halted
        engaged = KillSwitchView(True, "k", "drawdown", "cli", 3, 0)
        app.host.call(lambda: setattr(engine.store.model, "kill_switch", engaged))
        await settle(app, pilot)
        assert app.halted and "HALTED" in screen_text(app).splitlines()[0]


async def test_number_keys_switch_panes() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(app, pilot)
        tabs = app.main.query_one("#tabs", TabbedContent)
        for key, tab in zip(
            "234561", ("book", "orders", "positions", "health", "copy", "markets"), strict=True
        ):
            await pilot.press(key)
            await pilot.pause()
            assert tabs.active == tab


async def test_the_theme_key_cycles_the_theme_files() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(app, pilot)
        seen = [app.theme]
        for _ in range(3):
            await pilot.press("t")
            seen.append(app.theme)
        assert seen == ["polytui-dark", "polytui-high-contrast", "polytui-light", "polytui-dark"]
        assert app.theme_variables["bid"] == "#3fb950"


async def test_a_missing_theme_falls_back_with_a_message() -> None:
    app = make_app(theme="no-such-theme")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(app, pilot)
        assert app.theme == "textual-dark"
        assert any("no-such-theme" in str(n.message) for n in app._notifications)


async def test_the_ticket_previews_and_says_orders_are_unavailable_without_an_order_path() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        ticket = await open_ticket(app, pilot)
        p = ticket.preview
        assert p.verdict == "approved" and not p.can_submit
        text = screen_text(app)
        assert "fills now 25 of 25" in text
        assert "orders are unavailable" in text
        assert ticket.query_one("#ticket-submit", Button).disabled
        await pilot.press("escape")
        assert not isinstance(app.screen, OrderTicket)


async def test_the_ticket_sends_the_previewed_intent_after_a_confirmation() -> None:
    engine = FakeEngine(manual_orders=True)
    app = make_app(engine)
    async with app.run_test(size=(100, 32)) as pilot:
        ticket = await open_ticket(app, pilot)
        button = ticket.query_one("#ticket-submit", Button)
        assert not button.disabled
        await pilot.click("#ticket-submit")
        assert "CONFIRM: BUY 25 YES of " in screen_text(app) and not engine.submitted
        await pilot.pause(0.3)  # a double click is not a confirmation (the button debounces)
        await pilot.click("#ticket-submit")
        await until(pilot, lambda: engine.submitted)
        assert engine.submitted == [ticket.preview.intent]
        await until(pilot, lambda: "accepted" in str(ticket.query_one("#ticket-preview").render()))


async def test_no_ticket_without_a_market() -> None:
    app = make_app(FakeEngine(markets=0, ledger=False))
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(app, pilot)
        await pilot.press("o")
        await pilot.pause()
        assert not isinstance(app.screen, OrderTicket)


async def test_ctrl_q_quits_and_stops_the_engine_host() -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+q")
    assert app.host.finished.wait(5)
