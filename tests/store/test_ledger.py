"""The ledger on SQLite and PostgreSQL: append-only, idempotent, projections in step."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
import sqlalchemy as sa

from polytui.core import ledger_events as ev
from polytui.core.clock import FakeClock
from polytui.core.orders import FillStatus, OrderState
from polytui.core.projections import fold
from polytui.store.db import make_engine
from polytui.store.errors import LedgerCorrupt, LedgerInUse, SchemaMismatch, StoreError
from polytui.store.ledger import (
    PROJECTION_VERSION,
    Ledger,
    read_model,
    read_projection_tables,
    read_records,
    tail_records,
)
from polytui.store.models import SCHEMA_VERSION
from tests.ledger_data import ASSET_A, d, fill, intent, random_session, settle, signed


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start_ms=1_795_000_000_000)


@pytest.fixture
def ledger(ledger_url: str, clock: FakeClock):  # type: ignore[no-untyped-def]
    led = Ledger.open(ledger_url, clock)
    yield led
    led.close()


def test_seq_counts_from_one_and_ts_comes_from_the_clock(ledger: Ledger, clock: FakeClock) -> None:
    assert ledger.append([intent("i1"), signed("i1", "0x1")]).seqs == [1, 2]
    clock.advance(250)
    result = ledger.append([ev.OrderSubmitted(order_id="0x1")])
    assert result.seqs == [3]
    recs = list(ledger.records())
    assert [r.seq for r in recs] == [1, 2, 3]
    assert [r.ts_ms for r in recs] == [1_795_000_000_000] * 2 + [1_795_000_000_250]
    assert [r.kind for r in recs] == ["intent_recorded", "order_signed", "order_submitted"]
    assert recs[1].event == signed("i1", "0x1")


def test_appending_an_event_again_writes_nothing_and_returns_its_seq(ledger: Ledger) -> None:
    ledger.append([intent("i1"), fill("t1", "o1")])
    again = ledger.append([fill("t1", "o1"), intent("i2"), intent("i2")])
    assert again.seqs == [2, 3, 3]
    assert [r.seq for r in again.records] == [3]
    assert ledger.append([intent("i1")]).seqs == [1]
    assert [r.event_id for r in ledger.records()] == ["intent:i1", "fill:t1:o1", "intent:i2"]
    assert ledger.model.positions[ASSET_A].size == 10  # counted once


def test_an_explicit_event_id_is_the_key(ledger: Ledger) -> None:
    snap = ev.PnlSnapshot(at_ms=1, marks={})
    assert ledger.append([(snap, "mine-1"), (snap, "mine-2"), (snap, "mine-1")]).seqs == [1, 2, 1]


def test_the_projection_tables_match_the_fold_after_every_append(ledger: Ledger) -> None:
    events = random_session(random.Random(3), 80)
    rng = random.Random(4)
    start = 0
    while start < len(events):
        step = rng.randint(1, 12)
        ledger.append(events[start : start + step])
        start += step
        if rng.random() < 0.3:
            tables = read_projection_tables(ledger.engine)
            assert tables == ledger.model
    assert read_projection_tables(ledger.engine) == ledger.model
    assert read_model(ledger.engine) == ledger.model
    assert fold(ledger.records()).model == ledger.model


def test_rebuild_from_scratch_gives_what_incremental_appends_gave(ledger: Ledger) -> None:
    for event in random_session(random.Random(11), 60):
        ledger.append([event])
    incremental = read_projection_tables(ledger.engine)
    with ledger.engine.begin() as conn:  # a damaged projection: rebuild must repair it
        conn.exec_driver_sql("DELETE FROM position_projection")
        conn.exec_driver_sql("UPDATE order_projection SET state = 'LIVE'")
    rebuilt = ledger.rebuild()
    assert rebuilt == incremental
    assert read_projection_tables(ledger.engine) == incremental


def test_reopening_loads_the_same_projections(ledger_url: str, clock: FakeClock) -> None:
    led = Ledger.open(ledger_url, clock)
    led.append(random_session(random.Random(5), 30))
    before = led.snapshot()
    led.close()
    again = Ledger.open(ledger_url, clock)
    try:
        assert again.model == before
        assert again.append([intent("new")]).seqs == [before.stats.last_seq + 1]
    finally:
        again.close()


def test_stale_projection_tables_are_rewritten_on_open(ledger_url: str, clock: FakeClock) -> None:
    led = Ledger.open(ledger_url, clock)
    led.append([fill("t1", "o1"), settle("t1", "o1", FillStatus.CONFIRMED)])
    expected = led.snapshot()
    with led.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE projection_state SET value = '0' WHERE name = 'version'")
        conn.exec_driver_sql("DELETE FROM fill_projection")
    led.close()
    again = Ledger.open(ledger_url, clock)
    try:
        assert read_projection_tables(again.engine) == expected
        with again.engine.connect() as conn:
            version = conn.exec_driver_sql(
                "SELECT value FROM projection_state WHERE name = 'version'"
            ).scalar_one()
        assert version == str(PROJECTION_VERSION)
    finally:
        again.close()


def test_history_cannot_be_changed_even_with_sql(ledger: Ledger) -> None:
    ledger.append([intent("i1")])
    for statement in (
        "UPDATE ledger_event SET kind = 'x'",
        "DELETE FROM ledger_event",
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), ledger.engine.begin() as c:
            c.exec_driver_sql(statement)
    assert [r.event_id for r in ledger.records()] == ["intent:i1"]


def test_a_correction_is_a_new_event(ledger: Ledger) -> None:
    ledger.append([intent("i1"), signed("i1", "0x1"), ev.OrderSubmitted(order_id="0x1")])
    ledger.append([ev.OrderStateChanged(order_id="0x1", state=OrderState.CANCELED)])
    ledger.append(
        [
            ev.OrderStateChanged(
                order_id="0x1",
                state=OrderState.FILLED,
                size_matched=d(10),
                correction=True,
                ref="rec-7",
            )
        ]
    )
    assert [r.kind for r in ledger.records()][-2:] == ["order_state_changed"] * 2
    assert read_projection_tables(ledger.engine).orders["i1"].state is OrderState.FILLED


def test_one_writer_per_ledger(ledger: Ledger, ledger_url: str, clock: FakeClock) -> None:
    with pytest.raises(LedgerInUse, match="one writer per ledger"):
        Ledger.open(ledger_url, clock)
    ledger.close()
    Ledger.open(ledger_url, clock).close()  # free again once the first one closed


def test_readers_need_no_lock(ledger: Ledger, ledger_url: str) -> None:
    ledger.append([intent("i1"), fill("t1", "o1")])
    reader = make_engine(ledger_url, write=False)
    try:
        assert [r.seq for r in read_records(reader)] == [1, 2]
        assert [r.seq for r in tail_records(reader, 1)] == [2]
        assert read_model(reader) == ledger.model
        assert [r.seq for r in read_records(reader, after_seq=1)] == [2]
    finally:
        reader.dispose()


def test_the_schema_version_is_recorded_and_a_newer_one_refused(
    ledger_url: str, clock: FakeClock
) -> None:
    Ledger.open(ledger_url, clock).close()
    engine = make_engine(ledger_url)
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT version FROM schema_version").scalar_one() == 1
        conn.exec_driver_sql(f"UPDATE schema_version SET version = {SCHEMA_VERSION + 1}")
    engine.dispose()
    with pytest.raises(SchemaMismatch, match="upgrade polytui"):
        Ledger.open(ledger_url, clock)


def test_a_database_that_is_not_a_ledger_is_refused(ledger_url: str, clock: FakeClock) -> None:
    engine = make_engine(ledger_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    engine.dispose()
    with pytest.raises(LedgerCorrupt, match="not a polytui ledger"):
        Ledger.open(ledger_url, clock)


def test_an_unreadable_event_is_named(ledger: Ledger, ledger_url: str, clock: FakeClock) -> None:
    ledger.append([intent("i1")])
    ledger.close()
    engine = make_engine(ledger_url)
    with engine.begin() as conn:  # as a buggy or malicious writer would, past our API
        conn.exec_driver_sql(
            "INSERT INTO ledger_event (seq, event_id, ts_ms, kind, payload) "
            "VALUES (2, 'x', 0, 'intent_recorded', '{\"kind\": \"intent_recorded\"}')"
        )
    engine.dispose()
    with pytest.raises(LedgerCorrupt, match=r"seq 2 \(x\) cannot be read"):
        Ledger.open(ledger_url, clock)


def test_a_failed_write_leaves_nothing_and_the_ledger_usable(ledger: Ledger) -> None:
    ledger.append([intent("i1")])
    with ledger.engine.begin() as conn:  # a row written past the writer, taking seq 3
        conn.exec_driver_sql(
            "INSERT INTO ledger_event (seq, event_id, ts_ms, kind, payload) VALUES (3, "
            '\'planted\', 0, \'pnl_snapshot\', \'{"kind":"pnl_snapshot","at_ms":1,"marks":{}}\')'
        )
    with pytest.raises(StoreError):
        ledger.append([fill("t1", "o1"), fill("t2", "o2")])  # seqs 2 and 3: 3 is taken
    assert [r.event_id for r in ledger.records()] == ["intent:i1", "planted"]
    assert ledger.model == read_model(ledger.engine)  # back to what is committed
    assert ledger.model.positions == {}
    assert ledger.append([fill("t1", "o1")]).seqs == [4]
    assert ledger.model.positions[ASSET_A].size == Decimal(10)
    assert read_projection_tables(ledger.engine) == ledger.model


def test_money_survives_the_round_trip_exactly(ledger: Ledger) -> None:
    ledger.append(
        [
            fill("t1", "o1", "BUY", "0.3333", "33.33", fee="0.000001"),
            fill("t2", "o2", "BUY", "0.6667", "66.67"),
        ]
    )
    stored = read_projection_tables(ledger.engine).positions[ASSET_A]
    assert stored.avg_cost == ledger.model.positions[ASSET_A].avg_cost
    assert stored.avg_cost == (d("0.3333") * d("33.33") + d("0.6667") * d("66.67")) / d(100)
    assert stored.fees == d("0.000001")
