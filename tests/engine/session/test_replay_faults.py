"""A session recorded against the simulator with its faults on, then replayed.

One recording per module (``polytui --no-ui --record DIR`` in a child process, the simulator
embedded, running 10x real time): the demo copy-trader copies the simulator's leaders, the
venue drops, duplicates and reorders market frames, disconnects, answers REST with 5xx, 429
and stale books; a low rate limit makes the risk engine reject some of the intents. The replay
must decide exactly as the session did (the same intents, gate outcomes and orders); a
tampered record must be caught; a changed risk limit must show the intents it changes; and
``--at`` must show what the engine held at an instant.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polytui.cli import main
from polytui.engine.session.journal import Journal
from polytui.engine.session.manifest import MANIFEST
from polytui.engine.session.replay import at_instant, replay_session
from tests.session_recording import record_until

pytestmark = pytest.mark.slow

FAULTS = (
    "drop=0.002,dup=0.01,reorder=0.005,disconnect=40,http5xx=0.05,http429=0.02,"
    "latency_ms=5,stale_rest=0.05"
)
CONFIG = f"""
[sim]
seed = 3
markets = 10
rate = 100
time_scale = 10
leader_activity = 300
faults = "{FAULTS}"

[copytrade]
poll_s = 0.5

[risk]
max_orders_per_window = 3
"""


def _has_what_the_tests_need(directory: Path) -> bool:
    """Enough decisions, three approved (the rate limit's window) and rejections after them."""
    decisions = Journal.open(directory).decisions
    approved = [d for d in decisions if d["approved"]]
    return (
        len(decisions) >= 5
        and "rate_limit" in _gates(decisions)
        and len(approved) == 3
        and decisions.index(approved[-1]) < len(decisions) - 1
    )


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_until(tmp_path_factory.mktemp("faulty-session"), CONFIG, _has_what_the_tests_need)


def _gates(decisions: list[dict[str, Any]]) -> set[str]:
    return {"approved" if d["approved"] else d["gate"] for d in decisions}


def test_the_faulty_session_replays_to_the_same_decisions_and_orders(session: Path) -> None:
    journal = Journal.open(session)
    lines = journal.lines
    # The faults did happen: REST errors and rate limits were answered, a resync followed.
    assert any(line.status is not None and line.status >= 500 for line in lines)
    assert any(line.status == 429 for line in lines)
    recorded = journal.decisions
    assert len(recorded) >= 5
    gates = _gates(recorded)
    assert "approved" in gates and "rate_limit" in gates, gates  # intents, risk rejections

    result = replay_session(session)

    assert result.failed is None
    assert result.fidelity.identical, [d.describe() for d in result.fidelity.differences]
    assert [d["intent_id"] for d in result.decisions] == [d["intent_id"] for d in recorded]
    keys = ("approved", "gate", "shares", "price", "size", "limit_price", "asset", "side")
    assert [[d[k] for k in keys] for d in result.decisions] == [
        [d[k] for k in keys] for d in recorded
    ]
    f = result.fidelity
    assert f.orders_recorded == f.orders_replayed == sum(1 for d in recorded if d["approved"])
    assert f.orders_recorded > 0 and not f.orders_differing
    assert result.frames > 1000
    # Known residue: with reordered frames, a burst the session judged after the snapshot
    # that healed it may be judged (crossed) a millisecond before it in the replay; the
    # replay's mirror then asks a book the session never asked (not in the recording, so
    # refused). The decisions above are the same; anything else unanswered is a defect.
    assert set(result.unanswered) <= {"POST /books"}, result.unanswered
    assert sum(result.unanswered.values()) <= 10, result.unanswered


def test_a_tampered_record_is_reported_as_a_difference(
    session: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "tampered"
    shutil.copytree(session, copy)
    capture = copy / "capture.jsonl"
    out, changed = [], None
    for text in capture.read_text().splitlines():
        line = json.loads(text)
        if changed is None and line.get("event") == "decision":
            decision = json.loads(line["payload"])
            if decision["approved"]:
                decision["shares"] = str(Decimal(decision["shares"]) + 1)
                line["payload"] = json.dumps(decision)
                changed = decision["intent_id"]
                text = json.dumps(line)
        out.append(text)
    assert changed is not None
    capture.write_text("\n".join(out) + "\n")

    assert main(["replay", str(copy)]) == 1
    text = capsys.readouterr().out
    assert f"differs: {changed[:16]}" in text
    assert "(shares)" in text
    assert "the replay reproduces the session" not in text


def test_a_lower_rate_limit_rejects_the_last_approved_intent_of_the_window(
    session: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The session allowed 3 orders a minute (and rejected the rest by that gate); allowing 2
    turns exactly its third approved intent into a rate-limit rejection, and nothing else
    changes its outcome (the later intents were rejected already, by that gate or one
    before it)."""
    recorded = Journal.open(session).decisions
    approved = [d for d in recorded if d["approved"]]
    assert len(approved) == 3 and recorded.index(approved[-1]) < len(recorded) - 1
    third = approved[-1]
    changes = tmp_path / "changed.toml"
    changes.write_text("[risk]\nmax_orders_per_window = 2\n")

    assert main(["replay", str(session), "--diff", "--config", str(changes), "--json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    differences = diff["differences"]
    assert diff["baseline"] == len(recorded)  # as recorded; the changed run may decide more
    first = differences[0]
    assert first["intent_id"] == third["intent_id"]
    assert first["before"] == third
    after = first["after"]
    assert after["approved"] is False and after["gate"] == "rate_limit"
    assert "the limit is 2" in after["reason"]
    assert {"approved", "gate", "shares", "price"} <= set(first["fields"])
    for d in differences[1:]:
        if d["before"] is None or d["after"] is None:
            # the copier deciding otherwise about a copy that went, or never did: only after
            # the intent the changed limit rejected
            assert (d["after"] or d["before"])["at_ms"] > third["at_ms"], d
            continue
        # sized on other positions, perhaps, but decided the same way (by the rate limit, or
        # by a gate before it: with faults on, a book not LIVE)
        assert d["before"]["gate"] == d["after"]["gate"] != "", d
        assert d["before"]["approved"] is d["after"]["approved"] is False, d
        assert "approved" not in d["fields"] and "gate" not in d["fields"], d

    assert main(["replay", str(session), "--diff", "--config", str(changes)]) == 0
    text = capsys.readouterr().out
    assert f"{len(differences)} differ" in text
    line = next(t for t in text.splitlines() if third["intent_id"][:16] in t)
    assert f"approved {third['shares']} @ {third['price']} -> rejected by rate_limit" in line


def test_at_an_instant_shows_the_books_positions_and_decisions_there(
    session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = Journal.open(session)
    approved = [d for d in journal.decisions if d["approved"]]
    target = approved[len(approved) // 2]
    at = target["at_ms"]

    view = at_instant(session, at, window_ms=1000)

    assert view["reached_ms"] == at
    ids = [d["intent_id"] for d in view["decisions"]]
    assert target["intent_id"] in ids
    assert all(at - 1000 <= d["at_ms"] <= at + 1000 for d in view["decisions"])
    expected = [d["intent_id"] for d in journal.decisions if abs(d["at_ms"] - at) <= 1000]
    assert ids == expected
    book = next(b for b in view["books"] if b["asset"] == target["asset"])
    assert book["state"] == "LIVE"
    assert book["bids"] or book["asks"]
    # The session bought before this instant (an earlier approved FAK): a position is held.
    if approved.index(target) > 0:
        assert view["positions"], view

    offset = (at - journal.manifest.start_ms) / 1000
    assert main(["replay", str(session), "--at", f"+{offset:.3f}", "--window", "1"]) == 0
    text = capsys.readouterr().out
    assert "s into the session" in text
    assert "> " in text and target["intent_id"][:16] in text
    assert "books (" in text and target["asset"][:20] in text
    assert "positions:" in text


def killed_copy(session: Path, target: Path) -> list[bytes]:
    """The session as a kill leaves it: no end, no final ledger. Returns its capture lines."""
    shutil.copytree(session, target)
    manifest = json.loads((target / MANIFEST).read_text())
    manifest.update(end_ms=None, ended=None, ledger=None)
    (target / MANIFEST).write_text(json.dumps(manifest))
    (target / "ledger.jsonl").unlink(missing_ok=True)
    return (target / "capture.jsonl").read_bytes().splitlines(keepends=True)


def test_a_decision_lost_with_the_torn_last_line_is_beyond_the_record(
    session: Path, tmp_path: Path
) -> None:
    """Killed right after the engine decided, before the decision's mark was whole: the
    replay decides it too, after the record's last line, which is not a difference."""
    copy = tmp_path / "killed"
    lines = killed_copy(session, copy)
    marks = [i for i, line in enumerate(lines) if b'"event":"decision"' in line]
    cut = marks[len(marks) // 2]
    (copy / "capture.jsonl").write_bytes(b"".join(lines[:cut]) + lines[cut][:40])
    result = replay_session(copy)
    assert result.failed is None and result.fidelity.truncated
    assert result.fidelity.identical, [d.describe() for d in result.fidelity.differences]
    assert len(result.recorded) == len(marks) // 2
    assert len(result.decisions) > len(result.recorded)  # the lost one, decided again


def test_a_record_cut_short_replays_to_its_last_whole_line(session: Path, tmp_path: Path) -> None:
    copy = tmp_path / "killed"
    lines = killed_copy(session, copy)
    keep = len(lines) // 2
    torn = b"".join(lines[:keep]) + lines[keep][: len(lines[keep]) // 2]
    (copy / "capture.jsonl").write_bytes(torn)

    journal = Journal.open(copy)
    assert journal.truncated and len(journal.lines) == keep
    result = replay_session(copy)
    assert result.failed is None
    assert result.fidelity.truncated
    assert result.lines == keep
    assert result.fidelity.identical, [d.describe() for d in result.fidelity.differences]
