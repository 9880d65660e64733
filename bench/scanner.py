"""Scanner: the time of a full Gamma scan and of an incremental refresh over 20,000 markets.

    python bench/scanner.py [--markets N] [--rounds R] [--seed N]

1. Starts ``python -m polytui sim --markets N --time-scale 0`` as a child process (its own
   CPU, as in a real run) and reads every page once, so the simulator's row cache is warm
   and its cost is the same for every row below.
2. Rounds, each in this order (the best round of each row is kept):
   * **raw paged fetch (floor)**: the same ``/markets`` pages the full scan asks for
     (``order=id``, the same page size and concurrency), bodies only, no decode, on a plain
     ``httpx`` client: what any scanner pays to move the bytes.
   * **full scan**: ``Scanner.scan()`` with the default settings: every page through the
     venue's ``HttpClient`` (rate budget, retries), typed decode, conversion, the
     closed-market lookups, selection of the universe (cap 200) and the subscription diff
     (a counting subscriber, no sockets).
   * the simulator runs one default cadence of market life (3 s of trading at ``--rate``)
     and opens one event, so the refresh has something to find;
   * **incremental refresh**: ``Scanner.refresh()``: the newest markets, the watched ones by
     id, selection and diff.
3. Prints the figures, with ``select()`` alone over the whole catalogue (pure CPU), and
   PASS when the full scan fits inside the default cadence (3 s). Exit status 0 on PASS.

The floor client sends its own ``X-Sim-Client``, so its requests do not count against the
scanner's rate limit at the simulator; the scanner's own requests stay within polytui's rate
budget (``/markets``: 80 % of 300 per 10 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select as select_fd
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parents[1]
sys.path.insert(0, str(REPO))

from polytui.config import ScannerSettings  # noqa: E402
from polytui.core.universe import select  # noqa: E402
from polytui.engine.scanner import Scanner  # noqa: E402
from polytui.venue.endpoints import Endpoints  # noqa: E402
from polytui.venue.gamma import GammaClient  # noqa: E402
from polytui.venue.http import HttpClient  # noqa: E402

START_MS = 1_795_000_000_000


class Counting:
    """A subscriber that only counts (the sockets are the stream's business, not measured)."""

    def __init__(self) -> None:
        self.subscribed = self.unsubscribed = 0

    async def subscribe(self, market, assets) -> None:
        self.subscribed += 1

    async def unsubscribe(self, market, assets) -> None:
        self.unsubscribed += 1


class SimTime:
    """The simulator's clock for exchange times (end dates), the host's for intervals."""

    def __init__(self, http: httpx.AsyncClient, admin: str) -> None:
        self.now = START_MS
        self._http, self._admin = http, admin

    async def sync(self) -> None:
        self.now = (await self._http.get(self._admin + "/clock")).json()["now_ms"]

    def now_ms(self) -> int:
        return self.now

    def monotonic(self) -> float:
        return time.monotonic()


def spawn(markets: int, seed: int, rate: float, stderr) -> tuple[subprocess.Popen, dict]:
    command = [sys.executable, "-m", "polytui", "sim", "--markets", str(markets)]
    command += ["--seed", str(seed), "--rate", str(rate), "--time-scale", "0"]
    command += ["--start-ms", str(START_MS)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, cwd=REPO, env=env)
    ready, _, _ = select_fd.select([proc.stdout], [], [], 300)
    line = proc.stdout.readline() if ready else b""
    if not line:
        proc.kill()
        proc.wait()
        raise RuntimeError("the simulator did not start")
    return proc, json.loads(line)


async def raw_fetch(http: httpx.AsyncClient, gamma: str, size: int, concurrency: int) -> tuple:
    """The floor: the listing's pages, bodies only. Returns (seconds, pages, bytes, rows)."""
    t0 = time.perf_counter()
    pages = nbytes = rows = 0
    offset = 0
    while True:
        wave = [offset + i * size for i in range(concurrency)]
        answers = await asyncio.gather(
            *(
                http.get(gamma + "/markets", params={"limit": size, "offset": o, "order": "id"})
                for o in wave
            )
        )
        short = False
        for answer in answers:
            answer.raise_for_status()
            body = answer.content
            pages += 1
            nbytes += len(body)
            n = body.count(b'"conditionId"')
            rows += n
            short = short or n < size
        if short:
            return time.perf_counter() - t0, pages, nbytes, rows
        offset = wave[-1] + size


async def run(args) -> int:
    settings = ScannerSettings()
    with tempfile.TemporaryFile() as stderr:
        t0 = time.perf_counter()
        proc, endpoints = spawn(args.markets, args.seed, args.rate, stderr)
        started_s = time.perf_counter() - t0
        try:
            return await measure(args, settings, endpoints, started_s)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


async def measure(args, settings: ScannerSettings, endpoints: dict, started_s: float) -> int:
    size, conc = settings.page_size, settings.page_concurrency
    floor_http = httpx.AsyncClient(timeout=60, headers={"X-Sim-Client": "bench-floor"})
    admin = endpoints["admin"]
    clock = SimTime(floor_http, admin)
    await clock.sync()
    warm_s, _, _, _ = await raw_fetch(floor_http, endpoints["gamma"], size, conc)
    http = HttpClient(Endpoints.from_json(endpoints), timeout_s=30)
    subscriber = Counting()
    scanner = Scanner(GammaClient(http), subscriber, settings, clock=clock)
    rows: dict[str, list[float]] = {"floor": [], "scan": [], "refresh": [], "select": []}
    requests: dict[str, list[int]] = {"scan": [], "refresh": []}
    floor_pages = floor_bytes = floor_rows = 0
    for _ in range(args.rounds):
        secs, floor_pages, floor_bytes, floor_rows = await raw_fetch(
            floor_http, endpoints["gamma"], size, conc
        )
        rows["floor"].append(secs)
        before = scanner.reader.requests
        t0 = time.perf_counter()
        if not await scanner.scan():
            print(f"full scan failed: {scanner.kpis.last_error}")
            return 2
        rows["scan"].append(time.perf_counter() - t0)
        requests["scan"].append(scanner.reader.requests - before)

        await floor_http.post(admin + "/clock", json={"advance_ms": int(settings.cadence_s * 1000)})
        await floor_http.post(admin + "/markets", json={"action": "open", "size": 1})
        await clock.sync()
        before = scanner.reader.requests
        t0 = time.perf_counter()
        if not await scanner.refresh():
            print(f"refresh failed: {scanner.kpis.last_error}")
            return 2
        rows["refresh"].append(time.perf_counter() - t0)
        requests["refresh"].append(scanner.reader.requests - before)

        t0 = time.perf_counter()
        select(scanner.markets.values(), scanner.filter, clock.now_ms(), scanner.watched.keys())
        rows["select"].append(time.perf_counter() - t0)
    await http.aclose()
    await floor_http.aclose()

    k = scanner.kpis
    best = {name: min(v) * 1000 for name, v in rows.items()}
    median = {name: statistics.median(v) * 1000 for name, v in rows.items()}
    print(
        f"polytui scanner: {args.markets:,} simulated markets ({k.seen:,} open), page size {size}, "
        f"{conc} pages at a time, cap {settings.max_markets}; best of {args.rounds} rounds; "
        f"Python {sys.version.split()[0]}"
    )
    print(
        f"simulator child started in {started_s:.1f} s; first read of every page (row cache "
        f"cold) {warm_s * 1000:.0f} ms"
    )
    print()
    print(f"{'what':<44} {'requests':>8} {'best ms':>9} {'median ms':>10} {'vs floor':>9}")
    print(f"{'-' * 44} {'-' * 8} {'-' * 9} {'-' * 10} {'-' * 9}")

    def line(label: str, name: str, reqs: str) -> None:
        ratio = best[name] / best["floor"] if best["floor"] else 0
        print(f"{label:<44} {reqs:>8} {best[name]:>9.1f} {median[name]:>10.1f} {ratio:>8.2f}x")

    line("raw paged fetch, bodies only (floor)", "floor", str(floor_pages))
    line("full scan: Scanner.scan()", "scan", str(max(requests["scan"])))
    line("incremental refresh: Scanner.refresh()", "refresh", str(max(requests["refresh"])))
    line("select() over the catalogue (pure CPU)", "select", "-")
    print()
    print(
        f"floor moved {floor_bytes / 1e6:.1f} MB, {floor_rows:,} rows; the universe: "
        f"{k.watched} watched of {k.eligible:,} eligible; subscribe calls {subscriber.subscribed}, "
        f"unsubscribe calls {subscriber.unsubscribed}; Gamma requests {scanner.reader.requests}, "
        f"errors {k.errors}"
    )
    fits = best["scan"] < settings.cadence_s * 1000
    verdict = "PASS" if fits else "FAIL"
    print(
        f"{verdict}: a full scan ({best['scan']:.0f} ms) fits inside the default cadence "
        f"({settings.cadence_s:.0f} s)"
    )
    return 0 if fits else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markets", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=50.0)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
