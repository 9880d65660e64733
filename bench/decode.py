"""Wire decode throughput: market-channel ``price_change`` frames/s into typed structs.

    python bench/decode.py [--frames N] [--seconds S] [--rounds R] [--seed N]

1. Builds N realistic ``price_change`` frames (protocol §5.2): one market message per frame,
   compact JSON as the venue sends it, 2-4 entries (both tokens of the market, mirrored
   prices), 77-digit token ids, 40-hex hashes, prices on 0.01 or 0.001 grids, ms timestamps.
2. Decodes the whole set over and over for S seconds, R rounds, and keeps the best round, for:
   * ``decode_market_frame``, the client's decoder: one msgspec pass into frozen structs,
     ``Decimal`` sizes, prices as the exact strings served (the mirror turns them into integer
     price units through a cache), ``int`` timestamps, string ids;
   * the same on frames where one entry has an empty ``best_bid`` (kept as ``""``: an empty
     side, no repairing fallback any more);
   * references measured in the same run: ``msgspec.json.decode`` to plain dicts and strings
     (no types, no Decimal: the floor for any msgspec-based decoder) and ``json.loads``.

Checks that the typed decoder read every frame right before timing it. Prints figures only;
exit status 0 (2 if a frame decodes wrongly).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from polytui.protocol.wire.market_ws import PriceChange, decode_market_frame  # noqa: E402

MARKETS = 100


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


def _price(ticks: int, tick: Decimal) -> str:
    return str((ticks * tick).normalize())


def make_frames(count: int, seed: int) -> list[bytes]:
    """``count`` price_change frames over ``MARKETS`` markets, deterministic for a seed."""
    rng = random.Random(seed)
    markets = [
        (
            "0x" + _hex(rng, 64),
            str(rng.randrange(10**76, 10**77)),
            str(rng.randrange(10**76, 10**77)),
            rng.choice((Decimal("0.01"), Decimal("0.001"))),
        )
        for _ in range(MARKETS)
    ]
    timestamp = 1_795_000_000_000
    frames = []
    for _ in range(count):
        condition, yes, no, tick = rng.choice(markets)
        steps = int(1 / tick)
        bid = rng.randrange(steps // 10, steps * 8 // 10)  # YES best bid, in ticks
        ask = bid + rng.randrange(1, 4)
        entries = []
        pairs = rng.choice((1, 2))
        for _ in range(pairs):  # each change shows on both tokens, mirrored
            level = rng.randrange(bid - 5, ask + 5)
            side = "BUY" if level <= bid else "SELL"
            size = "0" if rng.random() < 0.2 else f"{rng.uniform(1, 50_000):.2f}"
            entries.append((yes, _price(level, tick), size, side, bid, ask))
            mirror = "SELL" if side == "BUY" else "BUY"
            entries.append(
                (no, _price(steps - level, tick), size, mirror, steps - ask, steps - bid)
            )
        if pairs == 1 and rng.random() < 0.5:  # 3 entries: one more level on one token
            entries.append((yes, _price(bid, tick), f"{rng.uniform(1, 500):.2f}", "BUY", bid, ask))
        timestamp += rng.randrange(0, 40)
        message = {
            "event_type": "price_change",
            "market": condition,
            "timestamp": str(timestamp),
            "price_changes": [
                {
                    "asset_id": asset,
                    "price": price,
                    "size": size,
                    "side": side,
                    "hash": _hex(rng, 40),
                    "best_bid": _price(best_bid, tick),
                    "best_ask": _price(best_ask, tick),
                }
                for asset, price, size, side, best_bid, best_ask in entries
            ],
        }
        frames.append(json.dumps(message, separators=(",", ":")).encode())
    return frames


def with_empty_best_bid(frame: bytes) -> bytes:
    """The same frame with the first entry's bid side empty, as the venue writes it."""
    message = json.loads(frame)
    message["price_changes"][0]["best_bid"] = ""
    return json.dumps(message, separators=(",", ":")).encode()


def first_wrong(frames: list[bytes], blank: bool) -> bytes | None:
    """The first frame the typed decoder gets wrong (entries, types, the empty best_bid)."""
    for frame in frames:
        events = decode_market_frame(frame)
        served = json.loads(frame)["price_changes"]
        if len(events) != 1 or not isinstance(events[0], PriceChange):
            return frame
        decoded = events[0].price_changes
        if [e.asset_id for e in decoded] != [e["asset_id"] for e in served]:
            return frame
        if [str(e.price) for e in decoded] != [e["price"] for e in served]:
            return frame
        if (decoded[0].best_bid == "") != blank:
            return frame
    return None


def rate(
    decode: Callable[[bytes], object], frames: list[bytes], seconds: float, rounds: int
) -> float:
    """Best frames/s over ``rounds`` rounds of at least ``seconds`` each."""
    clock = time.perf_counter
    best = 0.0
    for _ in range(rounds):
        done = 0
        start = clock()
        while True:
            for frame in frames:
                decode(frame)
            done += len(frames)
            elapsed = clock() - start
            if elapsed >= seconds:
                break
        best = max(best, done / elapsed)
    return best


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        out.append(
            "  ".join(
                c.rjust(w) if i > 1 else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=20_000, help="distinct frames (20000)")
    parser.add_argument("--seconds", type=float, default=1.0, help="seconds per round (1)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, best kept (3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the frames (1)")
    args = parser.parse_args()

    frames = make_frames(args.frames, args.seed)
    blank = [with_empty_best_bid(f) for f in frames]
    wrong = first_wrong(frames, blank=False) or first_wrong(blank, blank=True)
    if wrong:
        print(f"bench/decode.py: decoded wrongly: {wrong!r:.300}", file=sys.stderr)
        return 2
    entries = sum(len(json.loads(f)["price_changes"]) for f in frames) / len(frames)
    size = sum(map(len, frames)) / len(frames)
    print(
        f"polytui wire decode: {len(frames):,} price_change frames, {entries:.2f} entries and "
        f"{size:.0f} bytes per frame on average, best of {args.rounds} x {args.seconds:g}s; "
        f"Python {platform.python_version()}, msgspec {msgspec.__version__}"
    )
    cases = [
        ("decode_market_frame", "structs, str prices, Decimal sizes", decode_market_frame, frames),
        ('decode_market_frame, best_bid ""', "same, one empty side", decode_market_frame, blank),
        ("msgspec.json.decode (reference)", "untyped dicts and str", msgspec.json.decode, frames),
        ("json.loads (reference)", "untyped dicts and str", json.loads, frames),
    ]
    measured = [
        (name, what, rate(fn, data, args.seconds, args.rounds)) for name, what, fn, data in cases
    ]
    floor = measured[2][2]
    rows = [("decoder", "yields", "frames/s", "entries/s", "µs/frame", "vs msgspec untyped")]
    for name, what, fps in measured:
        rows.append(
            (
                name,
                what,
                f"{fps:,.0f}",
                f"{fps * entries:,.0f}",
                f"{1e6 / fps:.2f}",
                f"{floor / fps:.2f}x the time",
            )
        )
    print()
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
