"""The mirror's per-token states, the reasons a book leaves LIVE, and the events it emits."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BookState(StrEnum):
    UNPRIMED = "UNPRIMED"  # subscribed, no snapshot yet: deltas are buffered
    LIVE = "LIVE"  # snapshot + every delta since: the only state an order may rely on
    SUSPECT = "SUSPECT"  # something was wrong: the book is not trusted, a resync is due
    RESYNCING = "RESYNCING"  # waiting for a fresh snapshot; deltas are buffered


class Reason(StrEnum):
    """Why a book left LIVE (or was re-primed); the resync counters are keyed by these."""

    PRIME = "PRIME"  # first snapshot after subscribing
    SCHEDULED = "SCHEDULED"  # preventive resync (layer 3)
    RECONNECT = "RECONNECT"  # its connection dropped
    INVARIANT_FAIL = "INVARIANT_FAIL"  # layer 1: a bad entry, a crossed book, a wrong top
    BBO_MISMATCH = "BBO_MISMATCH"  # layer 2: REST disagreed on consecutive probes
    TICK_CHANGE = "TICK_CHANGE"  # the tick changed: a new epoch
    STALE = "STALE"  # neither updated nor verified for too long
    LAG = "LAG"  # applied too long after the venue's timestamp
    SHED = "SHED"  # a frame for it was dropped from a full inbound queue
    UNKNOWN_MESSAGE = "UNKNOWN_MESSAGE"  # a frame about it could not be decoded
    HASH_MISMATCH = "HASH_MISMATCH"  # its hash disagreed as an order was about to rely on it


@dataclass(frozen=True, slots=True)
class BookStateChanged:
    asset_id: str
    old: BookState
    new: BookState
    reason: Reason
    detail: str
    at_ms: int
