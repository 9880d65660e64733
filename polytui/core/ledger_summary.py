"""The ledger summary: one text for ``polytui ledger rebuild`` and for the running engine.

Both print ``render_summary(model)`` over the same projections, so what the engine showed and
what a rebuild prints are the same text, character for character. Pass ``marks`` to value
positions at live prices; without them the latest marks of the ledger's PnL snapshots are
used, which is what a rebuild has (an engine that wants its figures to survive writes a
``PnlSnapshot`` first). Nothing here reads a clock: times come from the ledger.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from polytui.core.orders import OrderState
from polytui.core.projections import ReadModel

_STATE_ORDER = list(OrderState)


def render_summary(model: ReadModel, marks: dict[str, Decimal] | None = None) -> str:
    stats = model.stats
    lines = [f"ledger: {stats.events} events, last seq {stats.last_seq}, {_when(stats.last_ts_ms)}"]
    ks = model.kill_switch
    if ks.engaged:
        why = f": {ks.reason}" if ks.reason else ""
        lines.append(
            f"kill switch: ENGAGED since seq {ks.since_seq} ({_when(ks.since_ts_ms)}, "
            f"{ks.source or 'unknown source'}){why}"
        )
    else:
        lines.append("kill switch: off")

    by_state = Counter(o.state for o in model.orders.values())
    states = ", ".join(f"{s} {by_state[s]}" for s in _STATE_ORDER if by_state[s])
    lines.append(f"orders: {len(model.orders)}" + (f" ({states})" if states else ""))

    by_status = Counter(f.status for f in model.fills.values())
    statuses = ", ".join(f"{s} {n}" for s, n in sorted(by_status.items()))
    lines.append(f"fills: {len(model.fills)}" + (f" ({statuses})" if statuses else ""))

    marks = model.marks if marks is None else marks
    held = sorted((p for p in model.positions.values() if p.size or p.realised), key=_asset)
    open_count = sum(1 for p in held if p.size)
    lines.append(f"positions: {open_count} open, {len(held) - open_count} closed")
    if held:
        lines.append(
            f"  {'asset':<14} {'size':>11} {'sellable':>11} {'pending':>11} {'avg cost':>8} "
            f"{'mark':>8} {'realised':>11} {'unrealised':>11}"
        )
        for p in held:
            mark = marks.get(p.asset_id)
            unreal = _money(p.unrealised(mark)) if mark is not None and p.size else "-"
            lines.append(
                f"  {_short(p.asset_id):<14} {_size(p.size):>11} {_size(p.sellable):>11} "
                f"{_size(p.pending):>11} {_price(p.avg_cost):>8} "
                f"{_price(mark) if mark is not None else '-':>8} {_money(p.realised):>11} "
                f"{unreal:>11}"
            )
    unrealised, unmarked = model.unrealised(marks)
    note = f" ({len(unmarked)} open without a mark)" if unmarked else ""
    lines.append(
        f"pnl: realised {_money(model.realised())}, unrealised {_money(unrealised)}{note}, "
        f"fees {_money(model.fees())}, snapshots {len(model.pnl_snapshots)}"
    )
    risk = ", ".join(f"{gate} {n}" for gate, n in stats.risk_rejections.items())
    lines.append(
        f"risk rejections: {sum(stats.risk_rejections.values())}"
        + (f" ({risk})" if risk else "")
        + f"; reconciliation diffs: {stats.reconciliation_diffs}; anomalies: {stats.anomalies}"
    )
    lines.extend(f"  {note}" for note in stats.notes)
    return "\n".join(lines)


def _asset(p) -> str:  # type: ignore[no-untyped-def]
    return p.asset_id


def _when(ts_ms: int) -> str:
    if not ts_ms:
        return "never"
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _short(asset_id: str) -> str:
    """Token ids are 77 digits: the head and the tail tell them apart."""
    return asset_id if len(asset_id) <= 14 else f"{asset_id[:7]}…{asset_id[-6:]}"


def _size(value: Decimal) -> str:
    return f"{value:,.2f}"


def _price(value: Decimal) -> str:
    return f"{value:.4f}"


def _money(value: Decimal) -> str:
    text = f"{value:+,.4f}"
    return "+0.0000" if text == "-0.0000" else text
