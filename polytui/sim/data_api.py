"""The Data API v1 (protocol §7.1) under ``/data-api``: a wallet's trades, activity, positions
and value, as an indexer sees them: a fill shows up ``lag_ms`` of simulated time after it
happened, and a trade that FAILED never shows up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiohttp import web

from polytui.sim.markets import Market
from polytui.sim.rest import error, sim_of
from polytui.sim.trading import Activity
from polytui.sim.units import PRICE_SCALE, SIZE_SCALE

if TYPE_CHECKING:
    from polytui.sim.server import Simulator

routes = web.RouteTableDef()
MAX_LIMIT = 500
MAX_OFFSET = 10_000


class BadQuery(ValueError):
    pass


def visible(sim: Simulator, user: str) -> list[Activity]:
    """The user's fills the index knows by now, oldest first."""
    now = sim.exchange.now_ms - sim.data_lag_ms
    trades = sim.trading.trades
    return [
        row
        for row in sim.trading.activity.get(user, ())
        if row.ts_ms <= now and (not row.trade_id or trades[row.trade_id].status != "FAILED")
    ]


def _int(request: web.Request, name: str, default: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadQuery(f"{name} must be an integer") from None
    if not 0 <= value <= high:
        raise BadQuery(f"{name} must be between 0 and {high}")
    return value


def _user(request: web.Request) -> str:
    user = request.query.get("user", "")
    if not (user.startswith("0x") and len(user) == 42):
        raise BadQuery("user is required: a 0x-prefixed 40-hex-digit address")
    return user.lower()


def _csv(request: web.Request, name: str) -> set[str]:
    return {v for v in request.query.get(name, "").split(",") if v}


def _market_fields(market: Market | None, token: str) -> dict:
    if market is None:
        return {
            "title": "",
            "slug": "",
            "icon": "",
            "eventSlug": "",
            "outcome": "",
            "outcomeIndex": 0,
        }
    yes = market.is_yes(token)
    return {
        "title": market.question,
        "slug": market.slug,
        "icon": "",
        "eventSlug": market.event_slug,
        "outcome": "Yes" if yes else "No",
        "outcomeIndex": 0 if yes else 1,
    }


def _profile(sim: Simulator, user: str) -> dict:
    leader = sim.leaders.by_address.get(user)
    if leader is not None:
        return leader.profile()
    return {"name": "", "pseudonym": "", "bio": "", "profileImage": "", "profileImageOptimized": ""}


def _wallet(sim: Simulator, user: str) -> str:
    return sim.accounts.wallet(user).address if user in sim.accounts.wallets else user


def _trade_row(sim: Simulator, row: Activity) -> dict:
    return {
        "proxyWallet": _wallet(sim, row.address),
        "side": row.side,
        "asset": row.token,
        "conditionId": row.market,
        "size": row.size / SIZE_SCALE,
        "price": row.price / PRICE_SCALE,
        "timestamp": row.ts_ms // 1000,
        **_market_fields(sim.exchange.markets.get(row.market), row.token),
        **_profile(sim, row.address),
        "transactionHash": row.tx,
    }


def _activity_row(sim: Simulator, row: Activity) -> dict:
    out = _trade_row(sim, row)
    out["type"] = "TRADE"
    out["usdcSize"] = row.size * row.price / (SIZE_SCALE * PRICE_SCALE)
    return out


def _answer(fn: Callable[[web.Request, Simulator], list | dict]):
    async def handler(request: web.Request) -> web.Response:
        sim = sim_of(request)
        await sim.catch_up()
        try:
            return web.json_response(fn(request, sim))
        except BadQuery as exc:
            return error(400, str(exc))

    return handler


def _page(request: web.Request, rows: list) -> list:
    limit = _int(request, "limit", 100, MAX_LIMIT)
    offset = _int(request, "offset", 0, MAX_OFFSET)
    return rows[offset : offset + limit]


def _filtered(request: web.Request, rows: list[Activity]) -> list[Activity]:
    markets = _csv(request, "market")
    side = request.query.get("side", "").upper()
    return [r for r in rows if (not markets or r.market in markets) and side in ("", r.side)]


def activity(request: web.Request, sim: Simulator) -> list:
    user = _user(request)
    types = {t.upper() for t in _csv(request, "type")}
    if types and "TRADE" not in types:
        return []  # the simulator's wallets only trade: no splits, merges or rewards
    start = _int(request, "start", 0, 2**40)
    end = _int(request, "end", 2**40, 2**40)
    rows = [r for r in _filtered(request, visible(sim, user)) if start <= r.ts_ms // 1000 <= end]
    key = {
        "TIMESTAMP": lambda r: r.ts_ms,
        "TOKENS": lambda r: r.size,
        "CASH": lambda r: r.size * r.price,
    }.get(request.query.get("sortBy", "TIMESTAMP").upper())
    if key is None:
        raise BadQuery("sortBy must be one of TIMESTAMP, TOKENS, CASH")
    rows.sort(key=key, reverse=request.query.get("sortDirection", "DESC").upper() != "ASC")
    return [_activity_row(sim, r) for r in _page(request, rows)]


def trades(request: web.Request, sim: Simulator) -> list:
    user = _user(request)
    taker_only = request.query.get("takerOnly", "true").lower() != "false"
    rows = [r for r in _filtered(request, visible(sim, user)) if r.taker or not taker_only]
    rows.reverse()  # newest first
    return [_trade_row(sim, r) for r in _page(request, rows)]


def current_price(sim: Simulator, market: Market | None, token: str) -> float:
    """Resolved: 1 or 0. Else the midpoint, or the last trade, or 0.5 for an empty book."""
    if market is None:
        return 0.0
    if market.closed:
        return 1.0 if market.winner == token else 0.0
    bid, ask = sim.exchange.best(market, token)
    if bid is not None and ask is not None:
        return (bid + ask) / 2 / PRICE_SCALE
    last = sim.exchange.last_trade.get(token)
    return last[0] / PRICE_SCALE if last else 0.5


def holdings(sim: Simulator, user: str) -> list[dict]:
    """Positions folded from the indexed fills, average-cost basis."""
    book: dict[str, dict] = {}
    for row in visible(sim, user):
        pos = book.setdefault(
            row.token,
            {"market": row.market, "size": 0, "cost": 0.0, "bought": 0, "realized": 0.0},
        )
        usd = row.size * row.price / (SIZE_SCALE * PRICE_SCALE)
        if row.side == "BUY":
            pos["size"] += row.size
            pos["cost"] += usd
            pos["bought"] += row.size
        elif pos["size"] > 0:
            sold = min(row.size, pos["size"])
            basis = pos["cost"] * sold / pos["size"]
            pos["realized"] += usd * sold / row.size - basis
            pos["cost"] -= basis
            pos["size"] -= sold
    out = []
    for token, pos in book.items():
        market = sim.exchange.markets.get(pos["market"])
        size = pos["size"] / SIZE_SCALE
        price = current_price(sim, market, token)
        value = size * price
        initial = pos["cost"]
        other = (
            ""
            if market is None
            else (market.no_token if market.is_yes(token) else market.yes_token)
        )
        fields = _market_fields(market, token)
        out.append(
            {
                "proxyWallet": _wallet(sim, user),
                "asset": token,
                "conditionId": pos["market"],
                "size": size,
                "avgPrice": initial / size if size else 0.0,
                "initialValue": initial,
                "currentValue": value,
                "cashPnl": value - initial,
                "percentPnl": (value - initial) / initial * 100 if initial else 0.0,
                "totalBought": pos["bought"] / SIZE_SCALE,
                "realizedPnl": pos["realized"],
                "percentRealizedPnl": pos["realized"] / initial * 100 if initial else 0.0,
                "curPrice": price,
                "redeemable": bool(market and market.closed),
                "mergeable": False,
                **fields,
                "oppositeOutcome": "No" if fields["outcome"] == "Yes" else "Yes",
                "oppositeAsset": other,
                "endDate": datetime.fromtimestamp(market.end_ms / 1000, UTC).strftime("%Y-%m-%d")
                if market
                else "",
                "negativeRisk": bool(market and market.neg_risk),
            }
        )
    return out


SORTS = {
    "CURRENT": "currentValue",
    "INITIAL": "initialValue",
    "TOKENS": "size",
    "CASHPNL": "cashPnl",
    "PERCENTPNL": "percentPnl",
    "TITLE": "title",
    "PRICE": "curPrice",
    "AVGPRICE": "avgPrice",
}


def positions(request: web.Request, sim: Simulator) -> list:
    user = _user(request)
    markets = _csv(request, "market")
    try:
        threshold = float(request.query.get("sizeThreshold", "1"))
    except ValueError:
        raise BadQuery("sizeThreshold must be a number") from None
    rows = [
        p
        for p in holdings(sim, user)
        if p["size"] >= threshold and p["size"] > 0 and (not markets or p["conditionId"] in markets)
    ]
    field = SORTS.get(request.query.get("sortBy", "TOKENS").upper())
    if field is None:
        raise BadQuery(f"sortBy must be one of {', '.join(SORTS)}")
    rows.sort(
        key=lambda p: p[field], reverse=request.query.get("sortDirection", "DESC").upper() != "ASC"
    )
    return _page(request, rows)


def value(request: web.Request, sim: Simulator) -> list:
    user = _user(request)
    total = sum(p["currentValue"] for p in holdings(sim, user))
    return [{"user": _wallet(sim, user), "value": total}]


routes.get("/data-api/activity")(_answer(activity))
routes.get("/data-api/trades")(_answer(trades))
routes.get("/data-api/positions")(_answer(positions))
routes.get("/data-api/value")(_answer(value))
