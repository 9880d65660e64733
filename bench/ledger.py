"""Ledger throughput: durable appends/s, buffered appends/s, projection rebuild time.

    python bench/ledger.py [--durable N] [--buffered N] [--rebuild N] [--dir DIR] [--pg URL]

On SQLite (a fresh file in DIR, default a temporary directory; the script prints its
filesystem, since fsync on tmpfs costs nothing) and, with ``--pg``, on PostgreSQL (a schema
of its own, dropped afterwards):

1. **durable**: N (2,000) order-lifecycle events (intent, signed order, submitted, acked,
   fill, filled, mined, confirmed, ...), each ``await Store.append(...)``: one transaction,
   committed and fsynced (``synchronous=FULL``), projection rows included, before the next.
2. **buffered**: N (20,000) PnL snapshots, risk rejections and reconciliation diffs through
   ``Store.append_buffered`` (written ``batch_size`` = 256 per transaction), then ``flush()``;
   and order events through ``append_many`` in transactions of 256.
3. **rebuild**: a ledger of N (100,000) lifecycle events, then ``Ledger.rebuild()`` (read,
   decode, fold from seq 1, rewrite every projection table in one transaction), and the fold
   alone (read + decode + fold, as ``polytui ledger summary`` or opening the store does).

Each row has a reference measured in the same run on the same rows: the raw driver
(``sqlite3`` with the same pragmas, or psycopg) inserting the same payloads one commit per
row, ``executemany`` 256 per commit, and ``SELECT payload`` + untyped ``msgspec`` decode for
the rebuild. The references do nothing a ledger must (no idempotency check, no projections),
so they are the floor the ledger is read against. Figures only; exit status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from polytui.core import ledger_events as ev  # noqa: E402
from polytui.core.clock import SystemClock  # noqa: E402
from polytui.core.orders import FillStatus, OrderState  # noqa: E402
from polytui.core.projections import fold  # noqa: E402
from polytui.store.db import make_engine  # noqa: E402
from polytui.store.ledger import Ledger, read_records  # noqa: E402
from polytui.store.store import Store  # noqa: E402

ASSETS = [str(10**76 + 7919 * n) for n in range(20)]
MARKET = "0x" + "5f" * 32
BATCH = 256


def lifecycle(start: int = 0) -> Iterator[ev.LedgerEvent]:
    """An endless, deterministic stream of order lives: 9 events per order, a PnL snapshot
    every 50 orders."""
    n = start
    while True:
        iid, oid, tid = f"bench-{n}", f"0x{n:064x}", f"trade-{n}"
        asset = ASSETS[n % len(ASSETS)]
        side = "BUY" if n % 3 else "SELL"
        price = Decimal(1 + n % 97) / 100
        yield ev.IntentRecorded(
            intent_id=iid,
            strategy="bench",
            market=MARKET,
            asset_id=asset,
            side=side,
            price=price,
            size=Decimal(10),
            order_type="GTC",
            reason="bench",
        )
        yield ev.OrderSigned(
            intent_id=iid,
            order_id=oid,
            metadata="0x" + "ab" * 32,
            order={
                "salt": 10**20 + n,
                "maker": "0x" + "d" * 40,
                "tokenId": asset,
                "makerAmount": "4500000",
                "takerAmount": "10000000",
                "side": side,
                "signature": "0x" + "1c" * 65,
            },
        )
        yield ev.OrderSubmitted(order_id=oid)
        yield ev.OrderAcked(order_id=oid, accepted=True, venue_status="live")
        yield ev.FillRecorded(
            trade_id=tid,
            order_id=oid,
            market=MARKET,
            asset_id=asset,
            side=side,
            price=price,
            size=Decimal(10),
            fee=Decimal("0.001"),
            role="MAKER",
        )
        yield ev.OrderStateChanged(
            order_id=oid, state=OrderState.FILLED, size_matched=Decimal(10), source="ws"
        )
        yield ev.FillSettlementChanged(trade_id=tid, order_id=oid, status=FillStatus.MINED)
        yield ev.FillSettlementChanged(trade_id=tid, order_id=oid, status=FillStatus.CONFIRMED)
        if n % 50 == 0:
            yield ev.PnlSnapshot(
                at_ms=1_795_000_000_000 + n, marks={a: Decimal("0.5") for a in ASSETS}
            )
        n += 1


def side_events() -> Iterator[ev.LedgerEvent]:
    """Events that may be buffered: PnL snapshots, risk rejections, reconciliation diffs."""
    n = 0
    while True:
        yield ev.PnlSnapshot(at_ms=1_795_000_000_000 + n, marks={ASSETS[n % 20]: Decimal("0.5")})
        yield ev.RiskRejected(intent_id=f"side-{n}", gate="caps", reason="notional")
        yield ev.ReconciliationDiff(
            ref=f"rec-{n}",
            subject="order",
            key=f"0x{n:064x}",
            ours="LIVE",
            venue="CANCELED",
            action="alert",
        )
        n += 1


def take(stream: Iterator[ev.LedgerEvent], count: int) -> list[ev.LedgerEvent]:
    return [next(stream) for _ in range(count)]


def rows_of(events: list[ev.LedgerEvent]) -> list[tuple[int, str, int, str, str]]:
    return [
        (n + 1, ev.event_id(e), 1_795_000_000_000, e.kind, ev.encode_event(e).decode())
        for n, e in enumerate(events)
    ]


# ---- the ledger --------------------------------------------------------------------------


async def durable(url: str, events: list[ev.LedgerEvent]) -> float:
    store = await Store.open(url, SystemClock())
    try:
        t0 = time.perf_counter()
        for e in events:
            await store.append(e)
        return time.perf_counter() - t0
    finally:
        await store.close()


async def buffered(url: str, events: list[ev.LedgerEvent]) -> float:
    store = await Store.open(url, SystemClock(), batch_size=BATCH)
    try:
        t0 = time.perf_counter()
        futures = [store.append_buffered(e) for e in events]
        await store.flush()
        await asyncio.gather(*futures)
        return time.perf_counter() - t0
    finally:
        await store.close()


async def batched(url: str, events: list[ev.LedgerEvent]) -> float:
    store = await Store.open(url, SystemClock())
    try:
        t0 = time.perf_counter()
        for start in range(0, len(events), BATCH):
            await store.append_many(events[start : start + BATCH])
        return time.perf_counter() - t0
    finally:
        await store.close()


def rebuild(url: str, count: int) -> tuple[float, float, int]:
    ledger = Ledger.open(url, SystemClock())
    try:
        stream = lifecycle(10_000_000)
        for _ in range(0, count, 5000):
            ledger.append(take(stream, 5000))
        t0 = time.perf_counter()
        model = ledger.rebuild()
        rebuild_s = time.perf_counter() - t0
        engine = make_engine(url, write=False)
        t0 = time.perf_counter()
        folded = fold(read_records(engine)).model
        fold_s = time.perf_counter() - t0
        engine.dispose()
        assert folded == model, "the fold and the rebuild disagree"
        return rebuild_s, fold_s, model.stats.events
    finally:
        ledger.close()


# ---- references: the raw drivers ---------------------------------------------------------

_DDL = (
    "CREATE TABLE raw_event (seq INTEGER PRIMARY KEY, event_id TEXT UNIQUE, ts_ms BIGINT,"
    " kind TEXT, payload TEXT)"
)
_INSERT = "INSERT INTO raw_event VALUES (?, ?, ?, ?, ?)"


def sqlite_reference(path: Path, rows: list, batch: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(_DDL)
    t0 = time.perf_counter()
    for start in range(0, len(rows), batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(_INSERT, rows[start : start + batch])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def sqlite_read_reference(path: Path) -> float:
    conn = sqlite3.connect(path)
    t0 = time.perf_counter()
    for (payload,) in conn.execute("SELECT payload FROM ledger_event ORDER BY seq"):
        msgspec.json.decode(payload)
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def pg_reference(url: str, rows: list, batch: int) -> float:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        conn.execute(_DDL.replace("INTEGER PRIMARY KEY", "BIGINT PRIMARY KEY"))
        conn.commit()
        insert = _INSERT.replace("?", "%s")
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            for start in range(0, len(rows), batch):
                cur.executemany(insert, rows[start : start + batch])
                conn.commit()
        return time.perf_counter() - t0


def pg_read_reference(url: str) -> float:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn, conn.cursor(name="bench") as cur:
        t0 = time.perf_counter()
        cur.execute("SELECT payload FROM ledger_event ORDER BY seq")
        for (payload,) in cur:
            msgspec.json.decode(payload)
        return time.perf_counter() - t0


# ---- running -----------------------------------------------------------------------------


class Backend:
    def __init__(
        self,
        name: str,
        url: Callable[[str], str],
        raw: Callable[[str, list, int], float],
        read: Callable[[str], float],
        cleanup: Callable[[], None],
    ) -> None:
        self.name, self.url, self.raw, self.read, self.cleanup = name, url, raw, read, cleanup


def sqlite_backend(root: Path) -> Backend:
    def url(label: str) -> str:
        return str(root / f"{label}.db")

    return Backend(
        "SQLite",
        url,
        lambda label, rows, batch: sqlite_reference(Path(url(label) + ".raw"), rows, batch),
        lambda label: sqlite_read_reference(Path(url(label))),
        lambda: None,
    )


def pg_backend(base: str) -> Backend:
    import sqlalchemy as sa

    admin = sa.create_engine(base)
    schemas: list[str] = []
    sep = "&" if "?" in base else "?"

    def url(label: str) -> str:
        schema = f"bench_{label}_{uuid.uuid4().hex[:8]}"
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        schemas.append(schema)
        return f"{base}{sep}options=-csearch_path%3D{schema}"

    def cleanup() -> None:
        with admin.begin() as conn:
            for schema in schemas:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()

    last: dict[str, str] = {}

    def named(label: str) -> str:
        last[label] = url(label)
        return last[label]

    return Backend(
        "PostgreSQL",
        named,
        lambda label, rows, batch: pg_reference(url(label + "_raw"), rows, batch),
        lambda label: pg_read_reference(last[label]),
        cleanup,
    )


def measure(backend: Backend, args: argparse.Namespace) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []

    def row(what: str, count: int, seconds: float, ref_seconds: float, unit: str) -> None:
        ours, ref = count / seconds, count / ref_seconds
        rows.append(
            (
                backend.name,
                what,
                f"{count:,}",
                f"{seconds:.2f} s",
                f"{ours:,.0f} {unit}",
                f"{ref:,.0f} {unit}",
                f"{ref_seconds / seconds:.0%}",
            )
        )

    events = take(lifecycle(), args.durable)
    seconds = asyncio.run(durable(backend.url("durable"), events))
    row(
        "durable append (commit+fsync each)",
        len(events),
        seconds,
        backend.raw("durable", rows_of(events), 1),
        "ev/s",
    )

    events = take(side_events(), args.buffered)
    seconds = asyncio.run(buffered(backend.url("buffered"), events))
    row(
        f"buffered append ({BATCH} per commit)",
        len(events),
        seconds,
        backend.raw("buffered", rows_of(events), BATCH),
        "ev/s",
    )

    events = take(lifecycle(), args.buffered)
    seconds = asyncio.run(batched(backend.url("batched"), events))
    row(
        f"append_many, order events ({BATCH}/commit)",
        len(events),
        seconds,
        backend.raw("batched", rows_of(events), BATCH),
        "ev/s",
    )

    url = backend.url("rebuild")
    rebuild_s, fold_s, count = rebuild(url, args.rebuild)
    read_s = backend.read("rebuild")
    row("rebuild: fold + rewrite projections", count, rebuild_s, read_s, "ev/s")
    row("fold only (read, decode, fold)", count, fold_s, read_s, "ev/s")
    return rows


def table(rows: list[tuple[str, ...]]) -> str:
    head = ("backend", "what", "events", "time", "ledger", "raw driver", "ledger/raw")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [head, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def filesystem_of(path: Path) -> str:
    best, kind = "", "?"
    with open("/proc/mounts") as mounts:
        for line in mounts:
            _, mount, fstype, *_ = line.split()
            if str(path).startswith(mount) and len(mount) > len(best):
                best, kind = mount, fstype
    return kind


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--durable", type=int, default=2000, help="durable appends (2000)")
    parser.add_argument("--buffered", type=int, default=20000, help="buffered appends (20000)")
    parser.add_argument("--rebuild", type=int, default=100_000, help="ledger size (100000)")
    parser.add_argument("--dir", type=Path, help="where the SQLite files go (a temp dir)")
    parser.add_argument("--pg", metavar="URL", help="also on PostgreSQL (SQLAlchemy URL)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="polytui-bench-", dir=args.dir))
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cpus, SQLite "
        f"{sqlite3.sqlite_version} in {root} ({filesystem_of(root.resolve())})"
    )
    if filesystem_of(root.resolve()) == "tmpfs":
        print("note: tmpfs makes fsync free; pass --dir on a real disk for durable figures")
    rows: list[tuple[str, ...]] = []
    try:
        rows += measure(sqlite_backend(root), args)
        if args.pg:
            pg = pg_backend(args.pg)
            try:
                rows += measure(pg, args)
            finally:
                pg.cleanup()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print()
    print(table(rows))
    print(
        "\nraw driver: the same payloads inserted with no idempotency check and no projections"
        " (rebuild rows: SELECT payload + untyped msgspec decode)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
