"""Projections folded from ledger records: orders, fills, positions, PnL, kill switch."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polytui.core import ledger_events as ev
from polytui.core.ledger_summary import render_summary
from polytui.core.orders import FillStatus, OrderState
from polytui.core.projections import Projector, ReadModel, fold
from tests.ledger_data import ASSET_A, ASSET_B, d, fill, intent, random_session, records, settle
from tests.ledger_data import signed as signed_event

F = FillStatus
S = OrderState


def model_of(events: list[ev.LedgerEvent]) -> ReadModel:
    return fold(records(events)).model


def placed(iid: str = "i1", oid: str = "0xo1", **kw: str) -> list[ev.LedgerEvent]:
    return [
        intent(iid, **kw),
        signed_event(iid, oid),
        ev.OrderSubmitted(order_id=oid),
        ev.OrderAcked(order_id=oid, accepted=True, venue_status="live"),
    ]


# ---- orders ------------------------------------------------------------------------------


def test_an_order_goes_through_its_life() -> None:
    m = model_of(placed())
    order = m.order("0xo1")
    assert order is not None
    assert (order.key, order.intent_id, order.state) == ("i1", "i1", S.LIVE)
    m = model_of(
        placed()
        + [ev.OrderStateChanged(order_id="0xo1", state=S.PARTIALLY_FILLED, size_matched=d(4))]
        + [ev.OrderStateChanged(order_id="0xo1", state=S.FILLED, size_matched=d(10))]
    )
    order = m.order("0xo1")
    assert order is not None
    assert (order.state, order.size_matched) == (S.FILLED, d(10))
    assert m.stats.anomalies == 0


def test_before_signing_an_intent_is_intended_and_unresolved() -> None:
    m = model_of([intent("i1"), intent("i2"), signed_event("i2", "0x2")])
    assert m.orders["i1"].state is S.INTENDED
    assert m.orders["i1"].order_id == ""
    assert [o.key for o in m.unresolved_orders()] == ["i1", "i2"]


def test_a_refused_post_is_rejected_with_the_reason() -> None:
    m = model_of(
        [
            intent("i1"),
            signed_event("i1", "0x1"),
            ev.OrderSubmitted(order_id="0x1"),
            ev.OrderAcked(order_id="0x1", accepted=False, error="not enough balance / allowance"),
        ]
    )
    order = m.orders["i1"]
    assert (order.state, order.reason) == (S.REJECTED, "not enough balance / allowance")
    assert m.unresolved_orders() == []


def test_an_immediate_partial_match_is_partially_filled() -> None:
    m = model_of(
        [
            intent("i1", size="10"),
            signed_event("i1", "0x1"),
            ev.OrderSubmitted(order_id="0x1"),
            ev.OrderAcked(order_id="0x1", accepted=True, venue_status="matched", size_matched=d(4)),
        ]
    )
    assert (m.orders["i1"].state, m.orders["i1"].size_matched) == (S.PARTIALLY_FILLED, d(4))


def test_an_ambiguous_post_is_unknown_until_looked_up() -> None:
    events = [
        intent("i1"),
        signed_event("i1", "0x1"),
        ev.OrderSubmitted(order_id="0x1"),
        ev.OrderStateChanged(order_id="0x1", state=S.UNKNOWN, reason="timeout"),
    ]
    assert model_of(events).orders["i1"].state is S.UNKNOWN
    events.append(ev.OrderAcked(order_id="0x1", accepted=True, venue_status="live", looked_up=True))
    assert model_of(events).orders["i1"].state is S.LIVE


def test_a_forbidden_move_is_ignored_and_noted() -> None:
    m = model_of(
        placed()
        + [
            ev.OrderStateChanged(order_id="0xo1", state=S.CANCELED),
            ev.OrderStateChanged(order_id="0xo1", state=S.LIVE),
        ]
    )
    assert m.orders["i1"].state is S.CANCELED
    assert m.stats.anomalies == 1
    assert "CANCELED -> LIVE ignored" in m.stats.notes[0]


def test_a_correction_may_move_a_terminal_order() -> None:
    m = model_of(
        placed()
        + [
            ev.OrderStateChanged(order_id="0xo1", state=S.CANCELED),
            ev.OrderStateChanged(
                order_id="0xo1", state=S.FILLED, size_matched=d(10), correction=True, ref="rec1"
            ),
        ]
    )
    assert m.orders["i1"].state is S.FILLED
    assert m.stats.anomalies == 0


def test_an_order_of_no_intent_of_ours_is_kept_under_its_venue_id() -> None:
    m = model_of([ev.OrderStateChanged(order_id="0xforeign", state=S.LIVE, source="rest")])
    assert m.orders["venue:0xforeign"].state is S.LIVE
    assert m.order("0xforeign") is m.orders["venue:0xforeign"]
    assert m.stats.anomalies == 1


def test_signing_an_intent_twice_is_refused() -> None:
    m = model_of([intent("i1"), signed_event("i1", "0x1"), signed_event("i1", "0x2")])
    assert m.orders["i1"].order_id == "0x1"
    assert m.order("0x2") is None
    assert m.stats.anomalies == 1


# ---- fills and positions -------------------------------------------------------------------


def test_average_cost_and_realised_pnl() -> None:
    m = model_of(
        [
            fill("t1", "o1", "BUY", "0.40", "10"),
            fill("t2", "o2", "BUY", "0.50", "10"),
            fill("t3", "o3", "SELL", "0.60", "5", fee="0.01"),
        ]
    )
    p = m.positions[ASSET_A]
    assert (p.size, p.avg_cost) == (d(15), d("0.45"))
    assert p.realised == d("0.75") - d("0.01")
    assert (p.fees, p.bought, p.sold, p.fills) == (d("0.01"), d(20), d(5), 3)
    assert m.realised() == d("0.74")


def test_closing_a_position_resets_its_cost() -> None:
    p = model_of(
        [fill("t1", "o1", "BUY", "0.40", "10"), fill("t2", "o2", "SELL", "0.30", "10")]
    ).positions[ASSET_A]
    assert (p.size, p.avg_cost, p.realised) == (0, 0, d("-1.0"))


def test_sellable_counts_only_confirmed_shares_less_what_is_being_sold() -> None:
    events: list[ev.LedgerEvent] = [fill("t1", "o1", "BUY", "0.40", "10")]
    p = model_of(events).positions[ASSET_A]
    assert (p.size, p.settled, p.pending, p.sellable) == (10, 0, 10, 0)
    events.append(settle("t1", "o1", F.MINED))
    assert model_of(events).positions[ASSET_A].sellable == 0
    events.append(settle("t1", "o1", F.CONFIRMED))
    p = model_of(events).positions[ASSET_A]
    assert (p.settled, p.pending, p.sellable) == (10, 0, 10)
    events.append(fill("t2", "o2", "SELL", "0.50", "4"))
    p = model_of(events).positions[ASSET_A]
    assert (p.size, p.settled, p.selling, p.pending, p.sellable) == (6, 10, 4, 0, 6)
    events.append(fill("t3", "o3", "BUY", "0.50", "5"))
    p = model_of(events).positions[ASSET_A]
    assert (p.size, p.pending, p.sellable) == (11, 5, 6)  # size = sellable + pending
    events.append(settle("t2", "o2", F.CONFIRMED))
    p = model_of(events).positions[ASSET_A]
    assert (p.size, p.settled, p.selling, p.pending, p.sellable) == (11, 6, 0, 5, 6)


def test_a_failed_fill_is_taken_out_as_if_it_never_was() -> None:
    t1 = fill("t1", "o1", "BUY", "0.40", "10")
    rest = [
        fill("t2", "o2", "BUY", "0.60", "10"),
        fill("t3", "o3", "SELL", "0.70", "5"),
        settle("t2", "o2", F.CONFIRMED),
    ]
    failed = model_of([t1, *rest, settle("t1", "o1", F.FAILED)])
    never = model_of(rest)
    p = failed.positions[ASSET_A]
    assert p == type(p)(**{**_fields(never.positions[ASSET_A]), "updated_seq": p.updated_seq})
    assert (p.size, p.avg_cost, p.realised, p.fills) == (5, d("0.6"), d("0.5"), 2)
    assert failed.fills["t1:o1"].status is F.FAILED


def corrected(delta: str, venue: str, price: str = "0.5") -> ev.PositionCorrected:
    return ev.PositionCorrected(
        ref="rec1", asset_id=ASSET_A, delta=d(delta), venue_size=d(venue), price=d(price)
    )


def test_a_position_correction_adds_settled_shares_at_its_price() -> None:
    m = model_of([*placed(), fill("t1", "0xo1", size="10", price="0.4"), corrected("5", "15")])
    p = m.positions[ASSET_A]
    assert (p.size, p.settled, p.pending, p.fills) == (15, 5, 10, 1)
    assert abs(p.avg_cost - d("6.5") / 15) < d("1e-20")
    m = model_of([*placed(), fill("t1", "0xo1", size="10"), corrected("-4", "6")])
    p = m.positions[ASSET_A]
    assert (p.size, p.realised, p.avg_cost) == (6, 0, d("0.45"))  # nothing sold: no PnL


def test_a_correction_outlives_the_refold_of_a_failed_fill() -> None:
    events = [
        *placed(),
        fill("t1", "0xo1", size="10"),
        corrected("3", "13"),
        fill("t2", "0xo1", size="2"),
        settle("t2", "0xo1", F.FAILED),
    ]
    p = model_of(events).positions[ASSET_A]
    assert (p.size, p.settled, p.fills) == (13, 3, 1)


def test_a_fill_first_seen_as_failed_never_counts() -> None:
    m = model_of([fill("t1", "o1", status=F.FAILED), fill("t2", "o2", size="3")])
    assert (m.positions[ASSET_A].size, m.positions[ASSET_A].fills) == (3, 1)


def test_a_fill_seen_twice_counts_once() -> None:
    m = model_of([fill("t1", "o1", size="3"), fill("t1", "o1", size="3")])
    assert m.positions[ASSET_A].size == 3
    assert m.stats.anomalies == 1


def test_settlement_never_goes_back_and_a_stray_one_is_noted() -> None:
    m = model_of(
        [
            fill("t1", "o1"),
            settle("t1", "o1", F.CONFIRMED),
            settle("t1", "o1", F.MINED),
            settle("t9", "o9", F.MINED),
        ]
    )
    assert m.fills["t1:o1"].status is F.CONFIRMED
    assert m.stats.anomalies == 2


def _fields(view: object) -> dict:
    return {f: getattr(view, f) for f in view.__struct_fields__}  # type: ignore[attr-defined]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(1, 99), st.integers(1, 50), st.integers(0, 5)),
        max_size=30,
    )
)
def test_realised_less_cost_of_what_is_held_is_the_cash_spent(trades) -> None:  # type: ignore[no-untyped-def]
    """Long-only trading: realised - size * avg_cost == cash in - cash out - fees."""
    events = []
    held = 0
    cash = Decimal(0)
    for n, (buy, cents, size, fee_milli) in enumerate(trades):
        if not buy and held == 0:
            buy = True
        size = size if buy else min(size, held)
        price, fee = Decimal(cents) / 100, Decimal(fee_milli) / 1000
        events.append(
            fill(f"t{n}", f"o{n}", "BUY" if buy else "SELL", str(price), str(size), fee=str(fee))
        )
        held += size if buy else -size
        cash += (-price if buy else price) * size - fee
    if not events:
        return
    p = model_of(events).positions[ASSET_A]
    assert p.size == held
    assert abs(p.realised - p.size * p.avg_cost - cash) < Decimal("1e-25")


# ---- kill switch, PnL snapshots, stats -----------------------------------------------------


def test_the_kill_switch_stays_engaged_until_released() -> None:
    events: list[ev.LedgerEvent] = [ev.KillSwitchEngaged(ref="k1", reason="drawdown", source="cli")]
    ks = fold(records(events)).model.kill_switch
    assert (ks.engaged, ks.reason, ks.since_seq) == (True, "drawdown", 1)
    events += [fill("t1", "o1"), ev.KillSwitchReleased(ref="r1", source="tui")]
    ks = fold(records(events)).model.kill_switch
    assert (ks.engaged, ks.source, ks.since_seq) == (False, "tui", 3)


def test_a_pnl_snapshot_values_positions_at_its_marks() -> None:
    m = model_of(
        [
            fill("t1", "o1", "BUY", "0.40", "10"),
            fill("t2", "o2", "BUY", "0.20", "5", asset=ASSET_B),
            ev.PnlSnapshot(at_ms=5, marks={ASSET_A: d("0.55")}),
        ]
    )
    snap = m.pnl_snapshots[0]
    assert (snap.at_ms, snap.unrealised, snap.unmarked) == (5, d("1.5"), (ASSET_B,))
    assert m.unrealised() == (d("1.5"), [ASSET_B])
    assert m.unrealised({ASSET_A: d("0.40"), ASSET_B: d("0.30")}) == (d("0.5"), [])


def test_marks_accumulate_across_snapshots() -> None:
    m = model_of(
        [
            fill("t1", "o1"),
            fill("t2", "o2", asset=ASSET_B),
            ev.PnlSnapshot(at_ms=1, marks={ASSET_A: d("0.5")}),
            ev.PnlSnapshot(at_ms=2, marks={ASSET_B: d("0.5")}),
        ]
    )
    assert m.pnl_snapshots[1].marks == {ASSET_A: d("0.5"), ASSET_B: d("0.5")}
    assert m.pnl_snapshots[1].unmarked == ()


def test_stats_count_what_has_no_view() -> None:
    m = model_of(
        [
            ev.RiskRejected(intent_id="i1", gate="caps"),
            ev.RiskRejected(intent_id="i2", gate="caps"),
            ev.RiskRejected(intent_id="i3", gate="book_not_live"),
            ev.ReconciliationDiff(ref="r", subject="order", key="0x1"),
        ]
    )
    assert m.stats.risk_rejections == {"book_not_live": 1, "caps": 2}
    assert (m.stats.reconciliation_diffs, m.stats.events, m.stats.last_seq) == (1, 4, 4)


def test_records_out_of_order_are_refused() -> None:
    projector = Projector()
    projector.apply(records([fill("t1", "o1")], start_seq=5)[0])
    with pytest.raises(ValueError, match="out of order"):
        projector.apply(records([fill("t2", "o2")], start_seq=5)[0])


# ---- incremental == from scratch -----------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 60), st.lists(st.integers(1, 40), max_size=20))
def test_applying_in_any_chunks_gives_the_fold_from_scratch(seed, orders, cuts) -> None:  # type: ignore[no-untyped-def]
    """What the running store merges, chunk by chunk, equals a rebuild from seq 1."""
    recs = records(random_session(random.Random(seed), orders))
    scratch = fold(recs).model
    incremental = Projector()
    merged = ReadModel()
    start = 0
    for cut in [*cuts, len(recs)]:
        chunk, start = recs[start : start + cut], start + cut
        merged.merge(incremental.apply_all(chunk))
    assert incremental.model == scratch
    assert merged == scratch
    assert render_summary(merged) == render_summary(scratch)
    assert (merged.resting_buys, merged.resting_sells) == resting_of(merged)


def resting_of(m: ReadModel) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """What the open orders hold, walked from scratch."""
    buys: dict[str, Decimal] = {}
    sells: dict[str, Decimal] = {}
    for o in m.open_orders.values():
        rest = (o.size or 0) - o.size_matched
        if o.price is None or rest <= 0:
            continue
        if o.side == "BUY":
            buys[o.market] = buys.get(o.market, Decimal(0)) + rest * o.price
        else:
            sells[o.asset_id] = sells.get(o.asset_id, Decimal(0)) + rest
    return buys, sells


def test_what_open_orders_hold_follows_their_fills_and_ends() -> None:
    m = model_of(placed() + placed("i2", "0xo2", side="SELL", price="0.60", size="7"))
    assert m.resting_buys == {m.orders["i1"].market: d("4.50")}
    assert m.resting_sells == {ASSET_A: d(7)}
    m = model_of(
        placed()
        + placed("i2", "0xo2", side="SELL", price="0.60", size="7")
        + [ev.OrderStateChanged(order_id="0xo1", state=S.PARTIALLY_FILLED, size_matched=d(4))]
    )
    assert m.resting_buys == {m.orders["i1"].market: d("2.70")}  # 6 left at 0.45
    m = model_of(
        placed()
        + placed("i2", "0xo2", side="SELL", price="0.60", size="7")
        + [ev.OrderStateChanged(order_id="0xo1", state=S.CANCELED)]
        + [ev.OrderStateChanged(order_id="0xo2", state=S.FILLED, size_matched=d(7))]
    )
    assert (m.resting_buys, m.resting_sells) == ({}, {})


def test_a_random_session_exercises_every_kind() -> None:
    kinds = {r.kind for r in records(random_session(random.Random(7), 400))}
    assert kinds == set(ev.EVENT_TYPES)
