"""Builders for copy-trading tests: leader fills, deltas and books."""

from __future__ import annotations

from decimal import Decimal as D

from polytui.core.book import Book, price_units, tick_units
from polytui.core.strategy import OrderSide
from polytui.strategies.copytrade.fills import LeaderFill, base_key

LEADER = "0x" + "1" * 40
OTHER_LEADER = "0x" + "2" * 40
ASSET, ASSET_B = "7" * 77, "8" * 77
COND = "0x" + "c" * 64
T0 = 1_795_000_000_000


def fill(
    ts_s: int = 0,
    side: str = "BUY",
    size: str | int = 100,
    price: str = "0.50",
    asset: str = ASSET,
    tx: str | None = None,
    leader: str = LEADER,
    seen_ms: int | None = None,
) -> LeaderFill:
    ts_ms = T0 + ts_s * 1000
    tx = tx if tx is not None else f"0x{ts_s:064x}"
    size_d, price_d = D(str(size)), D(price)
    return LeaderFill(
        key=base_key(tx, asset, side, size_d, price_d),
        leader=leader,
        condition_id=COND,
        asset=asset,
        side=OrderSide(side),
        size=size_d,
        price=price_d,
        ts_ms=ts_ms,
        tx=tx,
        seen_ms=seen_ms if seen_ms is not None else ts_ms + 2000,
    )


def book(bids=(), asks=(), tick: str = "0.01") -> Book:
    def levels(rows):
        return [(price_units(p), D(str(s))) for p, s in rows]

    return Book.of(tick_units(tick), levels(bids), levels(asks))
