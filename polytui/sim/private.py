"""CLOB REST, authenticated: API keys (L1), orders, cancels, queries, balances, heartbeats (L2).

Protocol §3, §4.5-§4.11. Every L2 call verifies the HMAC over the raw body as received.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from polytui.sim.accounts import ApiKey, AuthError
from polytui.sim.orders import PAYLOAD_ERROR, OrderRejected, parse_submission
from polytui.sim.rest import client_of, error, page, sim_of
from polytui.sim.signatures import EXCHANGE_V2, NEG_RISK_EXCHANGE_V2

if TYPE_CHECKING:
    from polytui.sim.server import Simulator

routes = web.RouteTableDef()
MAX_BATCH = 15  # POST /orders (protocol §4.6)
MAX_CANCEL_BATCH = 3000
PAGE = 100  # /data/orders and /data/trades
NEG_RISK_ADAPTER = "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296"

Handler = Callable[[web.Request, "Simulator", ApiKey, bytes], Awaitable[web.Response]]


def l2(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Verify the L2 headers, bring the exchange to now, then run ``handler``; afterwards send
    what the market and user channels have to say about it."""

    async def wrapped(request: web.Request) -> web.Response:
        sim = sim_of(request)
        body = await request.read()
        try:
            key = sim.accounts.check_l2(
                request.headers, request.method, request.path, body, sim.auth_nows()
            )
        except AuthError as exc:
            return error(exc.status, str(exc))
        await sim.catch_up()
        try:
            return await handler(request, sim, key, body)
        finally:
            sim.flush()

    return wrapped


def loads(body: bytes) -> object:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


# ---- API keys (L1) -------------------------------------------------------------------------


async def _creds(request: web.Request, create: bool) -> web.Response:
    sim = sim_of(request)
    try:
        address, nonce = sim.accounts.check_l1(request.headers, sim.auth_nows())
    except AuthError as exc:
        return error(exc.status, str(exc))
    if create:
        key = sim.accounts.create(address, nonce)
        failure = "Could not create api key"  # it exists: the clients then derive
    else:
        key = sim.accounts.derive(address, nonce)
        failure = "Could not derive api key!"
    return error(400, failure) if key is None else web.json_response(key.creds())


@routes.post("/auth/api-key")
async def create_api_key(request: web.Request) -> web.Response:
    return await _creds(request, create=True)


@routes.get("/auth/derive-api-key")
async def derive_api_key(request: web.Request) -> web.Response:
    return await _creds(request, create=False)


@routes.get("/auth/api-keys")
@l2
async def api_keys(request: web.Request, sim: Simulator, key: ApiKey, body: bytes):
    return web.json_response({"apiKeys": [k.key for k in sim.accounts.of_address(key.address)]})


@routes.delete("/auth/api-key")
@l2
async def delete_api_key(request: web.Request, sim: Simulator, key: ApiKey, body: bytes):
    sim.accounts.delete(key)
    return web.json_response("OK")


@routes.get("/auth/ban-status/closed-only")
@l2
async def closed_only(request: web.Request, sim: Simulator, key: ApiKey, body: bytes):
    return web.json_response({"closed_only": False})


# ---- orders --------------------------------------------------------------------------------


def _submit(sim: Simulator, key: ApiKey, item: object, client: str) -> tuple[int, dict]:
    try:
        return 200, sim.trading.submit(key, parse_submission(item), client)
    except OrderRejected as exc:
        return exc.status, {"error": exc.message}


@routes.post("/order")
@l2
async def post_order(request: web.Request, sim: Simulator, key: ApiKey, body: bytes):
    status, answer = _submit(sim, key, loads(body), client_of(request))
    if status == 200:
        faulted = sim.order_fault(request)
        if faulted is not None:
            return faulted
    return web.json_response(answer, status=status)


@routes.post("/orders")
@l2
async def post_orders(request: web.Request, sim: Simulator, key: ApiKey, body: bytes):
    items = loads(body)
    if not isinstance(items, list):
        return error(400, PAYLOAD_ERROR)
    if len(items) > MAX_BATCH:
        return error(400, f"Too many orders in payload: {len(items)}, max allowed: {MAX_BATCH}")
    answers = []
    for item in items:
        status, answer = _submit(sim, key, item, client_of(request))
        if status != 200:
            answer = {
                "success": False,
                "errorMsg": answer["error"],
                "orderID": "",
                "status": "",
                "makingAmount": "",
                "takingAmount": "",
                "transactionsHashes": [],
                "tradeIDs": [],
            }
        answers.append(answer)
    faulted = sim.order_fault(request)
    if faulted is not None and any(a["success"] for a in answers):
        return faulted
    return web.json_response(answers)


# ---- cancels -------------------------------------------------------------------------------


@routes.delete("/order")
@l2
async def cancel_order(request: web.Request, sim: Simulator, key: ApiKey, body: bytes):
    payload = loads(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("orderID"), str):
        return error(400, "Invalid payload")
    return web.json_response(sim.trading.cancel(sim.funder_of(key), [payload["orderID"]]))


