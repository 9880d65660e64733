"""The mirror against the simulator: primes, follows, heals, and never calls a wrong book LIVE."""

from __future__ import annotations

import asyncio

from polytui.engine.mirror import BookState, Reason


async def settle(rig, ms: int = 2_000, step: int = 250) -> None:
    """Move the market, then give the stream and the mirror time to catch up."""
    await rig.running.advance(ms, step)
    await asyncio.sleep(0.3)
    rig.mirror.complete_bursts(force=True)


async def test_books_prime_from_the_dump_and_follow_the_truth(rig):
    r = await rig()
    tokens = await r.follow(r.markets(3))
    await r.all_live(tokens)
    for t in tokens:
        assert r.local(t) == await r.truth(t)
    await settle(r, 5_000)
    assert r.mirror.entries > 0
    for t in tokens:
        assert r.mirror.state(t) is BookState.LIVE, r.mirror.tokens[t].detail
        assert r.local(t) == await r.truth(t)
    primes = [c for c in r.changes if c.new is BookState.LIVE]
    assert {c.asset_id for c in primes} == set(tokens)
    assert r.mirror.stats()["resyncs"] == {}


async def test_a_reconnect_invalidates_then_reprimes(rig):
    r = await rig()
    tokens = await r.follow(r.markets(2))
    await r.all_live(tokens)
    await r.running.admin("POST", "/disconnect")
    await r.until(lambda: r.mirror.resyncs[Reason.RECONNECT] == len(tokens))
    await r.all_live(tokens)
    left = [c for c in r.changes if c.old is BookState.LIVE]
    assert {(c.new, c.reason) for c in left} == {(BookState.RESYNCING, Reason.RECONNECT)}
    for t in tokens:
        assert r.local(t) == await r.truth(t)


async def test_a_tick_change_drops_the_book_and_reprimes_on_the_new_grid(rig):
    r = await rig()
    (m,) = r.markets(1)
    tokens = await r.follow([m])
    await r.all_live(tokens)
    tick = "0.001" if m.tick == 100 else "0.01"
    await r.running.admin("POST", f"/markets/{m.condition_id}", {"action": "tick", "tick": tick})
    await r.until(lambda: r.mirror.resyncs[Reason.TICK_CHANGE] >= 1)
    await r.all_live(tokens)
    assert r.mirror.tokens[m.tokens[0]].tick == (10 if tick == "0.001" else 100)
    for t in tokens:
        assert r.local(t) == await r.truth(t)


async def test_dropped_frames_are_caught_and_healed(rig):
    r = await rig(faults="drop=0.2")
    tokens = await r.follow(r.markets(4))
    await r.all_live(tokens)
    for _ in range(6):
        await settle(r, 2_000)
    assert r.mirror.resyncs[Reason.INVARIANT_FAIL] + r.mirror.resyncs[Reason.BBO_MISMATCH] > 0
    await r.running.admin("POST", "/faults", {"drop": 0})
    await settle(r, 1_000)
    await r.all_live(tokens)
    await asyncio.sleep(0.5)
    for t in tokens:
        if r.mirror.state(t) is BookState.LIVE:
            assert r.local(t) == await r.truth(t), t


async def test_a_frozen_token_is_found_by_the_probes(rig):
    r = await rig(faults="freeze=1")
    tokens = await r.follow(r.markets(6))
    await r.all_live(tokens)
    for _ in range(16):
        await settle(r, 2_000)
        if r.mirror.resyncs[Reason.BBO_MISMATCH] or r.mirror.resyncs[Reason.INVARIANT_FAIL]:
            break
    assert r.mirror.counts["probes"] > 0
    assert r.mirror.resyncs[Reason.BBO_MISMATCH] + r.mirror.resyncs[Reason.INVARIANT_FAIL] > 0


