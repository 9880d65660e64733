"""Simulator throughput: sustained market-channel frames/s delivered to ONE client, 100 markets.

    python bench/sim.py [--seconds N] [--rate R] [--warmup S] [--decoder msgspec|json]

1. Starts ``python -m polytui sim --markets 100 --rate R --seed 1`` as a real child process and
   reads its endpoints from the first stdout line.
2. Lists every token from ``<clob>/markets`` (cursor paging to ``LTE=``), connects one
   ``websockets`` client to ``<ws>/market``, subscribes all of them, discards the initial dump
   and a warm-up, then counts frames (one market message per frame) over the window, decoding
   each one as a client must.
3. Stops the child with SIGTERM and checks that it exits 0.
4. Reference, same run, same client code: a minimal ``websockets`` server (another child
   process: this script with ``--reference-server``) pushes the ``price_change`` frames captured
   in step 2, pre-encoded, as fast as the client takes them. That is the loopback WebSocket
   ceiling of this machine for this client; read the simulator's figure against it.

Exit status: 0 when the simulator sustained >= 5000 price_change frames/s and exited cleanly,
1 otherwise, 2 on a setup failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parents[1]
MARKETS = 100
TARGET = 5000  # price_change frames/s the simulator must sustain to one client
CAPTURE = 5000  # price_change frames kept for the reference server
PING_EVERY_S = 10.0
END_CURSOR = "LTE="


# ---- the measuring client (shared by both runs) -----------------------------------------


@dataclass
class Measure:
    label: str
    offered: str
    seconds: float = 0.0
    frames: int = 0
    price_change: int = 0
    by_type: Counter = field(default_factory=Counter)
    nbytes: int = 0
    decode_s: float = 0.0
    dump_books: int = 0
    closed: str = ""  # why the socket closed early, if it did
    captured: list[bytes] = field(default_factory=list)
    sim_events_per_s: float | None = None
    queued_end: int | None = None

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    @property
    def pc_fps(self) -> float:
        return self.price_change / self.seconds if self.seconds else 0.0

    @property
    def decode_us(self) -> float:
        return self.decode_s / self.frames * 1e6 if self.frames else 0.0

    @property
    def decode_share(self) -> float:
        return self.decode_s / self.seconds if self.seconds else 0.0


def decoder_of(name: str):
    return msgspec.json.decode if name == "msgspec" else json.loads


def event_type(obj) -> str:
    if isinstance(obj, dict):
        return str(obj.get("event_type", "?"))
    if isinstance(obj, list):
        return "array"
    return "?"


async def _pinger(ws) -> None:
    with contextlib.suppress(ConnectionClosed, asyncio.CancelledError):
        while True:
            await asyncio.sleep(PING_EVERY_S)
            await ws.send("PING")


async def measure(
    url: str,
    tokens: list[str],
    result: Measure,
    seconds: float,
    warmup: float,
    decode,
    capture: int,
) -> Measure:
    async with connect(url, max_size=None, compression=None, ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "market", "assets_ids": tokens, "initial_dump": True}))
        dump = decode(await asyncio.wait_for(ws.recv(decode=False), 30))
        if not isinstance(dump, list) or any(event_type(b) != "book" for b in dump):
            raise RuntimeError(
                f"the first frame is not the initial dump (a list of books): {dump!r:.200}"
            )
        result.dump_books = len(dump)
        pinger = asyncio.create_task(_pinger(ws))
        # a watchdog: if frames stop, recv() would wait forever; closing the socket ends it
        watchdog = asyncio.get_running_loop().call_later(warmup + seconds + 5, ws.transport.abort)
        clock = time.perf_counter
        try:
            until = clock() + warmup
            while clock() < until:
                await ws.recv(decode=False)
            frames = pcs = nbytes = 0
            decode_s = 0.0
            by_type: Counter = Counter()
            captured = result.captured
            start = clock()
            deadline = start + seconds
            end = start
            try:
                while True:
                    data = await ws.recv(decode=False)
                    end = clock()
                    if end >= deadline:
                        break
                    if data == b"PONG":
                        continue
                    obj = decode(data)
                    decode_s += clock() - end
                    kind = event_type(obj)
                    frames += 1
                    nbytes += len(data)
                    by_type[kind] += 1
                    if kind == "price_change":
                        pcs += 1
                        if len(captured) < capture:
                            captured.append(data)
            except ConnectionClosed as exc:
                end = clock()
                result.closed = f"closed by server after {end - start:.1f}s: {exc}"
            result.seconds = max(end, start + 1e-9) - start if result.closed else seconds
            result.frames, result.price_change, result.nbytes = frames, pcs, nbytes
            result.decode_s, result.by_type = decode_s, by_type
        finally:
            watchdog.cancel()
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pinger
            # Drop the socket rather than closing politely: with unread frames piling up the
            # closing handshake would wait out its timeout behind them.
            ws.transport.abort()
    return result


# ---- child processes ----------------------------------------------------------------------


def spawn(command: list[str], stderr_file) -> tuple[subprocess.Popen, str]:
    """Start a child; return it and its first stdout line (30 s at most)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=stderr_file, cwd=REPO, env=env, text=True
    )
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline() if ready else ""
    if not line:
        proc.kill()
        proc.wait()
        stderr_file.seek(0)
        raise RuntimeError(f"{command[2:5]} did not start; stderr:\n{stderr_file.read()[-2000:]}")
    return proc, line


