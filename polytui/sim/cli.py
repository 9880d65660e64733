"""``polytui sim``: run the exchange simulator until SIGINT/SIGTERM.

The first line on stdout is one JSON object with the base URLs; everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import sys

from polytui.sim.faults import Faults, FaultSpecError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--seed", type=int, default=1, help="seed of the markets and their flow")
    parser.add_argument("--markets", type=int, default=20, help="number of markets (default 20)")
    parser.add_argument(
        "--rate",
        type=float,
        default=50.0,
        help="synthetic order events per simulated second (default 50)",
    )
    parser.add_argument(
        "--faults",
        default="",
        help="e.g. drop=0.01,dup=0.01,reorder=0.01,freeze=1,disconnect=30,http5xx=0.02,"
        "http429=0.01,latency_ms=20,stale_rest=0.05",
    )
    parser.add_argument(
        "--start-ms", type=int, default=None, help="simulated start time, epoch ms (default now)"
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="simulated seconds per real second; 0 stops the clock",
    )
    parser.add_argument(
        "--starting-usd", type=int, default=10_000, help="pUSD a new wallet starts with"
    )
    parser.add_argument(
        "--leaders", type=int, default=4, help="synthetic leader wallets to copy (default 4)"
    )
    parser.add_argument(
        "--leader-activity",
        type=float,
        default=1.0,
        help="times each leader style's trades per hour (default 1: a whale trades 3 times "
        "an hour, a scalper 40)",
    )
    parser.add_argument(
        "--data-lag-ms",
        type=int,
        default=2_000,
        help="simulated ms before a fill shows on the Data API (default 2000)",
    )
    parser.add_argument(
        "--mined-ms", type=int, default=2_000, help="simulated ms from a match to MINED"
    )
    parser.add_argument(
        "--confirmed-ms", type=int, default=6_000, help="simulated ms from a match to CONFIRMED"
    )
    parser.add_argument(
        "--exit-with-stdin",
        action="store_true",
        help="stop when standard input closes (the parent that started it is gone, even if "
        "it was killed)",
    )
    parser.add_argument(
        "--auth-skew-s",
        type=int,
        default=300,
        help="accepted distance of POLY_TIMESTAMP from now, seconds; 0 accepts any",
    )


def run(args: argparse.Namespace) -> int:
    try:
        faults = Faults.parse(args.faults)
    except FaultSpecError as exc:
        print(f"polytui sim: --faults: {exc}", file=sys.stderr)
        return 2
    for name, value, low in (
        ("--markets", args.markets, 1),
        ("--rate", args.rate, 0),
        ("--time-scale", args.time_scale, 0),
        ("--starting-usd", args.starting_usd, 0),
        ("--leaders", args.leaders, 0),
        ("--leader-activity", args.leader_activity, 0),
        ("--data-lag-ms", args.data_lag_ms, 0),
        ("--mined-ms", args.mined_ms, 0),
        ("--confirmed-ms", args.confirmed_ms, args.mined_ms),
        ("--auth-skew-s", args.auth_skew_s, 0),
    ):
        if value < low:
            print(f"polytui sim: {name} must be >= {low}, got {value}", file=sys.stderr)
            return 2
    try:
        asyncio.run(_serve(args, faults))
    except OSError as exc:
        print(f"polytui sim: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve(args: argparse.Namespace, faults: Faults) -> None:
    from polytui.sim.server import Simulator
    from polytui.sim.trading import Settlement

    sim = Simulator(
        seed=args.seed,
        markets=args.markets,
        rate=args.rate,
        faults=faults,
        start_ms=args.start_ms,
        time_scale=args.time_scale,
        starting_usd=args.starting_usd,
        auth_skew_s=args.auth_skew_s,
        settlement=Settlement(args.mined_ms, args.confirmed_ms),
        leaders=args.leaders,
        leader_activity=args.leader_activity,
        data_lag_ms=args.data_lag_ms,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if args.exit_with_stdin:
        _stop_at_stdin_eof(loop, stop)
    endpoints = await sim.start(args.host, args.port)
    # Started: freeze what exists (the modules, the generated markets) out of every later full
    # collection, so the collector does not pause the feed for ~100 ms now and then. The
    # engine does the same (polytui/gc_policy.py); the simulator keeps its own two lines.
    gc.collect()
    gc.freeze()
    sys.stdout.write(json.dumps(endpoints) + "\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await sim.stop()


def _stop_at_stdin_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """A parent holds our stdin open and never writes: when it ends, killed or not, the pipe
    closes and we stop too, so no simulator outlives the polytui that started it."""
    fd = sys.stdin.fileno()

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            stop.set()

    loop.add_reader(fd, readable)
