"""The ledger's event vocabulary: exact JSON round trips and natural idempotency keys."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from polytui.core import ledger_events as ev
from polytui.core.orders import FillStatus, OrderState
from tests.ledger_data import fill, intent, signed

ONE_OF_EACH: list[ev.LedgerEvent] = [
    intent("i1", price="0.123", size="33.33"),
    signed("i1", "0x" + "11" * 32),
    ev.OrderSubmitted(order_id="0x1"),
    ev.OrderAcked(
        order_id="0x1",
        accepted=True,
        venue_status="matched",
        size_matched=Decimal("2.5"),
        trade_ids=("t1",),
    ),
    ev.OrderStateChanged(
        order_id="0x1", state=OrderState.PARTIALLY_FILLED, size_matched=Decimal("2.5"), source="ws"
    ),
    fill("t1", "0x1", fee="0.0012"),
    ev.FillSettlementChanged(
        trade_id="t1", order_id="0x1", status=FillStatus.MINED, tx_hash="0x" + "22" * 32
    ),
    ev.KillSwitchEngaged(ref="k1", reason="drawdown", source="cli"),
    ev.KillSwitchReleased(ref="r1", source="cli"),
    ev.ReconciliationDiff(ref="run1", subject="position", key="123", ours="10", venue="9"),
    ev.PositionCorrected(
        ref="run1", asset_id="123", delta=Decimal("-1.5"), venue_size=Decimal("8.5")
    ),
    ev.RiskRejected(intent_id="i2", gate="caps", reason="notional"),
    ev.PnlSnapshot(at_ms=1_795_000_000_000, marks={"123": Decimal("0.51")}),
]


def test_there_is_one_sample_of_every_kind() -> None:
    assert sorted(e.kind for e in ONE_OF_EACH) == sorted(ev.EVENT_TYPES)


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: e.kind)
def test_every_kind_round_trips_exactly(event: ev.LedgerEvent) -> None:
    payload = ev.encode_event(event)
    assert msgspec.json.decode(payload)["kind"] == event.kind
    assert ev.decode_event(payload) == event


def test_money_is_a_string_and_keeps_every_digit() -> None:
    event = intent("i1", price="0.1234567890123456789012345678901", size="100.10")
    raw = msgspec.json.decode(ev.encode_event(event))
    assert raw["price"] == "0.1234567890123456789012345678901"
    assert raw["size"] == "100.10"
    assert ev.decode_event(ev.encode_event(event)).price == event.price


def test_a_big_salt_survives() -> None:
    event = signed("i1", "0x1")
    assert ev.decode_event(ev.encode_event(event)).order["salt"] == 12345678901234567890123


def test_natural_ids_are_unique_across_kinds() -> None:
    ids = [ev.event_id(e) for e in ONE_OF_EACH]
    assert len(set(ids)) == len(ids)


def test_the_same_fact_seen_twice_has_one_id() -> None:
    ws = ev.OrderStateChanged(
        order_id="0x1", state=OrderState.LIVE, size_matched=Decimal("2.50"), source="ws"
    )
    rest = ev.OrderStateChanged(
        order_id="0x1", state=OrderState.LIVE, size_matched=Decimal("2.5"), source="rest"
    )
    assert ev.event_id(ws) == ev.event_id(rest)


def test_different_facts_have_different_ids() -> None:
    a = ev.OrderStateChanged(
        order_id="0x1", state=OrderState.PARTIALLY_FILLED, size_matched=Decimal("2")
    )
    b = ev.OrderStateChanged(
        order_id="0x1", state=OrderState.PARTIALLY_FILLED, size_matched=Decimal("3")
    )
    correction = ev.OrderStateChanged(
        order_id="0x1",
        state=OrderState.PARTIALLY_FILLED,
        size_matched=Decimal("2"),
        correction=True,
        ref="rec1",
    )
    assert len({ev.event_id(a), ev.event_id(b), ev.event_id(correction)}) == 3
    assert ev.event_id(settle_status("MINED")) != ev.event_id(settle_status("CONFIRMED"))


def settle_status(status: str) -> ev.FillSettlementChanged:
    return ev.FillSettlementChanged(trade_id="t", order_id="o", status=FillStatus(status))


def test_an_unknown_kind_or_a_bad_amount_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError):
        ev.decode_event(b'{"kind": "order_teleported", "order_id": "0x1"}')
    with pytest.raises(msgspec.ValidationError):
        ev.decode_event(b'{"kind": "order_submitted"}')
    bad = ev.encode_event(intent("i1")).replace(b'"0.45"', b'"lots"')
    with pytest.raises(msgspec.ValidationError):
        ev.decode_event(bad)


def test_events_are_frozen() -> None:
    event = intent("i1")
    with pytest.raises(AttributeError):
        event.size = Decimal(1)  # type: ignore[misc]


def test_order_kinds_are_the_lifecycle_ones() -> None:
    assert set(ev.EVENT_TYPES) >= ev.ORDER_KINDS
    assert {"pnl_snapshot", "risk_rejected", "reconciliation_diff"}.isdisjoint(ev.ORDER_KINDS)