def stop(proc: subprocess.Popen, timeout: float = 30) -> tuple[int | None, float]:
    """SIGTERM, wait; returns (exit status or None if it had to be killed, seconds taken)."""
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        code = None
    return code, time.perf_counter() - t0


async def all_tokens(clob: str) -> list[str]:
    tokens: list[str] = []
    cursor = "MA=="
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(100):
            page = (await http.get(f"{clob}/markets", params={"next_cursor": cursor})).json()
            tokens += [t["token_id"] for m in page["data"] if not m["closed"] for t in m["tokens"]]
            cursor = page["next_cursor"]
            if cursor == END_CURSOR:
                return tokens
    raise RuntimeError("/markets paging never reached LTE=")


async def sim_stats(admin: str) -> tuple[int, int]:
    """(market events executed so far, frames queued to our connection)."""
    async with httpx.AsyncClient(timeout=30) as http:
        stats = (await http.get(f"{admin}/stats")).json()
    queued = sum(c["queued"] for c in stats["connections"])
    return stats["clock"]["events"], queued


async def run_simulator(args, decode) -> tuple[Measure, int | None, float]:
    command = [
        sys.executable,
        "-m",
        "polytui",
        "sim",
        "--markets",
        str(MARKETS),
        "--rate",
        str(args.rate),
        "--seed",
        "1",
    ]
    with tempfile.TemporaryFile("w+") as err:
        proc, line = spawn(command, err)
        try:
            endpoints = json.loads(line)
            tokens = await all_tokens(endpoints["clob"])
            result = Measure("simulator", f"{args.rate:g} events/s")
            stats_task = asyncio.create_task(
                _window_stats(endpoints["admin"], args.warmup, args.seconds)
            )
            await measure(
                f"{endpoints['ws']}/market",
                tokens,
                result,
                args.seconds,
                args.warmup,
                decode,
                CAPTURE,
            )
            events, result.queued_end = await stats_task
            result.sim_events_per_s = events / args.seconds
        finally:
            code, took = stop(proc)
        if code != 0:
            err.seek(0)
            print(f"simulator stderr (tail):\n{err.read()[-2000:]}", file=sys.stderr)
    return result, code, took


async def _window_stats(admin: str, warmup: float, seconds: float) -> tuple[int, int]:
    """Market events the simulator executed during the measurement window, and its backlog
    to us at the end of it (frames queued but not yet written)."""
    await asyncio.sleep(warmup)
    before, _ = await sim_stats(admin)
    await asyncio.sleep(seconds)
    after, queued = await sim_stats(admin)
    return after - before, queued


async def run_reference(args, decode, frames: list[bytes]) -> Measure:
    with tempfile.NamedTemporaryFile("wb", suffix=".frames", delete=False) as f:
        f.write(b"\n".join(frames))
        path = f.name
    try:
        with tempfile.TemporaryFile("w+") as err:
            proc, line = spawn([sys.executable, str(SCRIPT), "--reference-server", path], err)
            try:
                result = Measure("loopback reference", "unbounded (pre-encoded)")
                await measure(line.strip(), ["1"], result, args.seconds, args.warmup, decode, 0)
            finally:
                stop(proc, 10)
    finally:
        os.unlink(path)
    return result


