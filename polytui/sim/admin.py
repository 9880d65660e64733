"""The simulator's own API under ``/_sim``: truth, clock, faults, market control, divergence."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import TYPE_CHECKING

from aiohttp import web

from polytui.sim.faults import FaultSpecError
from polytui.sim.rest import error, sim_of
from polytui.sim.units import SIZE_SCALE, TICKS, parse_size, size_str

if TYPE_CHECKING:
    pass

routes = web.RouteTableDef()


async def body_dict(request: web.Request) -> dict | None:
    try:
        body = json.loads(await request.text() or "{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


@routes.get("/_sim/endpoints")
async def endpoints(request: web.Request) -> web.Response:
    return web.json_response(sim_of(request).endpoints)


@routes.get("/_sim/clock")
async def clock(request: web.Request) -> web.Response:
    return web.json_response(sim_of(request).clock_state())


@routes.post("/_sim/clock")
async def set_clock(request: web.Request) -> web.Response:
    """``{"advance_ms": N}`` runs N simulated ms of market life before answering;
    ``{"scale": X}`` sets the speed (0 stops the clock)."""
    body = await body_dict(request)
    if body is None:
        return error(400, "expected a JSON object")
    sim = sim_of(request)
    try:
        if "scale" in body:
            sim.clock.set_scale(float(body["scale"]))
        if "advance_ms" in body:
            sim.clock.advance(int(body["advance_ms"]))
    except (TypeError, ValueError) as exc:
        return error(400, str(exc))
    await sim.catch_up()
    return web.json_response(sim.clock_state())


@routes.get("/_sim/journal")
async def journal(request: web.Request) -> web.Response:
    """The first market messages since start (``offset``, ``limit``), as sent before faults."""
    frames = sim_of(request).feed.journal
    try:
        offset = max(0, int(request.query.get("offset", 0)))
        limit = max(0, int(request.query.get("limit", 1000)))
    except ValueError:
        return error(400, "offset and limit must be integers")
    body = b"[" + b",".join(frames[offset : offset + limit]) + b"]"
    return web.Response(
        body=b'{"total":%d,"frames":%s}' % (len(frames), body), content_type="application/json"
    )


@routes.get("/_sim/book")
async def truth_book(request: web.Request) -> web.Response:
    sim = sim_of(request)
    token = request.query.get("token_id", "")
    market = sim.exchange.market_of(token)
    if market is None:
        return error(404, "unknown token")
    return web.json_response(
        sim.exchange.summary(market, token, sim.exchange.book_ms[market.condition_id])
    )


@routes.get("/_sim/books")
async def truth_books(request: web.Request) -> web.Response:
    sim = sim_of(request)
    ex = sim.exchange
    out = {
        token: ex.summary(m, token, ex.book_ms[m.condition_id])
        for m in ex.markets.values()
        if not m.closed
        for token in m.tokens
    }
    return web.json_response(out)


@routes.get("/_sim/markets")
async def markets(request: web.Request) -> web.Response:
    return web.json_response(
        [sim_of(request).market_state(m) for m in sim_of(request).exchange.markets.values()]
    )


@routes.post("/_sim/markets")
async def open_markets(request: web.Request) -> web.Response:
    """``{"action": "open", "size": N}`` opens an event of N markets (1 to 5) now, each
    announced with ``new_market``; answers their states."""
    sim = sim_of(request)
    body = await body_dict(request)
    if body is None or body.get("action") != "open":
        return error(400, 'action must be "open"')
    size = body.get("size", 1)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 5:
        return error(400, "size must be an integer from 1 to 5")
    sim.exchange.now_ms = max(sim.exchange.now_ms, sim.clock.now_ms())
    opened = sim.life.open_event(size)
    sim.life.invalidate()
    sim.feed.dispatch()
    return web.json_response([sim.market_state(m) for m in opened])


@routes.post("/_sim/markets/{condition_id}")
async def control_market(request: web.Request) -> web.Response:
    """Body ``{"action": "pause"|"resume"|"end"|"resolve"|"tick"}``, with ``"winner": "yes"|"no"``
    for resolve and ``"tick": "0.001"`` for tick."""
    sim = sim_of(request)
    market = sim.exchange.markets.get(request.match_info["condition_id"])
    body = await body_dict(request)
    if market is None:
        return error(404, "market not found")
    if body is None or body.get("action") not in ("pause", "resume", "end", "resolve", "tick"):
        return error(400, "action must be one of pause, resume, end, resolve, tick")
    action = body["action"]
    if market.closed and action != "resolve":
        return error(400, "market is closed")
    sim.exchange.now_ms = max(sim.exchange.now_ms, sim.clock.now_ms())
    if action in ("pause", "resume", "end"):
        sim.exchange.set_accepting(market, action == "resume")
        if action == "end":
            market.end_ms = sim.exchange.now_ms
    elif action == "resolve":
        if market.closed:
            return error(400, "market is already resolved")
        sim.life.resolve(market, str(body.get("winner", "yes")).lower() == "yes")
    else:
        tick = str(body.get("tick", ""))
        if tick not in TICKS:
            return error(400, f"tick must be one of {', '.join(TICKS)}")
        sim.exchange.set_tick(market, TICKS[tick])
    sim.life.invalidate()
    sim.feed.dispatch()
    return web.json_response(sim.market_state(market))


@routes.get("/_sim/faults")
async def faults(request: web.Request) -> web.Response:
    sim = sim_of(request)
    return web.json_response({**sim.feed.faults.as_dict(), "frozen": sorted(sim.feed.frozen)})


@routes.post("/_sim/faults")
async def set_faults(request: web.Request) -> web.Response:
    """Partial update, e.g. ``{"drop": 0.05}``; ``{"frozen": [ids]}`` freezes just those tokens."""
    body = await body_dict(request)
    if body is None:
        return error(400, "expected a JSON object")
    sim = sim_of(request)
    frozen = body.pop("frozen", None)
    try:
        new = sim.feed.faults.updated(body)
    except FaultSpecError as exc:
        return error(400, str(exc))
    if frozen is not None:
        if not isinstance(frozen, list) or not all(isinstance(t, str) for t in frozen):
            return error(400, "frozen must be a list of token ids")
        new = new.updated({"freeze": len(frozen)})
        sim.feed.frozen = set(frozen)
    sim.set_faults(new)
    return web.json_response({**sim.feed.faults.as_dict(), "frozen": sorted(sim.feed.frozen)})


@routes.post("/_sim/disconnect")
async def disconnect(request: web.Request) -> web.Response:
    """Cut connections now: ``{"channel": "market"|"user"|"all"}`` (default market), optionally
    only those of ``{"client": ...}``. Answers the ids cut, per channel."""
    body = await body_dict(request) or {}
    channel = body.get("channel", "market")
    if channel not in ("market", "user", "all"):
        return error(400, "channel must be one of market, user, all")
    sim = sim_of(request)
    client = body.get("client")
    cut: list[int] = []
    if channel in ("market", "all"):
        cut = [c.id for c in list(sim.feed.connections.values()) if client in (None, c.client)]
        for conn_id in cut:
            sim.feed.cut(sim.feed.connections[conn_id], "fault_disconnect")
    user_cut: list[int] = []
    if channel in ("user", "all"):
        conns = [c for c in sim.user_feed.connections.values() if client in (None, c.client)]
        for conn in conns:
            conn.closed = "fault_disconnect"
        user_cut = [c.id for c in conns]
        sockets = [sim._user_sockets[c.id] for c in conns if c.id in sim._user_sockets]
        await asyncio.gather(*(ws.close(code=1001) for ws in sockets))
    return web.json_response({"disconnected": cut, "user_disconnected": user_cut})


@routes.get("/_sim/orders")
async def orders(request: web.Request) -> web.Response:
    """Every order received, accepted or not, oldest first (``?signer=``, ``?status=``, the
    answer it got; ``?state=``, where it stands now: ``LIVE``, ``MATCHED``, ``CANCELED``...,
    empty for a rejected one)."""
    q = request.query
    sim = sim_of(request)
    rows = []
    for o in sim.trading.received:
        record = sim.trading.orders.get(o["order_id"]) if o["status"] != "rejected" else None
        row = {**o, "state": record.status if record is not None else ""}
        if (
            q.get("signer", "").lower() in ("", o["signer"].lower())
            and q.get("status", "") in ("", o["status"])
            and q.get("state", "") in ("", row["state"])
        ):
            rows.append(row)
    return web.json_response(rows)


@routes.get("/_sim/trades")
async def trades(request: web.Request) -> web.Response:
    return web.json_response(
        [
            {**t.wire(t.taker_address.lower()), "parties": sorted(t.parties)}
            for t in sim_of(request).trading.trades.values()
        ]
    )


@routes.post("/_sim/trades/{trade_id}")
async def control_trade(request: web.Request) -> web.Response:
    """``{"action": "fail"}``: the trade goes RETRYING -> FAILED now."""
    sim = sim_of(request)
    trade = sim.trading.trades.get(request.match_info["trade_id"])
    body = await body_dict(request)
    if trade is None:
        return error(404, "trade not found")
    if body is None or body.get("action") != "fail":
        return error(400, 'action must be "fail"')
    await sim.catch_up()
    if not sim.trading.fail(trade):
        return error(400, f"trade is already {trade.status}")
    sim.flush()
    return web.json_response({"id": trade.trade_id, "status": trade.status})


def wallet_state(sim, address: str) -> dict:
    wallet = sim.accounts.wallets[address]
    return {
        "address": wallet.address,
        "usd": size_str(wallet.usd) if wallet.usd >= 0 else f"-{size_str(-wallet.usd)}",
        "locked_usd": size_str(sim.trading.locked_usd(address)),
        "allowance": str(wallet.allowance),
        "positions": {t: size_str(s) for t, s in wallet.positions.items() if s},
        "leader": address in sim.leaders.by_address,
    }


@routes.get("/_sim/wallets")
async def wallets(request: web.Request) -> web.Response:
    sim = sim_of(request)
    return web.json_response([wallet_state(sim, a) for a in sim.accounts.wallets])


@routes.post("/_sim/wallets/{address}")
async def set_wallet(request: web.Request) -> web.Response:
    """``{"usd": "250", "allowance": "0", "positions": {"<token>": "10"}}``, any subset."""
    sim = sim_of(request)
    address = request.match_info["address"]
    body = await body_dict(request)
    if body is None or not (address.startswith("0x") and len(address) == 42):
        return error(400, "expected a 0x address and a JSON object")
    wallet = sim.accounts.wallet(address)
    try:
        if "usd" in body:
            wallet.usd = parse_size(str(body["usd"]))
        if "allowance" in body:
            wallet.allowance = int(Decimal(str(body["allowance"])) * SIZE_SCALE)
        for token, shares in (body.get("positions") or {}).items():
            wallet.positions[str(token)] = parse_size(str(shares))
    except (ValueError, ArithmeticError, AttributeError) as exc:
        return error(400, f"bad amount: {exc}")
    return web.json_response(wallet_state(sim, address.lower()))


@routes.get("/_sim/leaders")
async def leaders(request: web.Request) -> web.Response:
    sim = sim_of(request)
    return web.json_response(
        [
            {
                "address": leader.address,
                "owner": leader.owner,
                "style": leader.style.name,
                **leader.profile(),
                "mean_usd": leader.style.mean_usd,
                "trades_per_hour": leader.style.per_hour,
                "categories": list(leader.style.categories),
                "skill": leader.style.skill,
                "fills": len(sim.trading.activity.get(leader.key, ())),
            }
            for leader in sim.leaders.leaders
        ]
    )


@routes.get("/_sim/divergence")
async def divergence(request: web.Request) -> web.Response:
    return web.json_response(sim_of(request).tracker.report())


@routes.get("/_sim/stats")
async def stats(request: web.Request) -> web.Response:
    return web.json_response(sim_of(request).stats())
