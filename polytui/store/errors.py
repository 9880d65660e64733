"""What can go wrong with the ledger's database, as errors a caller can act on.

Every write either commits whole or not at all; each error says which happened (nothing was
written) and what to do. The order tracker treats any of them on an intent's write as "do
not post the order".
"""

from __future__ import annotations


class StoreError(Exception):
    """The ledger could not do what was asked; nothing of the failed write was committed."""


class LedgerFull(StoreError):
    """The disk (or the database's size limit) is full. Free space; the ledger stays usable
    for reads and takes writes again once there is room."""


class LedgerBusy(StoreError):
    """Another connection held the database's write lock for longer than ``busy_timeout``."""


class LedgerInUse(StoreError):
    """Another process already writes to this ledger (one writer per ledger)."""


class LedgerCorrupt(StoreError):
    """The file is not a polytui ledger, or an event in it cannot be read."""


class SchemaMismatch(StoreError):
    """The database was written by a newer polytui (schema version above ours)."""


class StoreUnavailable(StoreError):
    """The database server cannot be reached, or the file cannot be opened."""
