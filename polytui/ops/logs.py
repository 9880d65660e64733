"""Structured logs: one JSON object per line, secrets redacted, journald-friendly.

    log = JsonLog(sys.stdout)
    log("started", address="0xabc...", markets=20)
    # {"ts":"2026-11-18T11:06:40.123Z","level":"info","event":"started","fields":{...}}

Every line goes through the process's `Redactor` (``polytui.ops.redact``), so a key, an API
secret or a passphrase never reaches the output, whatever field or message it was put in.

**journald**: when the stream is connected to the journal (systemd sets ``$JOURNAL_STREAM`` to
the device and inode of that stream), each line starts with the syslog priority in angle
brackets (``<4>{...}`` for a warning); journald strips the prefix and files the line with that
priority (systemd.exec ``SyslogLevelPrefix=``, on by default), so ``journalctl -p warning``
works and ``journalctl -o cat`` shows the bare JSON. Elsewhere the lines are plain JSON.

`install_stdlib_logging` sends the standard ``logging`` records of every polytui module (and of
the libraries under it, at warning and above) to the same writer, as ``{"event": "log",
"fields": {"logger": ..., "message": ..., "exc": ...}}``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from polytui.ops.redact import REDACTOR, Redactor

LEVELS = ("debug", "info", "warning", "error", "critical")
SYSLOG_PRIORITY = {"debug": 7, "info": 6, "warning": 4, "error": 3, "critical": 2}
JournaldMode = Literal["auto", "on", "off"]


def stream_is_journal(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """True when ``stream`` is the journal stream systemd connected (``$JOURNAL_STREAM``)."""
    value = (environ if environ is not None else os.environ).get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in value.split(":"))
        st = os.fstat(stream.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


class JsonLog:
    """Writes one JSON object per line: ts, level, event, fields. Thread-safe; a write that
    fails (a closed pipe, a full disk) is dropped and counted, never raised into the engine."""

    def __init__(
        self,
        stream: TextIO,
        wall_clock: Callable[[], float] = time.time,
        *,
        redactor: Redactor = REDACTOR,
        level: str = "debug",
        journald: JournaldMode | bool = "auto",
    ) -> None:
        self.stream = stream
        self._wall_clock = wall_clock
        self._redactor = redactor
        self._min_level = LEVELS.index(level)
        if journald == "auto":
            journald = stream_is_journal(stream)
        self._prefix = journald in (True, "on")
        self._lock = threading.Lock()
        self.failed_writes = 0

    def __call__(self, event: str, level: str = "info", **fields: Any) -> None:
        if level in LEVELS and LEVELS.index(level) < self._min_level:
            return
        self.write(self.record(event, level, fields))

    def record(self, event: str, level: str, fields: dict[str, Any]) -> dict[str, Any]:
        ts = datetime.fromtimestamp(self._wall_clock(), UTC).isoformat(timespec="milliseconds")
        return {
            "ts": ts.replace("+00:00", "Z"),
            "level": level,
            "event": event,
            "fields": self._redactor.scrub(fields),
        }

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"), default=str)
        if self._prefix:
            line = f"<{SYSLOG_PRIORITY.get(record.get('level', 'info'), 6)}>{line}"
        with self._lock:
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (OSError, ValueError):
                self.failed_writes += 1


class JsonLogHandler(logging.Handler):
    """Standard ``logging`` records as JSON lines of a `JsonLog`."""

    def __init__(self, log: JsonLog) -> None:
        super().__init__()
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, Any] = {"logger": record.name, "message": record.getMessage()}
            if record.exc_info and record.exc_info[0] is not None:
                fields["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            level = record.levelname.lower()
            self._log("log", level if level in LEVELS else "info", **fields)
        except Exception:
            self.handleError(record)


def install_stdlib_logging(log: JsonLog, level: str = "info") -> Callable[[], None]:
    """Route ``logging`` to ``log``: warnings and above (polytui's own records from ``debug``
    up when ``level`` is debug: the events that matter have structured lines of their own).
    Returns the function that undoes it."""
    handler = JsonLogHandler(log)
    root = logging.getLogger()
    ours = logging.getLogger("polytui")
    old = (root.level, ours.level, list(root.handlers))
    root.handlers = [handler]
    root.setLevel(logging.WARNING)
    ours.setLevel(logging.DEBUG if level == "debug" else logging.WARNING)

    def undo() -> None:
        root.handlers = old[2]
        root.setLevel(old[0])
        ours.setLevel(old[1])

    return undo


def diagnostic(message: str, stream: TextIO | None = None) -> None:
    """One plain line for a human on stderr (``polytui: ...``), redacted like the logs."""
    print(f"polytui: {REDACTOR.scrub_text(message)}", file=stream or sys.stderr)
