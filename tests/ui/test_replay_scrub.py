"""``polytui replay DIR --ui``: the scrub screen over a session recorded against the simulator.

One short recording per module (``polytui --no-ui --record DIR`` in a child process, the demo
copy-trader copying the simulator's busy leaders), then the App under Pilot: moving to a
recorded decision's instant (typed with ``g``, and with ``n``) shows that instant's book and
that decision; moving back shows the earlier state again; a bad directory is a clear error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from polytui.cli import main
from polytui.engine.scrub import Scrubber
from polytui.engine.session.decisions import outcome_text
from polytui.engine.session.journal import Journal
from polytui.engine.session.report import clock_time, short
from polytui.ui.replay_app import ReplayApp
from tests.session_recording import record_until
from tests.ui.conftest import until
from tests.ui.textdump import screen_text

pytestmark = pytest.mark.slow

CONFIG = """
[sim]
seed = 3
markets = 6
rate = 100
time_scale = 10
leader_activity = 300

[copytrade]
poll_s = 0.5
"""


def _enough(directory: Path) -> bool:
    """Decisions at three instants at least, one approved."""
    decisions = Journal.open(directory).decisions
    instants = {d["at_ms"] for d in decisions}
    return len(instants) >= 3 and any(d["approved"] for d in decisions)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_until(tmp_path_factory.mktemp("scrub-session"), CONFIG, _enough)


def _decisions(scrubber: Scrubber) -> list[dict[str, Any]]:
    """The recorded decisions, approved ones first (a loaded machine decides fewer)."""
    recorded = scrubber.recorded
    assert len(recorded) >= 2, recorded
    return sorted(recorded, key=lambda d: not d["approved"])


async def _arrive(app: ReplayApp, pilot: Any, at_ms: int) -> str:
    """Wait until the screen shows the replay at ``at_ms``; the screen as text."""
    screen = app.replay
    await until(pilot, lambda: screen.view is not None and screen.view.at_ms == at_ms, 20)
    await until(pilot, lambda: not screen.busy, 20)
    await pilot.pause()
    return screen_text(app)


def _decision_line(text: str, decision: dict[str, Any]) -> str:
    lines = [t for t in text.splitlines() if decision["intent_id"][:16] in t]
    assert lines, text
    return lines[0]


def _book_at(app: ReplayApp, asset: str) -> dict[str, Any]:
    view = app.replay.view
    assert view is not None
    return next(b for b in view.books if b["asset"] == asset)


async def test_moving_to_a_decision_shows_its_book_and_the_decision(session: Path) -> None:
    scrubber = Scrubber.open(session, window_ms=2000)
    first = scrubber.recorded[0]
    candidates = [d for d in _decisions(scrubber) if scrubber.next_decision(d["at_ms"])]
    assert candidates, scrubber.recorded  # decisions at two instants at least
    target = next((d for d in candidates if d is not first), candidates[0])
    app = ReplayApp(scrubber)
    async with app.run_test(size=(140, 40)) as pilot:
        text = await _arrive(app, pilot, scrubber.start_ms)
        assert "REPLAY" in text
        assert f"({scrubber.length_s:.1f} s)" in text and "+0.000 s" in text

        # g, then the decision's time as HH:MM:SS.mmm (UTC)
        await pilot.press("g")
        await until(pilot, lambda: app.screen.id != "replay" and "Go to" in screen_text(app))
        await pilot.press(*clock_time(target["at_ms"]), "enter")
        text = await _arrive(app, pilot, target["at_ms"])
        assert "REPLAY" in text
        offset = (target["at_ms"] - scrubber.start_ms) / 1000
        assert f"at {clock_time(target['at_ms'])} UTC  {offset:+.3f} s" in text
        line = _decision_line(text, target)
        assert line.lstrip().startswith("▶"), line  # the current one
        assert outcome_text(target)[:40] in line
        # the book shown is the decision's asset, with its levels at that instant
        assert f"asset  {target['asset'][:40]}" in text
        book = _book_at(app, target["asset"])
        assert book["state"] in text
        assert book["bids"] and book["asks"]
        bid, ask = book["bids"][0], book["asks"][0]
        assert any(
            f"{short(bid[1])} {bid[0]:>7} | {ask[0]:<7} {short(ask[1])}" in t
            for t in text.splitlines()
        ), text
        # the earlier decision is listed, not marked current
        if first["intent_id"] != target["intent_id"]:
            assert not _decision_line(text, first).lstrip().startswith("▶")

        # n: on to the next decision after this instant
        nxt = scrubber.next_decision(target["at_ms"])
        assert nxt is not None
        await pilot.press("n")
        text = await _arrive(app, pilot, nxt["at_ms"])
        assert _decision_line(text, nxt).lstrip().startswith("▶")
        assert f"asset  {nxt['asset'][:40]}" in text
        assert nxt["gate"] in _decision_line(text, nxt) or nxt["approved"]


async def test_moving_back_shows_the_earlier_state(session: Path) -> None:
    scrubber = Scrubber.open(session, window_ms=2000)
    last = _decisions(scrubber)[0]  # approved, if any was
    later = scrubber.clamp(last["at_ms"] + 500)
    app = ReplayApp(scrubber, at_ms=later)
    async with app.run_test(size=(140, 40)) as pilot:
        text = await _arrive(app, pilot, later)
        view = app.replay.view
        assert view is not None
        if last["approved"]:  # a FAK bought: a position is held then
            assert view.positions, text
            assert "positions: none" not in text
        assert view.books and f"+{(later - scrubber.start_ms) / 1000:.3f} s" in text
        opens = scrubber.opens

        await pilot.press("home")
        text = await _arrive(app, pilot, scrubber.start_ms)
        view = app.replay.view
        assert view is not None and view.reopened
        assert scrubber.opens == opens + 1
        assert "positions: none" in text
        assert "+0.000 s" in text
        assert "replayed again from the start" in text

        await pilot.press("right", "right")  # the later presses win: one move to +2 s
        text = await _arrive(app, pilot, scrubber.start_ms + 2000)
        assert "+2.000 s" in text
        assert not app.replay.view.reopened  # type: ignore[union-attr]


def test_a_bad_directory_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["replay", str(tmp_path / "empty"), "--ui"]) == 2
    err = capsys.readouterr().err
    assert "holds no session" in err and "Traceback" not in err
    assert main(["replay", str(tmp_path / "nowhere"), "--ui"]) == 2
    assert "needs a session directory" in capsys.readouterr().err
    assert main(["replay", str(tmp_path / "empty"), "--ui", "--json"]) == 2
    assert "--ui scrubs the session as recorded, on screen: drop --json" in (
        capsys.readouterr().err
    )


def test_without_a_terminal_the_ui_says_how_to_do_without(
    session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(session), "--ui"]) == 2  # pytest's stdin is no terminal
    err = capsys.readouterr().err
    assert "needs a terminal" in err and "--at TIME" in err


def test_holdings_fit_the_pane_and_say_how_many_more() -> None:
    from polytui.ui.screens.replay import fit_rows, split_rows

    assert split_rows(3, 2, 12) == (3, 2)  # both fit
    assert split_rows(30, 2, 12) == (10, 2)  # positions take what the orders leave
    assert split_rows(30, 20, 12) == (6, 6)  # orders at most half
    assert split_rows(2, 20, 12) == (2, 10)  # ... unless positions need less
    lines = [f"p{n}" for n in range(30)]
    assert fit_rows(lines[:4], 10) == lines[:4]
    assert fit_rows(lines, 10) == [*lines[:9], "  ... 21 more"]
    assert fit_rows(lines, 0) == []
