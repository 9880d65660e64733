"""The ledger for asyncio code: every write runs, one after another, on one writer thread.

    store = await Store.open(settings.ledger.url_for(settings.paths), clock)
    seqs = await store.append_many([intent, signed])   # one durable write, before the POST
    await store.append(OrderSubmitted(order_id=...))    # durable: committed and fsynced
    store.append_buffered(PnlSnapshot(...))             # batched with the next write
    store.model.order(order_id).state                   # projections, on the loop thread
    print(store.summary())                              # what `polytui ledger rebuild` prints
    await store.close()

``append``/``append_many`` return once the events are committed (fsynced on SQLite): an order
may be posted only after its intent's ``append_many`` returned. Order-related kinds (see
``ORDER_KINDS``) can only be written this way.

``append_buffered`` queues events whose loss on a crash costs nothing (PnL snapshots, risk
rejections, reconciliation diffs): they are written, in order, in one transaction with the
next durable write, when ``batch_size`` are queued, or on ``flush()`` (the engine's scheduler
calls it every second or so) and ``close()``. Its future gives the event's seq.

``store.model`` changes only on the event loop thread, when a write has committed: the writer
thread sends back the ``Changes`` it made and they are merged here, so readers never see a
half-applied write or race the writer.

A session record or replay (``polytui.engine.session``) may pass a ``gate``: the store hands it
each landed write's merge (``gate(merge)``) and the gate decides when to run it (a record notes
the instant, a replay holds it until the recorded instant), and an ``executor`` to write on
(a replay's runs the write at once, on the loop's thread).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

from polytui.core.clock import Clock
from polytui.core.ledger_events import ORDER_KINDS, LedgerEvent, LedgerRecord
from polytui.core.ledger_summary import render_summary
from polytui.core.projections import ReadModel
from polytui.store.errors import StoreError
from polytui.store.ledger import AppendResult, Item, Ledger

DEFAULT_BATCH_SIZE = 256

CommitGate = Callable[[Callable[[], None]], None]
"""``gate(merge)``: a landed write's merge into ``store.model``, to run now or later."""


