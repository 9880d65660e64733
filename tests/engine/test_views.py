"""The engine's read-only views for the UI, over a seeded engine (real mirror and ledger model)."""

from __future__ import annotations

from decimal import Decimal

from polytui.core.orders import FillStatus, OrderState
from polytui.core.projections import Changes
from polytui.engine.mirror import BookState, BookStateChanged, Reason
from polytui.engine.views import (
    LedgerWatch,
    book_view,
    copy_feed_view,
    cost_in_view,
    event_line,
    health_view,
    is_partial,
    markets_view,
    orders_view,
    worst_state,
)
from tests.fake_engine import START_MS, CopyRecordStub, FakeCopyTrader, FakeEngine, _fill, _order


def test_market_rows_follow_the_universe_with_the_worst_book_state_and_flags() -> None:
    engine = FakeEngine()
    view = markets_view(engine)
    assert view.now_ms == START_MS
    assert [r.condition_id for r in view.rows] == list(engine.scanner.universe)
    first, suspect, flagged = view.rows[0], view.rows[1], view.rows[2]
    book = engine.mirror.tokens[first.tokens[0]].book
    assert first.bid == book.best_bid.price and first.ask == book.best_ask.price
    assert first.spread == first.ask - first.bid
    assert first.state == "LIVE"
    assert suspect.state == "SUSPECT"  # one of its two tokens is suspect: the market shows it
    assert flagged.flags == ("stale_book",)
    assert first.staleness_ms == 150  # its stalest token, against the engine clock
    assert [r.rank for r in view.rows] == list(range(len(view.rows)))


def test_worst_state_orders_suspect_before_resyncing_before_unprimed_before_live() -> None:
    assert worst_state(["LIVE", "RESYNCING", "UNPRIMED"]) == "RESYNCING"
    assert worst_state(["LIVE", "SUSPECT", "RESYNCING"]) == "SUSPECT"
    assert worst_state(["LIVE", "LIVE"]) == "LIVE"


def test_a_book_view_holds_both_outcomes_best_first_with_freshness() -> None:
    engine = FakeEngine()
    cid = engine.scanner.universe[1]
    view = book_view(engine, cid)
    assert view is not None and view.title == "Will it rain in London tomorrow?"
    yes, no = view.outcomes
    assert (yes.outcome, no.outcome) == ("YES", "NO")
    assert yes.state == "SUSPECT" and yes.reason == "BBO_MISMATCH" and "REST differs" in yes.detail
    assert no.state == "LIVE"
    assert [p for p, _ in yes.bids] == sorted((p for p, _ in yes.bids), reverse=True)
    assert [p for p, _ in yes.asks] == sorted(p for p, _ in yes.asks)
    assert yes.tick == Decimal("0.01") and yes.min_size == "5"
    assert yes.bid_levels == len(yes.bids) == 12
    assert yes.apply_lag_ms == 12
    assert view.now_ms - yes.last_verified_ms == 1_300
    assert book_view(engine, None) is None
    assert book_view(engine, "0xunknown") is None


def test_cost_in_view_walks_the_levels_best_first() -> None:
    engine = FakeEngine()
    view = book_view(engine, engine.scanner.universe[0])
    yes = view.outcomes[0]
    (p1, s1), (p2, _s2) = yes.asks[:2]
    cost = cost_in_view(yes, "BUY", s1 + 10)
    assert cost.filled == s1 + 10 and cost.complete
    assert cost.cost == s1 * p1 + 10 * p2
    assert cost.worst == p2
    assert cost.vwap == cost.cost / cost.filled
    huge = cost_in_view(yes, "SELL", Decimal(10**6))
    assert not huge.complete and huge.filled == sum(s for _, s in yes.bids)


def test_the_orders_view_puts_open_orders_first_and_marks_positions_at_live_mids() -> None:
    engine = FakeEngine()
    view = orders_view(engine)
    assert view.available
    states = [o.state for o in view.orders]
    assert states[:2] == [OrderState.PARTIALLY_FILLED, OrderState.LIVE]
    assert [f.trade_id for f in view.fills] == ["t3", "t2", "t1"]  # newest first
    assert is_partial(view.orders[0])
    pos = {p.asset: p for p in view.positions}
    a = engine.scanner.markets[engine.scanner.universe[0]].tokens[0]
    book = engine.mirror.live_book(a)
    mid = (book.best_bid.price + book.best_ask.price) / 2
    assert pos[a].mark == mid
    assert pos[a].sellable == Decimal(100) and pos[a].pending == Decimal(20)
    assert pos[a].unrealised == Decimal(120) * (mid - Decimal("0.44"))
    assert view.realised == Decimal("2.10")
    assert view.pnl == view.realised + view.unrealised
    assert not view.kill.engaged


def test_without_an_order_side_the_orders_view_says_so() -> None:
    view = orders_view(FakeEngine(ledger=False))
    assert not view.available and view.orders == ()


def test_the_health_view_judges_each_component() -> None:
    engine = FakeEngine()
    view = health_view(engine, {"ops": {"loop_lag_max_s": 0.012, "alerts_firing": {}}})
    by_name = {c.name: c for c in view.components}
    assert by_name["mirror"].status == "WARN"  # some books are not LIVE
    assert "9/12 LIVE" in by_name["mirror"].detail
    assert by_name["scanner"].status == "OK"
    assert by_name["market ws"].status == "OK"
    assert by_name["rest"].status == "WARN" and "1 429" in by_name["rest"].detail
    assert by_name["orders"].status == "OFF"
    labels = dict(view.figures)
    assert labels["loop lag max"] == "12 ms"
    assert "probe mismatch rate" in labels


