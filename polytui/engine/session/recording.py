"""Recording a session (``polytui --record DIR``): everything a replay needs to run it again.

    recorder = SessionRecorder.create(DIR, settings, seed)
    async with connect_venue(endpoints, settings.venue, clock=recorder.clock,
                             rng=venue_rng(seed), capture=recorder.capture) as venue:
        recorder.begin(endpoints, address, ledger_target(settings))
        engine = Engine(settings, venue, clock=recorder.clock, rng=engine_rng(seed),
                        key=key, session=recorder.hooks)
        engine.bus.subscribe(recorder.on_event)
        ...
    recorder.finish(ledger_target(settings), reason)     # once the engine has stopped

**What is kept.** Every inbound frame, connection change and REST answer (or the lack of one)
goes to ``capture.jsonl`` through the venue layer, as with ``--capture``. The engine's clock
is a :class:`RecordingClock`: the session's own time line (epoch ms from one start instant
on the monotonic clock, so wall time and timers never disagree), read as of the engine's last
input, which notes in the same stream every timer that fires (``wake``), with its instant to
the microsecond. The ledger's gate notes when each write became visible (``commit``), the
mirror each batch of frames it applies (``apply``), the strategy runner each step it takes
(``step``), commands from outside are written as they
come (``control``: a kill, a resume), and each decision is written as it is made
(``decision``). With the
settings, the seed and the start time in the manifest, that is the whole input of the
engine: a replay plays it back in the same order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from polytui import __version__
from polytui.config import Settings
from polytui.engine.session.decisions import decision_record
from polytui.engine.session.hooks import SessionHooks
from polytui.engine.session.ledger_copy import export_ledger
from polytui.engine.session.manifest import (
    CAPTURE,
    FORMAT,
    LEDGER_END,
    LEDGER_START,
    MANIFEST,
    Manifest,
    SessionError,
    settings_for_record,
    write_manifest,
)
from polytui.engine.session.timer_keys import TimerKeys
from polytui.engine.strategy_runner import OrderOutcome
from polytui.venue.capture import CaptureWriter, Source
from polytui.venue.endpoints import Endpoints

log = logging.getLogger("polytui.engine.session")

Wake = Callable[[float, int, str], None]


def draw_seed() -> int:
    """A fresh seed for a session that names none (kept in its manifest)."""
    return random.SystemRandom().randrange(2**32)


def engine_rng(seed: int) -> random.Random:
    """The engine's generator for a session seed (the same on record and replay)."""
    return random.Random(seed)


def venue_rng(seed: int) -> random.Random:
    """The venue clients' generator (retry jitter) for a session seed."""
    return random.Random(seed ^ 0x5EED)


class RecordingClock:
    """The engine's clock in a recorded session: real time, read at the engine's inputs.

    ``monotonic()`` is seconds since the session's start and ``now_ms()`` the start's epoch ms
    plus that, as of the engine's **last input**: a frame, an answer (the venue layer stamps
    them with :meth:`arrive`), a timer firing, a ledger write landing, a command. Between two
    inputs the time stands still, so what the engine reads does not depend on how long its own
    code took to run; every input is a line of the record with that instant, so a replay reads
    the very same times. The engine's time lags the wall clock by its compute time since the
    last input (milliseconds), never more.

    Every ``sleep`` that ran its time and every ``wait`` that timed out is an input: at the
    instant its task resumes it calls ``on_wake(monotonic, now_ms, key)``; ``key`` names the
    timer (``timer_keys``).
    """

    def __init__(self, on_wake: Wake | None = None, start_ms: int | None = None) -> None:
        self._mono0 = time.monotonic()
        self.start_ms = start_ms if start_ms is not None else time.time_ns() // 1_000_000
        self.on_wake = on_wake
        self._keys = TimerKeys()
        self._at = 0.0  # seconds since the start, at the last input

    def monotonic(self) -> float:
        return self._at

    def now_ms(self) -> int:
        return self.start_ms + int(self._at * 1000)

    def arrive(self) -> int:
        """An input arrives now: the engine's time moves on to the wall clock's."""
        self._at = max(self._at, time.monotonic() - self._mono0)
        return self.now_ms()

    def _woke(self, key: str) -> None:
        now_ms = self.arrive()
        if self.on_wake is not None:
            self.on_wake(self._at, now_ms, key)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        label, key = self._keys.take()
        try:
            await asyncio.sleep(seconds)
        except BaseException:
            self._keys.done(label, key, fired=False)
            raise
        self._keys.done(label, key, fired=True)
        self._woke(key)

    async def wait(self, event: asyncio.Event, seconds: float | None) -> bool:
        if event.is_set():
            return True
        if seconds is None:
            await event.wait()
            return True
        label, key = self._keys.take()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), max(0.0, seconds))
        except BaseException:
            self._keys.done(label, key, fired=False)
            raise
        fired = not event.is_set()
        self._keys.done(label, key, fired)
        if fired:
            self._woke(key)
        return not fired


