"""Persistence: the append-only ledger and its projections (SQLModel on SQLite or PostgreSQL).

The only package besides the tests that imports sqlmodel/sqlalchemy. Nothing here opens a
database at import time: ``Store.open(url, clock)`` (``polytui.store.store``) does.
"""
