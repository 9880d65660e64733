"""The asyncio Store: durable and buffered appends on one writer thread, projections on the
event loop, and the summary a rebuild prints."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

from polytui.core import ledger_events as ev
from polytui.core.clock import FakeClock
from polytui.core.ledger_summary import render_summary
from polytui.core.orders import OrderState
from polytui.store.db import make_engine
from polytui.store.errors import StoreError
from polytui.store.ledger import read_model, read_records
from polytui.store.store import Store
from tests.ledger_data import ASSET_A, d, fill, intent, random_session, signed


@pytest.fixture
async def store(ledger_url: str):  # type: ignore[no-untyped-def]
    s = await Store.open(ledger_url, FakeClock(), batch_size=4)
    yield s
    await s.close()


async def test_intent_and_signed_order_in_one_durable_write(store: Store) -> None:
    seqs = await store.append_many([intent("i1"), signed("i1", "0x1")])
    assert seqs == [1, 2]
    order = store.model.order("0x1")
    assert order is not None and order.state is OrderState.SIGNED
    assert [o.key for o in store.model.unresolved_orders()] == ["i1"]


async def test_append_returns_the_existing_seq_for_a_known_event(store: Store) -> None:
    assert await store.append(fill("t1", "o1")) == 1
    assert await store.append(fill("t1", "o1")) == 1
    assert store.model.positions[ASSET_A].size == 10


async def test_buffered_events_wait_for_a_batch_or_a_flush(store: Store, ledger_url: str) -> None:
    reader = make_engine(ledger_url, write=False)
    first = store.append_buffered(ev.PnlSnapshot(at_ms=1, marks={}))
    store.append_buffered(ev.RiskRejected(intent_id="i9", gate="caps"))
    await asyncio.sleep(0.05)
    assert store.pending == 2
    assert list(read_records(reader)) == []  # nothing written yet
    await store.flush()
    assert await first == 1
    assert store.pending == 0
    assert [r.seq for r in read_records(reader)] == [1, 2]
    futures = [store.append_buffered(ev.PnlSnapshot(at_ms=n, marks={})) for n in range(10, 14)]
    assert await asyncio.wait_for(asyncio.gather(*futures), 5) == [3, 4, 5, 6]  # batch of 4
    reader.dispose()


async def test_a_durable_write_takes_the_buffered_events_first(store: Store) -> None:
    snap = store.append_buffered(ev.PnlSnapshot(at_ms=1, marks={}))
    assert await store.append(intent("i1")) == 2
    assert await snap == 1
    assert [r.kind for r in await store.records()] == ["pnl_snapshot", "intent_recorded"]


async def test_order_events_cannot_be_buffered(store: Store) -> None:
    for event in (intent("i1"), fill("t1", "o1"), ev.KillSwitchEngaged(ref="k")):
        with pytest.raises(ValueError, match="durably"):
            store.append_buffered(event)


async def test_close_writes_what_is_buffered(ledger_url: str) -> None:
    s = await Store.open(ledger_url, FakeClock(), batch_size=100)
    s.append_buffered(ev.PnlSnapshot(at_ms=1, marks={ASSET_A: d("0.5")}))
    await s.close()
    reader = make_engine(ledger_url, write=False)
    assert [r.kind for r in read_records(reader)] == ["pnl_snapshot"]
    reader.dispose()
    with pytest.raises(StoreError, match="closed"):
        await s.append(intent("i1"))


async def test_writes_run_on_one_thread_that_is_not_the_loop(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: set[str] = set()
    ledger = store._ledger
    original = ledger.append

    def spy(items):  # type: ignore[no-untyped-def]
        threads.add(threading.current_thread().name)
        return original(items)

    monkeypatch.setattr(ledger, "append", spy)
    await asyncio.gather(*(store.append(intent(f"i{n}")) for n in range(20)))
    assert len(threads) == 1
    assert threading.current_thread().name not in threads
    assert [r.seq for r in await store.records()] == list(range(1, 21))


async def test_concurrent_writers_get_seqs_in_the_order_they_called(store: Store) -> None:
    seqs = await asyncio.gather(*(store.append(intent(f"i{n}")) for n in range(30)))
    assert seqs == list(range(1, 31))
    assert [o.created_seq for o in store.model.unresolved_orders()] == list(range(1, 31))


async def test_a_cancelled_caller_does_not_lose_the_write_from_the_projections(
    store: Store,
) -> None:
    task = asyncio.ensure_future(store.append(fill("t1", "o1")))
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.sleep(0.2)
    await store.flush()
    assert store.model.positions[ASSET_A].size == 10  # merged though nobody awaited it


async def test_the_model_on_the_loop_equals_the_rebuild(store: Store, ledger_url: str) -> None:
    events = random_session(random.Random(21), 50)
    for event in events:
        if event.kind in ev.ORDER_KINDS:
            await store.append(event)
        else:
            store.append_buffered(event)
    await store.flush()
    reader = make_engine(ledger_url, write=False)
    rebuilt = read_model(reader)
    reader.dispose()
    assert store.model == rebuilt
    assert store.summary() == render_summary(rebuilt)
    assert await store.rebuild() == rebuilt


async def test_a_failed_write_fails_the_buffered_futures_too(store: Store) -> None:
    snap = store.append_buffered(ev.PnlSnapshot(at_ms=1, marks={}))

    def broken(items):  # type: ignore[no-untyped-def]
        raise StoreError("disk on fire")

    store._ledger.append = broken  # type: ignore[method-assign]
    with pytest.raises(StoreError, match="disk on fire"):
        await store.append(intent("i1"))
    with pytest.raises(StoreError, match="disk on fire"):
        await snap
    assert store.model.orders == {}
