"""``polytui replay DIR``: a recorded session run again, the whole engine on its recording.

    async with SessionReplay.open(DIR) as replay:      # the engine, built on the recording
        await replay.run_to(at_ms)                      # play the record up to an instant
        replay.books(); replay.positions()              # what the engine held then
        replay.decisions_between(at_ms - 5000, at_ms)   # and what it decided
        await replay.run_to()                           # on to the end
        result = replay.result()                        # decisions, fidelity, speed

or at once: ``result = replay_session(DIR)`` (``changes``: settings laid over the recorded
ones, for a diff). This is the object a TUI scrubs with: ``run_to`` only moves forward; to go
back, open the session again (a replay runs many times faster than the session did).

**How it runs.** The engine is the one ``Engine`` of the session (mirror, scanner,
strategies, risk, order tracker, the ledger in a scratch directory started from the ledger as
the session found it), with the session's settings and seed, on a :class:`ReplayClock`. The
venue is the recording (``replay_venue``): REST requests get their recorded answers, the
connections play their recorded lines. The record is played line by line, in its order:
each line sets the clock to its instant and is handed over (an answer to its waiting request,
a frame to its connection, a timer mark fires the timers due, a ledger mark lets the landed
write be seen), then the engine runs until nothing is left to do at that instant: no line
is played while the engine is busy, and the clock jumps from line to line as fast as the
engine can follow. So the engine meets its inputs at the instants, and in the order, it met
them in the session, and decides again what it decided: the same intents, the same gate
outcomes, the same orders (with the same ids). ``result().fidelity`` says whether it did.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from polytui.config import Settings, ledger_target
from polytui.core.book import Side, price_text
from polytui.core.ledger_events import OrderSigned
from polytui.core.strategy import OrderIntent
from polytui.engine.kernel import Engine
from polytui.engine.session.decisions import Difference, compare, decision_record
from polytui.engine.session.hooks import SessionHooks
from polytui.engine.session.journal import Journal
from polytui.engine.session.ledger_copy import import_ledger, read_exported
from polytui.engine.session.manifest import SessionError, merge, settings_from_record
from polytui.engine.session.recording import engine_rng, venue_rng
from polytui.engine.session.replay_clock import ReplayClock
from polytui.engine.session.replay_venue import (
    HeldApplies,
    HeldCommits,
    InlineExecutor,
    RecordedWallet,
    ReplayCredentials,
    ReplayLinks,
    ReplayTransport,
)
from polytui.engine.session.what_if import WhatIfTrader
from polytui.engine.startup import VenueCheckError, check_venue, connect_venue
from polytui.engine.strategy_runner import OrderOutcome
from polytui.venue.capture import CaptureLine, Source
from polytui.venue.endpoints import Endpoints

log = logging.getLogger("polytui.engine.session")


def _is_apply(line: CaptureLine) -> bool:
    return line.source is Source.ENGINE and line.event == "apply"


FRAME_BATCH = 256  # consecutive frames handed over before the engine runs (the mirror's batch)
_WS = (Source.WS_MARKET, Source.WS_USER)


@dataclass
class Fidelity:
    """The replay against the record: decisions and orders."""

    recorded: int  # decisions in the record
    replayed: int
    differences: list[Difference]
    orders_recorded: int  # orders the session signed
    orders_replayed: int
    orders_differing: list[str]  # intent ids whose order (or its id) differs
    truncated: bool  # the record ended without an orderly stop

    @property
    def identical(self) -> bool:
        return not self.differences and not self.orders_differing


@dataclass
class ReplayResult:
    directory: Path
    decisions: list[dict[str, Any]]
    recorded: list[dict[str, Any]]
    fidelity: Fidelity
    lines: int
    frames: int
    rest_answers: int
    unanswered: dict[str, int]
    unplayed: int
    start_ms: int
    session_s: float  # the session's length, on its clock
    wall_s: float  # how long the replay took
    failed: str | None = None  # the replayed engine stopped with this error
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def speed(self) -> float:
        """Session time per wall time."""
        return self.session_s / self.wall_s if self.wall_s > 0 else float("inf")

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else float("inf")


class SessionReplay:
    def __init__(
        self,
        journal: Journal,
        settings: Settings,
        workdir: Path,
        *,
        keep_workdir: bool = False,
        what_if: bool = False,
    ) -> None:
        self.journal = journal
        self.manifest = journal.manifest
        self.settings = settings
        self.workdir = workdir
        self._keep = keep_workdir
        self.clock = ReplayClock(self.manifest.start_ms)
        self.transport = ReplayTransport(journal)
        self.links = ReplayLinks()
        self.commits = HeldCommits()
        self.applies = HeldApplies()
        self.wallet = (
            RecordedWallet(self.manifest.address, journal.orders) if self.manifest.address else None
        )
        self.hooks = SessionHooks(
            connection=self.links.factory,
            ledger_executor=InlineExecutor(),
            commit_gate=self.commits,
            apply_gate=self.applies,
            on_step=self._step,
            side_files=False,
            trader=self._what_if_trader if what_if else None,
        )
        self._steps: Counter[str] = Counter()
        self._pulled: set[int] = set()  # lines played ahead of their turn (at a step)
        self.engine: Engine | None = None
        self._commands: list[asyncio.Future[Any]] = []
        self.decisions: list[dict[str, Any]] = []
        self._decided_at: list[int] = []  # per decision: the record's lines played by then
        self.pos = 0  # the next capture line to play
        self._stack = contextlib.AsyncExitStack()
        self._boot: asyncio.Task[None] | None = None
        self._wall = 0.0
        self._loop_ready: Any = None

    # ---- building -------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        directory: Path | str,
        changes: Mapping[str, Any] | None = None,
        *,
        workdir: Path | None = None,
    ) -> SessionReplay:
        """Read the session (``SessionError``/``CaptureFormatError`` naming what is wrong) and
        prepare its replay; ``changes`` are settings laid over the recorded ones."""
        journal = Journal.open(directory)
        keep = workdir is not None
        work = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="replay-"))
        work.mkdir(parents=True, exist_ok=True)
        scratch = {
            "paths": {"data_dir": str(work / "data"), "db": str(work / "ledger.db")},
            "paper": {"db": str(work / "ledger.db")},
            "ledger": {"url": None},
            "run": {"record": None, "duration": None},
            "venue": {"capture": None},
        }
        recorded = journal.manifest.settings
        try:
            settings = settings_from_record(merge(merge(recorded, changes or {}), scratch))
        except SessionError:
            if not keep:
                shutil.rmtree(work, ignore_errors=True)
            raise
        start = journal.manifest.ledger_start
        if start:
            import_ledger(journal.directory / start, ledger_target(settings))
        return cls(journal, settings, work, keep_workdir=keep, what_if=changes is not None)

    async def __aenter__(self) -> SessionReplay:
        self._loop_ready = getattr(asyncio.get_running_loop(), "_ready", None)
        endpoints = Endpoints.from_json(self.manifest.endpoints)
        self.venue = await self._stack.enter_async_context(
            connect_venue(
                endpoints,
                self.settings.venue,
                clock=self.clock,
                rng=venue_rng(self.manifest.seed),
                transport=self.transport,
            )
        )
        self._boot = asyncio.create_task(self._run_engine(), name="replayed engine")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _run_engine(self) -> None:
        """What the headless run did: check the venue, then build and run the engine, each in
        a task like the session's (``timer_keys`` knows a timer by its task)."""
        await asyncio.create_task(
            check_venue(self.venue, wall_clock=lambda: self.clock.now_ms() / 1000),
            name="startup",
        )
        self.engine = engine = Engine(
            self.settings,
            self.venue,
            clock=self.clock,
            rng=engine_rng(self.manifest.seed),
            key=self.wallet,  # type: ignore[arg-type]
            credentials=ReplayCredentials(self.journal.api_key),
            session=self.hooks,
        )
        engine.bus.subscribe(self._on_event)
        await asyncio.ensure_future(engine.run())  # unnamed, as the headless run's

    def _what_if_trader(self, recorded: Any, engine: Engine) -> Any:
        """Changed settings: orders the session never posted are filled on paper."""
        signer = self.wallet.signer if self.wallet is not None else None
        return WhatIfTrader(
            recorded, engine, lambda oid: signer is not None and oid in signer.recorded_ids
        )

    def _step(self, strategy: str) -> None:
        """A strategy steps: it is where the session's step was, with the market frames the
        session had received by then (they may have come in while the session's engine got
        there), at the session's instant."""
        self._steps[strategy] += 1
        mark = self.journal.steps.get(f"{strategy}#{self._steps[strategy]}")
        if mark is None or mark < self.pos:
            return
        lines = self.journal.lines
        for number in range(self.pos, mark):
            line = lines[number]
            if number in self._pulled:
                continue
            if line.source is Source.WS_MARKET or _is_apply(line):
                self._pulled.add(number)
                self._play(number, line)
        self.clock.reach_ms(lines[mark].recv_ms)
        after = mark + 1  # the mirror's catch-up right after the step
        if after < len(lines) and _is_apply(lines[after]) and after not in self._pulled:
            self._pulled.add(after)
            self._play(after, lines[after])

    def _on_event(self, event: object) -> None:
        if isinstance(event, OrderOutcome):
            self.decisions.append(decision_record(event))
            self._decided_at.append(self.pos)

    def _within_record(self) -> list[dict[str, Any]]:
        """The decisions to compare with the record's. A record cut short (a killed session)
        loses, with its torn last line, the marks of what the engine decided after its last
        whole decision mark: decisions of the same engine turn as the last decision it kept,
        and any made once that mark was played. The replay makes those too; they are beyond
        the record, not differences. Every other decision is compared."""
        j = self.journal
        if not j.truncated:
            return self.decisions
        kept = {d["intent_id"] for d in j.decisions}
        last_mark = max(
            (i for i, line in enumerate(j.lines) if line.event == "decision"), default=-1
        )
        decided = list(zip(self.decisions, self._decided_at, strict=True))
        last_turn = max((p for d, p in decided if d["intent_id"] in kept), default=None)
        return [
            d for d, p in decided if d["intent_id"] in kept or not (p > last_mark or p == last_turn)
        ]

    # ---- playing ------------------------------------------------------------------------------

    async def _settle(self) -> None:
        """Let the engine run until nothing is left to do at this instant."""
        ready = self._loop_ready
        if ready is None:  # a loop that hides its queue: a fixed number of turns
            for _ in range(16):
                await asyncio.sleep(0)
            return
        await asyncio.sleep(0)
        while ready:  # noqa: ASYNC110 - the loop's own queue is what we wait on
            await asyncio.sleep(0)

    def _play(self, number: int, line: CaptureLine) -> None:
        source, clock = line.source, self.clock
        clock.reach_ms(line.recv_ms)
        if source is Source.REST:
            self.transport.reach(number)
        elif source in _WS:
            self.links.play(line)
        elif source is Source.CLOCK:
            if line.mono is not None:
                clock.reach(line.mono)
            if line.payload:
                clock.fire(line.payload)
        elif source is Source.LEDGER:
            self.commits.release_one()
        elif source is Source.ENGINE and line.event == "apply" and line.payload:
            self.applies.allow(int(line.payload))
        elif source is Source.ENGINE and line.event == "control" and line.payload:
            self._control(line.payload)
        clock.fire_strays()

    def _control(self, payload: str) -> None:
        """A recorded command from outside (a kill, a resume, the UI's manual order or
        cancel), given to the engine again."""
        engine = self.engine
        try:
            message = json.loads(payload)
        except ValueError:
            return
        if engine is None or not isinstance(message, dict):
            return
        if message.get("command") == "kill":
            reason, source = str(message.get("reason")), str(message.get("source"))
            self._commands.append(asyncio.ensure_future(engine.kill(reason, source)))
        elif message.get("command") == "resume":
            self._commands.append(asyncio.ensure_future(engine.resume(str(message["source"]))))
        elif message.get("command") == "manual_order":  # the UI's order ticket
            try:
                intent = msgspec.convert(message.get("intent"), OrderIntent)
            except msgspec.ValidationError:
                return
            self._commands.append(asyncio.ensure_future(engine.submit_manual(intent)))
        elif message.get("command") == "cancel":  # the UI's x on one order
            order_id = str(message.get("order_id"))
            self._commands.append(asyncio.ensure_future(engine.cancel_order(order_id)))

    async def run_to(self, until_ms: int | None = None) -> bool:
        """Play the record up to ``until_ms`` (epoch ms; ``None``: its end). True once the
        whole record is played (or the replayed engine stopped)."""
        started = time.perf_counter()
        try:
            return await self._run_to(until_ms)
        finally:
            self._wall += time.perf_counter() - started

    async def _run_to(self, until_ms: int | None) -> bool:
        lines, n = self.journal.lines, len(self.journal.lines)
        while self.pos < n:
            await self._settle()
            if self._boot is not None and self._boot.done():
                return True
            line = lines[self.pos]
            if until_ms is not None and line.recv_ms > until_ms:
                self.clock.reach_ms(until_ms)
                await self._settle()
                return False
            if self.pos not in self._pulled:
                self._play(self.pos, line)
            self.pos += 1
            if line.source not in _WS or line.event is not None:
                continue  # what follows an answer or a mark waits for the engine
            batch = 0
            while self.pos < n and batch < FRAME_BATCH:
                nxt = lines[self.pos]
                if nxt.source not in _WS or nxt.event is not None:
                    break
                if until_ms is not None and nxt.recv_ms > until_ms:
                    break
                if self.pos not in self._pulled:
                    self._play(self.pos, nxt)
                self.pos += 1
                batch += 1
        await self._settle()
        return True

    async def close(self) -> None:
        """Stop the engine (its ledger written out), release everything."""
        self.commits.open()
        self.applies.open()
        if self._boot is not None:
            self._boot.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._boot
        await self._stack.aclose()
        if not self._keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # ---- what the engine held -------------------------------------------------------------------

    @property
    def now_ms(self) -> int:
        return self.clock.now_ms()

    @property
    def orders_in_flight(self) -> int:
        """Orders posted and not answered yet: their decisions are published once answered."""
        tracker = getattr(self.engine, "tracker", None)
        return tracker.in_flight if tracker is not None else 0

    @property
    def failed(self) -> str | None:
        boot = self._boot
        if boot is None or not boot.done() or boot.cancelled():
            return None
        exc = boot.exception()
        if exc is None:
            return None
        if isinstance(exc, VenueCheckError):
            return f"the venue check failed: {exc}"
        return f"{type(exc).__name__}: {exc}"

    def books(self, assets: list[str] | None = None, depth: int = 5) -> list[dict[str, Any]]:
        """The mirror's books now: state, tick, best ``depth`` levels per side."""
        if self.engine is None:
            return []
        mirror = self.engine.mirror
        out = []
        for asset in assets if assets is not None else list(mirror.tokens):
            tok = mirror.tokens.get(asset)
            if tok is None:
                continue
            row: dict[str, Any] = {
                "asset": asset,
                "market": tok.market,
                "state": tok.state.value,
                "bids": [],
                "asks": [],
            }
            if tok.book is not None:
                for side, key in ((Side.BID, "bids"), (Side.ASK, "asks")):
                    row[key] = [
                        [price_text(lv.units), str(lv.size)] for lv in tok.book.levels(side, depth)
                    ]
            out.append(row)
        return out

    def positions(self) -> list[dict[str, Any]]:
        """The ledger's positions now, with the mirror's mark where the book is LIVE."""
        engine = self.engine
        if engine is None or engine.store is None:
            return []
        rows = []
        for asset, p in sorted(engine.store.model.positions.items()):
            if not p.size:
                continue
            book = engine.mirror.live_book(asset)
            mark = None
            if book is not None and book.best_bid is not None and book.best_ask is not None:
                mark = (book.best_bid.price + book.best_ask.price) / 2
            rows.append(
                {
                    "asset": asset,
                    "market": p.market,
                    "size": str(p.size),
                    "avg_cost": str(p.avg_cost),
                    "realised": str(p.realised),
                    "mark": None if mark is None else str(mark),
                }
            )
        return rows

    def open_orders(self) -> list[dict[str, Any]]:
        engine = self.engine
        if engine is None or engine.store is None:
            return []
        return [
            {
                "intent_id": o.intent_id,
                "order_id": o.order_id,
                "asset": o.asset_id,
                "side": o.side,
                "price": str(o.price),
                "size": str(o.size),
                "matched": str(o.size_matched),
                "state": str(o.state),
            }
            for o in engine.store.model.open_orders.values()
        ]

    def decisions_between(self, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        return [d for d in self.decisions if start_ms <= d["at_ms"] <= end_ms]

    # ---- the outcome -----------------------------------------------------------------------------

    def _orders(self) -> tuple[dict[str, str], dict[str, str]]:
        """intent id -> order id: signed in the session (its ledger), and in the replay."""
        recorded: dict[str, str] = {}
        m = self.manifest
        before: set[str] = set()
        if m.ledger_start:
            before = {r.event_id for r in read_exported(self.journal.directory / m.ledger_start)}
        if m.ledger:
            for r in read_exported(self.journal.directory / m.ledger):
                if isinstance(r.event, OrderSigned) and r.event_id not in before:
                    recorded[r.event.intent_id] = r.event.order_id
        replayed: dict[str, str] = {}
        engine = self.engine
        if engine is not None and engine.store is not None:
            for o in engine.store.model.orders.values():
                if o.order_id and o.created_seq > len(before):
                    replayed[o.intent_id] = o.order_id
        return recorded, replayed

    def result(self) -> ReplayResult:
        j = self.journal
        differences = compare(j.decisions, self._within_record())
        recorded, replayed = self._orders()
        if not self.manifest.ledger:  # no ledger at the end (killed): compare what was posted
            recorded = {}
        orders_differing = (
            sorted(i for i in set(recorded) | set(replayed) if recorded.get(i) != replayed.get(i))
            if recorded
            else []
        )
        fidelity = Fidelity(
            recorded=len(j.decisions),
            replayed=len(self.decisions),
            differences=differences,
            orders_recorded=len(recorded),
            orders_replayed=len(replayed),
            orders_differing=orders_differing,
            truncated=j.truncated,
        )
        stats: dict[str, Any] = {}
        if self.engine is not None:
            stats = {
                "risk": self.engine.strategies.risk.stats() if self.engine.strategies else {},
                "mirror": self.engine.mirror.stats()["states"],
                "signer": {
                    "reused": self.wallet.signer.reused if self.wallet else 0,
                    "fresh": self.wallet.signer.fresh if self.wallet else 0,
                },
            }
        return ReplayResult(
            directory=j.directory,
            decisions=list(self.decisions),
            recorded=list(j.decisions),
            fidelity=fidelity,
            lines=self.pos,
            frames=self.links.played,
            rest_answers=self.transport.answered,
            unanswered=dict(self.transport.unanswered),
            unplayed=self.links.unplayed,
            start_ms=self.manifest.start_ms,
            session_s=max(0.0, (min(self.clock.now_ms(), j.end_ms) - self.manifest.start_ms))
            / 1000,
            wall_s=self._wall,
            failed=self.failed,
            stats=stats,
        )


def replay_session(
    directory: Path | str,
    changes: Mapping[str, Any] | None = None,
) -> ReplayResult:
    """Replay the whole session (``changes`` over its settings) and return the outcome."""

    async def run() -> ReplayResult:
        replay = SessionReplay.open(directory, changes)
        async with replay:
            await replay.run_to()
            return replay.result()

    return asyncio.run(run())


def at_instant(
    directory: Path | str, at_ms: int, window_ms: int = 5000, depth: int = 5
) -> dict[str, Any]:
    """ "What did the engine do at that instant": the books and positions it held, its open
    orders, and the decisions it made within ``window_ms`` either side."""

    async def run() -> dict[str, Any]:
        replay = SessionReplay.open(directory)
        async with replay:
            await replay.run_to(at_ms)
            now = replay.now_ms
            books, positions, orders = replay.books(depth=depth), replay.positions(), []
            orders = replay.open_orders()
            end = at_ms + window_ms
            recorded = {
                d["intent_id"]
                for d in replay.journal.decisions
                if abs(d["at_ms"] - at_ms) <= window_ms
            }

            def unanswered() -> bool:  # a 429, a retry, a lookup: published later
                replayed = {d["intent_id"] for d in replay.decisions}
                return bool(replay.orders_in_flight) or not recorded <= replayed

            played = await replay.run_to(end)
            while not played and unanswered():
                end += 1000
                played = await replay.run_to(end)
            around = replay.decisions_between(at_ms - window_ms, at_ms + window_ms)
            assets = {d["asset"] for d in around} | {p["asset"] for p in positions}
            return {
                "at_ms": at_ms,
                "reached_ms": now,
                "start_ms": replay.manifest.start_ms,
                "end_ms": replay.journal.end_ms,
                "books": [b for b in books if b["asset"] in assets] or books,
                "all_books": len(books),
                "positions": positions,
                "open_orders": orders,
                "decisions": around,
                "failed": replay.failed,
            }

    return asyncio.run(run())


__all__ = [
    "Fidelity",
    "ReplayResult",
    "SessionReplay",
    "at_instant",
    "replay_session",
]
