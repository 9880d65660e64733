"""Soak: run `polytui --no-ui` against a faulty `polytui sim` for minutes and report its RSS and
open file descriptors over time, and whether they grow after warm-up (not a test; not in CI).

    python bench/soak.py [--minutes 10] [--sample-s 10] [--warmup-s 60] [--markets 40]

Samples /proc/<pid>/status (VmRSS) and /proc/<pid>/fd of the headless process, scrapes its
/metrics at each sample, then fits a line to the samples after warm-up: growth is the fitted
change over the run after warm-up. RSS growth under 5 % (and 8 MiB) and no fd growth is "flat".
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
FAULTS = "drop=0.01,dup=0.01,reorder=0.01,disconnect=60,http5xx=0.02,http429=0.01,stale_rest=0.02"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def slope(points: list[tuple[float, float]]) -> float:
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--sample-s", type=float, default=10)
    p.add_argument("--warmup-s", type=float, default=60)
    p.add_argument("--markets", type=int, default=40)
    args = p.parse_args()
    data = Path(tempfile.mkdtemp(prefix="polytui-soak-"))
    env = {**os.environ, "POLYTUI_PATHS__DATA_DIR": str(data)}
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "polytui",
            "sim",
            "--markets",
            str(args.markets),
            "--faults",
            FAULTS,
            "--seed",
            "7",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sim.stdout is not None
    endpoints = json.loads(sim.stdout.readline())
    port = free_port()
    env["POLYTUI_METRICS__PORT"] = str(port)
    run = subprocess.Popen(
        [sys.executable, "-m", "polytui", "--no-ui", "--sim-url", endpoints["clob"]],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    samples: list[tuple[float, int, int]] = []
    start = time.monotonic()
    print(f"{'t_s':>7} {'rss_MiB':>8} {'fds':>5} {'LIVE':>5} {'resyncs':>8}")
    try:
        while (t := time.monotonic() - start) < args.minutes * 60:
            time.sleep(args.sample_s)
            if run.poll() is not None:
                print(f"polytui exited with {run.returncode}", file=sys.stderr)
                return 1
            rss, fd = rss_kib(run.pid), fds(run.pid)
            live = resyncs = "-"
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
                live = next(
                    ln.split()[-1]
                    for ln in text.splitlines()
                    if ln.startswith('polytui_books{state="LIVE"}')
                )
                resyncs = str(
                    sum(
                        float(ln.split()[-1])
                        for ln in text.splitlines()
                        if ln.startswith("polytui_resyncs_total{")
                    )
                )
            except (httpx.HTTPError, StopIteration):
                pass
            t = time.monotonic() - start
            samples.append((t, rss, fd))
            print(f"{t:7.0f} {rss / 1024:8.1f} {fd:5d} {live:>5} {resyncs:>8}", flush=True)
    finally:
        for proc in (run, sim):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
    after = [s for s in samples if s[0] >= args.warmup_s]
    if len(after) < 3:
        print("too few samples after warm-up; run longer")
        return 1
    span = after[-1][0] - after[0][0]
    rss_growth = slope([(t, r) for t, r, _ in after]) * span / 1024
    fd_growth = slope([(t, f) for t, _, f in after]) * span
    rss_base = after[0][1] / 1024
    flat = abs(rss_growth) < max(0.05 * rss_base, 8) and fd_growth < 1
    print(
        f"after warm-up ({len(after)} samples over {span:.0f} s): RSS {rss_base:.1f} MiB, "
        f"fitted growth {rss_growth:+.1f} MiB; fds {after[0][2]}, fitted growth "
        f"{fd_growth:+.1f}: {'FLAT' if flat else 'GROWING'}"
    )
    return 0 if flat else 1


if __name__ == "__main__":
    raise SystemExit(main())