async def test_every_fault_at_once_then_all_books_heal_to_the_truth(rig):
    faults = (
        "drop=0.03,dup=0.03,reorder=0.03,freeze=1,disconnect=6,http5xx=0.05,"
        "http429=0.02,stale_rest=0.1"
    )
    r = await rig(faults=faults)
    tokens = await r.follow(r.markets(6))
    for _ in range(10):
        await settle(r, 2_000)
    reasons = {reason for reason, n in r.mirror.resyncs.items() if n}
    assert Reason.RECONNECT in reasons and reasons & {Reason.INVARIANT_FAIL, Reason.BBO_MISMATCH}
    off = ("drop", "dup", "reorder", "freeze", "disconnect", "http5xx", "http429", "stale_rest")
    await r.running.admin("POST", "/faults", dict.fromkeys(off, 0))
    await settle(r, 2_000)
    await r.all_live(tokens, within_s=15)
    # Within a few probe rounds, every book is LIVE and equal to the truth, depth included.
    async with asyncio.timeout(15):
        while True:
            await asyncio.sleep(0.3)
            wrong = [
                t
                for t in tokens
                if r.mirror.state(t) is not BookState.LIVE or r.local(t) != await r.truth(t)
            ]
            if not wrong:
                break


async def test_the_book_hash_agrees_with_the_venue_on_a_sample(rig):
    from tests.engine.mirror.conftest import FAST

    r = await rig(FAST.model_copy(update={"hash_sample": 1}))
    tokens = await r.follow(r.markets(3))
    await r.all_live(tokens)
    for _ in range(3):
        await settle(r, 2_000)
    stats = r.mirror.stats()
    assert stats["hash_checks"] > 20
    # The venue's per-entry hash covers the last trade price of a trade reported just after
    # (protocol §5.4): most samples agree, not all, and a disagreement is never a resync.
    assert stats["hash_agreement_rate"] > 0.6, stats
    assert stats["resyncs"] == {}
    per_token = [r.mirror.token_kpis(t) for t in tokens]
    assert sum(k["hash_checks"] for k in per_token) == stats["hash_checks"]


async def test_frames_of_untracked_tokens_are_ignored(rig):
    r = await rig()
    (followed, other) = r.markets(2)
    tokens = await r.follow([followed])
    await r.stream.subscribe(other.tokens)  # on the socket, but never tracked by the mirror
    await r.all_live(tokens)
    await settle(r, 2_000)
    assert set(r.mirror.tokens) == set(tokens)
    assert r.mirror.stats()["untracked"] > 0
    r.mirror.untrack(tokens)
    assert r.mirror.tokens == {} and r.mirror.markets == {}


async def test_an_order_never_relies_on_a_book_its_hash_contradicts(rig):
    """A dropped change below the top of book leaves every best_bid/best_ask right: the book
    stays LIVE, but the venue's hash of its last change disagrees, so what the risk engine
    reads is UNVERIFIED (no order), and a HASH_MISMATCH resync swaps the venue's book in."""
    from polytui.engine.context import trusted_read
    from tests.engine.mirror.conftest import FAST

    r = await rig(FAST, faults="drop=0.2")
    tokens = await r.follow(r.markets(4))
    await r.all_live(tokens)
    caught = None
    for _ in range(30):
        await settle(r, 1_000)
        caught = next(
            (
                t
                for t in tokens
                if r.mirror.state(t) is BookState.LIVE and r.mirror.tokens[t].hash_agrees() is False
            ),
            None,
        )
        if caught is not None:
            break
    assert caught is not None, "no LIVE book contradicted by its hash"
    assert r.mirror.live_book(caught) is not None  # a hash alone takes no book out of LIVE
    assert r.mirror.trusted_book(caught) is None  # ... but no order relies on it
    read = trusted_read(r.mirror, caught)
    assert (read.state, read.live) == ("UNVERIFIED", False)
    assert r.mirror.tokens[caught].recheck
    await r.running.admin("POST", "/faults", {"drop": 0})
    await r.until(lambda: r.mirror.resyncs[Reason.HASH_MISMATCH] >= 1)
    assert not r.mirror.tokens[caught].recheck
    await settle(r, 1_000)
    await r.all_live(tokens)
    for t in tokens:
        assert r.local(t) == await r.truth(t), t
