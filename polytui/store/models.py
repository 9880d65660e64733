"""The ledger's tables (SQLModel). ``ledger_event`` is the truth; the rest are projections.

``ledger_event`` is append-only: rows are inserted, never updated or deleted. Its ``payload``
is the event's JSON as text (``polytui.core.ledger_events.encode_event``), so SQLite and
PostgreSQL hold the same bytes (cast it with ``payload::jsonb`` in PostgreSQL to query it).

The projection tables are a materialised copy of ``polytui.core.projections``, written in the
same transaction as the events they come from, for readers outside the engine (SQL, ``polytui
status``). They can always be thrown away and rebuilt from ``ledger_event``. Decimal amounts
are stored as text: exact on both backends (SQLite has no exact decimal type).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Text
from sqlmodel import Field, SQLModel

SCHEMA_VERSION = 1
"""Bumped when a table changes shape. A ledger with a higher version is refused."""

_SEQ = BigInteger().with_variant(Integer, "sqlite")  # INTEGER PRIMARY KEY is SQLite's rowid


class LedgerEventRow(SQLModel, table=True):
    __tablename__ = "ledger_event"

    seq: int = Field(primary_key=True, sa_type=_SEQ, sa_column_kwargs={"autoincrement": False})
    event_id: str = Field(sa_type=String(200), unique=True, nullable=False)
    ts_ms: int = Field(sa_type=BigInteger, nullable=False)
    kind: str = Field(sa_type=String(40), index=True, nullable=False)
    payload: str = Field(sa_type=Text, nullable=False)


class SchemaVersionRow(SQLModel, table=True):
    __tablename__ = "schema_version"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    version: int


class ProjectionStateRow(SQLModel, table=True):
    """Named JSON values: ``version`` (of the projection code), ``last_seq``, ``stats``,
    ``kill_switch``, ``marks``."""

    __tablename__ = "projection_state"

    name: str = Field(primary_key=True, sa_type=String(40))
    value: str = Field(sa_type=Text)


class OrderRow(SQLModel, table=True):
    __tablename__ = "order_projection"

    key: str = Field(primary_key=True, sa_type=String(200))
    intent_id: str
    order_id: str = Field(index=True)
    strategy: str
    market: str
    asset_id: str
    side: str
    price: str | None
    size: str | None
    order_type: str
    state: str = Field(index=True)
    size_matched: str
    venue_status: str
    reason: str
    created_seq: int = Field(sa_type=BigInteger)
    updated_seq: int = Field(sa_type=BigInteger)
    updated_ts_ms: int = Field(sa_type=BigInteger)


class FillRow(SQLModel, table=True):
    __tablename__ = "fill_projection"

    trade_id: str = Field(primary_key=True, sa_type=String(200))
    order_id: str = Field(primary_key=True, sa_type=String(200))
    market: str
    asset_id: str = Field(index=True)
    side: str
    price: str
    size: str
    fee: str
    status: str
    role: str
    match_time_ms: int | None = Field(default=None, sa_type=BigInteger)
    tx_hash: str
    recorded_seq: int = Field(sa_type=BigInteger)
    updated_seq: int = Field(sa_type=BigInteger)


class PositionRow(SQLModel, table=True):
    __tablename__ = "position_projection"

    asset_id: str = Field(primary_key=True, sa_type=String(200))
    market: str
    size: str
    settled: str
    selling: str
    avg_cost: str
    realised: str
    fees: str
    bought: str
    sold: str
    fills: int
    updated_seq: int = Field(sa_type=BigInteger)


class PnlSnapshotRow(SQLModel, table=True):
    __tablename__ = "pnl_snapshot_projection"

    seq: int = Field(primary_key=True, sa_type=_SEQ, sa_column_kwargs={"autoincrement": False})
    at_ms: int = Field(sa_type=BigInteger)
    realised: str
    unrealised: str
    marks: str = Field(sa_type=Text)
    """JSON object asset id -> mark."""
    unmarked: str = Field(sa_type=Text)
    """JSON array of asset ids."""


EVENT_TABLE = LedgerEventRow.__table__  # type: ignore[attr-defined]
PROJECTION_TABLES = tuple(
    row.__table__  # type: ignore[attr-defined]
    for row in (OrderRow, FillRow, PositionRow, PnlSnapshotRow, ProjectionStateRow)
)
ALL_TABLES = (EVENT_TABLE, SchemaVersionRow.__table__, *PROJECTION_TABLES)  # type: ignore[attr-defined]
