"""The order and fill state machines."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polytui.core.orders import (
    OPEN_ORDER_STATES,
    TERMINAL_ORDER_STATES,
    FillStatus,
    OrderState,
    can_move,
    can_settle,
    fill_status_from_venue,
    is_terminal,
    state_from_venue,
)

S = OrderState


def test_the_happy_path_is_allowed_step_by_step() -> None:
    path = [S.INTENDED, S.SIGNED, S.SUBMITTED, S.LIVE, S.PARTIALLY_FILLED, S.FILLED]
    for current, new in zip(path, path[1:], strict=False):
        assert can_move(current, new), (current, new)


def test_more_matched_keeps_a_partial_order_partial() -> None:
    assert can_move(S.PARTIALLY_FILLED, S.PARTIALLY_FILLED)


@pytest.mark.parametrize("terminal", sorted(TERMINAL_ORDER_STATES))
def test_nothing_leaves_a_terminal_state(terminal: OrderState) -> None:
    assert is_terminal(terminal)
    assert not any(can_move(terminal, new) for new in OrderState)


@pytest.mark.parametrize("state", [S.LIVE, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.REJECTED])
def test_venue_news_may_overtake_the_post(state: OrderState) -> None:
    """A fill on the user channel can arrive before the POST answered."""
    assert can_move(S.SUBMITTED, state)
    assert can_move(S.UNKNOWN, state)


def test_an_order_never_goes_back() -> None:
    assert not can_move(S.LIVE, S.SUBMITTED)
    assert not can_move(S.PARTIALLY_FILLED, S.LIVE)
    assert not can_move(S.LIVE, S.UNKNOWN)
    assert not can_move(S.INTENDED, S.LIVE)  # never at the venue without being signed


def test_only_an_ambiguous_post_makes_an_order_unknown() -> None:
    assert [s for s in OrderState if can_move(s, S.UNKNOWN)] == [S.SUBMITTED]


def test_open_states_are_the_resting_ones() -> None:
    assert {S.LIVE, S.PARTIALLY_FILLED} == OPEN_ORDER_STATES
    assert not OPEN_ORDER_STATES & TERMINAL_ORDER_STATES


@pytest.mark.parametrize(
    ("status", "matched", "size", "expected"),
    [
        ("live", "0", "10", S.LIVE),
        ("LIVE", "2.5", "10", S.PARTIALLY_FILLED),
        ("matched", "10", "10", S.FILLED),
        ("MATCHED", "4", "10", S.PARTIALLY_FILLED),
        ("matched", "4", "0", S.FILLED),  # size not known: the venue said matched
        ("delayed", "0", "10", S.SUBMITTED),
        ("unmatched", "0", "10", S.LIVE),
        ("CANCELED", "0", "10", S.CANCELED),
        ("CANCELED_MARKET_RESOLVED", "3", "10", S.CANCELED),
        ("CANCELED_EXPIRED_ORDER", "0", "10", S.EXPIRED),
        ("INVALID", "0", "10", S.REJECTED),
        ("SOMETHING_NEW", "0", "10", S.UNKNOWN),
    ],
)
def test_venue_statuses_map_onto_order_states(
    status: str, matched: str, size: str, expected: OrderState
) -> None:
    assert state_from_venue(status, Decimal(matched), Decimal(size)) is expected


F = FillStatus


def test_settlement_moves_forward_only() -> None:
    assert can_settle(F.MATCHED, F.MINED)
    assert can_settle(F.MINED, F.CONFIRMED)
    assert can_settle(F.MATCHED, F.CONFIRMED)  # a skipped MINED is fine
    assert not can_settle(F.MINED, F.MATCHED)
    assert not can_settle(F.MATCHED, F.MATCHED)


def test_retrying_comes_back_or_fails() -> None:
    assert can_settle(F.MINED, F.RETRYING)
    assert can_settle(F.RETRYING, F.MINED)
    assert can_settle(F.RETRYING, F.CONFIRMED)
    assert can_settle(F.RETRYING, F.FAILED)
    assert not can_settle(F.RETRYING, F.MATCHED)


@pytest.mark.parametrize("final", [F.CONFIRMED, F.FAILED])
def test_confirmed_and_failed_are_final(final: FillStatus) -> None:
    assert not any(can_settle(final, new) for new in FillStatus)


def test_failure_can_come_from_any_open_status() -> None:
    assert all(can_settle(s, F.FAILED) for s in (F.MATCHED, F.MINED, F.RETRYING))


@pytest.mark.parametrize(
    ("served", "expected"),
    [
        ("TRADE_STATUS_CONFIRMED", F.CONFIRMED),
        ("MINED", F.MINED),
        ("matched", F.MATCHED),
        ("MATCHED_NOT_BROADCASTED", F.MATCHED),
        ("TRADE_STATUS_FAILED", F.FAILED),
        ("RETRYING", F.RETRYING),
        ("BURNT", None),
    ],
)
def test_venue_trade_statuses(served: str, expected: FillStatus | None) -> None:
    assert fill_status_from_venue(served) is expected
