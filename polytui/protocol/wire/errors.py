"""The one error every wire decoder raises, so callers never see a bare msgspec exception.

A venue message that cannot be decoded is data about the venue (a new event type, a changed
field, a truncated frame), not a crash: the caller counts it, logs the raw text and decides
(a mirror resyncs, a REST call retries or fails the operation).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class WireErrorKind(StrEnum):
    MALFORMED = "malformed"  # not JSON at all (or truncated, or not UTF-8)
    UNKNOWN_EVENT = "unknown_event"  # an ``event_type`` this client does not know
    MISSING_FIELD = "missing_field"  # a required key is absent
    WRONG_TYPE = "wrong_type"  # a key holds a value of the wrong type or an invalid value


class WireError(Exception):
    """A message that could not be decoded.

    ``raw`` is the whole frame or body as text, exactly as received (bytes are decoded as
    UTF-8 with replacement), so a log line can show what the venue really sent. ``events``
    holds the objects of a multi-object WebSocket frame that did decode: one unknown object
    must not hide the known ones next to it (see ``codec.EventFrames``).
    """

    def __init__(
        self, kind: WireErrorKind, message: str, raw: bytes | str, events: tuple[Any, ...] = ()
    ) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.raw = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        self.events = events