class _NotedApplies:
    """The mirror's gate in a record: every batch it applies, noted (a replay lets the same
    batches through at the same places)."""

    def __init__(self, recorder: SessionRecorder) -> None:
        self._recorder = recorder

    def bind(self, wake: Callable[[], None]) -> None:
        pass

    def ready(self, waiting: int) -> int:
        return waiting

    def applied(self, count: int) -> None:
        r = self._recorder
        r.capture.mark(Source.ENGINE, "apply", r.clock.now_ms(), payload=str(count))


class SessionRecorder:
    def __init__(self, directory: Path, settings: Settings, seed: int) -> None:
        self.dir = directory
        self.settings = settings
        self.seed = seed
        self.capture = CaptureWriter(directory / CAPTURE)
        self.clock = RecordingClock(self._wake)
        self._steps: Counter[str] = Counter()
        self.hooks = SessionHooks(
            commit_gate=self._commit,
            apply_gate=_NotedApplies(self),
            on_step=self._step,
            on_control=self._control,
        )
        self.decisions = 0
        self.manifest: Manifest | None = None

    @classmethod
    def create(cls, directory: Path | str, settings: Settings, seed: int) -> SessionRecorder:
        """Raises ``SessionError`` for a directory that cannot be written or already holds a
        session (two sessions never share one)."""
        directory = Path(directory)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SessionError(f"cannot record into {directory}: {exc.strerror or exc}") from None
        for name in (MANIFEST, CAPTURE):
            if (directory / name).exists():
                raise SessionError(
                    f"{directory} already holds a session ({name}); record into a new directory"
                )
        try:
            return cls(directory, settings, seed)
        except OSError as exc:
            raise SessionError(f"cannot record into {directory}: {exc.strerror or exc}") from None

    # ---- the marks ----------------------------------------------------------------------------

    def _wake(self, mono: float, now_ms: int, key: str) -> None:
        self.capture.mark(Source.CLOCK, "wake", now_ms, mono=mono, payload=key)

    def _commit(self, merge: Callable[[], None]) -> None:
        at = self.clock.arrive()
        merge()
        self.capture.mark(Source.LEDGER, "commit", at)

    def _step(self, strategy: str) -> None:
        self._steps[strategy] += 1
        key = f"{strategy}#{self._steps[strategy]}"
        self.capture.mark(Source.ENGINE, "step", self.clock.now_ms(), payload=key)

    def _control(self, message: dict) -> None:
        """A command from outside (the control socket, a signal): an input like any other."""
        at = self.clock.arrive()
        self.capture.mark(Source.ENGINE, "control", at, payload=json.dumps(message))

    def on_event(self, event: object) -> None:
        """The engine's bus: each decision as it is made."""
        if isinstance(event, OrderOutcome):
            self.decisions += 1
            payload = json.dumps(decision_record(event), separators=(",", ":"))
            self.capture.mark(Source.ENGINE, "decision", self.clock.now_ms(), payload=payload)

    # ---- start and end ------------------------------------------------------------------------

    def begin(self, endpoints: Endpoints, address: str | None, ledger: str | Path) -> None:
        """The manifest, and the ledger as the session finds it (before the engine opens
        it)."""
        data, notes = settings_for_record(self.settings)
        start = export_ledger(ledger, self.dir / LEDGER_START)
        self.manifest = Manifest(
            format=FORMAT,
            mode=self.settings.run.mode,
            seed=self.seed,
            start_ms=self.clock.start_ms,
            endpoints=endpoints.as_dict(),
            settings=data,
            polytui=__version__,
            address=address,
            ledger_start=LEDGER_START if start else None,
            notes=notes,
        )
        write_manifest(self.dir, self.manifest)

    def finish(self, ledger: str | Path | None, reason: str) -> None:
        """Close the capture, write the ledger as the session left it, complete the
        manifest. Never raises: a recording that cannot be completed says so in the log."""
        self.capture.close()
        if self.manifest is None:
            return
        m = self.manifest
        m.end_ms, m.ended = self.clock.now_ms(), reason
        m.lines, m.decisions = self.capture.lines, self.decisions
        if self.capture.failed:
            m.notes.append(f"the capture stopped early: {self.capture.failed}")
        if ledger is not None:
            try:
                if export_ledger(ledger, self.dir / LEDGER_END):
                    m.ledger = LEDGER_END
            except Exception as exc:  # noqa: BLE001 - the session is over; say it, keep the rest
                m.notes.append(f"the ledger could not be written: {exc}")
                log.warning("session record: the ledger could not be written: %s", exc)
        try:
            write_manifest(self.dir, m)
        except OSError as exc:
            log.error("session record: the manifest could not be completed: %s", exc)
