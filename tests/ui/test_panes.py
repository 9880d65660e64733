"""Each pane over a seeded engine, driven with Pilot (manual refresh: ``settle`` flushes)."""

from __future__ import annotations

from decimal import Decimal

from textual.widgets import Input, RichLog, TabbedContent

from polytui.engine.views import EventLine
from polytui.ui.format import price
from polytui.ui.widgets.book import BookPane, DepthChart
from polytui.ui.widgets.copy_feed import CopyFeedPane
from polytui.ui.widgets.markets import MarketsPane
from polytui.ui.widgets.positions import PnlChart
from polytui.ui.widgets.table import KeyedTable
from tests.fake_engine import START_MS, CopyRecordStub, FakeCopyTrader, FakeEngine
from tests.ui.conftest import make_app, settle, until
from tests.ui.textdump import screen_text


def cells(app, table_id: str) -> dict[str, tuple]:
    table = app.main.query_one(table_id, KeyedTable)
    return {key: tuple(str(c).strip() for c in row) for key, row in table.shown.items()}


async def test_markets_pane_lists_the_universe_with_book_state_badges_and_flags() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        rows = cells(app, "#markets-table")
        universe = app.engine.scanner.universe
        assert list(rows) == list(universe)
        first = rows[universe[0]]
        assert first[0].startswith("Will BTC be up on the day?") and first[1] == "LIVE"
        assert rows[universe[1]][1] == "SUSPECT"
        assert rows[universe[4]][1] == "RESYNCING"
        assert rows[universe[2]][-1] == "stale"
        assert first[6] == "7h"  # ends in, from the engine's clock
        assert first[7] == "<1s"  # staleness, to the second in a table of many rows
        text = screen_text(app)
        assert "SIM" in text.splitlines()[0]
        assert "6 of 6 markets shown, 4 with every book LIVE" in text


async def test_markets_filter_and_sort() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        pane = app.main.query_one(MarketsPane)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"rain")
        await pilot.press("enter")
        assert list(cells(app, "#markets-table")) == [app.engine.scanner.universe[1]]
        assert "filter: rain" in screen_text(app)
        app.main.query_one("#markets-filter", Input).value = "suspect"
        await pilot.pause()
        assert list(cells(app, "#markets-table")) == [app.engine.scanner.universe[1]]
        app.main.query_one("#markets-filter", Input).value = ""
        await pilot.pause()
        app.main.query_one("#markets-table").focus()
        await pilot.press("s")  # by spread
        assert pane.sort_by == "spread"
        await pilot.press("s")  # by 24h volume, most first
        assert pane.sort_by == "volume"
        table = pane.table
        order = [table.key_at(i) for i in range(table.row_count)]
        volumes = [pane.rows[k].volume_24h for k in order]
        assert volumes == sorted(volumes, reverse=True)


async def test_choosing_a_market_drives_the_book_pane() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "down", "down", "enter")
        target = app.engine.scanner.universe[3]
        await until(
            pilot, lambda: getattr(app.main.latest.get("book"), "condition_id", None) == target
        )
        assert app.main.query_one("#tabs", TabbedContent).active == "book"
        assert app.bridge.selected == target
        await settle(app, pilot)
        text = screen_text(app)
        assert "Will Arsenal win their next game?" in text
        assert "tick 0.01  min 5  lvls 12/12" in text and "YES LIVE" in text
        assert "verified 1.5s" in text and "lag 12ms" in text
        book = app.engine.mirror.tokens[app.engine.scanner.markets[target].tokens[0]].book
        ladder = cells(app, "#ladder-0")
        assert ladder["lvl-0"][1:3] == (price(book.best_bid.price), price(book.best_ask.price))
        assert len(ladder) == 10
        chart = app.main.query_one(DepthChart)
        assert chart.display  # 40 rows: tall enough for the chart
        assert "YES cumulative depth (shares)" in text
        assert sum(1 for line in text.splitlines() if "█" in line) >= 5


