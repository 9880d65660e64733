"""Scrubbing a recorded session: the replayed engine moved to any instant, back or forth.

    scrubber = Scrubber.open(DIR)           # SessionError / CaptureFormatError: not a session
    scrubber.start()                        # its own thread and event loop
    view = scrubber.move(at_ms).result()    # a concurrent Future of a ScrubView
    scrubber.stop()

A :class:`SessionReplay` only moves forward (``run_to``), so moving back closes it and opens the
session again, then runs to the instant (a replay runs many times faster than the session did).

**Why a thread of its own.** The replay decides what it decided in the session because it
lets its engine run until its event loop has nothing ready before it plays the next line
(``SessionReplay._settle`` watches that loop's ready queue). On the UI's loop that queue also
holds Textual's callbacks: the replay would be slowed by every repaint and, while the engine
runs a batch of frames, the UI would not repaint. On a loop of its own (in one thread, as
``polytui replay`` runs it) the replay runs as fast as it does there, the UI stays responsive,
and the UI receives only finished :class:`ScrubView` snapshots (plain data, built on the replay's
thread). Nothing here imports Textual; the UI is a thin subscriber.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polytui.engine.session.journal import Journal
from polytui.engine.session.replay import SessionReplay

WINDOW_MS = 5000
DEPTH = 5


@dataclass(frozen=True)
class ScrubView:
    """What the replayed engine held at ``at_ms``, and what it decided around it."""

    at_ms: int
    reached_ms: int
    start_ms: int
    end_ms: int
    books: list[dict[str, Any]]
    positions: list[dict[str, Any]]
    open_orders: list[dict[str, Any]]
    # decisions within the window, in order: as replayed, or as recorded (``recorded``) where
    # the replay has not published them yet; ``ahead``: decided after the instant
    decisions: list[dict[str, Any]]
    current: list[str] = field(default_factory=list)  # intent ids decided at the latest instant
    reopened: bool = False  # the replay was opened again (the instant is behind the last one)
    failed: str | None = None
    window_ms: int = WINDOW_MS

    @property
    def offset_s(self) -> float:
        return (self.at_ms - self.start_ms) / 1000


class Scrubber:
    def __init__(
        self, directory: Path, journal: Journal, window_ms: int = WINDOW_MS, depth: int = DEPTH
    ) -> None:
        self.directory = directory
        self.journal = journal
        self.start_ms = journal.manifest.start_ms
        self.end_ms = journal.end_ms
        self.recorded = list(journal.decisions)  # what the session decided, for next/previous
        self.window_ms = window_ms
        self.depth = depth
        self.opens = 0  # how many times the replay was opened
        self._replay: SessionReplay | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock: asyncio.Lock | None = None
        self._last: ScrubView | None = None

    @classmethod
    def open(
        cls, directory: Path | str, window_ms: int = WINDOW_MS, depth: int = DEPTH
    ) -> Scrubber:
        """Read the session (``SessionError``/``CaptureFormatError`` naming what is wrong)."""
        directory = Path(directory)
        return cls(directory, Journal.open(directory), window_ms, depth)

    @property
    def length_s(self) -> float:
        return (self.end_ms - self.start_ms) / 1000

    def clamp(self, at_ms: int) -> int:
        return max(self.start_ms, min(self.end_ms, at_ms))

    def next_decision(self, after_ms: int) -> dict[str, Any] | None:
        return next((d for d in self.recorded if d["at_ms"] > after_ms), None)

    def previous_decision(self, before_ms: int) -> dict[str, Any] | None:
        return next((d for d in reversed(self.recorded) if d["at_ms"] < before_ms), None)

    # ---- the replay's thread -------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="replay", daemon=True)
        self._thread.start()

    def move(self, at_ms: int) -> concurrent.futures.Future[ScrubView]:
        """Move the replay to ``at_ms`` (clamped to the session) on its thread."""
        self.start()
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(self.move_to(at_ms), self._loop)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close the replay (its scratch directory removed) and end the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            done = asyncio.run_coroutine_threadsafe(self.close(), loop)
            try:
                done.result(timeout_s)
            except (concurrent.futures.TimeoutError, Exception):  # noqa: BLE001 - leaving anyway
                pass
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout_s)
        if not thread.is_alive():
            loop.close()
        self._loop = self._thread = None

    # ---- on the replay's loop --------------------------------------------------------------------

    async def move_to(self, at_ms: int) -> ScrubView:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            return await self._move_to(self.clamp(at_ms))

    async def _move_to(self, at_ms: int) -> ScrubView:
        last = self._last
        if last is not None and self._replay is not None and last.at_ms == at_ms:
            return last
        reopened = False
        replay = self._replay
        if replay is not None and at_ms < replay.now_ms:
            await self.close()
            replay, reopened = None, True
        if replay is None:
            replay = SessionReplay.open(self.directory)
            await replay.__aenter__()
            self._replay = replay
            self.opens += 1
        await replay.run_to(at_ms)
        self._last = self._view(replay, at_ms, reopened)
        return self._last

    def _view(self, replay: SessionReplay, at_ms: int, reopened: bool) -> ScrubView:
        """The state at the instant, and the decisions around it. A decision is published with
        its outcome: for an approved intent once the venue answered its order, a little after
        the instant it was decided at; until the replay gets there, a decision is shown as the
        record has it (``recorded``)."""
        window = self.window_ms
        replayed = [d for d in replay.decisions if at_ms - window <= d["at_ms"] <= at_ms + window]
        seen = {d["intent_id"] for d in replay.decisions}
        recorded = [  # not replayed yet: as the record has them
            {**d, "recorded": True}
            for d in self.recorded
            if at_ms - window <= d["at_ms"] <= at_ms + window and d["intent_id"] not in seen
        ]
        decisions = sorted(
            ({**d, "ahead": d["at_ms"] > at_ms} for d in replayed + recorded),
            key=lambda d: d["at_ms"],
        )
        latest = max((d["at_ms"] for d in decisions if not d["ahead"]), default=None)
        return ScrubView(
            at_ms=at_ms,
            reached_ms=replay.now_ms,
            start_ms=self.start_ms,
            end_ms=self.end_ms,
            books=replay.books(depth=self.depth),
            positions=replay.positions(),
            open_orders=replay.open_orders(),
            decisions=decisions,
            current=[d["intent_id"] for d in decisions if d["at_ms"] == latest],
            reopened=reopened,
            failed=replay.failed,
            window_ms=window,
        )

    async def close(self) -> None:
        replay, self._replay = self._replay, None
        if replay is not None:
            await replay.close()


__all__ = ["ScrubView", "Scrubber"]
