"""Command line: `polytui [options] [COMMAND ...]`.

Without a command, polytui runs on its embedded simulator (started as a child process): the
terminal UI by default, or headless with `--no-ui`. Plain `polytui` never touches real money;
live trading will need an explicit `--live`, which is refused until it exists.

Exit codes (polytui.exit_codes):
  0    success, including an orderly stop on --duration, SIGINT, SIGTERM or SIGHUP
  1    runtime failure: the simulator did not start, the venue did not answer, the engine
       stopped, `kill` could not confirm the venue is clear, ...
  2    usage or configuration error: bad flag or setting, unusable key file, no terminal for
       the UI, --live
  130  interrupted by Ctrl+C before polytui could stop in order

Adding a command is one function: `_add_<name>(commands)` adds its subparser and sets
`handler=` to a function taking the parsed namespace and returning an exit code; list it in
COMMANDS. Heavy modules (Textual, the simulator, the engine) are imported inside handlers only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from polytui import exit_codes
from polytui.config import ConfigError, load_settings
from polytui.opscli import OPS_COMMANDS

EPILOG = """\
exit codes: 0 ok (including a stop on --duration or a signal), 1 runtime failure,
            2 usage or configuration error, 130 interrupted
config precedence: --config file < POLYTUI_* environment (POLYTUI_SIM__SEED=3) < flags"""


def _error(message: str) -> None:
    print(f"polytui: {message}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    """No command: the TUI, or the headless run with --no-ui, on the simulator."""
    if args.live:
        _error("live trading is not available yet; polytui runs on its simulator (drop --live)")
        return exit_codes.USAGE
    settings = load_settings(args.config, cli_overrides(args))
    if args.no_ui:
        from polytui.headless import run_headless

        return run_headless(settings, events=args.events)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        _error("the terminal UI needs a terminal (stdin and stdout must be a TTY).")
        print("  To run without one: polytui --no-ui", file=sys.stderr)
        return exit_codes.USAGE
    from polytui.ui.app import run_tui

    return run_tui(settings)


def cli_overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The settings given as flags, sectioned like the config file; unset flags are left out."""
    paper = getattr(args, "paper", False)
    flags = {
        ("sim", "url"): args.sim_url,
        ("paper" if paper else "paths", "db"): args.db,
        ("run", "duration"): args.duration,
        ("venue", "capture"): args.capture,
        ("run", "mode"): "paper" if paper else None,
        ("run", "record"): getattr(args, "record", None),
        ("run", "seed"): getattr(args, "seed", None),
    }
    overrides: dict[str, dict[str, Any]] = {}
    for (section, key), value in flags.items():
        if value is not None:
            overrides.setdefault(section, {})[key] = value
    return overrides


def _add_sim(commands: argparse._SubParsersAction) -> None:
    # The simulator's own options are added only when `sim` runs, so its modules load lazily.
    parser = commands.add_parser(
        "sim", help="run the exchange simulator alone (see `polytui sim --help`)", add_help=False
    )
    parser.set_defaults(handler=_sim, passthrough=True)


def _sim(args: argparse.Namespace) -> int:
    from polytui.sim import cli as sim_cli

    parser = argparse.ArgumentParser(
        prog="polytui sim",
        description="Run the local Polymarket CLOB V2 simulator. Its first stdout line is a "
        "JSON object with its base URLs; it runs until SIGINT or SIGTERM.",
        allow_abbrev=False,
    )
    sim_cli.add_arguments(parser)
    return sim_cli.run(parser.parse_args(args.extra))


def _add_replay(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "replay",
        help="re-run a recorded session (a directory), or a capture file through the mirror",
        description="A directory written by --record: re-run the whole engine on the "
        "recording, as fast as possible, and say whether it decides as the session did "
        "(exit 0) or not (exit 1). --diff shows what changed settings (--config) would have "
        "decided otherwise; --at shows the books, positions and decisions around an instant. "
        "A capture file (--capture): feed it through the order-book mirror offline and show "
        "the books. Nothing is fetched; the recording is the venue.",
    )
    parser.add_argument("capture", type=Path, metavar="DIR|CAPTURE.jsonl")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--depth", type=int, metavar="N", help="levels per side shown (text)")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="a session: settings laid over the recorded ones (with --diff)",
    )
    parser.add_argument(
        "--diff",
        action="store_true",
        help="a session: replay it as recorded and with --config, show each intent decided "
        "otherwise",
    )
    parser.add_argument(
        "--at",
        metavar="TIME",
        help="a session: what the engine held and decided at TIME (HH:MM:SS.mmm UTC, "
        "+SECONDS into the session, ISO date-time or epoch ms)",
    )
    parser.add_argument(
        "--window",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="with --at: decisions this far either side (5)",
    )
    parser.add_argument(
        "--ui",
        action="store_true",
        help="a session: open it in the terminal UI and scrub through it (starts at --at, "
        "decisions within --window of the instant)",
    )
    parser.set_defaults(handler=_replay)


