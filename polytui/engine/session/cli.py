"""``polytui replay DIR [--json] [--diff --config CHANGED.toml] [--at TIME [--window S]]``.

Exit codes: 0 the replay ran (plain: and reproduced the session; ``--diff``/``--at``: always),
1 the plain replay decided otherwise than the session did, or the replayed engine stopped,
2 the directory is not a session (or the changed settings are not valid).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from polytui import exit_codes
from polytui.config import ConfigError, read_toml
from polytui.engine.session.decisions import compare
from polytui.engine.session.journal import Journal
from polytui.engine.session.manifest import SessionError, merge, settings_from_record
from polytui.engine.session.replay import at_instant, replay_session
from polytui.engine.session.report import (
    diff_json,
    parse_instant,
    render_at,
    render_diff,
    render_result,
    result_json,
)
from polytui.venue.capture import CaptureFormatError


def replay_directory(args: argparse.Namespace, error: Callable[[str], None]) -> int:
    try:
        return _run(args)
    except (SessionError, CaptureFormatError, ConfigError) as exc:
        error(f"replay: {exc}")
        return exit_codes.USAGE


def _run(args: argparse.Namespace) -> int:
    directory: Path = args.capture
    config = getattr(args, "config", None)
    changes = read_toml(config) if config is not None else None
    if args.at is not None:
        journal = Journal.open(directory)
        try:
            at = parse_instant(args.at, journal.manifest.start_ms, journal.end_ms)
        except ValueError as exc:
            raise SessionError(str(exc)) from None
        window = int(args.window * 1000)
        view = at_instant(directory, at, window, depth=args.depth or 5)
        view["window_ms"] = window
        print(json.dumps(view) if args.json else render_at(view))
        return exit_codes.OK
    if args.diff:
        if changes is None:
            raise SessionError("--diff compares with changed settings: give them with --config")
        recorded = Journal.open(directory).manifest.settings
        settings_from_record(merge(recorded, changes))  # invalid: said before any replay
        baseline = replay_session(directory)
        changed = replay_session(directory, changes)
        differences = compare(baseline.decisions, changed.decisions)
        if args.json:
            print(json.dumps(diff_json(baseline, changed, differences)))
        else:
            print(render_diff(baseline, changed, differences, str(config)))
        return exit_codes.OK
    result = replay_session(directory, changes)
    print(json.dumps(result_json(result)) if args.json else render_result(result))
    if result.failed or (changes is None and not result.fidelity.identical):
        return exit_codes.FAILURE
    return exit_codes.OK
