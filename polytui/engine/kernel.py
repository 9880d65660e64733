"""The engine's composition root (architecture §2): one clock, the venue's clients, and the
components built around them. Headless and the UI build the same ``Engine``.

    async with connect_venue(endpoints, settings.venue) as venue:
        engine = Engine(settings, venue, key=wallet_key)
        engine.bus.subscribe(print)          # BookStateChanged, UniverseChanged, Alert, ...
        await engine.run()                   # until cancelled
        await engine.kill("drawdown", "tui") # from anywhere on the engine's loop

The market data side (§3): the scanner picks the universe and keeps the subscriptions of the
market stream in step, and the mirror keeps a book per token that it trusts only while LIVE.

The order side (§5, §6), when a wallet ``key`` is given: the ledger (``Store``), the
trader (L2 credentials from a ``CredentialSource``), the order tracker fed by the user
channel, the venue heartbeat, the reconciler, the kill switch, the local control channel and
the health file, with their periodic jobs on one ``Scheduler`` on the engine clock. On start
every order the ledger left open is settled with the venue by its id before anything new is
sent. Nothing here knows which venue it talks to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from polytui.config import Settings, ledger_target
from polytui.core.clock import Clock, SystemClock
from polytui.core.orders import OPEN_ORDER_STATES
from polytui.core.strategy import OrderIntent
from polytui.engine.alerts import Alert
from polytui.engine.control import (
    ControlServer,
    clear_kill_request,
    control_path,
    kill_request_path,
    read_kill_request,
)
from polytui.engine.credentials import CHAIN_ID, CredentialSource, DerivedCredentials
from polytui.engine.health_file import health_path, write_atomically
from polytui.engine.kill_switch import KillSwitch
from polytui.engine.market_view import MirrorMarkets
from polytui.engine.mirror import Mirror
from polytui.engine.order_tracker import (
    OrderTracker,
    PartialPolicy,
    StrategyPolicy,
    TrackerTimeouts,
    UserFeed,
)
from polytui.engine.paper import PaperCredentials, PaperVenue
from polytui.engine.reconciler import Reconciler
from polytui.engine.scanner import Scanner
from polytui.engine.scanner.wiring import MirrorSubscriber, mirror_freshness, with_market_events
from polytui.engine.scheduler import Scheduler
from polytui.engine.session.hooks import SessionHooks
from polytui.engine.startup import ws_settings
from polytui.engine.stopping import cancel_and_wait
from polytui.engine.strategy_runner import MANUAL, OrderOutcome
from polytui.engine.strategy_wiring import StrategySide
from polytui.engine.test_strategy import TestStrategy
from polytui.engine.venue_heartbeat import VenueHeartbeat
from polytui.keys import SimKey
from polytui.protocol.signing import OrderSigner, SigningKey
from polytui.protocol.wire.errors import WireError
from polytui.store.store import Store
from polytui.venue.clients import VenueClients
from polytui.venue.errors import VenueError
from polytui.venue.market_stream import MarketStream
from polytui.venue.trading import ClobTrader
from polytui.venue.user_stream import UserStream
from polytui.venue.ws import WsConnection

log = logging.getLogger("polytui.engine")

Subscriber = Callable[[Any], None]


class Bus:
    """Engine events to whoever listens (the headless log, the UI bridge, tests), in order.
    A listener that fails is logged and kept out of the engine's way."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def publish(self, event: object) -> None:
        for subscriber in tuple(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                log.exception("an engine event listener failed on %s", type(event).__name__)


RECENT = 20  # alerts and errors kept for the health file


class Engine:
    def __init__(
        self,
        settings: Settings,
        venue: VenueClients,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        key: SimKey | None = None,
        credentials: CredentialSource | None = None,
        session: SessionHooks | None = None,
    ) -> None:
        self.settings = settings
        self.venue = venue
        self.clock = clock or SystemClock()
        rng = rng or random.Random()
        self._rng = random.Random(rng.random())
        self.hooks = session or SessionHooks()
        self.paper_mode = settings.run.mode == "paper"
        self.paper: PaperVenue | None = None
        self.market_listeners: list[Callable[[Any], None]] = []
        """Whoever else reads every market-channel item as it arrives (paper's resting
        orders)."""
        connection = self.hooks.connection or WsConnection
        self.bus = Bus()
        self.mirror = Mirror(
            venue.clob.books,
            settings=settings.mirror,
            clock=self.clock,
            rng=random.Random(rng.random()),
            on_change=self.bus.publish,
            apply_gate=self.hooks.apply_gate,
        )
        self._market_sink = with_market_events(self.mirror.sink, self._market_event)
        self.stream = MarketStream(
            venue.endpoints.ws_market,
            self._market_item,
            settings=ws_settings(settings.venue),
            clock=self.clock,
            rng=random.Random(rng.random()),
            capture=venue.http.capture,
            sleep=self.clock.sleep,
            connection=connection,
        )
        self.scanner = Scanner(
            venue.gamma,
            MirrorSubscriber(self.mirror, self.stream),
            settings.scanner,
            clock=self.clock,
            book_freshness=mirror_freshness(self.mirror),
            on_change=self.bus.publish,
        )
        self.markets = MirrorMarkets(self.mirror, self.scanner)
        self.scheduler = Scheduler(self.clock, on_error=self._job_failed)
        self.key = key
        if credentials is None:
            credentials = PaperCredentials() if self.paper_mode else None
        self._credentials = credentials or DerivedCredentials(clock=self.clock)
        target = ledger_target(settings)
        data_dir = settings.paths.data_dir
        self.health_path = health_path(target, data_dir)
        self.control_path = control_path(target, data_dir)
        self.kill_request_path = kill_request_path(target, data_dir)
        self.alerts: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.errors: deque[dict[str, Any]] = deque(maxlen=RECENT)
        # The order side, built by start() when there is a wallet key.
        self.store: Store | None = None
        self.trader: ClobTrader | None = None
        self.tracker: OrderTracker | None = None
        self.feed: UserFeed | None = None
        self.user_stream: UserStream | Any | None = None  # a PaperUserStream in paper mode
        self.heartbeat: VenueHeartbeat | None = None
        self.reconciler: Reconciler | None = None
        self.kill_switch: KillSwitch | None = None
        self.control: ControlServer | None = None
        self.test_strategy: TestStrategy | None = None
        self.strategies: StrategySide | None = None
        self._synced = False
        self.ready = asyncio.Event()
        """Set once ``run()`` has started everything (the order side included)."""
        if self.hooks.side_files:
            self.scheduler.every("health_file", 1.0, self.write_health, first_after_s=0)

    def _market_event(self, event: Any) -> None:
        self.scanner.on_market_event(event)

    def _market_item(self, item: Any) -> None:
        """The market stream's sink: the mirror and the scanner, and paper's resting orders."""
        self._market_sink(item)
        for listener in self.market_listeners:
            listener(item)

    # ---- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Build and start the order side (when there is a key): ledger, credentials,
        tracker, user channel, control channel; settle what the ledger left open. Idempotent."""
        if self.key is None or self.store is not None:
            return
        s = self.settings
        self.store = await Store.open(
            ledger_target(s),
            self.clock,
            batch_size=s.ledger.batch_size,
            busy_timeout_ms=s.ledger.busy_timeout_ms,
            executor=self.hooks.ledger_executor,
            gate=self.hooks.commit_gate,
        )
        try:
            await self._start_trading()
        except BaseException:
            await self._close_trading()
            raise

    async def _start_trading(self) -> None:
        s, o, clock = self.settings, self.settings.orders, self.clock
        assert self.store is not None and self.key is not None
        store = self.store
        signing_key, order_signer = self._signers()
        creds = await self._credentials.api_creds(self.venue.http, signing_key)
        rng = self._rng
        trader_rng = random.Random(rng.random())
        if self.paper_mode:
            p = s.paper
            self.paper = PaperVenue(
                self.mirror,
                clock,
                address=signing_key.address,
                api_key=creds.api_key,
                cash_usdc=p.cash_usdc,
                settle_s=p.settle_s,
            )
            self.paper.restore(store.model)
            self.market_listeners.append(self.paper.on_market)
            trader: Any = self.paper
        else:
            trader = ClobTrader(
                self.venue.http,
                signing_key.address,
                creds,
                clock=clock,
                rng=trader_rng,
                sleep=clock.sleep,
            )
            if self.hooks.trader is not None:
                trader = self.hooks.trader(trader, self)
        self.trader = trader
        self.heartbeat = VenueHeartbeat(
            trader, clock, self._has_open_orders, interval_s=o.heartbeat_s, alert=self._alert
        )
        self.tracker = tracker = OrderTracker(
            store,
            trader,
            order_signer,
            clock,
            timeouts=TrackerTimeouts(
                unknown_s=o.unknown_alert_s,
                matched_s=o.matched_alert_s,
                lost_after_s=o.lost_after_s,
                post_s=o.post_alert_s,
            ),
            policies={
                name: _policy(p.partial_policy, p.slippage) for name, p in o.strategies.items()
            },
            default_policy=_policy(o.partial_policy, o.slippage),
            alert=self._alert,
            rng=random.Random(rng.random()),
            markets=self.markets,
            before_post=self.heartbeat.ensure_fresh,
        )
        self.kill_switch = KillSwitch(
            tracker,
            clock,
            rng=random.Random(rng.random()),
            alert=self._alert,
            publish=self.bus.publish,
        )
        self.feed = UserFeed(tracker, on_resync=self._after_reconnect)
        stream_rng = random.Random(rng.random())
        if self.paper is not None:
            self.paper.user_stream.bind(self.feed.sink)
            self.user_stream = self.paper.user_stream
        else:
            self.user_stream = UserStream(
                self.venue.endpoints.ws_user,
                creds,
                self.feed.sink,
                settings=ws_settings(s.venue),
                clock=clock,
                rng=stream_rng,
                capture=self.venue.http.capture,
                sleep=clock.sleep,
                connection=self.hooks.connection or WsConnection,
            )
        self.reconciler = Reconciler(
            store,
            trader,
            self.paper if self.paper is not None else self.venue.data,
            signing_key.address,
            clock,
            data_lag_s=s.reconciler.data_lag_s,
            alert=self._alert,
        )
        if s.test_strategy.enabled:
            self.test_strategy = TestStrategy(
                s.test_strategy, tracker, store, self.markets, clock, random.Random(rng.random())
            )
        self.strategies = await StrategySide.build(self)
        if self.hooks.side_files:
            self.control = ControlServer(self.control_path, self._command)
            await self.control.start()
        if store.model.kill_switch.engaged:
            await self.kill_switch.resume_engaged()  # blocked from the start; clear the venue
        await self.take_kill_request()
        if self._has_open_orders():
            await self.heartbeat.beat()  # keep what the last process left resting
        await self.user_stream.start()  # events queue up in the feed while we sync
        await self._sync()
        self._schedule()

    def _schedule(self) -> None:
        o, r, sch = self.settings.orders, self.settings.reconciler, self.scheduler
        assert self.store and self.tracker and self.heartbeat and self.reconciler
        sch.every("ledger_flush", o.flush_s, self.store.flush)
        sch.every("order_lookups", o.resolve_s, self._resolve)
        sch.every("order_timeouts", o.timeouts_s, self.tracker.check_timeouts)
        sch.every("venue_heartbeat", o.heartbeat_s, self.heartbeat.tick)
        sch.every(
            "reconcile", r.interval_s, self.reconciler.run_once, first_after_s=r.first_after_s
        )
        if self.test_strategy is not None:
            sch.every("test_strategy", self.settings.test_strategy.interval_s, self._strategy_tick)
        if self.strategies is not None:
            self.strategies.schedule(sch)
        if self.paper is not None:
            sch.every("paper", 0.2, self.paper.tick)

    def _signers(self) -> tuple[Any, Any]:
        """The wallet's signing key (its address; L1 auth) and its order signer. A wallet may
        bring its own pair (a replay's knows an address, never a key)."""
        assert self.key is not None
        own = getattr(self.key, "signers", None)
        if own is not None:
            return own()
        return SigningKey(self.key.private_key), OrderSigner(self.key.private_key, CHAIN_ID)

    async def run(self) -> None:
        """Run every component until cancelled; a component that fails stops the engine with
        its error (the caller decides what that means for the process)."""
        await self.stream.start()
        try:
            await self.start()
            tasks = [
                asyncio.create_task(self.mirror.run(), name="mirror"),
                asyncio.create_task(self.scanner.run(), name="scanner"),
                asyncio.create_task(self.scheduler.run(), name="scheduler"),
            ]
            if self.feed is not None:
                tasks.append(asyncio.create_task(self.feed.run(), name="user-feed"))
            if self.strategies is not None:
                tasks.append(asyncio.create_task(self._run_strategies(), name="strategies"))
            self.ready.set()
            try:
                await asyncio.gather(*tasks)
            finally:
                await cancel_and_wait(tasks)
        finally:
            await self.stream.close()
            await self._close_trading()

    async def _close_trading(self) -> None:
        for closing in (self.kill_switch, self.user_stream, self.control):
            if closing is not None:
                with contextlib.suppress(Exception):
                    await closing.close()
        if self.store is not None:
            with contextlib.suppress(Exception):  # a last word for `polytui status`
                write_atomically(self.health_path, {**self.snapshot(), "stopped": True})
            await self.store.close()

    # ---- the order side's jobs ------------------------------------------------------------

    async def _sync(self) -> None:
        """REST truth for everything the ledger holds open (never re-sending anything)."""
        assert self.tracker is not None
        try:
            await self.tracker.start()
        except (VenueError, WireError) as exc:
            self._alert(Alert("sync_failed", "start", f"settling open orders failed: {exc}"))
            return
        self._synced = True

    async def _resolve(self) -> None:
        assert self.tracker is not None
        if not self._synced:
            await self._sync()  # the start-up sync failed: again, before anything else
        else:
            await self.tracker.resolve()

    async def _run_strategies(self) -> None:
        """Strategies trade only once the ledger agrees with the venue."""
        assert self.strategies is not None
        while not self._synced:  # noqa: ASYNC110 - the sync job retries on its schedule
            await self.clock.sleep(0.2)
        await self.strategies.run()

    async def _strategy_tick(self) -> None:
        if self._synced and self.test_strategy is not None:
            await self.test_strategy.tick()

    def _after_reconnect(self) -> None:
        if "reconcile" in self.scheduler.jobs:
            self.scheduler.trigger("reconcile")

    def _has_open_orders(self) -> bool:
        """Orders that rest, or may (posted, fate not known yet): the heartbeat keeps them."""
        if self.store is None:
            return False
        return any(o.order_id for o in self.store.model.unresolved_orders())

    # ---- the kill switch and the control channel ------------------------------------------

    async def kill(self, reason: str, source: str = "engine") -> str:
        """Engage the kill switch: no new order from now on (across restarts), everything
        cancelled at the venue until it confirms none remain. Returns once it is recorded.
        A command from outside the engine: a session record keeps it (``hooks.on_control``)."""
        if self.kill_switch is None:
            raise RuntimeError("the engine has no order side (no wallet key)")
        if self.hooks.on_control is not None:
            self.hooks.on_control({"command": "kill", "reason": reason, "source": source})
        return await self.kill_switch.engage(reason, source)

    async def resume(self, source: str = "engine") -> str | None:
        """Release the kill switch; the ref written, ``None`` if it was not engaged."""
        if self.kill_switch is None:
            raise RuntimeError("the engine has no order side (no wallet key)")
        if self.hooks.on_control is not None:
            self.hooks.on_control({"command": "resume", "source": source})
        ref = await self.kill_switch.release(source)
        clear_kill_request(self.kill_request_path)
        return ref

    async def submit_manual(self, intent: OrderIntent) -> OrderOutcome:
        """An order from the trader at the keyboard (the UI's ticket): the risk engine, then
        the tracker, as for any strategy's intent. A command from outside the engine: a
        session record keeps it, and its replay submits it again at the same place."""
        runner = self.strategies.runner if self.strategies is not None else None
        if runner is None:
            raise RuntimeError("the engine has no order side (no wallet key)")
        if self.hooks.on_control is not None:
            self.hooks.on_control(
                {"command": "manual_order", "intent": msgspec.to_builtins(intent)}
            )
        return await runner.decide(MANUAL, intent)

    async def cancel_order(self, order_id: str) -> list[str]:
        """Cancel one order (the UI's ``x``); the ids the venue cancelled. A command from
        outside the engine: a session record keeps it."""
        if self.tracker is None:
            raise RuntimeError("the engine has no order side (no wallet key)")
        if self.hooks.on_control is not None:
            self.hooks.on_control({"command": "cancel", "order_id": order_id})
        return await self.tracker.cancel([order_id])

    async def take_kill_request(self) -> None:
        """A kill `polytui kill` left while this engine did not answer (it hung)."""
        if not self.hooks.side_files:
            return
        request = read_kill_request(self.kill_request_path)
        if request is None or self.kill_switch is None:
            return
        await self.kill(str(request.get("reason") or "kill request"), "cli")
        clear_kill_request(self.kill_request_path)

    async def _command(self, message: dict[str, Any]) -> dict[str, Any]:
        command = message["command"]
        if command == "ping":
            return {"ok": True, "pid": os.getpid()}
        if command == "status":
            return {"ok": True, "health": self.snapshot()}
        if command == "kill":
            reason = str(message.get("reason") or "kill")
            ref = await self.kill(reason, str(message.get("source") or "cli"))
            return {"ok": True, "engaged": True, "ref": ref}
        if command == "resume":
            ref = await self.resume(str(message.get("source") or "cli"))
            return {"ok": True, "engaged": False, "ref": ref}
        return {"ok": False, "error": f"unknown command {command!r}"}

    # ---- alerts, errors, health -------------------------------------------------------------

    def _alert(self, alert: Alert) -> None:
        self.alerts.append(
            {
                "at_ms": self.clock.now_ms(),
                "kind": alert.kind,
                "key": alert.key,
                "message": alert.message,
            }
        )
        self.bus.publish(alert)

    def _job_failed(self, job: str, exc: BaseException) -> None:
        self.errors.append(
            {"at_ms": self.clock.now_ms(), "job": job, "error": f"{type(exc).__name__}: {exc}"}
        )
        log.warning("scheduled job %s failed: %s", job, exc, exc_info=exc)

    async def write_health(self) -> None:
        if self.kill_switch is not None:
            await self.take_kill_request()
        await asyncio.to_thread(write_atomically, self.health_path, self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        """What the health file holds: for `polytui status` and the control channel."""
        return {
            "written_ms": self.clock.now_ms(),
            "pid": os.getpid(),
            "address": self.key.address if self.key is not None else None,
            "venue": self.venue.endpoints.as_dict(),
            "control": str(self.control_path),
            "summary": self.summary(),
            "marks": self._marks(),
            **self.health(),
            "alerts": list(self.alerts),
            "errors": list(self.errors),
        }

    def _marks(self) -> dict[str, str]:
        """Mid prices of the assets we hold, from LIVE books only."""
        if self.store is None:
            return {}
        marks = {}
        for asset, p in self.store.model.positions.items():
            book = self.mirror.live_book(asset) if p.size else None
            if book is not None and book.best_bid is not None and book.best_ask is not None:
                marks[asset] = str((book.best_bid.price + book.best_ask.price) / 2)
        return marks

    def health(self) -> dict[str, Any]:
        """Every component's figures, for the heartbeat, the status file and the UI."""
        figures: dict[str, Any] = {
            "mirror": self.mirror.stats(),
            "scanner": self.scanner.stats(),
            "market_stream": self.stream.stats(),
            "http": dict(self.venue.http.stats),
            "scheduler": self.scheduler.stats(),
        }
        if (
            self.tracker is not None
            and self.store is not None
            and self.heartbeat is not None
            and self.reconciler is not None
            and self.kill_switch is not None
            and self.feed is not None
            and self.user_stream is not None
        ):
            figures["orders"] = {
                **self.tracker.stats,
                "open": sum(
                    o.state in OPEN_ORDER_STATES for o in self.store.model.unresolved_orders()
                ),
                "in_flight": self.tracker.in_flight,
                "synced": self._synced,
            }
            figures["venue_heartbeat"] = self.heartbeat.stats()
            figures["reconciler"] = self.reconciler.stats()
            figures["kill_switch"] = self.kill_switch.stats()
            figures["user_stream"] = {
                **self.user_stream.stats(),
                "resyncs": self.feed.resyncs,
                "dropped": self.feed.dropped,
            }
            if self.test_strategy is not None:
                figures["test_strategy"] = self.test_strategy.stats()
            if self.strategies is not None:
                figures.update(self.strategies.stats())
            if self.paper is not None:
                figures["paper"] = self.paper.kpis()
        return figures

    def summary(self) -> dict[str, Any]:
        """The few figures a heartbeat line carries."""
        mirror, scanner = self.mirror.stats(), self.scanner.stats()
        return {
            "books": mirror["states"],
            "resyncs": mirror["resyncs"],
            "watched": scanner["watched"],
            "scanner_stalled": scanner["stalled"],
            "apply_lag_p99_ms": mirror["apply_lag_ms"]["p99"],
            "max_stall_ms": mirror["max_stall_ms"],
            **self._order_summary(),
        }

    def _order_summary(self) -> dict[str, Any]:
        if self.store is None or self.kill_switch is None:
            return {}
        model = self.store.model
        return {
            "orders_open": sum(o.state in OPEN_ORDER_STATES for o in model.unresolved_orders()),
            "fills": len(model.fills),
            "kill_switch": self.kill_switch.engaged,
        }


def _policy(name: str, slippage: float) -> StrategyPolicy:
    return StrategyPolicy(PartialPolicy(name), Decimal(str(slippage)))
