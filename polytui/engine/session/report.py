"""What ``polytui replay DIR`` prints: the replay's outcome, an instant, a diff.

Text for people (stdout), or one JSON object with ``--json``. Times are UTC, to the
millisecond, and also as seconds into the session.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from polytui.engine.session.decisions import Difference, outcome_text
from polytui.engine.session.replay import ReplayResult

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$")
_OFFSET = re.compile(r"^\+(\d+(?:\.\d*)?)s?$")


def utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def clock_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]


def parse_instant(text: str, start_ms: int, end_ms: int) -> int:
    """An instant of the session, in epoch ms, from ``14:32:08.241`` (UTC, on the session's
    day; the next day if that is before its start), ``+12.5`` (seconds into it), an ISO
    date-time (UTC unless it says otherwise) or epoch milliseconds. ``ValueError`` names the
    problem."""
    text = text.strip()
    if m := _OFFSET.match(text):
        return start_ms + round(float(m[1]) * 1000)
    if text.isdigit() and len(text) >= 12:
        return int(text)
    if m := _CLOCK.match(text):
        h, mi, s, frac = int(m[1]), int(m[2]), int(m[3]), (m[4] or "").ljust(3, "0")
        if h > 23 or mi > 59 or s > 59:
            raise ValueError(f"{text!r} is not a time of day")
        day = datetime.fromtimestamp(start_ms / 1000, UTC).replace(
            hour=h, minute=mi, second=s, microsecond=int(frac[:6].ljust(6, "0"))
        )
        at = int(day.timestamp() * 1000)
        if at < start_ms - 1000 and at + 86_400_000 <= end_ms + 1000:
            at += 86_400_000
        return at
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r}: give a time as HH:MM:SS.mmm (UTC), +SECONDS into the session, an ISO "
            "date-time or epoch milliseconds"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def short(text: str | None) -> str:
    """A number as a person reads it: at most 6 significant digits."""
    if text is None:
        return "-"
    try:
        value = Decimal(text)
    except ArithmeticError:
        return text
    return format(float(f"{value:.6g}"), "g") if value else "0"


def _decision_line(d: dict[str, Any], start_ms: int) -> str:
    asked = (
        f"{d['side']} {short(d['size'])} {d['unit'].lower()} {d['order_type']} "
        f"@ {short(d['limit_price'])}"
    )
    return (
        f"  {clock_time(d['at_ms'])} (+{(d['at_ms'] - start_ms) / 1000:.3f} s)  "
        f"{d['strategy']} {d['intent_id'][:16]}  {str(d['asset'])[:14]}  {asked}: "
        f"{outcome_text(d)}"
    )


def render_result(result: ReplayResult) -> str:
    f = result.fidelity
    out = [
        f"session {result.directory}",
        f"  {result.session_s:.1f} s of session replayed in {result.wall_s:.2f} s "
        f"({result.speed:.0f}x real time, {result.frames_per_s:,.0f} frames/s): "
        f"{result.lines} lines, {result.frames} frames, {result.rest_answers} REST answers",
    ]
    if result.failed:
        out.append(f"  the replayed engine stopped: {result.failed}")
    if f.truncated:
        out.append("  the recording ended without an orderly stop: replayed to its last line")
    if result.unanswered:
        asked = ", ".join(f"{k} x{v}" for k, v in sorted(result.unanswered.items()))
        out.append(f"  requests the recording could not answer: {asked}")
    out.append(
        f"decisions: {f.replayed} replayed, {f.recorded} recorded; "
        f"orders: {f.orders_replayed} replayed, {f.orders_recorded} recorded"
    )
    if f.identical:
        out.append("  the replay reproduces the session: same intents, gate outcomes and orders")
    else:
        for d in f.differences:
            out.append(f"  differs: {d.describe()}")
        for intent in f.orders_differing:
            out.append(f"  order differs: {intent}")
    gates: dict[str, int] = {}
    for d in result.decisions:
        key = "approved" if d["approved"] else d["gate"]
        gates[key] = gates.get(key, 0) + 1
    if gates:
        out.append("  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(gates.items())))
    return "\n".join(out)


def result_json(result: ReplayResult) -> dict[str, Any]:
    f = result.fidelity
    return {
        "directory": str(result.directory),
        "identical": f.identical,
        "truncated": f.truncated,
        "failed": result.failed,
        "lines": result.lines,
        "frames": result.frames,
        "rest_answers": result.rest_answers,
        "unanswered": result.unanswered,
        "session_s": result.session_s,
        "wall_s": result.wall_s,
        "speed": result.speed,
        "frames_per_s": result.frames_per_s,
        "decisions": result.decisions,
        "differences": [_difference_json(d) for d in f.differences],
        "orders": {
            "recorded": f.orders_recorded,
            "replayed": f.orders_replayed,
            "differing": f.orders_differing,
        },
    }


def _difference_json(d: Difference) -> dict[str, Any]:
    return {
        "intent_id": d.intent_id,
        "fields": list(d.fields),
        "before": d.before,
        "after": d.after,
    }


def render_diff(
    baseline: ReplayResult, changed: ReplayResult, differences: list[Difference], label: str
) -> str:
    out = [
        f"session {baseline.directory}: recorded settings vs {label}",
        f"  {len(baseline.decisions)} decisions as recorded, {len(changed.decisions)} "
        f"with the change; {len(differences)} differ",
    ]
    start = baseline.start_ms
    for d in differences:
        out.append(f"  {clock_time(d.at_ms)} (+{(d.at_ms - start) / 1000:.3f} s)  {d.describe()}")
    if not differences:
        out.append("  the change decides nothing differently in this session")
    if changed.unanswered:
        asked = ", ".join(f"{k} x{v}" for k, v in sorted(changed.unanswered.items()))
        out.append(
            f"  requests of the changed run the recording could not answer: {asked} (orders "
            "the session never posted are refused as unreachable)"
        )
    return "\n".join(out)


def diff_json(
    baseline: ReplayResult, changed: ReplayResult, differences: list[Difference]
) -> dict[str, Any]:
    return {
        "directory": str(baseline.directory),
        "baseline": len(baseline.decisions),
        "changed": len(changed.decisions),
        "differences": [_difference_json(d) for d in differences],
        "unanswered": changed.unanswered,
    }


def render_at(view: dict[str, Any]) -> str:
    at, start = view["at_ms"], view["start_ms"]
    out = [f"{utc(at)} UTC, {(at - start) / 1000:+.3f} s into the session"]
    if at < start or at > view["end_ms"]:
        out.append(f"  (the session runs {utc(start)} to {utc(view['end_ms'])})")
    if view.get("failed"):
        out.append(f"  the replayed engine stopped: {view['failed']}")
    shown = len(view["books"])
    out.append(f"books ({shown} of {view['all_books']}: those with a decision or a position):")
    for b in view["books"]:
        bids = ", ".join(f"{p} x {s}" for p, s in b["bids"]) or "-"
        asks = ", ".join(f"{p} x {s}" for p, s in b["asks"]) or "-"
        out.append(f"  {b['asset'][:20]}  {b['state']}  bids {bids} | asks {asks}")
    out.append("positions:" if view["positions"] else "positions: none")
    for p in view["positions"]:
        out.append(
            f"  {p['asset'][:20]}  {p['size']} @ {p['avg_cost']} "
            f"(mark {p['mark'] or '-'}, realised {p['realised']})"
        )
    if view["open_orders"]:
        out.append("open orders:")
        for o in view["open_orders"]:
            out.append(
                f"  {o['asset'][:20]}  {o['side']} {o['size']} @ {o['price']} "
                f"matched {o['matched']} {o['state']}"
            )
    window = view.get("window_ms", 5000) / 1000
    out.append(f"decisions within {window:g} s:" if view["decisions"] else "decisions: none near")
    for d in view["decisions"]:
        mark = ">" if d["at_ms"] <= at else " "
        out.append(mark + _decision_line(d, start)[1:])
    return "\n".join(out)


__all__ = ["parse_instant", "render_at", "render_diff", "render_result"]
