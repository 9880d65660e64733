"""Rows <-> projection views. The tables hold exactly the views' fields; Decimals as text."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import msgspec

from polytui.core.projections import (
    FillView,
    KillSwitchView,
    LedgerStats,
    OrderView,
    PnlSnapshotView,
    PositionView,
)

_JSON = msgspec.json.Encoder(decimal_format="string")


def to_row(view: msgspec.Struct) -> dict[str, Any]:
    """A view as a row: Decimals and enums as strings (``None`` stays ``None``)."""
    row = msgspec.to_builtins(view)
    if isinstance(view, PnlSnapshotView):
        row["marks"] = _JSON.encode(view.marks).decode()
        row["unmarked"] = _JSON.encode(view.unmarked).decode()
    return row


def order_from_row(row: Mapping[str, Any]) -> OrderView:
    return msgspec.convert(dict(row), OrderView)


def fill_from_row(row: Mapping[str, Any]) -> FillView:
    return msgspec.convert(dict(row), FillView)


def position_from_row(row: Mapping[str, Any]) -> PositionView:
    return msgspec.convert(dict(row), PositionView)


def snapshot_from_row(row: Mapping[str, Any]) -> PnlSnapshotView:
    values = dict(row)
    values["marks"] = msgspec.json.decode(values["marks"], type=dict[str, Decimal])
    values["unmarked"] = msgspec.json.decode(values["unmarked"], type=tuple[str, ...])
    return msgspec.convert(values, PnlSnapshotView)


def encode_state(value: object) -> str:
    return _JSON.encode(value).decode()


def decode_stats(text: str) -> LedgerStats:
    return msgspec.json.decode(text, type=LedgerStats)


def decode_kill_switch(text: str) -> KillSwitchView:
    return msgspec.json.decode(text, type=KillSwitchView)


def decode_marks(text: str) -> dict[str, Decimal]:
    return msgspec.json.decode(text, type=dict[str, Decimal])
