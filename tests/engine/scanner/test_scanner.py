"""The scanner against the simulator: the universe, its flags and its subscriptions follow the
markets as they open, pause, end and resolve; Gamma's failures never empty the universe."""

from __future__ import annotations

import asyncio

from polytui.core.market_flags import Flag
from polytui.core.universe import Excluded
from tests.engine.scanner.conftest import FAST, Recorder


def watched_of(rig) -> set[str]:
    return set(rig.scanner.watched)


async def start(rig) -> Recorder:
    rig.task = asyncio.create_task(rig.scanner.run())
    await rig.until(lambda: rig.scanner.kpis.full_scans == 1)
    return rig.scanner._subscriber


async def test_the_first_scan_watches_the_best_open_markets_up_to_the_cap(scan_rig):
    rig = await scan_rig(FAST.model_copy(update={"max_markets": 7}))
    recorder = await start(rig)
    scanner = rig.scanner
    open_ids = {m.condition_id for m in rig.open_markets()}
    assert len(scanner.universe) == 7 and set(scanner.universe) <= open_ids
    assert recorder.assets == {
        cid: rig.exchange.markets[cid].tokens for cid in scanner.universe
    }  # both tokens of each market, one call per market
    k = scanner.kpis
    assert (k.seen, k.eligible, k.watched) == (len(open_ids), len(open_ids), 7)
    assert k.excluded == {Excluded.CAP.value: len(open_ids) - 7}
    assert all(scanner.tradable(cid) for cid in scanner.universe)
    left_out = next(iter(open_ids - set(scanner.universe)))
    assert scanner.flags(left_out) == {Flag.NOT_WATCHED}
    assert scanner.why_not_watched(left_out) is Excluded.CAP
    assert scanner.flags("0xnothing") == {Flag.UNKNOWN, Flag.NOT_WATCHED}
    assert rig.changes[0].entered == scanner.universe
    stats = scanner.stats()
    assert stats["last_ok_ms"] and stats["lag_ms"] is not None and not stats["stalled"]
    assert stats["requests"] >= len(open_ids) // FAST.page_size  # pages of 5


async def test_no_change_no_call(scan_rig):
    rig = await scan_rig()
    recorder = await start(rig)
    calls = list(recorder.calls)
    await rig.next_refreshes(5)
    assert recorder.calls == calls
    assert rig.scanner.kpis.refreshes >= 5 and rig.scanner.kpis.errors == 0


async def test_pause_end_resolve_and_new_markets_are_followed_within_a_cadence(scan_rig):
    rig = await scan_rig(FAST.model_copy(update={"cadence_s": 0.2}))
    recorder = await start(rig)
    scanner = rig.scanner
    paused, ended, resolved = (rig.exchange.markets[c] for c in scanner.universe[:3])

    await rig.act(paused, "pause")
    await rig.next_refreshes(1)
    assert scanner.flags(paused.condition_id) == {Flag.NOT_ACCEPTING}
    assert paused.condition_id in recorder.assets  # still watched: its book stays in view
    assert rig.changes[-1].flags == {paused.condition_id: frozenset({Flag.NOT_ACCEPTING})}
    await rig.act(paused, "resume")
    await rig.next_refreshes(1)
    assert scanner.tradable(paused.condition_id)
    assert rig.changes[-1].flags == {paused.condition_id: frozenset()}

    await rig.act(ended, "end")  # stops accepting orders, end date now
    await rig.next_refreshes(1)
    assert ended.condition_id not in recorder.assets
    assert {Flag.PAST_END, Flag.NOT_ACCEPTING} <= scanner.flags(ended.condition_id)
    assert ("unsubscribe", ended.condition_id) in recorder.calls

    await rig.act(resolved, "resolve", winner="no")
    await rig.next_refreshes(1)
    assert resolved.condition_id not in recorder.assets
    assert {Flag.RESOLVED, Flag.CLOSED} <= scanner.flags(resolved.condition_id)
    assert scanner.why_not_watched(resolved.condition_id) is Excluded.RESOLVED

    opened = await rig.running.admin("POST", "/markets", {"action": "open", "size": 3})
    await rig.next_refreshes(1)
    assert {m["condition_id"] for m in opened} <= set(recorder.assets)
    assert set(recorder.assets) == watched_of(rig) == {m.condition_id for m in rig.open_markets()}


async def test_gamma_errors_and_slow_pages_keep_the_last_good_universe(scan_rig):
    rig = await scan_rig(FAST.model_copy(update={"scan_timeout_s": 0.5, "full_scan_s": 0.3}))
    recorder = await start(rig)
    scanner, before = rig.scanner, dict(rig.scanner.watched)
    calls = list(recorder.calls)

    await rig.running.admin("POST", "/faults", {"http5xx": 1.0})
    await rig.until(lambda: scanner.kpis.consecutive_errors >= 3)
    await rig.until(lambda: scanner.stalled)
    assert scanner.watched == before and recorder.calls == calls
    assert "500" in scanner.kpis.last_error or "50" in scanner.kpis.last_error
    assert scanner.stats()["stalled"] is True

    await rig.running.admin("POST", "/faults", {"http5xx": 0, "latency_ms": 1500})
    errors = scanner.kpis.errors
    await rig.until(lambda: scanner.kpis.errors >= errors + 2)
    assert "took longer than 0.5 s" in scanner.kpis.last_error
    assert scanner.watched == before and recorder.calls == calls

    await rig.running.admin("POST", "/faults", {"latency_ms": 0})
    await rig.until(lambda: scanner.kpis.consecutive_errors == 0 and not scanner.stalled)
    assert scanner.watched == before and recorder.calls == calls


async def test_a_book_without_update_or_probe_for_too_long_is_flagged(scan_rig):
    fresh: dict[str, int | None] = {}
    settings = FAST.model_copy(update={"stale_book_s": 30})
    rig = await scan_rig(settings, freshness=fresh.get)
    await start(rig)
    scanner = rig.scanner
    quiet, busy = scanner.universe[:2]
    await rig.running.advance(31_000)
    now = rig.running.sim.clock.now_ms()
    for token in rig.exchange.markets[busy].tokens:
        fresh[token] = now - 1_000
    fresh[rig.exchange.markets[quiet].tokens[0]] = now - 1_000  # the other token is silent
    assert Flag.STALE_BOOK in scanner.flags(quiet) and not scanner.tradable(quiet)
    assert Flag.STALE_BOOK not in scanner.flags(busy)
    await rig.next_refreshes(1)
    assert Flag.STALE_BOOK in rig.changes[-1].flags.get(quiet, ())
    assert scanner.kpis.flagged >= 1
