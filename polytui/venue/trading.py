"""The CLOB's authenticated side (protocol §3, §4): API keys, orders, cancels, queries, heartbeat.

    creds = await obtain_creds(http, SigningKey(private_key), chain_id=137)
    trader = ClobTrader(http, signer.address, creds)
    ack = await trader.post_order(signed, OrderType.GTC)

**A signed order is never sent twice blindly.** When ``POST /order`` gets no answer that says
what happened (a timeout after the request left, a dropped connection, a 5xx) the order is
looked up by its id (the EIP-712 digest, known before sending). Found: its state is the answer
(``OrderAck.looked_up``). Not found: the venue did not take it, and the same signed order is
sent again; if the first one lands after all, the venue refuses the second as a duplicate of
the same id, which again ends in a lookup. Nothing can make two orders. When the lookup itself
fails, or the last attempt stays ambiguous, the caller gets ``OrderOutcomeUnknown`` with the ids.

A 429 or 425 answer, or a connection that was never made, means the venue did not process the
order, so it is simply sent again after the usual wait. Cancels are idempotent and retry like
reads.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeVar

from polytui.core.clock import Clock, SystemClock
from polytui.protocol.auth import ApiCreds, l1_headers, l2_headers
from polytui.protocol.signing import OrderType, SignedOrder, SigningKey
from polytui.protocol.wire import clob as w
from polytui.protocol.wire.codec import decode
from polytui.protocol.wire.errors import WireError
from polytui.venue.clob import json_body
from polytui.venue.errors import HttpStatusError, NoAnswer, OrderOutcomeUnknown, VenueError
from polytui.venue.http import HttpClient, Params
from polytui.venue.retry import Sleep, wait_s

T = TypeVar("T")

MAX_BATCH = 15  # orders per POST /orders
LOOKUP_DELAY_S = 0.5  # let an in-flight order land before asking for it
AssetType = Literal["COLLATERAL", "CONDITIONAL"]


class StaleHeartbeat(VenueError):
    """``POST /v1/heartbeats`` named an id that is not the current one; beat again with
    ``expected_id`` (the venue says which)."""

    def __init__(self, expected_id: str) -> None:
        self.expected_id = expected_id
        super().__init__(f"stale heartbeat id; the venue expects {expected_id}")


class UnreadableAnswer(VenueError):
    """The venue answered an order post with 200 but not with what the contract says."""


@dataclass(frozen=True, slots=True)
class OrderAck:
    """The venue's answer for one order, or one built from looking the order up by id."""

    order_id: str
    response: w.PostOrderResponse
    looked_up: bool = False
    size_matched: Decimal | None = None
    """Shares matched so far, as the lookup found them (a looked-up answer has no amounts)."""

    @property
    def accepted(self) -> bool:
        r = self.response
        return r.success and not r.error_msg and bool(r.order_id)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order of a batch: the signed order and how to post it."""

    order: SignedOrder
    order_type: OrderType = OrderType.GTC
    post_only: bool = False
    defer_exec: bool = False


# ---- API credentials (L1) --------------------------------------------------------------------


async def create_api_key(
    http: HttpClient, key: SigningKey, chain_id: int, nonce: int = 0, clock: Clock | None = None
) -> ApiCreds:
    return await _l1_creds(http, "POST", "/auth/api-key", key, chain_id, nonce, clock)


async def derive_api_key(
    http: HttpClient, key: SigningKey, chain_id: int, nonce: int = 0, clock: Clock | None = None
) -> ApiCreds:
    return await _l1_creds(http, "GET", "/auth/derive-api-key", key, chain_id, nonce, clock)


async def obtain_creds(
    http: HttpClient, key: SigningKey, chain_id: int, nonce: int = 0, clock: Clock | None = None
) -> ApiCreds:
    """Create the API key for ``nonce``, or derive it when it exists (as the official clients)."""
    try:
        return await create_api_key(http, key, chain_id, nonce, clock)
    except HttpStatusError as exc:
        if exc.status != 400:
            raise
    return await derive_api_key(http, key, chain_id, nonce, clock)


async def _l1_creds(
    http: HttpClient,
    method: str,
    path: str,
    key: SigningKey,
    chain_id: int,
    nonce: int,
    clock: Clock | None,
) -> ApiCreds:
    clock = clock or SystemClock()

    def sign(method: str, path: str, body: bytes | None) -> Mapping[str, str]:
        return l1_headers(key, chain_id, clock.now_ms() // 1000, nonce)

    # Creating is not idempotent, but a repeat only fails with 400, and then we derive.
    got = decode(w.ApiCreds, await http.call("clob", method, path, sign=sign))
    return ApiCreds(api_key=got.api_key, secret=got.secret, passphrase=got.passphrase)


# ---- the trading client (L2) -----------------------------------------------------------------


class ClobTrader:
    """Every L2 call of one API key. ``address`` is the signing key's address."""

    def __init__(
        self,
        http: HttpClient,
        address: str,
        creds: ApiCreds,
        *,
        clock: Clock | None = None,
        time_offset_s: int = 0,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        lookup_delay_s: float = LOOKUP_DELAY_S,
    ) -> None:
        self.http = http
        self.address = address
        self.creds = creds
        self._clock = clock or SystemClock()
        self.time_offset_s = time_offset_s  # the venue's clock minus ours (GET /time)
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._lookup_delay_s = lookup_delay_s

    def _sign(self, method: str, path: str, body: bytes | None) -> Mapping[str, str]:
        now_s = self._clock.now_ms() // 1000 + self.time_offset_s
        text = body.decode() if body else None
        return l2_headers(self.address, self.creds, now_s, method, path, text)

    async def _call(
        self,
        tp: type[T] | object,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: object = None,
        retry: bool = True,
    ) -> T:
        raw = json_body(body) if body is not None else None
        answer = await self.http.call(
            "clob", method, path, params=params, body=raw, sign=self._sign, retry=retry
        )
        return decode(tp, answer)

    async def _pages(self, tp: object, path: str, params: dict[str, str]) -> list:
        rows: list = []
        cursor = w.START_CURSOR
        seen: set[str] = set()
        while True:
            page = await self._call(tp, "GET", path, params={**params, "next_cursor": cursor})
            rows.extend(page.data)
            if page.is_last or not page.data:
                return rows
            if page.next_cursor in seen:
                raise RuntimeError(f"{path} returned cursor {page.next_cursor!r} twice")
            seen.add(page.next_cursor)
            cursor = page.next_cursor

    # ---- keys and account ----------------------------------------------------------------

    async def api_keys(self) -> tuple[str, ...]:
        return (await self._call(_ApiKeys, "GET", "/auth/api-keys")).api_keys

    async def delete_api_key(self) -> None:
        await self._call(object, "DELETE", "/auth/api-key", retry=False)

    async def closed_only(self) -> bool:
        return (await self._call(_ClosedOnly, "GET", "/auth/ban-status/closed-only")).closed_only

    async def balance_allowance(
        self, asset_type: AssetType = "COLLATERAL", token_id: str | None = None
    ) -> w.BalanceAllowance:
        params = {"asset_type": asset_type, "token_id": token_id}
        return await self._call(w.BalanceAllowance, "GET", "/balance-allowance", params=params)

    async def update_balance_allowance(
        self, asset_type: AssetType = "COLLATERAL", token_id: str | None = None
    ) -> w.BalanceAllowance:
        params = {"asset_type": asset_type, "token_id": token_id}
        path = "/balance-allowance/update"
        return await self._call(w.BalanceAllowance, "GET", path, params=params)

    async def notifications(self) -> tuple[object, ...]:
        return await self._call(tuple[object, ...], "GET", "/notifications")

    # ---- queries --------------------------------------------------------------------------

    async def order(self, order_id: str) -> w.OpenOrder | None:
        """One order by id, in any state; ``None`` when the venue does not know it."""
        try:
            return await self._call(w.OpenOrder | None, "GET", f"/data/order/{order_id}")
        except HttpStatusError as exc:
            if exc.status == 404:
                return None
            raise

    async def open_orders(
        self, *, market: str | None = None, asset_id: str | None = None, order_id: str | None = None
    ) -> list[w.OpenOrder]:
        params = _present(market=market, asset_id=asset_id, id=order_id)
        return await self._pages(w.Page[w.OpenOrder], "/data/orders", params)

    async def trades(
        self,
        *,
        trade_id: str | None = None,
        market: str | None = None,
        asset_id: str | None = None,
        maker_address: str | None = None,
        before: int | None = None,
        after: int | None = None,
    ) -> list[w.Trade]:
        params = _present(
            id=trade_id,
            market=market,
            asset_id=asset_id,
            maker_address=maker_address,
            before=before,
            after=after,
        )
        return await self._pages(w.Page[w.Trade], "/data/trades", params)

    # ---- cancels (idempotent: retried like reads) ------------------------------------------

    async def cancel(self, order_id: str) -> w.CancelResponse:
        return await self._call(w.CancelResponse, "DELETE", "/order", body={"orderID": order_id})

    async def cancel_orders(self, order_ids: Iterable[str]) -> w.CancelResponse:
        return await self._call(w.CancelResponse, "DELETE", "/orders", body=list(order_ids))

    async def cancel_all(self) -> w.CancelResponse:
        return await self._call(w.CancelResponse, "DELETE", "/cancel-all")

    async def cancel_market_orders(
        self, market: str | None = None, asset_id: str | None = None
    ) -> w.CancelResponse:
        body = {"market": market or "", "asset_id": asset_id or ""}
        return await self._call(w.CancelResponse, "DELETE", "/cancel-market-orders", body=body)

    # ---- heartbeat (the dead-man switch) -------------------------------------------------------

    async def heartbeat(self, heartbeat_id: str | None = None) -> str:
        """Beat; returns the id to send next time. Not retried: the next beat is the retry."""
        try:
            body = {"heartbeat_id": heartbeat_id or ""}
            answer = await self._call(
                w.HeartbeatResponse, "POST", "/v1/heartbeats", body=body, retry=False
            )
        except HttpStatusError as exc:
            expected = _expected_heartbeat(exc)
            if expected is not None:
                raise StaleHeartbeat(expected) from None
            raise
        return answer.heartbeat_id

    # ---- orders ---------------------------------------------------------------------------

    async def post_order(
        self,
        order: SignedOrder,
        order_type: OrderType | str = OrderType.GTC,
        *,
        post_only: bool = False,
        defer_exec: bool = False,
    ) -> OrderAck:
        """Post one signed order; never duplicates it (see the module docstring)."""
        request = OrderRequest(order, OrderType(order_type), post_only, defer_exec)
        (ack,) = await self._place([request], batch=False)
        return ack

    async def post_orders(self, requests: Sequence[OrderRequest]) -> tuple[OrderAck, ...]:
        """Post up to 15 signed orders in one request; acks in request order."""
        if not 0 < len(requests) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} orders, not {len(requests)}")
        return await self._place(list(requests), batch=True)

    async def _place(self, requests: list[OrderRequest], batch: bool) -> tuple[OrderAck, ...]:
        acks: dict[str, OrderAck] = {}
        pending = list(requests)
        ambiguous: VenueError | None = None
        attempts = self.http.policy.attempts
        for attempt in range(1, attempts + 1):
            try:
                answers = await self._send(pending, batch)
            except VenueError as exc:
                if not _maybe_taken(exc):
                    if not exc.retryable or attempt == attempts:
                        raise
                    await self._sleep(wait_s(self.http.policy, attempt, exc, self._rng))
                    continue
                ambiguous = exc
                self.http.stats["orders ambiguous"] += 1
                pending = await self._settle(pending, acks, exc)
                if not pending:
                    break
                if attempt == attempts:
                    raise OrderOutcomeUnknown([r.order.order_id for r in pending], exc) from exc
                await self._sleep(wait_s(self.http.policy, attempt, exc, self._rng))
                continue
            duplicates = []
            for request, response in zip(pending, answers, strict=True):
                if _is_duplicate(response.error_msg):
                    duplicates.append(request)
                else:
                    acks[request.order.order_id] = OrderAck(request.order.order_id, response)
            if duplicates:  # an earlier, lost attempt landed after all (or a restart re-sent)
                cause = ambiguous or VenueError("the venue already has this order")
                still = await self._settle(duplicates, acks, cause, delay=False)
                if still:
                    raise OrderOutcomeUnknown([r.order.order_id for r in still], cause)
            break
        return tuple(acks[r.order.order_id] for r in requests)

    async def _send(self, requests: list[OrderRequest], batch: bool) -> list[w.PostOrderResponse]:
        try:
            return await self._send_once(requests, batch)
        except WireError as exc:  # a 200 we cannot read: the orders may well be live
            raise UnreadableAnswer(f"unreadable answer to an order post: {exc}") from exc

    async def _send_once(
        self, requests: list[OrderRequest], batch: bool
    ) -> list[w.PostOrderResponse]:
        bodies = [
            r.order.post_body(
                self.creds.api_key, r.order_type, post_only=r.post_only, defer_exec=r.defer_exec
            )
            for r in requests
        ]
        if batch:
            answers = await self._call(
                w.PostOrdersResponse, "POST", "/orders", body=bodies, retry=False
            )
            if len(answers) != len(requests):
                count = f"{len(answers)} results for {len(requests)} orders"
                raise UnreadableAnswer(f"POST /orders answered {count}")
            return list(answers)
        try:
            answer = await self._call(
                w.PostOrderResponse, "POST", "/order", body=bodies[0], retry=False
            )
        except HttpStatusError as exc:
            if _is_rejection(exc):
                return [_rejected(exc.error or exc.body)]
            raise
        return [answer]

    async def _settle(
        self,
        requests: list[OrderRequest],
        acks: dict[str, OrderAck],
        cause: BaseException,
        delay: bool = True,
    ) -> list[OrderRequest]:
        """Look each order up; record the found ones, return the ones the venue does not have."""
        if delay and self._lookup_delay_s:
            await self._sleep(self._lookup_delay_s)
        missing = []
        for request in requests:
            order_id = request.order.order_id
            try:
                found = await self.order(order_id)
            except VenueError as exc:
                ids = [r.order.order_id for r in requests]
                raise OrderOutcomeUnknown(ids, cause) from exc
            if found is None:
                missing.append(request)
            else:
                self.http.stats["orders looked up"] += 1
                acks[order_id] = OrderAck(
                    order_id, _from_lookup(found), looked_up=True, size_matched=found.size_matched
                )
        return missing