class Store:
    """The engine's handle on the ledger. Build it with ``await Store.open(...)``."""

    def __init__(
        self,
        ledger: Ledger,
        executor: Executor,
        model: ReadModel,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        gate: CommitGate | None = None,
    ) -> None:
        self._ledger = ledger
        self._executor = executor
        self._gate = gate
        self.model = model
        self.batch_size = batch_size
        self._pending: list[tuple[Item, asyncio.Future[int]]] = []
        self._flush_task: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    async def open(
        cls,
        target: str | Path,
        clock: Clock,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        busy_timeout_ms: int | None = None,
        executor: Executor | None = None,
        gate: CommitGate | None = None,
    ) -> Store:
        """Open the ledger at ``target`` (a SQLAlchemy URL or a SQLite path), become its
        writer, and load its projections. Raises ``StoreError`` subclasses: ``LedgerInUse``
        (another writer), ``LedgerCorrupt``, ``SchemaMismatch``, ``StoreUnavailable``..."""
        if executor is None:
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="polytui-ledger")
        loop = asyncio.get_running_loop()
        try:
            ledger = await loop.run_in_executor(
                executor, lambda: Ledger.open(target, clock, busy_timeout_ms=busy_timeout_ms)
            )
            model = await loop.run_in_executor(executor, ledger.snapshot)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(ledger, executor, model, batch_size=batch_size, gate=gate)

    @property
    def last_seq(self) -> int:
        return self.model.stats.last_seq

    @property
    def pending(self) -> int:
        """Buffered events not written yet."""
        return len(self._pending)

    # ---- writes --------------------------------------------------------------------------

    async def append(self, event: LedgerEvent, event_id: str | None = None) -> int:
        """Write one event durably; its seq (the existing one if ``event_id`` is known)."""
        item: Item = event if event_id is None else (event, event_id)
        return (await self.append_many([item]))[0]

    async def append_many(self, items: Sequence[Item]) -> list[int]:
        """Write several events in one durable transaction (after any buffered ones): all
        of them or, on failure, none."""
        self._check_open()
        batch = self._take_pending() + [(item, None) for item in items]
        seqs = await self._write(batch)
        return seqs[len(batch) - len(items) :]

    def append_buffered(
        self, event: LedgerEvent, event_id: str | None = None
    ) -> asyncio.Future[int]:
        """Queue an event that may be lost on a crash; the future gives its seq once written."""
        self._check_open()
        if event.kind in ORDER_KINDS:
            raise ValueError(f"{event.kind} events are written durably: use append()")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((event if event_id is None else (event, event_id), future))
        if len(self._pending) >= self.batch_size and self._flush_task is None:
            self._flush_task = asyncio.ensure_future(self._flush_soon())
        return future

    async def flush(self) -> None:
        """Write every buffered event now."""
        batch = self._take_pending()
        if batch:
            with contextlib.suppress(StoreError):  # the futures carry the error
                await self._write(batch)

    async def rebuild(self) -> ReadModel:
        """Refold the ledger from seq 1 and rewrite the projection tables (see ``Ledger``)."""
        self._check_open()
        await self.flush()
        model = await self._run(self._ledger.rebuild)
        self.model = model
        return model

    async def records(self, after_seq: int = 0, limit: int | None = None) -> list[LedgerRecord]:
        return await self._run(lambda: list(self._ledger.records(after_seq, limit)))

    def summary(self, marks: dict[str, Decimal] | None = None) -> str:
        """The text ``polytui ledger rebuild`` prints for this ledger (same function)."""
        return render_summary(self.model, marks)

    async def close(self) -> None:
        if self._closed:
            return
        try:
            await self.flush()
            if self._flush_task is not None:
                await self._flush_task
        finally:
            self._closed = True
            await self._run(self._ledger.close)
            self._executor.shutdown(wait=True)

    # ---- internals -----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")

    def _take_pending(self) -> list[tuple[Item, asyncio.Future[int] | None]]:
        batch, self._pending = self._pending, []
        return batch  # type: ignore[return-value]

    async def _flush_soon(self) -> None:
        try:
            await self.flush()
        finally:
            self._flush_task = None

    async def _run(self, fn):  # type: ignore[no-untyped-def]
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def _write(self, batch: list[tuple[Item, asyncio.Future[int] | None]]) -> list[int]:
        """Hand ``batch`` to the writer thread. The result is merged into ``self.model`` by a
        callback, not by this coroutine: cancelling the caller cannot lose a committed write
        from the projections."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[int]] = loop.create_future()
        items = [item for item, _ in batch]
        submitted = self._executor.submit(self._ledger.append, items)

        def finished(f: Future[AppendResult]) -> None:  # on the writer thread
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody to tell
                loop.call_soon_threadsafe(self._landed, batch, f, done)

        submitted.add_done_callback(finished)
        return await done

    def _landed(
        self,
        batch: list[tuple[Item, asyncio.Future[int] | None]],
        submitted: Future[AppendResult],
        done: asyncio.Future[list[int]],
    ) -> None:
        if self._gate is None:
            self._completed(batch, submitted, done)
        else:
            self._gate(lambda: self._completed(batch, submitted, done))

    def _completed(
        self,
        batch: list[tuple[Item, asyncio.Future[int] | None]],
        submitted: Future[AppendResult],
        done: asyncio.Future[list[int]],
    ) -> None:
        exc = submitted.exception()
        if exc is not None:
            for _, future in batch:
                if future is not None and not future.done():
                    future.set_exception(exc)
                    future.exception()  # marked retrieved: a dropped future must not warn
            if not done.done():
                done.set_exception(exc)
            return
        result = submitted.result()
        self.model.merge(result.changes)
        for (_, future), seq in zip(batch, result.seqs, strict=True):
            if future is not None and not future.done():
                future.set_result(seq)
        if not done.done():
            done.set_result(result.seqs)
