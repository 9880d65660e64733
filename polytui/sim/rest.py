"""CLOB REST, public market data (protocol §2), with the venue's exact shapes and errors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from aiohttp import web

from polytui.sim.markets import MINUTE, Market
from polytui.sim.units import PRICE_SCALE, price_str, tick_float

if TYPE_CHECKING:
    from polytui.sim.server import Simulator

routes = web.RouteTableDef()
SIM: web.AppKey = web.AppKey("sim")
PAGE = 1000  # CLOB market listings, per page
END_CURSOR = "LTE="


def sim_of(request: web.Request) -> Simulator:
    return request.app[SIM]


def client_of(request: web.Request) -> str:
    """Who is asking: ``X-Sim-Client`` (or ``?client=`` on a socket), else the peer address."""
    return (
        request.headers.get("X-Sim-Client")
        or request.query.get("client")
        or (request.remote or "?")
    )


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def json_body(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="application/json")


def token_arg(
    request: web.Request, name: str = "token_id"
) -> tuple[str | None, web.Response | None]:
    token = request.query.get(name, "")
    if not token or not token.isdigit():
        return None, error(400, "Invalid token id")
    return token, None


def book_market(sim: Simulator, token: str) -> Market | None:
    market = sim.exchange.market_of(token)
    if market is None or market.closed or not market.enable_order_book:
        return None
    return market


async def read_json_list(request: web.Request) -> list[dict] | None:
    try:
        body = json.loads(await request.text() or "null")
    except ValueError:
        return None
    if not isinstance(body, list) or not all(isinstance(x, dict) for x in body):
        return None
    return body


# ---- health, time, version -----------------------------------------------------------------


@routes.get("/")
@routes.get("/ok")
async def ok(request: web.Request) -> web.Response:
    return web.json_response("OK")


@routes.get("/time")
async def server_time(request: web.Request) -> web.Response:
    return json_body(str(sim_of(request).clock.now_ms() // 1000))


@routes.get("/version")
async def version(request: web.Request) -> web.Response:
    return web.json_response({"version": 2})


# ---- books -------------------------------------------------------------------------------


@routes.get("/book")
async def book(request: web.Request) -> web.Response:
    token, bad = token_arg(request)
    if bad:
        return bad
    sim = sim_of(request)
    market = book_market(sim, token)
    if market is None:
        return error(404, "No orderbook exists for the requested token id")
    return web.json_response(sim.serve_book(request, market, token))


@routes.post("/books")
async def books(request: web.Request) -> web.Response:
    body = await read_json_list(request)
    if body is None or not all(str(x.get("token_id", "")).isdigit() for x in body):
        return error(400, "Invalid payload")
    if len(body) > 500:
        return error(400, "Payload exceeds the limit")
    sim = sim_of(request)
    out = []
    for item in body:
        token = str(item["token_id"])
        market = book_market(sim, token)
        if market is not None:
            out.append(sim.serve_book(request, market, token))
    return web.json_response(out)


def _best(sim: Simulator, token: str, side: str) -> str | None:
    market = book_market(sim, token)
    if market is None:
        return None
    bid, ask = sim.exchange.best(market, token)
    value = bid if side == "BUY" else ask
    return price_str(value) if value is not None else "0"


@routes.get("/price")
async def price(request: web.Request) -> web.Response:
    token, bad = token_arg(request)
    if bad:
        return bad
    side = request.query.get("side", "").upper()
    if side not in ("BUY", "SELL"):
        return error(400, "Invalid side")
    value = _best(sim_of(request), token, side)
    if value is None:
        return error(404, "No orderbook exists for the requested token id")
    return web.json_response({"price": value})


@routes.post("/prices")
async def prices(request: web.Request) -> web.Response:
    body = await read_json_list(request)
    if body is None:
        return error(400, "Invalid payload")
    sim = sim_of(request)
    out: dict[str, dict[str, str]] = {}
    for item in body:
        token, side = str(item.get("token_id", "")), str(item.get("side", "")).upper()
        if side not in ("BUY", "SELL"):
            return error(400, "Invalid side")
        value = _best(sim, token, side)
        if value is not None:
            out.setdefault(token, {})[side] = value
    return web.json_response(out)


def _mid(sim: Simulator, token: str) -> str | None:
    market = book_market(sim, token)
    if market is None:
        return None
    bid, ask = sim.exchange.best(market, token)
    if bid is None or ask is None:
        return "0"
    return format((Decimal(bid + ask) / 2 / PRICE_SCALE).normalize(), "f")


def _spread(sim: Simulator, token: str) -> str | None:
    market = book_market(sim, token)
    if market is None:
        return None
    bid, ask = sim.exchange.best(market, token)
    return price_str(ask - bid) if bid is not None and ask is not None else "0"


def _single(name: str, key: str, fn):
    async def handler(request: web.Request) -> web.Response:
        token, bad = token_arg(request)
        if bad:
            return bad
        value = fn(sim_of(request), token)
        if value is None:
            return error(404, "No orderbook exists for the requested token id")
        return web.json_response({key: value})

    async def batch(request: web.Request) -> web.Response:
        body = await read_json_list(request)
        if body is None:
            return error(400, "Invalid payload")
        sim = sim_of(request)
        out = {}
        for item in body:
            token = str(item.get("token_id", ""))
            value = fn(sim, token)
            if value is not None:
                out[token] = value
        return web.json_response(out)

    routes.get(f"/{name}")(handler)
    routes.post(f"/{name}s")(batch)


_single("midpoint", "mid", _mid)
_single("spread", "spread", _spread)


@routes.get("/tick-size")
async def tick_size(request: web.Request) -> web.Response:
    token, bad = token_arg(request)
    if bad:
        return bad
    market = sim_of(request).exchange.market_of(token)
    if market is None:
        return error(404, "market not found")
    return web.json_response({"minimum_tick_size": tick_float(market.tick)})


@routes.get("/neg-risk")
async def neg_risk(request: web.Request) -> web.Response:
    token, bad = token_arg(request)
    if bad:
        return bad
    market = sim_of(request).exchange.market_of(token)
    if market is None:
        return error(404, "market not found")
    return web.json_response({"neg_risk": market.neg_risk})


@routes.get("/fee-rate")
async def fee_rate(request: web.Request) -> web.Response:
    token, bad = token_arg(request)
    if bad:
        return bad
    if sim_of(request).exchange.market_of(token) is None:
        return error(404, "market not found")
    return web.json_response({"base_fee": 0})


def _last_trade(sim: Simulator, token: str) -> dict[str, str]:
    last = sim.exchange.last_trade.get(token)
    if last is None:
        return {"price": "0", "side": ""}
    return {"price": price_str(last[0]), "side": last[1]}


@routes.get("/last-trade-price")
async def last_trade_price(request: web.Request) -> web.Response:
    token, bad = token_arg(request)
    if bad:
        return bad
    sim = sim_of(request)
    if sim.exchange.market_of(token) is None:
        return error(404, "market not found")
    return web.json_response(_last_trade(sim, token))


@routes.post("/last-trades-prices")
async def last_trades_prices(request: web.Request) -> web.Response:
    body = await read_json_list(request)
    if body is None:
        return error(400, "Invalid payload")
    sim = sim_of(request)
    out = []
    for item in body:
        token = str(item.get("token_id", ""))
        if token in sim.exchange.last_trade:
            out.append({"token_id": token, **_last_trade(sim, token)})
    return web.json_response(out)


INTERVALS = {"1m": 60, "1h": 3600, "6h": 6 * 3600, "1d": 86400, "1w": 7 * 86400}


@routes.get("/prices-history")
async def prices_history(request: web.Request) -> web.Response:
    token, bad = token_arg(request, "market")
    if bad:
        return bad
    sim = sim_of(request)
    q = request.query
    now_s = sim.clock.now_ms() // 1000
    try:
        if "startTs" in q or "endTs" in q:
            start, end = int(q.get("startTs", 0)), int(q.get("endTs", now_s))
        elif q.get("interval", "max") == "max":
            start, end = 0, now_s
        elif q["interval"] in INTERVALS:
            start, end = now_s - INTERVALS[q["interval"]], now_s
        else:
            return error(400, "invalid interval")
        fidelity = max(1, int(q.get("fidelity", 1)))
    except ValueError:
        return error(400, "invalid filters")
    minutes = sim.exchange.history.get(token, {})
    points: dict[int, int] = {}
    for minute in sorted(minutes):
        t = minute * MINUTE // 1000
        if start <= t <= end:
            points[t - t % (fidelity * 60)] = minutes[minute]
    return web.json_response(
        {"history": [{"t": t, "p": float(price_str(p))} for t, p in points.items()]}
    )


# ---- market listings -----------------------------------------------------------------------


def clob_market(sim: Simulator, m: Market) -> dict:
    last_yes = sim.exchange.last_trade.get(m.yes_token)
    yes_price = last_yes[0] / PRICE_SCALE if last_yes else round(m.fair, 4)
    return {
        "condition_id": m.condition_id,
        "question_id": m.question_id,
        "question": m.question,
        "description": f"Resolves Yes if: {m.question}",
        "market_slug": m.slug,
        "end_date_iso": iso(m.end_ms),
        "game_start_time": None,
        "seconds_delay": 0,
        "active": m.active,
        "closed": m.closed,
        "archived": m.archived,
        "accepting_orders": m.accepting_orders,
        "accepting_order_timestamp": iso(m.created_ms),
        "enable_order_book": m.enable_order_book,
        "minimum_order_size": m.min_size,
        "minimum_tick_size": tick_float(m.tick),
        "maker_base_fee": 0,
        "taker_base_fee": 0,
        "neg_risk": m.neg_risk,
        "neg_risk_market_id": m.neg_risk_market_id,
        "neg_risk_request_id": m.question_id if m.neg_risk else "",
        "notifications_enabled": True,
        "is_50_50_outcome": False,
        "fpmm": "",
        "icon": "",
        "image": "",
        "rewards": {"rates": None, "min_size": 0, "max_spread": 0},
        "tokens": [
            {
                "token_id": m.yes_token,
                "outcome": "Yes",
                "price": round(yes_price, 4),
                "winner": m.winner == m.yes_token,
            },
            {
                "token_id": m.no_token,
                "outcome": "No",
                "price": round(1 - yes_price, 4),
                "winner": m.winner == m.no_token,
            },
        ],
        "tags": [m.category],
    }


def simplified(sim: Simulator, m: Market) -> dict:
    full = clob_market(sim, m)
    keys = ("condition_id", "tokens", "rewards", "active", "closed", "archived", "accepting_orders")
    return {k: full[k] for k in keys}


def iso(ms: int) -> str:
    """Epoch ms as ISO 8601 to the second, ``Z``-suffixed."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(ms: int) -> str:
    """Epoch ms as ISO 8601 to the millisecond, ``Z``-suffixed (Gamma's timestamps)."""
    return (
        datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{ms % 1000:03d}Z"
    )