# ---- the reference server (child mode) ----------------------------------------------------


async def reference_server(frames: list[bytes]) -> None:
    from websockets.asyncio.server import serve

    async def push(ws) -> None:
        try:
            await ws.recv()  # the subscription
            await ws.send(b"[]", text=True)  # an (empty) initial dump
            send = ws.send
            while True:
                for frame in frames:
                    await send(frame, text=True)
        except ConnectionClosed:
            pass

    stop_event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_event.set)
    async with serve(
        push, "127.0.0.1", 0, compression=None, ping_interval=None, max_size=None
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"ws://127.0.0.1:{port}", flush=True)
        await stop_event.wait()


# ---- report -------------------------------------------------------------------------------


def table(rows: list[Measure], decoder: str) -> str:
    head = (
        "source",
        "offered",
        "frames/s",
        "price_change/s",
        "MB/s",
        f"decode µs/frame ({decoder})",
        "decode % of wall",
    )
    lines = [head]
    for r in rows:
        lines.append(
            (
                r.label,
                r.offered,
                f"{r.fps:,.0f}",
                f"{r.pc_fps:,.0f}",
                f"{r.nbytes / r.seconds / 1e6:.2f}" if r.seconds else "-",
                f"{r.decode_us:.1f}",
                f"{r.decode_share * 100:.1f}%",
            )
        )
    widths = [max(len(str(row[i])) for row in lines) for i in range(len(head))]
    out = []
    for n, row in enumerate(lines):
        out.append(
            "  ".join(
                str(c).rjust(w) if i else str(c).ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


async def main_async(args) -> int:
    decode = decoder_of(args.decoder)
    print(
        f"polytui simulator throughput: {MARKETS} markets, one client, {args.seconds:g}s window "
        f"after {args.warmup:g}s warm-up, rate {args.rate:g} events/s, {os.cpu_count()} CPUs",
        flush=True,
    )
    sim, code, took = await run_simulator(args, decode)
    if not sim.captured:
        print("no price_change frame received from the simulator", file=sys.stderr)
        return 1
    ref = await run_reference(args, decode, sim.captured)
    print()
    print(table([sim, ref], args.decoder))
    print()
    kinds = ", ".join(f"{k} {v / sim.seconds:,.0f}/s ({v:,})" for k, v in sim.by_type.most_common())
    print(f"simulator frames by type: {kinds}")
    print(f"initial dump: {sim.dump_books} books in one frame (discarded)")
    if sim.sim_events_per_s is not None:
        print(
            f"simulator executed {sim.sim_events_per_s:,.0f} market events/s in the window "
            f"(offered {args.rate:g}); frames queued to this client at the end: {sim.queued_end:,}"
        )
    if sim.closed:
        print(f"simulator connection: {sim.closed}")
    if ref.closed:
        print(f"reference connection: {ref.closed}")
    share = sim.pc_fps / ref.pc_fps * 100 if ref.pc_fps else 0
    print(f"simulator price_change/s = {share:.0f}% of the loopback reference")
    ok_rate = sim.pc_fps >= TARGET and not sim.closed
    verdict = ">=" if sim.pc_fps >= TARGET else "<"
    print(
        f"sustained price_change frames/s {sim.pc_fps:,.0f} {verdict} {TARGET:,}: "
        f"{'PASS' if ok_rate else 'FAIL'}"
    )
    print(
        f"child stopped with SIGTERM: exit status {code} after {took:.2f}s "
        f"({'ok' if code == 0 else 'NOT 0'})"
    )
    return 0 if ok_rate and code == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="measurement window (default 10)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=20000.0,
        help="offered synthetic order events per second (default 20000)",
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds discarded first (default 2)"
    )
    parser.add_argument(
        "--decoder",
        choices=("msgspec", "json"),
        default="msgspec",
        help="how the client decodes each frame (default msgspec)",
    )
    parser.add_argument("--reference-server", metavar="FRAMES", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference_server:
        frames = Path(args.reference_server).read_bytes().split(b"\n")
        asyncio.run(reference_server(frames))
        return 0
    try:
        return asyncio.run(main_async(args))
    except RuntimeError as exc:
        print(f"bench/sim.py: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