@routes.delete("/orders")
@l2
async def cancel_orders(request: web.Request, sim: Simulator, key: ApiKey, body: bytes):
    ids = loads(body)
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return error(400, "Invalid payload")
    if len(ids) > MAX_CANCEL_BATCH:
        return error(400, f"Too many orders in payload, max allowed: {MAX_CANCEL_BATCH}")
    return web.json_response(sim.trading.cancel(sim.funder_of(key), ids))


@routes.delete("/cancel-all")
@l2
async def cancel_all(request: web.Request, sim: Simulator, key: ApiKey, body: bytes):
    return web.json_response(sim.trading.cancel_where(sim.funder_of(key)))


@routes.delete("/cancel-market-orders")
@l2
async def cancel_market_orders(request: web.Request, sim: Simulator, key: ApiKey, body: bytes):
    payload = loads(body)
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        return error(400, "Invalid payload")
    market, asset = str(payload.get("market") or ""), str(payload.get("asset_id") or "")
    if not market and not asset:
        return error(400, "Invalid payload")
    return web.json_response(sim.trading.cancel_where(sim.funder_of(key), market, asset))


# ---- queries -------------------------------------------------------------------------------


@routes.get("/data/orders")
@l2
async def open_orders(request: web.Request, sim: Simulator, key: ApiKey, body: bytes):
    q = request.query
    rows = [
        r.wire()
        for r in sim.trading.live_orders(sim.funder_of(key))
        if q.get("market", r.market) in ("", r.market)
        and q.get("asset_id", r.token) in ("", r.token)
        and q.get("id", r.order_id) in ("", r.order_id)
    ]
    return page(request, rows, PAGE)


@routes.get("/data/order/{order_id}")
@l2
async def one_order(request: web.Request, sim: Simulator, key: ApiKey, body: bytes):
    rec = sim.trading.orders.get(request.match_info["order_id"])
    if rec is None or rec.address != sim.funder_of(key):
        return web.json_response(None)
    return web.json_response(rec.wire())


@routes.get("/data/trades")
@routes.get("/trades")
@l2
async def trades(request: web.Request, sim: Simulator, key: ApiKey, body: bytes):
    q = request.query
    me = sim.funder_of(key)
    try:
        before = int(q["before"]) if q.get("before") else None
        after = int(q["after"]) if q.get("after") else None
    except ValueError:
        return error(400, "invalid before/after")
    who = (q.get("maker_address") or me).lower()
    if who != me:
        who = ""  # another wallet's trades are not this key's to read
    rows = [
        t.wire(me)
        for t in sim.trading.trades.values()
        if who in t.parties
        and q.get("id", t.trade_id) in ("", t.trade_id)
        and q.get("market", t.market) in ("", t.market)
        and q.get("asset_id", t.token) in ("", t.token)
        and (before is None or t.match_ms // 1000 < before)
        and (after is None or t.match_ms // 1000 > after)
    ]
    return page(request, rows, PAGE)


# ---- balances, heartbeats, notifications ---------------------------------------------------


@routes.get("/balance-allowance")
@routes.get("/balance-allowance/update")
@l2
async def balance_allowance(request: web.Request, sim: Simulator, key: ApiKey, body: bytes):
    asset_type = request.query.get("asset_type", "COLLATERAL").upper()
    wallet = sim.accounts.wallet(sim.funder_of(key))
    if asset_type == "COLLATERAL":
        balance = wallet.usd
    elif asset_type in ("CONDITIONAL", "CONDITIONAL-V2"):
        token = request.query.get("token_id", "")
        if not token.isdigit():
            return error(400, "Invalid token id")
        balance = wallet.positions.get(token, 0)
    else:
        return error(400, "invalid asset type")
    allowance = str(wallet.allowance)
    return web.json_response(
        {
            "balance": str(balance),
            "allowance": allowance,
            "allowances": {
                EXCHANGE_V2: allowance,
                NEG_RISK_EXCHANGE_V2: allowance,
                NEG_RISK_ADAPTER: allowance,
            },
        }
    )


@routes.post("/v1/heartbeats")
@l2
async def heartbeats(request: web.Request, sim: Simulator, key: ApiKey, body: bytes):
    payload = loads(body)
    beat = payload.get("heartbeat_id") if isinstance(payload, dict) else None
    if beat is not None and not isinstance(beat, str):
        return error(400, "Invalid payload")
    status, answer = sim.trading.heartbeat(sim.funder_of(key), beat or None)
    return web.json_response(answer, status=status)


@routes.get("/notifications")
@l2
async def notifications(request: web.Request, sim: Simulator, key: ApiKey, body: bytes):
    return web.json_response([])


@routes.delete("/notifications")
@l2
async def drop_notifications(request: web.Request, sim: Simulator, key: ApiKey, body: bytes):
    return web.json_response("OK")