def test_the_copy_feed_says_when_no_strategy_runs_and_lists_records_newest_first() -> None:
    engine = FakeEngine()
    assert not copy_feed_view(engine).running
    cid = engine.scanner.universe[0]
    asset = engine.scanner.markets[cid].tokens[0]
    engine.copy_trader = FakeCopyTrader(
        [
            CopyRecordStub(
                "0xlead",
                cid,
                asset,
                "BUY",
                Decimal(50),
                Decimal("0.4"),
                "copied",
                "",
                "",
                START_MS - 2000,
                Decimal(10),
            ),
            CopyRecordStub(
                "0xlead",
                cid,
                asset,
                "SELL",
                Decimal(5),
                Decimal("0.5"),
                "skipped",
                "trade_shape",
                "unusual size",
                START_MS - 1000,
            ),
        ]
    )
    view = copy_feed_view(engine)
    assert view.running
    assert [r.outcome_kind for r in view.rows] == ["skipped", "copied"]
    assert view.rows[1].title == "Will BTC be up on the day?" and view.rows[1].outcome == "YES"


def test_bus_events_become_lines_in_words() -> None:
    line = event_line(
        BookStateChanged(
            "12345678901234",
            BookState.LIVE,
            BookState.SUSPECT,
            Reason.INVARIANT_FAIL,
            "crossed",
            START_MS,
        ),
        START_MS,
    )
    assert line is not None and line.kind == "book" and line.severity == "warning"
    assert "LIVE → SUSPECT: INVARIANT_FAIL (crossed)" in line.text
    assert event_line(object(), START_MS) is None


def test_the_ledger_watch_reports_new_fills_and_order_moves_once() -> None:
    engine = FakeEngine()
    watch = LedgerWatch()
    assert watch.new_lines(engine) == []  # the first look only sets the mark
    model = engine.store.model
    cid = engine.scanner.universe[0]
    asset = engine.scanner.markets[cid].tokens[0]
    fill = _fill("t9", "o1", cid, asset, "BUY", "0.45", "40", FillStatus.MATCHED, 30)
    moved = _order(
        "i1", "o1", cid, asset, "BUY", "0.45", "100", OrderState.PARTIALLY_FILLED, "40", 30
    )
    model.merge(Changes(orders=(moved,), fills=(fill,)))
    model.stats = type(model.stats)(events=30, last_seq=30)
    lines = watch.new_lines(engine)
    assert [line.kind for line in lines] == ["fill", "order"]
    assert "fill BUY 40 YES @ 0.45 MATCHED" in lines[0].text
    assert watch.new_lines(engine) == []


def test_the_copy_feed_reads_the_strategy_side_copier_too() -> None:
    from types import SimpleNamespace

    engine = FakeEngine()
    engine.strategies = SimpleNamespace(copier=FakeCopyTrader([]))
    assert copy_feed_view(engine).running


def test_runner_outcomes_and_copy_records_become_lines() -> None:
    from polytui.core.strategy import OrderSide
    from polytui.strategies.copytrade.aggregate import DeltaKind
    from polytui.strategies.copytrade.copier import CopyRecord, Outcome

    class OrderOutcome:  # the strategy runner's, by name
        strategy, intent_id, approved, gate, reason = "copytrade", "i", False, "slippage", "far"
        at_ms, shares, price, submit_error = START_MS, None, None, ""

    line = event_line(OrderOutcome(), START_MS)
    assert line.kind == "order" and line.text == "copytrade: rejected by slippage: far"
    record = CopyRecord("0xleader0000", ("k",), "c", "a", DeltaKind.OPEN, OrderSide.BUY,
                        Decimal(10), Decimal("0.4"), Outcome.SKIPPED, "trade_shape", "unusual",
                        {}, START_MS)  # fmt: skip
    line = event_line(record, START_MS)
    assert line.kind == "copy" and "skipped (trade_shape: unusual)" in line.text


def test_the_health_view_shows_the_order_and_strategy_side_when_the_engine_has_one() -> None:
    engine = FakeEngine()
    plain = engine.health

    def health() -> dict:
        return {
            **plain(),
            "orders": {"open": 2, "in_flight": 0, "synced": True},
            "user_stream": {"connected": 0, "reconnects": 3},
            "kill_switch": {"engaged": True, "venue_clear": False},
            "risk": {"checked": 9, "approved": 7, "rejects": {"funds": 2}},
            "strategies": {"copytrade": {"state": "running", "intents": 4, "restarts": 0}},
        }

    engine.health = health
    by_name = {c.name: c for c in health_view(engine).components}
    assert by_name["orders"].detail == "2 open, 0 in flight"
    assert by_name["user ws"].status == "DOWN"
    assert by_name["kill switch"].detail == "ENGAGED, clearing the venue"
    assert by_name["risk"].detail == "9 checked, 7 approved, rejected: funds 2"
    assert by_name["copytrade"].status == "OK"
    assert by_name["copytrade"].detail == "strategy running, 4 intents, 0 restarts"