async def test_the_book_pane_prices_a_typed_size() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        pane = app.main.query_one(BookPane)
        await pilot.press("z", "1", "0", "0", "0")  # z: the size field; digits type, not switch
        await pilot.pause()
        assert app.main.query_one("#tabs").active == "book"
        yes = pane.view.outcomes[0]
        asks = yes.asks
        left, cost = Decimal(1000), Decimal(0)
        for price, size in asks:
            part = min(left, size)
            cost += part * price
            left -= part
            if not left:
                break
        text = screen_text(app)
        assert "YES 1,000: buy vwap" in text
        assert f"= {cost:,.2f}" in text
        assert pane.shares == Decimal(1000)
        await pilot.press("enter", "3")  # Enter leaves the field; digits are pane keys again
        assert app.main.query_one("#tabs").active == "orders"


async def test_orders_pane_shows_states_partial_fills_and_settlement() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("3")
        await pilot.pause()
        orders = cells(app, "#orders-table")
        assert orders["i2"][5] == "PARTIALLY_FILLED" and orders["i2"][4] == "20"
        assert orders["i4"][5] == "REJECTED"
        fills = cells(app, "#fills-table")
        assert {k.split(":")[0]: v[5] for k, v in fills.items()} == {
            "t1": "CONFIRMED",
            "t2": "MINED",
            "t3": "MATCHED",
        }
        text = screen_text(app)
        assert "Orders: 2 open, 1 partly filled, 4 shown" in text
        assert "Fills: 3 shown, 1 confirmed" in text


async def test_orders_and_positions_say_when_there_is_no_order_side() -> None:
    app = make_app(FakeEngine(ledger=False))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("3")
        await pilot.pause()
        assert "this engine has no order side yet" in screen_text(app)
        await pilot.press("4")
        await pilot.pause()
        assert "this engine has no order side yet" in screen_text(app)


async def test_positions_pane_shows_sellable_pending_pnl_and_a_chart() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        await pilot.pause()
        rows = cells(app, "#positions-table")
        a = app.engine.scanner.markets[app.engine.scanner.universe[0]].tokens[0]
        assert rows[a][2:5] == ("120", "100", "20")  # size, sellable, pending
        text = screen_text(app)
        assert "2 open position(s)  realised +2.10" in text
        assert "session PnL (USDC)" in text
        assert app.main.query_one(PnlChart).plt is not None
        assert len(app.main.latest["pnl"]) == 61  # the seeded minute and now


async def test_health_pane_shows_components_figures_and_every_event_line() -> None:
    lines = tuple(
        EventLine("alert", START_MS - n, "warning", f"alert number {n}") for n in range(30)
    )
    app = make_app(lines=lines)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("5")
        await pilot.pause()
        comps = cells(app, "#health-components")
        assert comps["mirror"][1] == "WARN" and "9/12 LIVE" in comps["mirror"][2]
        assert comps["rest"][1] == "WARN"
        text = screen_text(app)
        assert "apply lag p50/p99" in text and "probe mismatch rate" in text
        assert "scanner lag: 1.5 s" in text
        log = app.main.query_one("#health-log", RichLog)
        assert len(log.lines) == 30  # never dropped


async def test_copy_feed_says_no_strategy_then_shows_records() -> None:
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("6")
        await pilot.pause()
        assert "no strategy running" in screen_text(app)
        cid = engine.scanner.universe[0]
        asset = engine.scanner.markets[cid].tokens[0]
        trader = FakeCopyTrader(
            [
                CopyRecordStub(
                    "0xleader01",
                    cid,
                    asset,
                    "BUY",
                    Decimal(50),
                    Decimal("0.4"),
                    "copied",
                    "",
                    "as sized",
                    START_MS - 500,
                    Decimal(10),
                ),
                CopyRecordStub(  # bought and sold as much within the window: nothing to copy
                    "0xleader02",
                    cid,
                    asset,
                    "SELL",
                    Decimal(0),
                    Decimal("0.3"),
                    "skipped",
                    "net_zero",
                    "the leader's 2 fills cancel out within the window",
                    START_MS - 400,
                    None,
                ),
            ]
        )
        app.host.call(lambda: setattr(engine, "copy_trader", trader))
        await settle(app, pilot)
        text = screen_text(app)
        assert "copy strategy running: 2 leader trades, 1 copied" in text
        assert "BUY 50 YES @ 0.40" in text
        assert "FLAT 0 YES @ 0.30" in text and "SELL 0" not in text
        assert app.main.query_one(CopyFeedPane).query_one("#copy-table", KeyedTable).row_count == 2
