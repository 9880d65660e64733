"""Ledger tests run against both backends: a SQLite file and a real PostgreSQL server.

The PostgreSQL URL comes from ``POLYTUI_TEST_PG_URL`` (``.ci/run`` starts a server and sets
it); read here, at import, because the autouse fixture of ``tests/conftest.py`` clears every
``POLYTUI_*`` variable before each test. Without it a server is started for the session
(``tests/store/pg.py``). Each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.store.pg import ENV_URL, running_server

PG_URL_FROM_ENV = os.environ.get(ENV_URL)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    if PG_URL_FROM_ENV:
        yield PG_URL_FROM_ENV
        return
    try:
        server = running_server()
        url = server.__enter__()
    except FileNotFoundError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test the ledger on PostgreSQL: {exc}")
        pytest.skip(f"PostgreSQL ledger tests skipped: {exc}")
    try:
        yield url
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A URL whose connections work in a fresh schema of their own."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_server_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in pg_server_url else "?"
    try:
        yield f"{pg_server_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's ledger lives: a SQLite path, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    return request.getfixturevalue("pg_url")
