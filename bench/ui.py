"""Does the TUI slow the engine? The mirror's apply lag with the TUI running, beside the same
figure without it.

    python bench/ui.py [--markets 100] [--rate 1500] [--seconds 20] [--rounds 2] [--seed 1]
                       [--size 160x48] [--hz 5] [--pin] [--switch-ms MS]

Each run starts its own simulator child (``--markets`` markets, two tokens each, ``--rate``
synthetic order events per second: about 2,000 ``price_change`` frames a second over 200
tokens at the defaults; the rate measured is printed) and waits until every book is LIVE.
Runs alternate, ``--rounds`` of each:

1. **Without the UI**: the engine on the process's main event loop, as ``polytui --no-ui``
   runs it.
2. **With the UI**: ``PolytuiApp`` headless (``--size``; Textual renders every frame, the
   output goes nowhere), the engine in its own thread under it, the bridge flushing at
   ``--hz`` (``ui.refresh_hz``, default 5; at most 10),
   measured twice: the book pane on show the whole window (its ladders and depth chart are
   the costliest live pane), then the panes switched every two seconds (markets, book,
   health, positions): a switch lays out and draws a whole pane at once.

For every ``price_change`` applied in the measured window (the mirror's apply hook is
wrapped: exact values, not buckets) it records the apply lag, the venue's timestamp to the
moment the mirror applied it (the target: p99 under 50 ms with the UI), and the part of it
inside polytui, received to applied. Also the CPU share of the engine's thread and of the UI's.
On a shared machine the venue-timestamp figure carries the simulator's own delays (it runs
on the same CPUs: ``--pin`` gives it one of its own); received to applied does not.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import gc
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from polytui import gc_policy  # noqa: E402
from polytui.config import Settings, load_settings  # noqa: E402
from polytui.engine.kernel import Engine  # noqa: E402
from polytui.engine.mirror.mirror import Mirror  # noqa: E402
from polytui.engine.startup import check_venue, connect_venue, open_simulator  # noqa: E402

TARGET_P99_MS = 50.0
TABS = ("markets", "book", "health", "positions")


class Lags:
    """Every apply lag while ``on``, from any thread (list.append is atomic)."""

    def __init__(self) -> None:
        self.on = False
        self.values: list[int] = []
        self.received: list[int] = []  # received -> applied: the part the venue cannot add
        self.gc_pauses: list[float] = []  # ms, each collection of the middle or old generation
        self._gc_started = 0.0

    def install(self) -> None:
        original = Mirror._applied
        gc.callbacks.append(self._collection)

        def applied(mirror: Mirror, ev, now_ms: int, recv_ms: int) -> None:  # noqa: ANN001
            if self.on:
                self.values.append(now_ms - ev.timestamp)
                self.received.append(now_ms - recv_ms)
            original(mirror, ev, now_ms, recv_ms)

        Mirror._applied = applied  # type: ignore[method-assign]

    def _collection(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self.on and info["generation"] > 0:
            self.gc_pauses.append((time.perf_counter() - self._gc_started) * 1000)

    def start(self) -> None:
        self.values.clear()
        self.received.clear()
        self.gc_pauses.clear()
        self.on = True

    def stop(self) -> None:
        self.on = False


LAGS = Lags()


def cpu_s(tid: int | None = None) -> float:
    """CPU seconds (user + system) of one thread of this process (Linux), or of the process."""
    import os

    path = f"/proc/self/task/{tid}/stat" if tid else "/proc/self/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pin(sim_pid: int | None, enabled: bool) -> None:
    """The simulator on the first CPU, polytui on the others: the venue's work must not be
    taken from polytui's CPU (the real venue runs elsewhere), nor polytui's from the venue."""
    import os

    cpus = sorted(os.sched_getaffinity(0))
    if not enabled or sim_pid is None or len(cpus) < 2:
        return
    os.sched_setaffinity(sim_pid, {cpus[0]})
    for tid in os.listdir("/proc/self/task"):
        os.sched_setaffinity(int(tid), set(cpus[1:]))


def settings_for(args: argparse.Namespace, data_dir: Path) -> Settings:
    return load_settings(
        overrides={
            "sim": {"markets": args.markets, "rate": args.rate, "seed": args.seed},
            "scanner": {"max_markets": args.markets},
            "paths": {"data_dir": data_dir},
            "metrics": {"port": 0},
            "ui": {"refresh_hz": args.hz, "cancel_on_exit": False},
        }
    )


def all_live(engine: Engine | None, tokens: int) -> bool:
    if engine is None:
        return False
    states = engine.mirror.stats()["states"]
    return states.get("LIVE", 0) >= tokens


async def without_ui(settings: Settings, seconds: float, tokens: int, pinned: bool) -> dict:
    async with (
        open_simulator(settings.sim) as sim,
        connect_venue(sim.endpoints, settings.venue) as venue,
    ):
        await check_venue(venue)
        engine = Engine(settings, venue)
        pin(sim.child.pid if sim.child else None, pinned)
        task = asyncio.create_task(engine.run())
        try:
            await engine.ready.wait()
            gc_policy.settle()  # as the headless runner does
            await _wait(lambda: all_live(engine, tokens), 60)
            await asyncio.sleep(3)
            frames = engine.mirror.frames
            started, cpu = time.monotonic(), cpu_s()
            LAGS.start()
            await asyncio.sleep(seconds)
            LAGS.stop()
            elapsed = time.monotonic() - started
            out = _figures(elapsed, engine.mirror.frames - frames, engine)
            out["engine cpu"] = (cpu_s() - cpu) / elapsed
            return out
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def with_ui(
    settings: Settings, seconds: float, tokens: int, size: tuple[int, int], pinned: bool
) -> tuple[dict, dict]:
    """Two windows: the book pane on show the whole time (the costliest live pane), then
    the panes switched every 2 s (a switch lays out and draws a whole pane at once)."""
    from polytui.ui.app import PolytuiApp

    app = PolytuiApp(settings)
    async with app.run_test(headless=True, size=size) as pilot:
        await _wait(lambda: all_live(app.host.engine, tokens), 60, pilot)
        child = app.host.simulator.child if app.host.simulator else None
        pin(child.pid if child else None, pinned)
        await pilot.press("enter")  # a market's book in the book pane
        await pilot.pause(3)
        steady = await _ui_window(app, pilot, seconds, switch=False)
        switching = await _ui_window(app, pilot, seconds, switch=True)
        await pilot.press("ctrl+q")
    # A host left running keeps its simulator busy (skewing every later run) and would hang
    # the interpreter's exit: say so, show where it is, and stop here.
    if not await asyncio.to_thread(app.host.finished.wait, 25):
        print("bench/ui.py: the engine under the UI did not stop within 25 s", file=sys.stderr)
        faulthandler.dump_traceback(all_threads=True)
        child = app.host.simulator.child if app.host.simulator else None
        if child is not None:
            os.kill(child.pid, signal.SIGKILL)
        os._exit(3)
    return steady, switching


async def _ui_window(app, pilot, seconds: float, *, switch: bool) -> dict:  # noqa: ANN001
    engine = app.host.engine
    frames, flushes = engine.mirror.frames, app.updates
    ui_tid, engine_tid = threading.get_native_id(), app.host.thread_id
    started, ui_cpu, engine_cpu = time.monotonic(), cpu_s(ui_tid), cpu_s(engine_tid)
    LAGS.start()
    turn = 0
    while time.monotonic() - started < seconds:
        if switch:
            app.main.show_tab(TABS[turn % len(TABS)])
            turn += 1
        await pilot.pause(2)
    LAGS.stop()
    elapsed = time.monotonic() - started
    out = _figures(elapsed, engine.mirror.frames - frames, engine)
    out["ui updates/s"] = round((app.updates - flushes) / elapsed, 1)
    out["ui cpu"] = (cpu_s(ui_tid) - ui_cpu) / elapsed
    out["engine cpu"] = (cpu_s(engine_tid) - engine_cpu) / elapsed
    out["coalesced"] = app.bridge.figures["coalesced"]
    return out


async def _wait(condition, timeout_s: float, pilot=None) -> None:  # noqa: ANN001
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise SystemExit("the books never all became LIVE")
        await (pilot.pause(0.2) if pilot is not None else asyncio.sleep(0.2))


def _figures(elapsed: float, frames: int, engine: Engine) -> dict:
    values, received = sorted(LAGS.values), sorted(LAGS.received)
    if not values:
        raise SystemExit("no price_change was applied in the window")
    return {
        "price_change/s": round(len(values) / elapsed),
        "frames/s": round(frames / elapsed),
        "p50 ms": statistics.median(values),
        "p99 ms": _p99(values),
        "max ms": values[-1],
        "recv p99 ms": _p99(received),
        "gc max ms": max(LAGS.gc_pauses, default=0.0),
        "states": engine.mirror.stats()["states"],
    }


def _p99(values: list[int]) -> int:
    return values[min(len(values) - 1, int(0.99 * len(values)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=100)
    parser.add_argument("--rate", type=float, default=1500.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs of each")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", default="160x48")
    parser.add_argument("--hz", type=float, default=5.0, help="ui.refresh_hz (default 5)")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="the simulator on the first CPU, polytui on the others (default: any CPU)",
    )
    parser.add_argument(
        "--switch-ms", type=float, default=None, help="sys.setswitchinterval for both runs"
    )
    args = parser.parse_args()
    if args.switch_ms is not None:
        sys.setswitchinterval(args.switch_ms / 1000)
    size = tuple(int(v) for v in args.size.split("x"))
    tokens = 2 * args.markets
    LAGS.install()
    plain, ui, switching = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            gc_policy.reset()  # each run settles the collector as a fresh process would
            plain.append(
                asyncio.run(
                    without_ui(
                        settings_for(args, Path(tmp, f"a{n}")),
                        args.seconds,
                        tokens,
                        args.pin,
                    )
                )
            )
            gc_policy.reset()
            steady, switched = asyncio.run(
                with_ui(
                    settings_for(args, Path(tmp, f"b{n}")), args.seconds, tokens, size, args.pin
                )
            )
            ui.append(steady)
            switching.append(switched)
    print(
        f"mirror apply lag (venue timestamp -> applied), {tokens} tokens, {args.seconds:.0f} s "
        f"measured after every book is LIVE, {args.rounds} alternating rounds"
    )
    print(
        f"{'':22}{'price_change/s':>15}{'frames/s':>9}{'p50 ms':>7}{'p99 ms':>7}{'max ms':>7}"
        f"{'recv->applied p99':>18}{'engine CPU':>11}{'UI CPU':>7}{'longest GC ms':>14}"
    )
    rows = ("without the UI", "UI, book pane", "UI, pane switches")
    for n in range(args.rounds):
        for name, f in zip(rows, (plain[n], ui[n], switching[n]), strict=True):
            print(
                f"{name:22}{f['price_change/s']:>15}{f['frames/s']:>9}{f['p50 ms']:>7}"
                f"{f['p99 ms']:>7}{f['max ms']:>7}{f['recv p99 ms']:>18}"
                f"{f['engine cpu']:>11.0%}{f.get('ui cpu', 0):>7.0%}{f['gc max ms']:>14.0f}"
            )
    worst = {name: max(f["p99 ms"] for f in runs) for name, runs in
             zip(rows, (plain, ui, switching), strict=True)}  # fmt: skip
    last = ui[-1]
    print(
        f"UI: {last['ui updates/s']} updates/s, {last['coalesced']} flushes coalesced; "
        f"books at the end: {last['states']}; 'switching' shows another pane every 2 s"
    )
    ok = worst[rows[1]] < TARGET_P99_MS
    print(
        f"{'PASS' if ok else 'FAIL'}: worst p99 of {args.rounds} rounds with the UI on the book "
        f"pane {worst[rows[1]]} ms (target < {TARGET_P99_MS:.0f} ms); without the UI "
        f"{worst[rows[0]]} ms; with a pane switch every 2 s {worst[rows[2]]} ms"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
