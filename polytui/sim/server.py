"""The simulator process: one aiohttp server with CLOB REST, the WS market channel, Gamma and the
admin API on one port, and the driver that runs market life on the simulated clock."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time

from aiohttp import WSMsgType, web

from polytui.core.clock import ScaledClock
from polytui.sim import admin, data_api, gamma, private, rest
from polytui.sim.accounts import Accounts, ApiKey
from polytui.sim.book import to_book
from polytui.sim.divergence import DivergenceTracker, Key
from polytui.sim.exchange import Exchange
from polytui.sim.faults import Faults
from polytui.sim.feed import Connection, MarketFeed
from polytui.sim.leaders import Leaders
from polytui.sim.life import MarketLife
from polytui.sim.markets import Market
from polytui.sim.messages import Levels
from polytui.sim.ratelimit import RateLimiter, retry_after_header
from polytui.sim.rest import client_of
from polytui.sim.trading import Settlement, Trading
from polytui.sim.units import SIZE_SCALE, tick_str
from polytui.sim.user_feed import UserConnection, UserFeed

log = logging.getLogger("polytui.sim")
DRIVER_IDLE_S = 0.002  # longest wall-clock pause of the driver when events are due soon
WS_IDLE_TIMEOUT_S = 60.0  # a market connection that sends nothing for this long is closed
CATCH_UP_CHUNK = 500  # operations run between two yields to the event loop


class Simulator:
    def __init__(
        self,
        seed: int = 1,
        markets: int = 20,
        rate: float = 50.0,
        faults: Faults | None = None,
        start_ms: int | None = None,
        time_scale: float = 1.0,
        starting_usd: int = 10_000,
        auth_skew_s: int = 300,
        settlement: Settlement | None = None,
        leaders: int = 4,
        leader_activity: float = 1.0,
        data_lag_ms: int = 2_000,
    ) -> None:
        self.seed = seed
        self.clock = ScaledClock(start_ms, time_scale)
        self.exchange = Exchange(self.clock.now_ms())
        self.life = MarketLife(self.exchange, seed, markets, rate)
        self.exchange.outbox.clear()  # the opening books are the start state, not news
        self.fault_rng = random.Random(f"faults:{seed}")
        self.tracker = DivergenceTracker(self._truth_size, self._truth_levels, self.clock.now_ms)
        self.feed = MarketFeed(self.exchange, self.tracker, Faults(), self.fault_rng)
        self.accounts = Accounts(seed, starting_usd * SIZE_SCALE, auth_skew_s)
        self.trading = Trading(
            self.exchange,
            self.accounts,
            random.Random(f"trading:{seed}"),
            settlement or Settlement(),
        )
        self.trading.on_order = self.tracker.order_arrived
        self.user_feed = UserFeed(self.accounts, self.funder_of)
        self.leaders = Leaders(self.trading, seed, leaders, leader_activity)
        self.life.add_leaders(self.leaders)
        self.data_lag_ms = data_lag_ms
        self.set_faults(faults or Faults())
        self.limiter = RateLimiter()
        self.endpoints: dict[str, str] = {}
        self.gamma_rows = gamma.RowCache()
        self.http_faults = dict.fromkeys(
            ("http5xx", "http429", "stale_rest", "order_5xx", "order_drop"), 0
        )
        self._driver: asyncio.Task | None = None
        self._runner: web.AppRunner | None = None
        self._sockets: dict[int, web.WebSocketResponse] = {}
        self._user_sockets: dict[int, web.WebSocketResponse] = {}

    def set_faults(self, faults: Faults) -> None:
        self.feed.set_faults(faults)
        self.trading.settlement.fail = faults.settle_fail
        self.trading.user_delay_ms = faults.user_delay_ms

    def funder_of(self, key: ApiKey) -> str:
        """The wallet a key trades for: its address, or the proxy its orders last named."""
        signer = key.address.lower()
        return self.trading.funders.get(signer, signer)

    def auth_nows(self) -> tuple[float, float]:
        return self.clock.now_ms() / 1000, time.time()

    # ---- truth for the divergence tracker ------------------------------------------------

    def _truth_size(self, token: str, key: Key) -> int:
        market = self.exchange.market_of(token)
        if market is None or market.closed:
            return 0
        side, price = to_book(market.is_yes(token), key[0], key[1])
        return self.exchange.books[market.condition_id].total(side, price)

    def _truth_levels(self, token: str) -> Levels | None:
        market = self.exchange.market_of(token)
        if market is None or market.closed:
            return None
        return self.exchange.levels(market, token)

    # ---- time ----------------------------------------------------------------------------

    async def catch_up(self) -> int:
        """Run market life and the venue's timers (settlement, expiry, heartbeats) in time order
        up to the clock's now and send what they said, yielding to the event loop every few
        hundred operations so sockets and requests are served while simulated hours pass."""
        done = since_yield = 0
        target = self.clock.now_ms()
        while True:
            due = self.trading.next_due()
            until = target if due is None else min(target, due)
            ran = self.life.run_until(until, after_each=self.feed.dispatch, limit=CATCH_UP_CHUNK)
            done += ran
            since_yield += ran + 1
            reached = ran < CATCH_UP_CHUNK
            if reached:
                self.trading.run_until(until)
            self.flush()
            self.feed.due_disconnects()
            if reached and until >= target:
                return done
            if since_yield >= CATCH_UP_CHUNK:
                since_yield = 0
                await asyncio.sleep(0)

    def flush(self) -> None:
        """Send what the market and the user channels have to say now."""
        self.feed.dispatch()
        self.user_feed.dispatch(self.trading.due_events(self.exchange.now_ms))

    async def _drive(self) -> None:
        while True:
            await self.catch_up()
            nxt = self.life.next_time()
            scale = self.clock.scale
            if nxt is None or scale == 0:
                wait = 0.05
            else:
                wait = min(0.05, max(0.0, (nxt - self.clock.now_ms()) / 1000 / scale))
            await asyncio.sleep(max(wait, DRIVER_IDLE_S) if wait > 0 else 0)

    def clock_state(self) -> dict:
        return {
            "now_ms": self.clock.now_ms(),
            "scale": self.clock.scale,
            "events": sum(self.life.counts.values()),
        }

    # ---- REST helpers --------------------------------------------------------------------

    def serve_book(self, request: web.Request, market: Market, token: str) -> dict:
        """A REST book: usually the truth, sometimes (fault ``stale_rest``) a second-old copy."""
        snap = None
        if self.feed.faults.stale_rest and self.fault_rng.random() < self.feed.faults.stale_rest:
            snap = self.exchange.stale_snapshot(market, token)
            if snap is not None:
                self.http_faults["stale_rest"] += 1
        if snap is not None:
            summary = self.exchange.summary(market, token, snap.ts_ms, snap)
            levels = snap.levels
            self.tracker.fault(client_of(request), [token], "stale_rest")
        else:
            summary = self.exchange.summary(
                market, token, self.exchange.book_ms[market.condition_id]
            )
            levels = self.exchange.levels(market, token)
        self.tracker.snapshot(client_of(request), token, levels, "rest_snapshot")
        return summary

    def market_state(self, m: Market) -> dict:
        return {
            "condition_id": m.condition_id,
            "gamma_id": m.gamma_id,
            "tokens": list(m.tokens),
            "question": m.question,
            "tick_size": tick_str(m.tick),
            "neg_risk": m.neg_risk,
            "active": m.active,
            "closed": m.closed,
            "archived": m.archived,
            "accepting_orders": m.accepting_orders,
            "uma_resolution_status": m.uma_status,
            "winner": m.winner,
            "end_ms": m.end_ms,
            "frozen": [t for t in m.tokens if t in self.feed.frozen],
        }

    def stats(self) -> dict:
        return {
            "clock": self.clock_state(),
            "operations": dict(self.life.counts),
            "markets": len(self.exchange.markets),
            "tradable": len(self.life.tradable()),
            "connections": [c.stats() for c in self.feed.connections.values()],
            "closed_connections": self.feed.closed_log[-100:],
            "user_connections": [c.stats() for c in self.user_feed.connections.values()],
            "user_auth_rejected": self.user_feed.rejected,
            "orders_received": len(self.trading.received),
            "orders_live": sum(1 for o in self.trading.orders.values() if o.status == "LIVE"),
            "trades": len(self.trading.trades),
            "http_faults": dict(self.http_faults),
            "rate_limited": self.limiter.rejected,
        }

    def order_fault(self, request: web.Request) -> web.Response | None:
        """After an order was accepted: sometimes a 500 anyway, or the connection just drops
        (faults ``order_5xx``, ``order_drop``), the ambiguous cases a client must look up."""
        faults, rng = self.feed.faults, self.fault_rng
        if faults.order_drop and rng.random() < faults.order_drop:
            self.http_faults["order_drop"] += 1
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        if faults.order_5xx and rng.random() < faults.order_5xx:
            self.http_faults["order_5xx"] += 1
            return web.json_response({"error": "Internal Server Error"}, status=500)
        return None

    # ---- the server ----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._venue_middleware], client_max_size=4 * 1024 * 1024)
        app[rest.SIM] = self
        app.router.add_get("/ws/market", self._market_socket)
        app.router.add_get("/ws/user", self._user_socket)
        app.add_routes(admin.routes)
        app.add_routes(private.routes)
        app.add_routes(data_api.routes)
        app.add_routes(gamma.routes)
        app.add_routes(rest.routes)
        return app

    @web.middleware
    async def _venue_middleware(self, request: web.Request, handler):
        """Rate limits and HTTP faults, on the venue's endpoints only (not admin, not sockets)."""
        path = request.path
        if path.startswith(("/_sim", "/ws/")):
            return await handler(request)
        retry = self.limiter.hit(client_of(request), request.method, path)
        if retry is not None:
            return self._too_many(retry)
        faults, rng = self.feed.faults, self.fault_rng
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms * rng.uniform(0.5, 1.5) / 1000)
        if faults.http429 and rng.random() < faults.http429:
            self.http_faults["http429"] += 1
            return self._too_many(1.0)
        if faults.http5xx and rng.random() < faults.http5xx:
            self.http_faults["http5xx"] += 1
            status = rng.choice((500, 502, 503))
            return web.json_response({"error": "Internal Server Error"}, status=status)
        return await handler(request)

    @staticmethod
    def _too_many(retry_s: float) -> web.Response:
        return web.json_response(
            {"error": "Too Many Requests"},
            status=429,
            headers={"Retry-After": retry_after_header(retry_s)},
        )

    async def _market_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=8 * 1024 * 1024, compress=False)
        await ws.prepare(request)
        conn = self.feed.connect(client_of(request))
        self._sockets[conn.id] = ws
        writer = asyncio.create_task(self._write(conn, ws))
        try:
            while not ws.closed:
                try:
                    msg = await ws.receive(timeout=WS_IDLE_TIMEOUT_S)
                except TimeoutError:
                    self.feed.cut(conn, "idle")
                    break
                if msg.type != WSMsgType.TEXT:
                    break
                self._on_client_text(conn, msg.data)
        finally:
            by_server = conn.closed is not None
            if not by_server:
                conn.closed = "client"
                if not conn.queue.full():
                    conn.queue.put_nowait(None)
            self.feed.disconnected(conn, by_server=by_server)
            self._sockets.pop(conn.id, None)
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(writer, 5)
            await ws.close()
        return ws

    async def _user_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=1024 * 1024, compress=False)
        await ws.prepare(request)
        conn = self.user_feed.connect(client_of(request))
        self._user_sockets[conn.id] = ws
        writer = asyncio.create_task(self._write_user(conn, ws))
        try:
            while not ws.closed:
                try:
                    msg = await ws.receive(timeout=WS_IDLE_TIMEOUT_S)
                except TimeoutError:
                    break
                if msg.type != WSMsgType.TEXT:
                    break
                if msg.data == "PING":
                    conn.queue.put_nowait(b"PONG")
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    frame = None
                if not isinstance(frame, dict) or not self.user_feed.on_text(conn, frame):
                    conn.closed = "refused"  # bad credentials or not a subscription
                    break
        finally:
            self.user_feed.disconnected(conn)
            self._user_sockets.pop(conn.id, None)
            conn.queue.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(writer, 5)
            await ws.close(code=1008 if conn.closed == "refused" else 1000)
        return ws

    async def _write_user(self, conn: UserConnection, ws: web.WebSocketResponse) -> None:
        try:
            while (data := await conn.queue.get()) is not None:
                await ws.send_frame(data, WSMsgType.TEXT)
            if conn.closed == "slow_consumer":
                await ws.close(code=1013)
        except (ConnectionError, RuntimeError):
            pass

    async def _write(self, conn: Connection, ws: web.WebSocketResponse) -> None:
        queue = conn.queue
        try:
            while True:
                data = await queue.get()
                if data is None or conn.closed not in (None, "client"):
                    break
                await ws.send_frame(data, WSMsgType.TEXT)
        except (ConnectionError, RuntimeError):
            pass
        finally:
            if conn.closed not in (None, "client"):
                await ws.close(code=1001 if conn.closed == "fault_disconnect" else 1013)

    def _on_client_text(self, conn: Connection, text: str) -> None:
        if text == "PING":
            self.feed.pong(conn)
            return
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            self.feed.malformed += 1
            return
        assets = [str(a) for a in msg.get("assets_ids") or [] if isinstance(a, str | int)]
        custom = msg.get("custom_feature_enabled")
        custom = bool(custom) if custom is not None else None
        operation = str(msg.get("operation", "")).lower()
        if operation == "unsubscribe":
            self.feed.unsubscribe(conn, assets)
        elif operation == "subscribe" or str(msg.get("type", "")).lower() == "market":
            self.feed.subscribe(conn, assets, bool(msg.get("initial_dump", True)), custom)
        else:
            self.feed.malformed += 1

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> dict[str, str]:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await site.start()
        bound = self._runner.addresses[0][1]
        base = f"http://{host}:{bound}"
        self.endpoints = {
            "clob": base,
            "ws": f"ws://{host}:{bound}/ws",
            "gamma": f"{base}/gamma",
            "data": f"{base}/data-api",
            "admin": f"{base}/_sim",
        }
        self._driver = asyncio.create_task(self._drive())
        return self.endpoints

    async def stop(self) -> None:
        if self._driver is not None:
            self._driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._driver
        for conn in list(self.feed.connections.values()):
            self.feed.cut(conn, "shutdown")
        for ws in [*self._sockets.values(), *self._user_sockets.values()]:
            await ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
