"""Copy-trading in the running engine, against ``polytui sim`` and its leaders: copies go out
through the risk engine and the order tracker, some are cut or skipped with their reasons,
none is sent for a book the simulator's divergence report shows wrong, and the daily loss cap
halts the strategy (in the ledger, so a restart keeps it)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from polytui.strategies.copytrade import Outcome
from tests.engine.strategy.trading import trading

pytestmark = pytest.mark.slow

RUN_S = 20.0


async def test_copies_go_out_through_risk_never_on_a_diverged_book(tmp_path):
    async with trading(tmp_path, faults="drop=0.01,disconnect=12", max_trade_usdc=8) as (
        engine,
        admin_url,
        admin,
        key,
    ):
        side = engine.strategies
        assert side is not None and side.copier is not None

        async def enough() -> bool:
            outcomes = Counter(r.outcome for r in side.copier.records())
            report = (await admin.get(admin_url + "/divergence")).json()
            copied = outcomes[Outcome.COPIED] + outcomes[Outcome.RESIZED]
            return (
                copied >= 3
                and outcomes[Outcome.RESIZED] >= 1
                and bool(report["closed"] or report["open"])
            )

        # At least RUN_S of trading under faults; longer on a loaded machine, until there is
        # enough to judge (or the deadline, and the assertions below say what was missing).
        await asyncio.sleep(RUN_S)
        for _ in range(80):
            if await enough():
                break
            await asyncio.sleep(0.5)
        records = side.copier.records()
        outcomes = Counter(r.outcome for r in records)
        # Copies went out, some cut to the 8 USDC trade cap, some skipped with a reason.
        assert outcomes[Outcome.COPIED] + outcomes[Outcome.RESIZED] >= 3, outcomes
        assert outcomes[Outcome.RESIZED] >= 1, [r.reason for r in records]
        skipped = [r for r in records if r.outcome is Outcome.SKIPPED]
        assert all(r.gate and r.reason for r in skipped)
        orders = (await admin.get(admin_url + "/orders", params={"signer": key.address})).json()
        accepted = [o for o in orders if o.get("status") != "rejected"]
        assert accepted, orders
        model = engine.store.model
        assert {o["order_id"] for o in accepted} <= {v.order_id for v in model.orders.values()}
        # The golden rule, from the venue's side: no order for a token whose book (as sent to
        # us) was wrong at that moment.
        report = (await admin.get(admin_url + "/divergence")).json()
        assert report["closed"] or report["open"], "the faults diverged no book"
        assert report["orders_while_diverged"] == []
        stats = engine.health()
        assert stats["risk"]["approved"] >= 3 and stats["strategies"]["copytrade"]["errors"] == 0


async def test_the_daily_loss_cap_halts_the_copier(tmp_path):
    async with trading(tmp_path, daily_loss_cap_usdc="0.2") as (engine, admin_url, admin, key):
        async with asyncio.timeout(40):
            while "copytrade" not in engine.store.model.halts:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        halt = engine.store.model.halts["copytrade"]
        assert halt > engine.clock.now_ms()  # until the period ends
        await asyncio.sleep(5)  # leaders keep trading; nothing that adds exposure goes out
        records = engine.strategies.copier.records()
        tripped = min(r.at_ms for r in records if r.gate == "daily_loss")
        adding = [
            r
            for r in records
            if r.outcome is not Outcome.SKIPPED and r.kind.value in ("open", "add")
        ]
        assert all(r.at_ms <= tripped for r in adding)
        assert sum(r.gate == "daily_loss" for r in records) >= 1
