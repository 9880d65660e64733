"""Capture files: everything the venue sends, one JSON object per line, in arrival order.

    {"recv_ms": 1795000000123, "source": "ws_market", "conn": "market-1", "payload": "[{...}]"}
    {"recv_ms": 1795000000200, "source": "ws_market", "conn": "market-1", "event": "close"}
    {"recv_ms": 1795000000250, "source": "rest", "conn": "clob", "method": "GET",
     "url": "http://127.0.0.1:8080/book?token_id=1", "status": 200, "request": "",
     "payload": "{...}", "sent_ms": 1795000000231}

``payload`` is the raw frame or response body text; REST lines add ``method``, ``url``,
``status``, ``request`` (the request body) and ``sent_ms`` (when the request left: what a replay
needs to know which frames the answer may already hold), and ``retry_after`` (the header, when the
venue sent one); WebSocket connection events carry ``event`` (``open`` | ``close`` |
``open_failed``), a close its ``reason``, and no payload. Reading, ``conn`` and ``event`` are
optional, so a capture of frames alone replays. ``PONG`` heartbeats are transport, not venue data,
and are not written.

A request that got no answer at all is a REST line with ``error`` (``timeout`` | ``connect`` |
``network``, or ``cancelled``: the client stopped waiting, as a session ends) and ``reached``
(whether it may have left), no ``status`` and no payload:

    {"recv_ms": 1795000000300, "source": "rest", "conn": "clob", "method": "POST",
     "url": "http://127.0.0.1:8080/order", "request": "{...}", "sent_ms": 1795000000290,
     "error": "network", "reached": true}

**Session records** (``polytui --record DIR``, ``polytui.engine.session``) add the engine's own
marks to the same ordered stream, so a replay knows where they fell among the venue's lines:
``{"source": "clock", "event": "wake", "recv_ms": ..., "mono": 12.345678}`` (an engine timer
fired; ``mono`` is seconds of the session clock, to the microsecond), ``{"source": "ledger",
"event": "commit", ...}`` (a ledger write became visible to the engine) and ``{"source":
"engine", "event": "decision", "payload": "{...}"}`` (one intent's outcome, as recorded). A
reader that only wants the venue skips the other sources.

Secrets never reach the file: values of ``secret``/``passphrase``/private-key fields in a
request or an answer (``/auth/api-key`` returns the API secret) are replaced by ``"***"``;
headers, which carry the L2 credentials, are not recorded at all.

A capture that cannot be written (a full disk, a removed directory) stops capturing, keeps
the reason in ``failed`` and logs it once; it never interrupts trading.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO

import msgspec

log = logging.getLogger("polytui.venue.capture")

FLUSH_INTERVAL_S = 0.2

_SECRET_FIELD = re.compile(
    r'("(?:secret|passphrase|private_?key|privateKey|apiSecret|api_secret)"\s*:\s*)"[^"]*"',
    re.IGNORECASE,
)


class Source(StrEnum):
    WS_MARKET = "ws_market"
    WS_USER = "ws_user"
    REST = "rest"
    CLOCK = "clock"  # session records: an engine timer fired
    LEDGER = "ledger"  # session records: a ledger write landed
    ENGINE = "engine"  # session records: a decision of the engine


class CaptureLine(msgspec.Struct, omit_defaults=True, frozen=True):
    recv_ms: int
    source: Source
    conn: str | None = None
    event: str | None = None  # "open" | "close"
    method: str | None = None
    url: str | None = None
    status: int | None = None
    request: str | None = None
    payload: str | None = None
    sent_ms: int | None = None
    retry_after: str | None = None  # REST: the Retry-After header as sent
    error: str | None = None  # REST without an answer: timeout | connect | network | cancelled
    reached: bool | None = None  # ... and whether the request may have reached the venue
    reason: str | None = None  # WS close: why
    mono: float | None = None  # clock marks: seconds of the session clock


class CaptureFormatError(ValueError):
    """A capture line that is not a capture record; the message names the line."""


def redact(text: str) -> str:
    """``text`` with the values of secret-bearing JSON fields replaced by ``"***"``."""
    low = text.lower()
    if not any(word in low for word in ("secret", "passphrase", "private")):
        return text
    return _SECRET_FIELD.sub(r'\1"***"', text)


class CaptureWriter:
    """Appends capture lines to one file. Not thread-safe: owned by the engine's event loop."""

    def __init__(
        self,
        path: Path | str,
        *,
        flush_interval_s: float = FLUSH_INTERVAL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] | None = self.path.open("ab")
        self._encoder = msgspec.json.Encoder()
        self._flush_interval = flush_interval_s
        self._monotonic = monotonic
        self._last_flush = monotonic()
        self.lines = 0
        self.failed: str | None = None

    def frame(self, source: Source, conn: str, recv_ms: int, payload: str) -> None:
        self._write(CaptureLine(recv_ms, source, conn=conn, payload=payload))

    def event(
        self, source: Source, conn: str, recv_ms: int, event: str, reason: str | None = None
    ) -> None:
        self._write(CaptureLine(recv_ms, source, conn=conn, event=event, reason=reason))

    def mark(
        self,
        source: Source,
        event: str,
        recv_ms: int,
        *,
        mono: float | None = None,
        payload: str | None = None,
    ) -> None:
        """A session record's own line (a timer, a ledger commit, a decision)."""
        self._write(CaptureLine(recv_ms, source, event=event, mono=mono, payload=payload))

    def rest(
        self,
        conn: str,
        recv_ms: int,
        method: str,
        url: str,
        status: int,
        request: str,
        payload: str,
        *,
        sent_ms: int | None = None,
        retry_after: str | None = None,
    ) -> None:
        line = CaptureLine(
            recv_ms,
            Source.REST,
            conn=conn,
            method=method,
            url=url,
            status=status,
            request=redact(request),
            payload=redact(payload),
            sent_ms=sent_ms,
            retry_after=retry_after,
        )
        self._write(line)

    def no_answer(
        self,
        conn: str,
        recv_ms: int,
        method: str,
        url: str,
        request: str,
        *,
        error: str,
        reached: bool,
        sent_ms: int | None = None,
    ) -> None:
        """A request that got no answer (a time-out, a refused or dropped connection)."""
        line = CaptureLine(
            recv_ms,
            Source.REST,
            conn=conn,
            method=method,
            url=url,
            request=redact(request),
            sent_ms=sent_ms,
            error=error,
            reached=reached,
        )
        self._write(line)

    def _write(self, line: CaptureLine) -> None:
        if self._file is None:
            return
        try:
            self._file.write(self._encoder.encode(line) + b"\n")
            self.lines += 1
            now = self._monotonic()
            if now - self._last_flush >= self._flush_interval:
                self._file.flush()
                self._last_flush = now
        except OSError as exc:
            self._fail(exc)

    def flush(self) -> None:
        if self._file is not None:
            try:
                self._file.flush()
            except OSError as exc:
                self._fail(exc)

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
            except OSError as exc:
                self.failed = self.failed or f"{exc.strerror or exc}"

    def _fail(self, exc: OSError) -> None:
        self.failed = f"{exc.strerror or exc}"
        log.error("capture to %s stopped: %s", self.path, self.failed)
        file, self._file = self._file, None
        if file is not None:
            try:
                file.close()
            except OSError:
                pass  # the buffered tail is lost with the disk; the reason is already kept


_LINE = msgspec.json.Decoder(CaptureLine)


def read_capture(path: Path | str) -> Iterator[CaptureLine]:
    """The records of a capture file in order; raises ``CaptureFormatError`` naming a bad line.

    A last line cut short by a killed process (no trailing newline, not valid JSON) is
    skipped: everything before it was written whole.
    """
    with Path(path).open("rb") as f:
        lines = f.read().split(b"\n")
    last = len(lines) - 1
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            yield _LINE.decode(raw)
        except msgspec.DecodeError as exc:
            if number - 1 == last:
                return  # a torn final line
            raise CaptureFormatError(f"{path}:{number}: {exc}") from None
