"""`polytui replay CAPTURE`: a session's capture replayed offline ends with the books the live
mirror ended with."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys

from polytui.engine.mirror import BookState, Mirror
from polytui.engine.mirror.replay import as_json, replay_capture
from polytui.venue.capture import CaptureWriter
from polytui.venue.clob import ClobClient
from polytui.venue.endpoints import Endpoints
from polytui.venue.http import HttpClient
from polytui.venue.market_stream import MarketStream
from polytui.venue.retry import RetryPolicy
from polytui.venue.ws import WsSettings
from tests.engine.mirror.conftest import FAST, VenueTime
from tests.engine.mirror.test_mirror import settle
from tests.sim.trading import WARMUP_MS


async def record(start_sim, path, faults: str) -> tuple[Mirror, tuple[dict, dict, dict]]:
    """A live mirror's session with its capture; its states, books and resyncs just before it
    ended (closing the socket puts every book out of LIVE, which a replay does not repeat)."""
    running = await start_sim(seed=3, markets=4, rate=80, faults=faults)
    await running.advance(WARMUP_MS)
    endpoints = Endpoints.from_json(running.endpoints)
    capture = CaptureWriter(path)
    http = HttpClient(
        endpoints,
        policy=RetryPolicy(attempts=3, base_s=0.01, cap_s=0.05),
        capture=capture,
        clock=VenueTime(running.sim.clock),
    )
    mirror = Mirror(
        ClobClient(http).books,
        settings=FAST,
        clock=VenueTime(running.sim.clock),
        rng=random.Random(2),
    )
    stream = MarketStream(
        endpoints.ws_market,
        mirror.sink,
        settings=WsSettings(backoff_base_s=0.01, backoff_cap_s=0.05),
        clock=VenueTime(running.sim.clock),
        capture=capture,
    )
    task = asyncio.create_task(mirror.run())
    await stream.start()

    class Rig:  # what `settle` needs
        pass

    rig = Rig()
    rig.running, rig.mirror = running, mirror
    tokens = []
    for m in [m for m in running.sim.exchange.markets.values() if m.tradable]:
        mirror.track(m.condition_id, m.tokens)
        await stream.subscribe(m.tokens)
        tokens += m.tokens
    for _ in range(5):
        await settle(rig, 2_000)
    await running.admin("POST", "/faults", {"drop": 0, "disconnect": 0})
    for _ in range(4):
        await settle(rig, 2_000)
    async with asyncio.timeout(10):
        while not all(mirror.state(t) is BookState.LIVE for t in tokens):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # the frames of the last advance are in
    final = (
        {a: t.state for a, t in mirror.tokens.items()},
        books_of(mirror),
        dict(mirror.resyncs),
    )
    await stream.close()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await http.aclose()
    capture.close()
    return mirror, final


def books_of(mirror: Mirror) -> dict:
    return {
        a: [[(lv.units, lv.size) for lv in t.book.levels(side)] for side in (0, 1)]
        for a, t in mirror.tokens.items()
        if t.book is not None
    }


async def test_a_replayed_capture_ends_with_the_live_mirrors_books(start_sim, tmp_path):
    path = tmp_path / "session.jsonl"
    live, (states, books, resyncs) = await record(start_sim, path, "drop=0.05,disconnect=8")
    replayed = replay_capture(path).mirror
    assert set(replayed.tokens) == set(live.tokens)
    assert {a: t.state for a, t in replayed.tokens.items()} == states
    assert books_of(replayed) == books
    assert replayed.resyncs["RECONNECT"] == resyncs["RECONNECT"] > 0
    assert replayed.frames == live.frames
    summary = as_json(replay_capture(path))
    assert set(summary) >= {"books", "resyncs", "frames", "errors"}
    some = next(iter(summary["books"].values()))
    assert some["state"] == "LIVE" and some["tick_size"] in ("0.01", "0.001")
    assert all(isinstance(p, str) and isinstance(s, str) for p, s in some["bids"])


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "polytui", "replay", *args], capture_output=True, text=True
    )


def test_the_replay_command_prints_json_and_refuses_what_is_not_a_capture(tmp_path):
    book = {
        "event_type": "book",
        "market": "0xm",
        "asset_id": "7" * 77,
        "timestamp": "1795000000000",
        "hash": "h",
        "bids": [{"price": "0.30", "size": "120"}, {"price": "0.31", "size": "5"}],
        "asks": [{"price": "0.40", "size": "7"}],
        "tick_size": "0.01",
    }
    good = tmp_path / "c.jsonl"
    line = {"recv_ms": 1795000000001, "source": "ws_market", "conn": "market-1"}
    good.write_text(
        json.dumps(line | {"payload": json.dumps([book])})
        + "\n"
        + json.dumps(line | {"payload": "not json"})
        + "\n"
        + '{"recv_ms": 17950000'  # a last line torn by a killed process is skipped
    )
    done = run_cli(str(good), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["books"]["7" * 77]["bids"] == [["0.31", "5"], ["0.30", "120"]]
    assert out["books"]["7" * 77]["tick_size"] == "0.01" and out["errors"] == 1
    assert out["frames"] == 2
    text = run_cli(str(good))
    assert text.returncode == 0 and "0.31 x 5, 0.30 x 120" in text.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text("hello\n{}\n")
    done = run_cli(str(bad))
    assert (
        done.returncode == 2
        and "not a capture file" in done.stderr
        and "bad.jsonl:1" in done.stderr
    )
    missing = run_cli(str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "no such capture file" in missing.stderr