def _replay(args: argparse.Namespace) -> int:
    if args.ui:
        return _replay_ui(args)
    if args.capture.is_dir():
        from polytui.engine.session.cli import replay_directory

        return replay_directory(args, _error)
    if args.diff or args.at is not None or getattr(args, "config", None) is not None:
        _error("replay: --diff, --at and --config need a session directory (--record DIR)")
        return exit_codes.USAGE
    from polytui.engine.mirror.replay import main_json, render_text, replay_capture
    from polytui.venue.capture import CaptureFormatError

    try:
        result = replay_capture(args.capture)
    except FileNotFoundError:
        _error(f"replay: no such capture file or session directory: {args.capture}")
        return exit_codes.USAGE
    except (IsADirectoryError, PermissionError) as exc:
        _error(f"replay: cannot read {args.capture}: {exc.strerror}")
        return exit_codes.USAGE
    except CaptureFormatError as exc:
        _error(f"replay: not a capture file: {exc}")
        return exit_codes.USAGE
    print(main_json(result) if args.json else render_text(result, args.depth))
    return exit_codes.OK


def _replay_ui(args: argparse.Namespace) -> int:
    """``replay DIR --ui``: the scrub UI; the session is read before any terminal is taken."""
    clash = [
        flag
        for flag, given in (
            ("--json", args.json),
            ("--diff", args.diff),
            ("--config", getattr(args, "config", None) is not None),
        )
        if given
    ]
    if clash:
        _error(
            f"replay: --ui scrubs the session as recorded, on screen: drop {' and '.join(clash)}"
        )
        return exit_codes.USAGE
    if not args.capture.is_dir():
        _error(f"replay: --ui needs a session directory (--record DIR): {args.capture}")
        return exit_codes.USAGE
    from polytui.engine.scrub import Scrubber
    from polytui.engine.session.manifest import SessionError
    from polytui.engine.session.report import parse_instant
    from polytui.venue.capture import CaptureFormatError

    try:
        scrubber = Scrubber.open(args.capture, window_ms=int(args.window * 1000))
        at = None
        if args.at is not None:
            at = parse_instant(args.at, scrubber.start_ms, scrubber.end_ms)
    except (SessionError, CaptureFormatError, ValueError) as exc:
        _error(f"replay: {exc}")
        return exit_codes.USAGE
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        _error("the terminal UI needs a terminal (stdin and stdout must be a TTY).")
        print(
            f"  Without one: polytui replay {args.capture} --at TIME (an instant, as text)",
            file=sys.stderr,
        )
        return exit_codes.USAGE
    from polytui.ui.replay_app import run_replay_tui

    return run_replay_tui(scrubber, at)


def _add_ledger(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "ledger",
        help="rebuild the ledger's projections, or read it (see `polytui ledger --help`)",
        description="The append-only ledger (orders, fills, positions, PnL). `rebuild` needs "
        "the engine stopped (one writer); `summary` and `tail` work while it runs.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    for name, text in (
        ("rebuild", "fold every event again, rewrite the projections, print the summary"),
        ("summary", "print the summary (orders by state, fills, positions, PnL), read only"),
        ("tail", "print the last events as JSON lines, read only"),
    ):
        action = actions.add_parser(name, help=text, description=text)
        # SUPPRESS: `polytui --db X ledger rebuild` and `polytui ledger rebuild --db X` both work.
        action.add_argument(
            "--db",
            metavar="DB",
            default=argparse.SUPPRESS,
            help="SQLite file or database URL (default: ledger.url, else paths.db)",
        )
        if name == "tail":
            action.add_argument("-n", type=int, default=20, metavar="N", help="events (20)")
        action.set_defaults(handler=_ledger, ledger_action=name)


def _ledger(args: argparse.Namespace) -> int:
    from polytui.store import commands

    _, target = _target(args)
    if args.ledger_action == "rebuild":
        return commands.rebuild(target)
    if args.ledger_action == "summary":
        return commands.summary(target)
    return commands.tail(target, args.n)


