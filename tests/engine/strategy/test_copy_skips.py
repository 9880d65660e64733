"""Copies skipped for each reason, against the simulator's leaders: with one risk setting that
no opening copy can pass, every opening copy is skipped by that gate (its reason in the
record and in the ledger) and no buy of ours reaches the simulator."""

from __future__ import annotations

import asyncio

import pytest

from polytui.core import ledger_events as ev
from polytui.strategies.copytrade import Outcome
from tests.engine.strategy.trading import trading

pytestmark = pytest.mark.slow

CASES = {
    "freshness": ({"max_signal_age_s": 0.001}, "old"),
    "category": ({"categories": ["no-such-tag"]}, "categor"),
    "open_positions": ({"max_open_positions": 0}, "markets held"),
}


@pytest.mark.parametrize("gate", list(CASES))
async def test_every_opening_copy_is_skipped_by_the_gate_that_forbids_it(tmp_path, gate):
    risk, words = CASES[gate]
    async with trading(tmp_path, **risk) as (engine, admin_url, admin, key):
        copier = engine.strategies.copier

        def opening() -> list:
            return [r for r in copier.records() if r.kind.value == "open"]

        async with asyncio.timeout(40):
            while sum(r.gate == gate for r in opening()) < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        records = opening()
        by_gate = [r for r in records if r.gate == gate]
        assert all(r.outcome is Outcome.SKIPPED for r in by_gate)
        assert all(words in r.reason.lower() for r in by_gate), [r.reason for r in by_gate]
        # nothing that opens went out: no copy approved, no buy of ours at the simulator
        assert not [r for r in records if r.outcome is not Outcome.SKIPPED], records
        orders = (await admin.get(admin_url + "/orders", params={"signer": key.address})).json()
        assert not [o for o in orders if o.get("side") == "BUY"], orders
        # and the ledger holds each rejection with its gate (buffered writes: a moment)
        wanted = {r.intent_id for r in by_gate if r.intent_id}
        async with asyncio.timeout(10):
            while True:
                written = {
                    rec.event.intent_id
                    for rec in await engine.store.records()
                    if isinstance(rec.event, ev.RiskRejected) and rec.event.gate == gate
                }
                if wanted <= written:
                    break
                await asyncio.sleep(0.2)
