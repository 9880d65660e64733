"""The simulator process: one aiohttp server with CLOB REST, the WS market channel, Gamma and the
admin API on one port, and the driver that runs market life on the simulated clock."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random

from aiohttp import WSMsgType, web

from polytui.core.clock import ScaledClock
from polytui.sim import admin, gamma, rest
from polytui.sim.book import to_book
from polytui.sim.divergence import DivergenceTracker, Key
from polytui.sim.exchange import Exchange
from polytui.sim.faults import Faults
from polytui.sim.feed import Connection, MarketFeed
from polytui.sim.life import MarketLife
from polytui.sim.markets import Market
from polytui.sim.messages import Levels
from polytui.sim.ratelimit import RateLimiter, retry_after_header
from polytui.sim.units import tick_str

log = logging.getLogger("polytui.sim")
DRIVER_IDLE_S = 0.002  # longest wall-clock pause of the driver when events are due soon
WS_IDLE_TIMEOUT_S = 60.0  # a market connection that sends nothing for this long is closed
CATCH_UP_CHUNK = 500  # operations run between two yields to the event loop


def client_id(request: web.Request) -> str:
    """Who is asking: ``X-Sim-Client`` (or ``?client=`` on the socket), else the peer address."""
    return (
        request.headers.get("X-Sim-Client")
        or request.query.get("client")
        or (request.remote or "?")
    )


class Simulator:
    def __init__(
        self,
        seed: int = 1,
        markets: int = 20,
        rate: float = 50.0,
        faults: Faults | None = None,
        start_ms: int | None = None,
        time_scale: float = 1.0,
    ) -> None:
        self.seed = seed
        self.clock = ScaledClock(start_ms, time_scale)
        self.exchange = Exchange(self.clock.now_ms())
        self.life = MarketLife(self.exchange, seed, markets, rate)
        self.exchange.outbox.clear()  # the opening books are the start state, not news
        self.fault_rng = random.Random(f"faults:{seed}")
        self.tracker = DivergenceTracker(self._truth_size, self._truth_levels, self.clock.now_ms)
        self.feed = MarketFeed(self.exchange, self.tracker, Faults(), self.fault_rng)
        self.feed.set_faults(faults or Faults())
        self.limiter = RateLimiter()
        self.endpoints: dict[str, str] = {}
        self.http_faults = {"http5xx": 0, "http429": 0, "stale_rest": 0}
        self._driver: asyncio.Task | None = None
        self._runner: web.AppRunner | None = None
        self._sockets: dict[int, web.WebSocketResponse] = {}

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
        """Run market life up to the clock's now and send what it said, yielding to the event
        loop between chunks so sockets and requests are served while simulated hours pass."""
        done = 0
        target = self.clock.now_ms()
        while True:
            ran = self.life.run_until(target, after_each=self.feed.dispatch, limit=CATCH_UP_CHUNK)
            done += ran
            self.feed.dispatch()
            self.feed.due_disconnects()
            if ran < CATCH_UP_CHUNK:
                return done
            await asyncio.sleep(0)

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
            self.tracker.fault(client_id(request), [token], "stale_rest")
        else:
            summary = self.exchange.summary(
                market, token, self.exchange.book_ms[market.condition_id]
            )
            levels = self.exchange.levels(market, token)
        self.tracker.snapshot(client_id(request), token, levels, "rest_snapshot")
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
            "http_faults": dict(self.http_faults),
            "rate_limited": self.limiter.rejected,
        }

    # ---- the server ----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._venue_middleware], client_max_size=4 * 1024 * 1024)
        app[rest.SIM] = self
        app.router.add_get("/ws/market", self._market_socket)
        app.add_routes(admin.routes)
        app.add_routes(gamma.routes)
        app.add_routes(rest.routes)
        return app

    @web.middleware
    async def _venue_middleware(self, request: web.Request, handler):
        """Rate limits and HTTP faults, on the venue's endpoints only (not admin, not sockets)."""
        path = request.path
        if path.startswith(("/_sim", "/ws/")):
            return await handler(request)
        retry = self.limiter.hit(client_id(request), request.method, path)
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
        conn = self.feed.connect(client_id(request))
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
        for ws in list(self._sockets.values()):
            await ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