def _db_option(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: `polytui --db X status` and `polytui status --db X` both work.
    parser.add_argument(
        "--db",
        metavar="DB",
        default=argparse.SUPPRESS,
        help="SQLite file or database URL (default: ledger.url, else paths.db)",
    )


def _target(args: argparse.Namespace) -> tuple[Any, str | Path]:
    """The settings and the ledger a command works on (``--db`` a path or a URL)."""
    from polytui.config import ledger_target

    db = str(args.db) if args.db is not None else None
    overrides = cli_overrides(args)
    if db is not None and "://" in db:
        overrides.setdefault("ledger", {})["url"] = db
        overrides.get("paths", {}).pop("db", None)
    settings = load_settings(args.config, overrides)
    return settings, ledger_target(settings)


def _add_status(commands: argparse._SubParsersAction) -> None:
    text = (
        "where polytui stands: wallet, kill switch, open orders, positions (sellable and "
        "pending), fills, PnL, books, last errors; read only, works while the engine runs"
    )
    parser = commands.add_parser("status", help=text.split(";")[0], description=text)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    _db_option(parser)
    parser.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    from polytui.engine.status import status

    settings, target = _target(args)
    return status(target, settings.paths.data_dir, as_json=args.json)


def _add_kill(commands: argparse._SubParsersAction) -> None:
    text = (
        "engage the kill switch: the running engine stops sending orders and cancels all "
        "(within a second, through its control socket), and this command cancels everything "
        "at the venue itself too; it stays engaged across restarts until `polytui resume`"
    )
    parser = commands.add_parser("kill", help="engage the kill switch", description=text)
    parser.add_argument("--reason", default="manual", help="why (recorded in the ledger)")
    parser.add_argument(
        "--sim-url", metavar="URL", default=argparse.SUPPRESS, help="the simulator to cancel at"
    )
    _db_option(parser)
    parser.set_defaults(handler=_kill)


def _kill(args: argparse.Namespace) -> int:
    from polytui.engine.kill_command import kill

    settings, target = _target(args)
    return kill(settings, target, args.reason)


def _add_resume(commands: argparse._SubParsersAction) -> None:
    text = "release the kill switch (through the running engine, or in the ledger if none runs)"
    parser = commands.add_parser("resume", help="release the kill switch", description=text)
    _db_option(parser)
    parser.set_defaults(handler=_resume)


def _resume(args: argparse.Namespace) -> int:
    from polytui.engine.kill_command import resume

    settings, target = _target(args)
    return resume(settings, target)


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_sim,
    _add_replay,
    _add_ledger,
    _add_status,
    _add_kill,
    _add_resume,
]
COMMANDS += OPS_COMMANDS  # keys, backup, restore, doctor (polytui/opscli.py)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="polytui",
        usage="polytui [options] [COMMAND ...]",
        description="A terminal trader workstation for Polymarket.\n"
        "Without a command: the UI (or, with --no-ui, the headless run) on the embedded simulator.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument(
        "--no-ui",
        action="store_true",
        help="run headless: JSON log lines on stdout, diagnostics on stderr",
    )
    parser.add_argument(
        "--events",
        action="store_true",
        help="with --no-ui: engine events as JSON lines on stdout (the log goes to stderr)",
    )
    parser.add_argument(
        "--sim-url",
        metavar="URL",
        help="use a running simulator (its clob base URL) instead of starting one",
    )
    parser.add_argument(
        "--db", type=Path, metavar="PATH", help="database file (default: <data dir>/polytui.db)"
    )
    parser.add_argument("--config", type=Path, metavar="PATH", help="TOML settings file")
    parser.add_argument(
        "--duration", type=float, metavar="SECONDS", help="stop in order after this many seconds"
    )
    parser.add_argument(
        "--capture",
        type=Path,
        metavar="PATH",
        help="append everything the venue sends to PATH (JSON lines, secrets removed)",
    )
    parser.add_argument(
        "--paper",
        action="store_true",
        help="paper trading: the venue's market data, orders never sent, filled locally "
        "against the verified book (ledger: <data dir>/paper.db)",
    )
    parser.add_argument(
        "--record",
        type=Path,
        metavar="DIR",
        help="record the session into DIR (a new directory) for `polytui replay DIR`",
    )
    parser.add_argument(
        "--seed", type=int, metavar="N", help="the engine's random seed (default: drawn)"
    )
    parser.add_argument(
        "--live", action="store_true", help="trade real money on Polymarket (not available yet)"
    )
    parser.set_defaults(handler=_run, passthrough=False)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add_command in COMMANDS:
        add_command(commands)
    return parser


def _version() -> str:
    import polytui

    return f"polytui {polytui.__version__}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not args.passthrough:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        return args.handler(args)
    except ConfigError as exc:
        _error(str(exc))
        return exit_codes.USAGE
    except KeyboardInterrupt:
        _error("interrupted")
        return exit_codes.INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
