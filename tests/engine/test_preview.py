"""The order ticket's preview: the fill estimate through the verified book, cost, fee, exposure
and the risk gates' verdict, over a seeded engine."""

from __future__ import annotations

from decimal import Decimal

from polytui.core.projections import KillSwitchView
from polytui.engine.preview import ManualTicket, build_preview
from tests.fake_engine import FakeEngine


def ticket(engine: FakeEngine, index: int = 0, outcome: int = 0, **kw) -> ManualTicket:
    cid = engine.scanner.universe[index]
    asset = engine.scanner.markets[cid].tokens[outcome]
    values = {"side": "BUY", "shares": Decimal(20), "ref": "t1", **kw}
    return ManualTicket(cid, asset, **values)


def test_a_buy_through_a_live_book_is_estimated_and_approved() -> None:
    engine = FakeEngine(ledger=False)
    t = ticket(engine)
    book = engine.mirror.live_book(t.asset)
    best = book.best_ask
    p = build_preview(engine, t, fee_bps=Decimal(100))
    assert p.book_state == "LIVE" and p.reference == best.price
    assert p.filled == Decimal(20) and p.worst == best.price  # the touch holds 20
    assert p.cost == 20 * best.price
    assert p.fee == p.cost / 100
    assert p.verdict == "approved" and p.shares == Decimal(20) and p.price == best.price
    assert p.intent is not None and p.intent.strategy == "manual"
    assert p.market.after - p.market.before == p.cost
    assert p.market.cap == Decimal(500) and p.total.cap == Decimal(2000)
    assert not p.funds_checked  # the engine cannot say its balance: the funds gate is left out
    assert not p.can_submit


def test_the_same_ticket_gives_the_same_intent_id_and_another_ref_another() -> None:
    engine = FakeEngine(ledger=False)
    first = build_preview(engine, ticket(engine)).intent
    again = build_preview(engine, ticket(engine)).intent
    other = build_preview(engine, ticket(engine, ref="t2")).intent
    assert first.intent_id == again.intent_id != other.intent_id


def test_a_book_that_is_not_live_gives_no_estimate_and_the_golden_rule_rejects() -> None:
    engine = FakeEngine(ledger=False)
    t = ticket(engine, index=1)  # its YES book is SUSPECT
    assert build_preview(engine, t).verdict == "no price"
    p = build_preview(
        engine, ManualTicket(t.condition_id, t.asset, "BUY", Decimal(20), Decimal("0.5"), ref="t1")
    )
    assert p.filled == 0 and p.book_state == "SUSPECT"
    assert p.verdict == "rejected" and p.gate == "book_live"


def test_an_engaged_kill_switch_rejects_every_ticket() -> None:
    engine = FakeEngine()
    engine.store.model.kill_switch = KillSwitchView(True, "k", "test", "tui")
    p = build_preview(engine, ticket(engine))
    assert p.verdict == "rejected" and p.gate == "kill_switch"


def test_a_limit_price_bounds_the_walk_and_a_cap_resizes() -> None:
    engine = FakeEngine(ledger=False)
    t = ticket(engine, shares=Decimal(5000))
    book = engine.mirror.live_book(t.asset)
    limit = book.best_ask.price
    p = build_preview(
        engine, ManualTicket(t.condition_id, t.asset, "BUY", Decimal(5000), limit, ref="t1")
    )
    assert p.filled == book.best_ask.size  # only the touch is within the limit
    assert p.verdict == "resized" and p.gate and p.shares < Decimal(5000)
    assert p.shares * p.price <= Decimal(100)  # max_trade_usdc


def test_funds_are_checked_when_the_engine_knows_its_balance() -> None:
    engine = FakeEngine(ledger=False)
    p = build_preview(engine, ticket(engine), funds=(Decimal(0), Decimal(0)))
    assert p.funds_checked and p.verdict == "rejected" and p.gate == "funds"


def test_a_sell_needs_shares_held() -> None:
    engine = FakeEngine()
    p = build_preview(engine, ticket(engine, index=5, side="SELL"))
    assert p.verdict == "rejected" and p.gate == "funds"


def test_with_a_risk_engine_the_preview_reads_its_state_and_never_its_evaluate() -> None:
    from types import SimpleNamespace

    from polytui.core.risk import RiskLimits, RiskState

    engine = FakeEngine(ledger=False)
    asked = []

    class Risk:
        limits = RiskLimits(max_trade_usdc=Decimal(2))

        def state(self, intent, leader_exposure):  # noqa: ANN001, ANN201
            asked.append(intent.intent_id)
            return RiskState(now_ms=engine.clock.now_ms(), balance_usdc=Decimal(0),
                             allowance_usdc=Decimal(0))  # fmt: skip

        def evaluate(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            raise AssertionError("evaluate counts and records: a preview must not call it")

    engine.strategies = SimpleNamespace(risk=Risk(), runner=object())
    p = build_preview(engine, ticket(engine))
    assert asked == [p.intent.intent_id]
    assert p.funds_checked and p.can_submit
    assert p.verdict == "rejected" and p.gate == "book_live"  # its state has no book: rejected