class _ApiKeys(w.Wire, rename="camel"):
    api_keys: tuple[str, ...]


class _ClosedOnly(w.Wire):
    closed_only: bool


def _present(**params: str | int | None) -> dict[str, str]:
    return {k: str(v) for k, v in params.items() if v is not None}


def _maybe_taken(error: VenueError) -> bool:
    """Could the venue have taken the order although we got no good answer?"""
    if isinstance(error, NoAnswer):
        return error.reached
    if isinstance(error, UnreadableAnswer):
        return True
    return isinstance(error, HttpStatusError) and error.status >= 500


# 500s whose message is a definite answer from the matching engine, not a lost one (§4.5).
ENGINE_REJECTIONS = (
    "there are no matching orders",
    "FOK orders are filled or killed",
    "the trade contains rounding issues",
    "the price of the taker's order has a discrepancy",
)


def _is_rejection(exc: HttpStatusError) -> bool:
    """A 400 (the order is refused, whatever the reason) or an engine-level 500."""
    message = exc.error or ""
    return exc.status == 400 or (exc.status == 500 and any(m in message for m in ENGINE_REJECTIONS))


def _is_duplicate(message: str) -> bool:
    return "Duplicated" in message


def _rejected(message: str) -> w.PostOrderResponse:
    return w.PostOrderResponse(success=False, error_msg=message, order_id="", status="")


def _from_lookup(found: w.OpenOrder) -> w.PostOrderResponse:
    return w.PostOrderResponse(
        success=True,
        error_msg="",
        order_id=found.id,
        status=found.status.lower(),
        trade_ids=found.associate_trades or (),
    )


def _expected_heartbeat(exc: HttpStatusError) -> str | None:
    if exc.status != 400:
        return None
    try:
        return decode(w.ErrorResponse, exc.body).heartbeat_id
    except WireError:  # an unreadable body is not a stale-id answer
        return None