def encode_cursor(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode()


def page(request: web.Request, rows: list[dict], size: int | None = None) -> web.Response:
    """One page of the CLOB envelope: the cursor is the base64 of an offset, ``LTE=`` ends.
    ``size`` defaults to the market listings' ``PAGE``."""
    size = size or PAGE
    try:
        offset = int(base64.b64decode(request.query.get("next_cursor", "MA==") or "MA==").decode())
    except ValueError:
        return error(400, "invalid next_cursor")
    if offset < 0:
        return web.json_response({"limit": size, "count": 0, "next_cursor": END_CURSOR, "data": []})
    chunk = rows[offset : offset + size]
    nxt = END_CURSOR if offset + size >= len(rows) else encode_cursor(offset + size)
    return web.json_response(
        {"limit": size, "count": len(chunk), "next_cursor": nxt, "data": chunk}
    )


def _listing(path: str, row, only_sampling: bool):
    async def handler(request: web.Request) -> web.Response:
        sim = sim_of(request)
        markets = [m for m in sim.exchange.markets.values() if not only_sampling or m.tradable]
        return page(request, [row(sim, m) for m in markets])

    routes.get(path)(handler)


_listing("/markets", clob_market, False)
_listing("/simplified-markets", simplified, False)
_listing("/sampling-markets", clob_market, True)
_listing("/sampling-simplified-markets", simplified, True)


@routes.get("/markets/{condition_id}")
async def market(request: web.Request) -> web.Response:
    sim = sim_of(request)
    m = sim.exchange.markets.get(request.match_info["condition_id"])
    if m is None:
        return error(404, "market not found")
    return web.json_response(clob_market(sim, m))


@routes.get("/markets-by-token/{token_id}")
async def market_by_token(request: web.Request) -> web.Response:
    sim = sim_of(request)
    m = sim.exchange.market_of(request.match_info["token_id"])
    if m is None:
        return error(404, "market not found")
    return web.json_response(
        {
            "condition_id": m.condition_id,
            "primary_token_id": m.yes_token,
            "secondary_token_id": m.no_token,
        }
    )


@routes.get("/clob-markets/{condition_id}")
async def clob_market_info(request: web.Request) -> web.Response:
    m = sim_of(request).exchange.markets.get(request.match_info["condition_id"])
    if m is None:
        return error(404, "market not found")
    return web.json_response(
        {
            "c": m.condition_id,
            "t": [{"t": m.yes_token, "o": "Yes"}, {"t": m.no_token, "o": "No"}],
            "mts": tick_float(m.tick),
            "nr": m.neg_risk,
            "fd": {"r": 0, "e": 1, "to": True},
            "mbf": 0,
            "tbf": 0,
        }
    )


@routes.get("/fees/builder-fees/{code}")
async def builder_fees(request: web.Request) -> web.Response:
    return web.json_response({"builder_maker_fee_rate_bps": 0, "builder_taker_fee_rate_bps": 0})
