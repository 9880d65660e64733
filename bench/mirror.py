"""Mirror throughput: level changes applied per second through the full path, and its memory.

    python bench/mirror.py [--markets N] [--frames N] [--rounds R] [--seed N]

1. Records a realistic stream: an in-process simulator (``--markets`` markets, two tokens
   each) is warmed up, one market-channel socket subscribes every token (the initial dump of
   books), and the simulated clock is advanced until ``--frames`` ``price_change`` frames
   arrived. Each frame is kept with the simulated time it was received at, and written to a
   capture file (the format of ``polytui/venue/capture.py``).
2. Full path, timed: for every frame ``decode_market_frame`` (typed, exact) and
   ``Mirror.process`` (state machine, buffering, per-entry checks, burst checks, KPIs), with
   the clock at the frame's receive time. Afterwards every token must be LIVE and equal to the
   reference's book (exit status 2 if not).
3. Bare reference, same frames, same run: ``msgspec`` decode into structs with string fields,
   then per entry one ``SortedDict`` per side keyed by the price string, size set or popped;
   no checks, no events.
4. Memory: a fresh child process (this script with ``--rss CAPTURE``) replays the capture
   through the mirror and reports its peak RSS, beside the RSS of the same interpreter with
   the same modules imported and nothing mirrored.

Rounds alternate between the two paths; the best round of each is kept. Prints figures and
PASS/FAIL against the targets (>= 500,000 level changes/s, >= half the bare reference, RSS
under 150 MB for 500 tokens); exit status 0 when all pass.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec
from sortedcontainers import SortedDict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from polytui.config import MirrorSettings  # noqa: E402
from polytui.core.book import Side, price_units  # noqa: E402
from polytui.engine.mirror import BookState, Mirror, Reason  # noqa: E402
from polytui.protocol.wire.errors import WireError  # noqa: E402
from polytui.protocol.wire.market_ws import decode_market_frame  # noqa: E402
from polytui.venue.capture import CaptureWriter, Source, read_capture  # noqa: E402
from polytui.venue.ws import Frame  # noqa: E402

TARGET = 500_000
RSS_LIMIT_MB = 150

Recorded = list[tuple[int, bytes]]  # (simulated receive ms, raw frame)


# ---- recording ---------------------------------------------------------------------------


Markets = dict[str, list[str]]  # condition id -> its token ids


async def record(markets: int, frames: int, seed: int) -> tuple[Recorded, Markets]:
    from websockets.asyncio.client import connect

    from polytui.sim.server import Simulator

    sim = Simulator(seed=seed, markets=markets, rate=400, start_ms=1_795_000_000_000, time_scale=0)
    endpoints = await sim.start()
    out: Recorded = []
    try:
        await _advance(sim, 20_000)
        followed = {
            m.condition_id: list(m.tokens) for m in sim.exchange.markets.values() if not m.closed
        }
        tokens = [t for ts in followed.values() for t in ts]
        async with connect(endpoints["ws"] + "/market", max_size=None, ping_interval=None) as ws:
            await ws.send(
                json.dumps(
                    {
                        "type": "market",
                        "assets_ids": tokens,
                        "initial_dump": True,
                        "custom_feature_enabled": True,
                    }
                )
            )
            changes = 0
            while changes < frames:
                await _advance(sim, 200)
                await ws.send("PING")
                while (raw := await ws.recv()) != "PONG":
                    data = raw.encode() if isinstance(raw, str) else raw
                    out.append((sim.clock.now_ms(), data))
                    changes += b'"price_change"' in data
    finally:
        await sim.stop()
    return out, followed


async def _advance(sim, ms: int) -> None:
    import httpx

    async with httpx.AsyncClient() as client:
        await client.post(sim.endpoints["admin"] + "/clock", json={"advance_ms": ms})


# ---- the two paths -----------------------------------------------------------------------


class FrameClock:
    """The simulated receive time of the frame being applied."""

    def __init__(self) -> None:
        self.ms = 0

    def now_ms(self) -> int:
        return self.ms

    def monotonic(self) -> float:
        return self.ms / 1000


def full_path(frames: Recorded, markets: Markets) -> tuple[float, Mirror]:
    clock = FrameClock()
    mirror = Mirror(clock=clock)
    for market, tokens in markets.items():
        mirror.track(market, tokens)
    process = mirror.process
    started = time.perf_counter()
    for recv_ms, raw in frames:
        clock.ms = recv_ms
        try:
            events = tuple(decode_market_frame(raw))
            frame = Frame("market-1", recv_ms, events)
        except WireError as err:
            frame = Frame("market-1", recv_ms, tuple(err.events), err)
        process(frame)
    mirror.complete_bursts(force=True)
    return time.perf_counter() - started, mirror


class _Entry(msgspec.Struct):
    asset_id: str
    price: str
    size: str
    side: str


class _Change(msgspec.Struct, tag_field="event_type", tag="price_change"):
    price_changes: list[_Entry]


class _Level(msgspec.Struct):
    price: str
    size: str


class _Book(msgspec.Struct, tag_field="event_type", tag="book"):
    asset_id: str
    bids: list[_Level]
    asks: list[_Level]


class _Other(msgspec.Struct, tag_field="event_type", tag="last_trade_price"):
    pass


_BARE = msgspec.json.Decoder(list[_Change | _Book | _Other] | _Change | _Book | _Other)


def bare_path(frames: Recorded) -> tuple[float, dict]:
    books: dict[str, tuple[SortedDict, SortedDict]] = {}
    decode = _BARE.decode
    started = time.perf_counter()
    for _, raw in frames:
        try:
            msgs = decode(raw)
        except msgspec.ValidationError:
            continue  # an event type the reference does not read (tick changes, ...)
        for msg in msgs if type(msgs) is list else (msgs,):
            if type(msg) is _Change:
                for e in msg.price_changes:
                    sides = books.get(e.asset_id)
                    if sides is None:
                        continue  # a delta never creates a book
                    side = sides[0] if e.side == "BUY" else sides[1]
                    if e.size == "0":
                        side.pop(e.price, None)
                    else:
                        side[e.price] = e.size
            elif type(msg) is _Book:
                books[msg.asset_id] = (
                    SortedDict({lv.price: lv.size for lv in msg.bids}),
                    SortedDict({lv.price: lv.size for lv in msg.asks}),
                )
    return time.perf_counter() - started, books


async def stall(frames: Recorded, markets: Markets) -> tuple[float, int]:
    """The running mirror's longest hold of the event loop: the whole stream queued at once
    (the worst backlog), applied by ``Mirror.run``'s loop in its batches. Returns the longest
    stall in ms and how many frames were shed from the bounded inbox."""
    clock = FrameClock()
    mirror = Mirror(clock=clock, settings=MirrorSettings(inbox_limit=len(frames) + 1))
    for market, tokens in markets.items():
        mirror.track(market, tokens)
    for recv_ms, raw in frames:
        try:
            frame = Frame("market-1", recv_ms, tuple(decode_market_frame(raw)))
        except WireError as err:
            frame = Frame("market-1", recv_ms, tuple(err.events), err)
        mirror.sink(frame)
    clock.ms = frames[-1][0]
    task = asyncio.create_task(mirror.run())
    while mirror.stats()["inbox"]:  # noqa: ASYNC110 - drains as fast as it can
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return mirror.max_stall_s * 1000, mirror.stats()["shed"]


def agree(mirror: Mirror, books: dict) -> list[str]:
    """Tokens whose LIVE book differs from the reference's, or that are out of LIVE for any
    reason but a tick change (with no REST in the benchmark, those wait for a WS book)."""
    wrong = []
    for asset, (bids, asks) in books.items():
        book = mirror.live_book(asset)
        if book is None:
            if mirror.tokens[asset].reason is not Reason.TICK_CHANGE:
                wrong.append(asset)
            continue
        ref_bids = sorted(((price_units(p), s) for p, s in bids.items()), reverse=True)
        ref_asks = sorted((price_units(p), s) for p, s in asks.items())
        got_bids = [(lv.units, format(lv.size, "f")) for lv in book.levels(Side.BID)]
        got_asks = [(lv.units, format(lv.size, "f")) for lv in book.levels(Side.ASK)]
        norm = lambda levels: [(u, str(float(s))) for u, s in levels]  # noqa: E731
        if norm(got_bids) != norm(ref_bids) or norm(got_asks) != norm(ref_asks):
            wrong.append(asset)
    return wrong


# ---- memory ------------------------------------------------------------------------------


def rss_mb(key: str = "VmRSS") -> float:
    """From /proc (``ru_maxrss`` would count the parent's memory from before the exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_child(capture: str, markets_file: str) -> None:
    baseline = rss_mb()
    markets = json.loads(Path(markets_file).read_text())
    frames = [(line.recv_ms, line.payload.encode()) for line in read_capture(capture)]
    loaded = rss_mb()
    _, mirror = full_path(frames, markets)
    del frames
    peak = rss_mb("VmHWM")
    live = sum(1 for t in mirror.tokens.values() if t.state is BookState.LIVE)
    print(
        json.dumps(
            {
                "baseline_mb": baseline,
                "loaded_mb": loaded,
                "peak_mb": peak,
                "tokens": len(mirror.tokens),
                "live": live,
            }
        )
    )


# ---- main --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=250)
    parser.add_argument("--frames", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rss", nargs=2, metavar=("CAPTURE", "MARKETS"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--instructions",
        type=int,
        metavar="N",
        help="also count the instructions of both paths over the first N frames (valgrind's "
        "callgrind, one child process per path): a ratio the machine's load does not move",
    )
    parser.add_argument("--run-one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss:
        rss_child(*args.rss)
        return 0
    if args.run_one:
        run_one(*args.run_one)
        return 0

    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{args.markets} markets, recording {args.frames} price_change frames ..."
    )
    frames, markets = asyncio.run(record(args.markets, args.frames, args.seed))
    tokens = sum(len(ts) for ts in markets.values())
    changes = sum(
        len(e.price_changes)
        for _, raw in frames
        for e in _safe_events(raw)
        if type(e).__name__ == "PriceChange"
    )
    print(f"recorded {len(frames)} frames, {changes} level changes, {tokens} tokens")

    best_full = best_bare = float("inf")
    for _ in range(args.rounds):
        seconds, mirror = full_path(frames, markets)
        best_full = min(best_full, seconds)
        seconds, books = bare_path(frames)
        best_bare = min(best_bare, seconds)
    wrong = agree(mirror, books)
    if wrong:
        print(f"FAIL: {len(wrong)} mirrored books are not LIVE or differ from the reference")
        return 2

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream.jsonl"
        capture = CaptureWriter(path)
        for recv_ms, raw in frames:
            capture.frame(Source.WS_MARKET, "market-1", recv_ms, raw.decode())
        capture.close()
        markets_path = Path(tmp) / "markets.json"
        markets_path.write_text(json.dumps(markets))
        child = subprocess.run(
            [sys.executable, __file__, "--rss", str(path), str(markets_path)],
            capture_output=True,
            text=True,
            check=True,
        )
        memory = json.loads(child.stdout.strip().splitlines()[-1])

    longest, shed = asyncio.run(stall(frames, markets))
    full_rate, bare_rate = changes / best_full, changes / best_bare
    print()
    print(f"{'path':<44}{'level changes/s':>16}{'us/change':>11}")
    print(
        f"{'polytui mirror (decode+apply+checks+KPIs)':<44}{full_rate:>16,.0f}"
        f"{1e6 / full_rate:>11.2f}"
    )
    print(
        f"{'bare reference (str structs + SortedDict)':<44}{bare_rate:>16,.0f}"
        f"{1e6 / bare_rate:>11.2f}"
    )
    print()
    stats = mirror.stats()
    print(
        f"mirror: {stats['tokens']} tokens, states {stats['states']}, "
        f"decode errors {stats['decode_errors']}, resyncs {stats['resyncs']}"
    )
    print(
        f"event loop: longest stall {longest:.1f} ms applying the whole stream queued at once "
        f"(batches of 256 frames; {shed} shed)"
    )
    mirrored = memory["peak_mb"] - memory["loaded_mb"]
    print(
        f"memory (child): {memory['tokens']} tokens ({memory['live']} LIVE), peak RSS "
        f"{memory['peak_mb']:.0f} MB (interpreter + modules {memory['baseline_mb']:.0f} MB, "
        f"recorded stream loaded {memory['loaded_mb']:.0f} MB, mirroring +{mirrored:.0f} MB)"
    )
    checks = [
        (full_rate >= TARGET, f"full path >= {TARGET:,} level changes/s"),
        (full_rate >= bare_rate / 2, "full path >= half the bare reference"),
        (memory["peak_mb"] < RSS_LIMIT_MB, f"peak RSS < {RSS_LIMIT_MB} MB"),
    ]
    if args.instructions:
        counted = instructions(frames, markets, args.instructions)
        if counted is not None:
            ratio = counted["bare"] / counted["full"]
            print(
                f"instructions over the first {args.instructions} frames: full path "
                f"{counted['full'] / 1e6:,.0f} M, bare reference {counted['bare'] / 1e6:,.0f} M: "
                f"the full path runs at {ratio:.2f} of the reference's speed"
            )
            checks.append((ratio >= 0.5, "full path >= half the bare reference (instructions)"))
    for ok, what in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {what}")
    return 0 if all(ok for ok, _ in checks) else 1


def run_one(path: str, data: str, count: str) -> None:
    """A child for ``--instructions``: one path over the first ``count`` recorded frames."""
    import pickle

    frames, markets = pickle.loads(Path(data).read_bytes())
    frames = frames[: int(count)]
    if path == "full":
        full_path(frames, markets)
    elif path == "bare":
        bare_path(frames)


def instructions(frames: Recorded, markets: Markets, count: int) -> dict[str, int] | None:
    """Instructions of each path over the same frames, less those of loading them alone."""
    import pickle
    import re
    import shutil

    if shutil.which("valgrind") is None:
        print("--instructions: valgrind is not installed (apt-get install valgrind)")
        return None
    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "frames.pickle"
        data.write_bytes(pickle.dumps((frames, markets)))
        for path in ("none", "full", "bare"):
            run = subprocess.run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.{path}",
                 sys.executable, __file__, "--run-one", path, str(data), str(count)],
                capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"},
            )  # fmt: skip
            found = re.search(r"Collected : (\d+)", run.stderr)
            if run.returncode or found is None:
                print(f"--instructions: callgrind failed: {run.stderr[-500:]}")
                return None
            counts[path] = int(found.group(1))
    return {p: counts[p] - counts["none"] for p in ("full", "bare")}


def _safe_events(raw: bytes):
    try:
        return decode_market_frame(raw)
    except WireError as err:
        return err.events


if __name__ == "__main__":
    sys.exit(main())
