"""The ledger's writer: appends events and keeps the projection tables in step, synchronously.

``Ledger`` is confined to one thread at a time; the asyncio facade (``polytui.store.store``)
runs it on its own single writer thread. One ``append`` is one transaction: the events, their
``seq`` numbers (assigned here: the last seq plus one, no gaps), and the projection rows they
change commit together or not at all, so the projection tables always match the events.

Appending an event whose ``event_id`` is already in the ledger writes nothing and returns the
``seq`` it already has: a fact seen twice (user channel and REST, or before and after a
restart) is stored once.

Readers that are not the writer (``polytui ledger summary``, ``tail``, ``polytui status``) use
the functions at the bottom: they take no lock and see the last committed state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
from sqlalchemy import Engine, delete, func, insert, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from polytui.core.clock import Clock
from polytui.core.ledger_events import (
    LedgerEvent,
    LedgerRecord,
    decode_event,
    encode_event,
    event_id,
)
from polytui.core.projections import Changes, Projector, ReadModel, fold
from polytui.store import converters as cv
from polytui.store.db import WriterLock, make_engine, translate
from polytui.store.errors import LedgerCorrupt, SchemaMismatch, StoreError
from polytui.store.models import (
    ALL_TABLES,
    EVENT_TABLE,
    SCHEMA_VERSION,
    FillRow,
    OrderRow,
    PnlSnapshotRow,
    PositionRow,
    ProjectionStateRow,
    SchemaVersionRow,
)

PROJECTION_VERSION = 1
"""Bumped when the fold (``polytui.core.projections``) changes what it computes: opening a
ledger whose projection tables were written by another version rewrites them."""

_IN_CHUNK = 500  # ids per IN (...) lookup: well under SQLite's bound-parameter limit
_ORDERS = OrderRow.__table__  # type: ignore[attr-defined]
_FILLS = FillRow.__table__  # type: ignore[attr-defined]
_POSITIONS = PositionRow.__table__  # type: ignore[attr-defined]
_SNAPSHOTS = PnlSnapshotRow.__table__  # type: ignore[attr-defined]
_STATE = ProjectionStateRow.__table__  # type: ignore[attr-defined]
_VERSION = SchemaVersionRow.__table__  # type: ignore[attr-defined]

Item = LedgerEvent | tuple[LedgerEvent, str]
"""An event, or an event with an explicit ``event_id`` (else its natural one)."""


class AppendResult(NamedTuple):
    seqs: list[int]
    """The seq of each event given, in order: new, or the one it already had."""
    records: list[LedgerRecord]
    """The records written by this append (duplicates left out)."""
    changes: Changes
    """What those records changed in the projections."""


def init_schema(engine: Engine) -> None:
    """Create the tables that are missing and the ``schema_version`` row; refuse a database
    that is not a polytui ledger or comes from a newer polytui."""
    try:
        with engine.begin() as conn:
            tables = set(inspect(conn).get_table_names())
            if tables and "schema_version" not in tables:
                raise LedgerCorrupt(
                    f"{engine.url.render_as_string(hide_password=True)} is a database but not a "
                    f"polytui ledger (it has tables {', '.join(sorted(tables)[:5])})"
                )
            version = None
            if "schema_version" in tables:
                version = conn.execute(select(_VERSION.c.version)).scalar_one_or_none()
            if version is not None and version > SCHEMA_VERSION:
                raise SchemaMismatch(
                    f"this ledger has schema version {version}; this polytui reads up to "
                    f"{SCHEMA_VERSION}: upgrade polytui"
                )
            for table in ALL_TABLES:
                table.create(conn, checkfirst=True)
            if version is None:
                for statement in _APPEND_ONLY[engine.dialect.name]:
                    conn.exec_driver_sql(statement)
                conn.execute(insert(_VERSION).values(id=1, version=SCHEMA_VERSION))
    except SQLAlchemyError as exc:
        raise translate(exc, "opening the ledger") from exc


_APPEND_ONLY = {
    # The database itself refuses to change history, whoever connects to it.
    "sqlite": [
        f"CREATE TRIGGER ledger_event_append_only_{op.lower()} BEFORE {op} ON ledger_event "
        "BEGIN SELECT RAISE(ABORT, 'ledger_event is append-only'); END"
        for op in ("UPDATE", "DELETE")
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION ledger_event_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'ledger_event is append-only'; END $$",
        "CREATE TRIGGER ledger_event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON ledger_event FOR EACH STATEMENT EXECUTE FUNCTION ledger_event_append_only()",
    ],
}


class Ledger:
    """The single writer of one ledger. Not thread-safe: one thread at a time."""

    def __init__(self, engine: Engine, clock: Clock, lock: WriterLock | None = None) -> None:
        self._engine = engine
        self._clock = clock
        self._lock = lock
        self._projector = Projector()
        self._broken: StoreError | None = None
        self._sql = _Statements(engine)
        self._conn: Connection | None = None

    @classmethod
    def open(
        cls, target: str | Path | Engine, clock: Clock, *, busy_timeout_ms: int | None = None
    ) -> Ledger:
        """Open (creating if needed) the ledger at ``target`` (URL, SQLite path or engine),
        become its only writer, and fold it into projections."""
        if isinstance(target, Engine):
            engine = target
        elif busy_timeout_ms is not None:
            engine = make_engine(target, busy_timeout_ms=busy_timeout_ms)
        else:
            engine = make_engine(target)
        lock = WriterLock(engine)
        try:
            lock.acquire()
            init_schema(engine)
            ledger = cls(engine, clock, lock)
            ledger._load()
        except BaseException:
            lock.release()
            engine.dispose()
            raise
        return ledger

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def last_seq(self) -> int:
        return self._projector.model.stats.last_seq

    @property
    def model(self) -> ReadModel:
        """The writer's own projections. Only the writer thread may read it; hand others a
        copy (``snapshot``) or the ``Changes`` of each append."""
        return self._projector.model

    def snapshot(self) -> ReadModel:
        """A copy of the projections another thread may keep (the views are frozen)."""
        m = self._projector.model
        copy = ReadModel(
            pnl_snapshots=list(m.pnl_snapshots),
            marks=dict(m.marks),
            kill_switch=m.kill_switch,
            stats=m.stats,
        )
        copy.merge(Changes(orders=tuple(m.orders.values())))
        copy.fills = dict(m.fills)
        copy.positions = dict(m.positions)
        copy.halts = dict(m.halts)
        return copy

    # ---- writing -------------------------------------------------------------------------

    def append(self, items: Sequence[Item]) -> AppendResult:
        """Write ``items`` in one transaction (one fsync on SQLite). All or nothing: on any
        failure nothing is written and a ``StoreError`` says why."""
        if self._broken is not None:
            raise StoreError(f"the ledger is unusable after an earlier failure: {self._broken}")
        events = [item[0] if isinstance(item, tuple) else item for item in items]
        ids = [item[1] if isinstance(item, tuple) else event_id(item) for item in items]
        payloads = [encode_event(e).decode() for e in events]  # fails before any I/O
        applied = False
        try:
            conn = self._writer_connection()
            with conn.begin():
                known = self._sql.known_seqs(conn, ids)
                seq = self.last_seq
                ts = self._clock.now_ms()
                rows: list[dict[str, Any]] = []
                records: list[LedgerRecord] = []
                seqs: list[int] = []
                for e, eid, payload in zip(events, ids, payloads, strict=True):
                    if eid in known:
                        seqs.append(known[eid])
                        continue
                    seq += 1
                    known[eid] = seq
                    seqs.append(seq)
                    rows.append(
                        {
                            "seq": seq,
                            "event_id": eid,
                            "ts_ms": ts,
                            "kind": e.kind,
                            "payload": payload,
                        }
                    )
                    records.append(LedgerRecord(seq, eid, ts, e))
                if not records:
                    return AppendResult(seqs, [], Changes())
                self._sql.run(conn, self._sql.events, rows)
                applied = True
                changes = self._projector.apply_all(records)
                self._write_changes(conn, changes)
        except BaseException as exc:
            self._drop_connection()
            if applied or isinstance(exc, IntegrityError):  # an IntegrityError: not our rows
                self._reload()
            if isinstance(exc, SQLAlchemyError):
                raise translate(exc, "appending to the ledger") from exc
            raise
        return AppendResult(seqs, records, changes)

    def rebuild(self) -> ReadModel:
        """Fold the whole ledger from seq 1 again and rewrite every projection table from it,
        in one transaction. Returns a copy of the new projections."""
        self._projector = fold(self.records())
        self._rewrite_projections()
        return self.snapshot()

    def close(self) -> None:
        self._drop_connection()
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        self._engine.dispose()

    # ---- reading -------------------------------------------------------------------------

    def records(self, after_seq: int = 0, limit: int | None = None) -> Iterator[LedgerRecord]:
        return read_records(self._engine, after_seq, limit)

    # ---- internals -----------------------------------------------------------------------

    def _load(self) -> None:
        self._projector = fold(self.records())
        try:
            with self._engine.connect() as conn:
                state = _read_state(conn)
        except SQLAlchemyError as exc:
            raise translate(exc, "reading the projections") from exc
        stored = state.get("stats")
        stats = cv.decode_stats(stored) if stored else None
        current = (
            state.get("version") == str(PROJECTION_VERSION)
            and stats is not None
            and stats.last_seq == self.last_seq
        )
        if not current:
            self._rewrite_projections()

    def _writer_connection(self) -> Connection:
        """The one connection writes go through, kept open between writes (no pool checkout,
        ping or reset per write); replaced after any failure."""
        if self._conn is None:
            self._conn = self._engine.connect()
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.close()
            self._conn = None

    def _reload(self) -> None:
        """After a failed write: back to exactly what is committed (including rows another
        connection wrote behind our back, which is what an IntegrityError on seq means)."""
        try:
            self._load()
        except StoreError as exc:
            self._broken = exc

    def _write_changes(self, conn: Connection, changes: Changes) -> None:
        sql = self._sql
        if changes.orders:
            sql.run(conn, sql.orders, [cv.to_row(v) for v in changes.orders])
        if changes.fills:
            sql.run(conn, sql.fills, [cv.to_row(v) for v in changes.fills])
        if changes.positions:
            sql.run(conn, sql.positions, [cv.to_row(v) for v in changes.positions])
        if changes.pnl_snapshots:
            sql.run(conn, sql.snapshots, [cv.to_row(v) for v in changes.pnl_snapshots])
        model = self._projector.model
        state = [{"name": "stats", "value": cv.encode_state(model.stats)}]
        if changes.kill_switch is not None:
            state.append({"name": "kill_switch", "value": cv.encode_state(model.kill_switch)})
        if changes.marks:
            state.append({"name": "marks", "value": cv.encode_state(model.marks)})
        sql.run(conn, sql.state, state)

    def _rewrite_projections(self) -> None:
        m = self._projector.model
        try:
            with self._engine.begin() as conn:  # not the writer connection: may be busy
                for table in (_ORDERS, _FILLS, _POSITIONS, _SNAPSHOTS, _STATE):
                    conn.execute(delete(table))
                for table, views in (
                    (_ORDERS, m.orders.values()),
                    (_FILLS, m.fills.values()),
                    (_POSITIONS, m.positions.values()),
                    (_SNAPSHOTS, m.pnl_snapshots),
                ):
                    for chunk in _chunks([cv.to_row(v) for v in views], 5000):
                        conn.execute(insert(table), chunk)
                conn.execute(
                    insert(_STATE),
                    [
                        {"name": "version", "value": str(PROJECTION_VERSION)},
                        {"name": "stats", "value": cv.encode_state(m.stats)},
                        {"name": "kill_switch", "value": cv.encode_state(m.kill_switch)},
                        {"name": "marks", "value": cv.encode_state(m.marks)},
                    ],
                )
        except SQLAlchemyError as exc:
            raise translate(exc, "writing the projections") from exc


class _Statements:
    """The writer's statements, compiled once for the engine's dialect and run straight on
    the driver: the hot path skips SQLAlchemy's per-row parameter processing (every value
    here is already a str, an int or None).

    Projection rows are upserts (``INSERT ... ON CONFLICT (key) DO UPDATE``), which SQLite
    and PostgreSQL spell the same way.
    """

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        if dialect.name == "postgresql":
            insert_for = postgresql.insert
        elif dialect.name == "sqlite":
            insert_for = sqlite.insert
        else:
            raise StoreError(f"the ledger supports SQLite and PostgreSQL, not {dialect.name}")
        self._positional = dialect.name == "sqlite"

        def compiled(stmt) -> tuple[str, tuple[str, ...] | None]:  # type: ignore[no-untyped-def]
            c = stmt.compile(dialect=dialect)
            return c.string, tuple(c.positiontup) if c.positional else None

        def upsert(table) -> tuple[str, tuple[str, ...] | None]:  # type: ignore[no-untyped-def]
            stmt = insert_for(table)
            keys = [c.name for c in table.primary_key.columns]
            rest = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
            return compiled(stmt.on_conflict_do_update(index_elements=keys, set_=rest))

        self.events = compiled(insert(EVENT_TABLE))
        self.snapshots = compiled(insert(_SNAPSHOTS))
        self.orders = upsert(_ORDERS)
        self.fills = upsert(_FILLS)
        self.positions = upsert(_POSITIONS)
        self.state = upsert(_STATE)

    @staticmethod
    def run(
        conn: Connection, statement: tuple[str, tuple[str, ...] | None], rows: list[dict]
    ) -> None:
        sql, order = statement
        params = [tuple(row[k] for k in order) for row in rows] if order else rows
        conn.exec_driver_sql(sql, params)  # type: ignore[arg-type]

    def known_seqs(self, conn: Connection, ids: Sequence[str]) -> dict[str, int]:
        """The seqs of those ``ids`` the ledger already holds."""
        known: dict[str, int] = {}
        unique = sorted(set(ids))
        if not self._positional:
            sql = "SELECT event_id, seq FROM ledger_event WHERE event_id = ANY(%s)"
            known.update((eid, seq) for eid, seq in conn.exec_driver_sql(sql, (unique,)))
            return known
        for chunk in _chunks(unique, _IN_CHUNK):
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT event_id, seq FROM ledger_event WHERE event_id IN ({marks})"
            known.update((eid, seq) for eid, seq in conn.exec_driver_sql(sql, tuple(chunk)))
        return known


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _read_state(conn: Connection) -> dict[str, str]:
    rows = conn.execute(select(_STATE.c.name, _STATE.c.value))
    return {name: value for name, value in rows}  # noqa: C416 (a Result has keys(): dict() misreads it)


# ---- readers (no lock: what is committed) ----------------------------------------------------


def read_records(
    engine: Engine, after_seq: int = 0, limit: int | None = None
) -> Iterator[LedgerRecord]:
    """The ledger's records after ``after_seq``, in seq order. Raises ``LedgerCorrupt`` naming
    the first event that cannot be read."""
    t = EVENT_TABLE
    stmt = (
        select(t.c.seq, t.c.event_id, t.c.ts_ms, t.c.payload)
        .where(t.c.seq > after_seq)
        .order_by(t.c.seq)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    try:
        with engine.connect() as conn:
            result = conn.execution_options(yield_per=5000).execute(stmt)
            for seq, eid, ts_ms, payload in result:
                try:
                    event = decode_event(payload)
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    raise LedgerCorrupt(
                        f"ledger event seq {seq} ({eid}) cannot be read: {exc}"
                    ) from None
                yield LedgerRecord(seq, eid, ts_ms, event)
    except SQLAlchemyError as exc:
        raise translate(exc, "reading the ledger") from exc


def tail_records(engine: Engine, count: int) -> list[LedgerRecord]:
    """The last ``count`` records, oldest first."""
    try:
        with engine.connect() as conn:
            last = conn.execute(select(func.max(EVENT_TABLE.c.seq))).scalar_one() or 0
    except SQLAlchemyError as exc:
        raise translate(exc, "reading the ledger") from exc
    return list(read_records(engine, max(0, last - count)))


def read_model(engine: Engine) -> ReadModel:
    """The projections folded from the ledger's events (what a rebuild would produce)."""
    return fold(read_records(engine)).model


