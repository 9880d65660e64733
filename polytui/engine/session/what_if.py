"""The trader of a replay with changed settings (``polytui replay DIR --config ... --diff``).

A changed strategy or risk limit makes orders the session never posted: the recording has no
answer for them. Rather than leave them unanswered (the engine would retry, then fail them),
:class:`WhatIfTrader` fills them on paper against the replay's verified books, as paper mode
would (``polytui.engine.paper``), while every order the session did post goes on to the
recording and gets its recorded answers. Reads (an order by id, trades, cancels) go to whichever
side holds the order; the venue heartbeat and the balance are the recording's. So the changed
run goes on trading, and its later decisions see the positions its own orders made.

Paper's funds check is off here: cash and allowance come from the recording (the funds the
session had), and the risk engine's funds gate is the one that decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from polytui.engine.paper import PaperVenue
from polytui.protocol.signing import OrderType, SignedOrder
from polytui.protocol.wire import clob as w
from polytui.venue.trading import OrderAck, OrderRequest


class WhatIfTrader:
    def __init__(self, recorded: Any, engine: Any, was_recorded: Callable[[str], bool]) -> None:
        self.recorded = recorded
        self._engine = engine
        self._was_recorded = was_recorded
        self.paper = PaperVenue(
            engine.mirror,
            engine.clock,
            address=recorded.address,
            api_key=recorded.creds.api_key,
            cash_usdc=Decimal(10**9),
            check_funds=False,
        )
        engine.market_listeners.append(self.paper.on_market)
        engine.scheduler.every("what_if_paper", 0.2, self.paper.tick)
        self.address = recorded.address
        self.creds = recorded.creds
        self.http = recorded.http

    def __getattr__(self, name: str) -> Any:  # heartbeat, balances, ...: the recording's
        return getattr(self.recorded, name)

    def _paper_ready(self) -> PaperVenue:
        feed = self._engine.feed
        if feed is not None and self.paper.user_stream.sink is None:
            self.paper.user_stream.bind(feed.sink)
            self.paper.user_stream.open()
        return self.paper

    def _ours(self, order_id: str) -> bool:
        return order_id in self.paper.orders

    # ---- orders ------------------------------------------------------------------------------

    async def post_order(
        self,
        order: SignedOrder,
        order_type: OrderType | str = OrderType.GTC,
        *,
        post_only: bool = False,
        defer_exec: bool = False,
    ) -> OrderAck:
        if self._was_recorded(order.order_id):
            return await self.recorded.post_order(
                order, order_type, post_only=post_only, defer_exec=defer_exec
            )
        return await self._paper_ready().post_order(
            order, order_type, post_only=post_only, defer_exec=defer_exec
        )

    async def post_orders(self, requests: Sequence[OrderRequest]) -> tuple[OrderAck, ...]:
        mine = [r for r in requests if not self._was_recorded(r.order.order_id)]
        theirs = [r for r in requests if self._was_recorded(r.order.order_id)]
        acks: dict[str, OrderAck] = {}
        if theirs:
            for ack in await self.recorded.post_orders(theirs):
                acks[ack.order_id] = ack
        if mine:
            for ack in await self._paper_ready().post_orders(mine):
                acks[ack.order_id] = ack
        return tuple(acks[r.order.order_id] for r in requests)

    async def order(self, order_id: str) -> w.OpenOrder | None:
        if self._ours(order_id):
            return await self.paper.order(order_id)
        if not self._was_recorded(order_id):
            return None  # paper refused it, and the session never had it
        return await self.recorded.order(order_id)

    async def open_orders(self, **filters: Any) -> list[w.OpenOrder]:
        return [
            *await self.recorded.open_orders(**filters),
            *await self.paper.open_orders(**filters),
        ]

    async def trades(self, *, trade_id: str | None = None, **filters: Any) -> list[w.Trade]:
        if trade_id is not None and trade_id in self.paper.trade_records:
            return await self.paper.trades(trade_id=trade_id)
        rows = await self.recorded.trades(trade_id=trade_id, **filters)
        if trade_id is None:
            rows = [*rows, *await self.paper.trades()]
        return rows

    # ---- cancels -----------------------------------------------------------------------------

    async def cancel(self, order_id: str) -> w.CancelResponse:
        if self._ours(order_id):
            return await self.paper.cancel(order_id)
        return await self.recorded.cancel(order_id)

    async def cancel_orders(self, order_ids: Iterable[str]) -> w.CancelResponse:
        ids = list(order_ids)
        mine = [i for i in ids if self._ours(i)]
        theirs = [i for i in ids if not self._ours(i)]
        answers = []
        if theirs:
            answers.append(await self.recorded.cancel_orders(theirs))
        if mine:
            answers.append(await self.paper.cancel_orders(mine))
        return _merged(answers)

    async def cancel_all(self) -> w.CancelResponse:
        return _merged([await self.recorded.cancel_all(), await self.paper.cancel_all()])


def _merged(answers: list[w.CancelResponse]) -> w.CancelResponse:
    canceled: list[str] = []
    not_canceled: dict[str, str] = {}
    for a in answers:
        canceled.extend(a.canceled)
        not_canceled.update(a.not_canceled)
    return w.CancelResponse(canceled=tuple(canceled), not_canceled=not_canceled)
