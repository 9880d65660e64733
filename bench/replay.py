"""How fast ``polytui replay DIR`` re-runs a busy session: frames per second and the multiple
of real time, beside the mirror alone on the same frames.

    python bench/replay.py [--markets 100] [--rate 1500] [--seconds 20] [--rounds 2]
                           [--seed 1] [--keep DIR]

It records a session first: ``polytui --no-ui --record DIR --duration SECONDS`` on its own
simulator (``--markets`` markets, two tokens each, ``--rate`` synthetic order events a
simulated second, leaders trading so the demo copy-trader decides), in a child process. Then,
``--rounds`` times each, in turns:

* **replay** is the whole engine on the recording (``SessionReplay``: mirror, scanner,
  strategies, risk, order tracker and ledger, the venue answered from the record, timers
  fired where the record says), as ``polytui replay DIR`` runs it. Its figures are frames
  played per second of wall time and the session's length over the wall time (the target: at
  least 50x real time for a busy 100-market session). It also says whether the replay
  reproduced the session's decisions.
* **mirror only (reference)** is the same capture file through the order-book mirror alone,
  offline (``polytui replay CAPTURE.jsonl``: decode and apply, no engine, no event loop): the
  cost of the frames themselves on this machine, measured in the same run.

The best round of each is printed. No verdict: figures only (tests never assert throughput).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from polytui.engine.mirror.replay import replay_capture  # noqa: E402
from polytui.engine.session.journal import Journal  # noqa: E402
from polytui.engine.session.replay import replay_session  # noqa: E402

CONFIG = """
[sim]
seed = {seed}
markets = {markets}
rate = {rate}
leader_activity = 300

[copytrade]
poll_s = 1.0
"""


def record(directory: Path, args: argparse.Namespace) -> None:
    work = directory.parent
    config = work / "bench.toml"
    config.write_text(CONFIG.format(seed=args.seed, markets=args.markets, rate=args.rate))
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("POLYTUI_")}
    env["POLYTUI_PATHS__DATA_DIR"] = str(work / "data")
    command = [
        sys.executable,
        "-m",
        "polytui",
        "--no-ui",
        "--config",
        str(config),
        "--record",
        str(directory),
        "--duration",
        str(args.seconds),
        "--seed",
        str(args.seed),
        "--db",
        str(work / "data" / "polytui.db"),
    ]
    print(f"recording {args.seconds:g} s: {args.markets} markets, rate {args.rate:g} ...")
    run = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True)
    if run.returncode != 0:
        sys.stderr.write(run.stderr.decode(errors="replace")[-3000:])
        raise SystemExit(f"the recording failed (exit {run.returncode})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markets", type=int, default=100)
    parser.add_argument("--rate", type=float, default=1500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="record into DIR and keep it (a new directory)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    directory = args.keep if args.keep is not None else work / "session"
    try:
        record(directory, args)
        journal = Journal.open(directory)
        session_s = (journal.end_ms - journal.manifest.start_ms) / 1000
        print(
            f"session: {session_s:.1f} s, {len(journal.lines):,} lines, {journal.frames:,} "
            f"frames ({journal.frames / session_s:,.0f}/s), {len(journal.decisions)} decisions"
        )
        best_replay, best_mirror = None, None
        identical = True
        for _ in range(args.rounds):
            result = replay_session(directory)
            identical = identical and result.fidelity.identical and result.failed is None
            if best_replay is None or result.wall_s < best_replay.wall_s:
                best_replay = result
            started = time.perf_counter()
            mirrored = replay_capture(directory / "capture.jsonl")
            wall = time.perf_counter() - started
            if best_mirror is None or wall < best_mirror[0]:
                best_mirror = (wall, mirrored)
        assert best_replay is not None and best_mirror is not None
        r = best_replay
        m_wall = best_mirror[0]
        m_frames = journal.frames
        print()
        print(f"{'':28} {'wall s':>8} {'frames/s':>12} {'x real time':>12}")
        print(
            f"{'replay (whole engine)':28} {r.wall_s:8.2f} {r.frames_per_s:12,.0f} {r.speed:11.0f}x"
        )
        print(
            f"{'mirror only (reference)':28} {m_wall:8.2f} {m_frames / m_wall:12,.0f} "
            f"{session_s / m_wall:11.0f}x"
        )
        print()
        print(
            f"replay: {r.frames:,} frames, {r.rest_answers} REST answers, "
            f"{len(r.decisions)} decisions ({len(r.recorded)} recorded): "
            + ("reproduced" if identical else "NOT reproduced in every round")
        )
        print(f"the replay takes {r.wall_s / m_wall:.1f}x the time of the mirror alone")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