def read_projection_tables(engine: Engine) -> ReadModel:
    """The projections as stored in the projection tables (for readers and for checks)."""
    model = ReadModel()
    try:
        with engine.connect() as conn:
            orders = [cv.order_from_row(r) for r in conn.execute(select(_ORDERS)).mappings()]
            fills = [cv.fill_from_row(r) for r in conn.execute(select(_FILLS)).mappings()]
            positions = [
                cv.position_from_row(r) for r in conn.execute(select(_POSITIONS)).mappings()
            ]
            snapshots = [
                cv.snapshot_from_row(r)
                for r in conn.execute(select(_SNAPSHOTS).order_by(_SNAPSHOTS.c.seq)).mappings()
            ]
            state = _read_state(conn)
    except SQLAlchemyError as exc:
        raise translate(exc, "reading the projections") from exc
    model.merge(
        Changes(
            orders=tuple(sorted(orders, key=lambda o: o.created_seq)),
            fills=tuple(sorted(fills, key=lambda f: f.recorded_seq)),
            positions=tuple(sorted(positions, key=lambda p: p.asset_id)),
            pnl_snapshots=tuple(snapshots),
        )
    )
    with contextlib.suppress(KeyError):
        model.stats = cv.decode_stats(state["stats"])
    with contextlib.suppress(KeyError):
        model.kill_switch = cv.decode_kill_switch(state["kill_switch"])
    with contextlib.suppress(KeyError):
        model.marks = cv.decode_marks(state["marks"])
    return model
