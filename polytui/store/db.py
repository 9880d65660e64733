"""Database engines for the ledger: SQLite by default, PostgreSQL through any SQLAlchemy URL.

``make_engine(url)`` is called by whoever opens the ledger, with a URL passed in, never at
import time. A plain path means SQLite (``/srv/polytui.db`` -> ``sqlite:////srv/polytui.db``).

SQLite is set up for one writer and durable commits:

* ``journal_mode=WAL``: readers (``polytui ledger summary``, ``polytui status``) never block the
  writer and the writer never blocks them;
* ``synchronous=FULL``: every commit fsyncs the WAL before it returns, so an event the ledger
  said it took survives a power cut (NORMAL would only survive a crash of the process);
* ``busy_timeout``: a connection that finds the database locked waits that long, then fails
  with ``LedgerBusy`` instead of at once;
* writers start transactions with ``BEGIN IMMEDIATE``: the write lock is taken first, so a
  transaction never fails half way for want of it.

PostgreSQL commits are durable with its defaults (``synchronous_commit=on``, ``fsync=on``);
``lock_timeout`` plays the part of ``busy_timeout``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import zlib
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from polytui.store.errors import (
    LedgerBusy,
    LedgerCorrupt,
    LedgerFull,
    LedgerInUse,
    StoreError,
    StoreUnavailable,
)

DEFAULT_BUSY_TIMEOUT_MS = 5000


def database_url(target: str | Path) -> str:
    """A SQLAlchemy URL for ``target``: a URL as is, a path as a SQLite file URL."""
    text_target = str(target)
    if "://" in text_target:
        return text_target
    return "sqlite:///" + str(Path(text_target).expanduser().resolve())


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_path(engine: Engine) -> Path | None:
    """The database file of a SQLite engine; ``None`` for in-memory or another backend."""
    if not is_sqlite(engine):
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database)


def make_engine(
    url: str | Path, *, write: bool = True, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
) -> Engine:
    """An engine for ``url`` (or a SQLite path). ``write=False`` for a reader: its SQLite
    transactions are deferred, so it never takes the write lock."""
    url = make_url(database_url(url))
    if url.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2)
        if url.get_backend_name() == "postgresql":

            @event.listens_for(engine, "connect")
            def _lock_timeout(dbapi_conn: Any, _record: object) -> None:
                # PostgreSQL waits for a lock forever by default; fail like SQLite's
                # busy_timeout instead (SQLSTATE 55P03 -> LedgerBusy).
                with dbapi_conn.cursor() as cursor:
                    cursor.execute(f"SET lock_timeout = {int(busy_timeout_ms)}")
                dbapi_conn.commit()

        return engine
    memory = not url.database or url.database == ":memory:"
    if not memory:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        poolclass=StaticPool if memory else None,
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # we say BEGIN ourselves (below)
        cursor = dbapi_conn.cursor()
        try:
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def translate(exc: BaseException, where: str) -> StoreError:
    """The ``StoreError`` for a database failure, with a message a person can act on."""
    if isinstance(exc, StoreError):
        return exc
    orig = getattr(exc, "orig", None) or exc
    message = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    lowered = message.lower()
    sqlstate = getattr(orig, "sqlstate", None) or ""
    if "disk is full" in lowered or "database or disk is full" in lowered or sqlstate == "53100":
        return LedgerFull(f"{where}: the disk is full ({message}); nothing was written")
    if "database is locked" in lowered or sqlstate in ("55P03", "40P01"):
        return LedgerBusy(f"{where}: the database is locked by another connection ({message})")
    if (
        "not a database" in lowered
        or "malformed" in lowered
        or isinstance(orig, sqlite3.DatabaseError)
        and "corrupt" in lowered
    ):
        return LedgerCorrupt(f"{where}: the database file is damaged ({message})")
    unreachable = ("unable to open", "connection failed", "connection refused", "could not connect")
    if (
        any(u in lowered for u in unreachable)
        or sqlstate.startswith("08")
        or (_is_connection_error(exc))
    ):
        return StoreUnavailable(f"{where}: cannot reach the database ({message})")
    return StoreError(f"{where}: {message}")


def _is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class WriterLock:
    """Makes this process the ledger's only writer, for as long as it holds the lock.

    SQLite: an exclusive ``flock`` on ``<db>.lock`` beside the database (released by the OS
    when the process dies, so a SIGKILLed engine never leaves a stale lock). PostgreSQL: a
    session advisory lock named after the ledger's schema, held on a connection kept open.
    In-memory SQLite needs none.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._fd: int | None = None
        self._conn: Connection | None = None

    def acquire(self) -> None:
        path = sqlite_path(self._engine)
        if path is not None:
            self._acquire_file(path.with_name(path.name + ".lock"))
        elif not is_sqlite(self._engine):
            self._acquire_advisory()

    def _acquire_file(self, lock_path: Path) -> None:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise LedgerInUse(
                f"another process{f' (pid {holder})' if holder else ''} is writing to "
                f"{lock_path.with_suffix('')}: one writer per ledger"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def _acquire_advisory(self) -> None:
        try:
            conn = self._engine.connect()
            schema = conn.execute(text("SELECT current_database() || '.' || current_schema()"))
            key = zlib.crc32(f"polytui-ledger:{schema.scalar_one()}".encode())
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one()
            conn.commit()
        except SQLAlchemyError as exc:
            raise translate(exc, "taking the writer lock") from exc
        if not got:
            conn.close()
            raise LedgerInUse("another process is writing to this ledger: one writer per ledger")
        self._conn = conn

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                # Close the server session itself (not back to the pool): that releases
                # its advisory locks whatever state the connection is in.
                self._conn.invalidate()
                self._conn.close()
            self._conn = None


def _read_pid(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
