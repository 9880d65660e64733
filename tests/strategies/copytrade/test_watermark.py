"""Fill keys and the poll watermark: nothing skipped at equal timestamps or within the indexing
lag, nothing delivered twice, memory bounded."""

from __future__ import annotations

from decimal import Decimal as D

from polytui.protocol.wire.data_api import Activity
from polytui.strategies.copytrade.fills import fills_from_activity
from polytui.strategies.copytrade.watermark import Watermark
from tests.strategies.copytrade.helpers import ASSET, LEADER, T0, fill


def row(ts_s: int, tx: str = "0xaa", size: str = "10", price: str = "0.5", **kw) -> Activity:
    fields = {
        "proxy_wallet": LEADER.upper().replace("0X", "0x"),
        "timestamp": T0 // 1000 + ts_s,
        "type": "TRADE",
        "condition_id": "0xc",
        "size": D(size),
        "usdc_size": D(size) * D(price),
        "transaction_hash": tx,
        "price": D(price),
        "asset": ASSET,
        "side": "BUY",
        **kw,
    }
    return Activity(**fields)


def test_activity_rows_become_keyed_fills_oldest_first() -> None:
    rows = [row(5, "0xb"), row(1, "0xa"), row(3, "0xa", type="REDEEM"), row(2, size="0")]
    fills = fills_from_activity(rows, seen_ms=T0 + 9000)
    assert [f.tx for f in fills] == ["0xa", "0xb"]  # redeem and zero-size rows are not fills
    assert fills[0].ts_ms == T0 + 1000 and fills[0].seen_ms == T0 + 9000
    assert fills[0].leader == LEADER  # lower case
    assert fills[0].key == f"0xa:{ASSET}:BUY:10:0.5"


def test_identical_rows_get_stable_occurrence_numbers() -> None:
    twins = [row(1), row(1), row(2, "0xb")]
    keys = [f.key for f in fills_from_activity(twins, 0)]
    assert keys[0] != keys[1] and keys[1].endswith("#1")
    again = [f.key for f in fills_from_activity([row(2, "0xb"), row(1), row(1)], 0)]
    assert sorted(again) == sorted(keys)


def test_a_poll_starts_lookback_before_the_newest_fill() -> None:
    w = Watermark(lookback_ms=60_000)
    assert w.since_ms() is None
    w.begin(T0)
    assert w.since_ms() == T0 - 60_000
    w.mark([fill(100)])
    assert w.since_ms() == T0 + 100_000 - 60_000
    w.begin(T0 + 500_000)  # only when nothing was ever seen
    assert w.since_ms() == T0 + 40_000


def test_same_second_and_lagging_fills_are_admitted_repeats_are_not() -> None:
    w = Watermark(lookback_ms=30_000)
    first = [fill(10, tx="0xa")]
    assert w.admit(first) == first
    # the next answer repeats 0xa, and adds one of the same second and one 20 s older
    # that the index only now shows
    same_second, lagging = fill(10, tx="0xb"), fill(-10, tx="0xc")
    assert w.admit([lagging, *first, same_second]) == [lagging, same_second]
    assert w.duplicates == 1
    assert w.admit([lagging, *first, same_second]) == []
    assert w.duplicates == 4


def test_fills_older_than_the_window_are_dropped_and_counted() -> None:
    w = Watermark(lookback_ms=30_000)
    w.admit([fill(100)])
    assert w.admit([fill(69)]) == [] and w.late == 1
    assert w.admit([fill(70)]) != []  # exactly at the window's start: inclusive


def test_keys_outside_the_window_are_forgotten() -> None:
    w = Watermark(lookback_ms=10_000)
    w.admit([fill(i, tx=f"0x{i}") for i in range(100)])
    assert len(w) == 11  # 89 s .. 99 s
    w.admit([fill(200)])
    assert len(w) == 1
