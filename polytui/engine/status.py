"""`polytui status [--json] [--db PATH]`: where polytui stands, from a shell, while it runs.

Read only: the ledger's projections (read without the writer's lock, as `polytui ledger
summary` does) and the health file the engine rewrites every second beside the ledger. It
shows the wallet address, the kill switch, the open orders, the positions with their
settlement split (sellable now / pending), the fills, PnL, the book states and the last
alerts and errors, and whether the engine is running (its health file is fresh and its
process alive). It never writes anything and never asks the venue.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from polytui.core.orders import OPEN_ORDER_STATES
from polytui.core.projections import ReadModel
from polytui.engine.health_file import health_path, read_health
from polytui.store.db import database_url, make_engine
from polytui.store.errors import StoreError
from polytui.store.ledger import read_model

OK, FAILED = 0, 1
FRESH_S = 5.0  # a health file older than this: the engine is not running (or hangs)


def status(
    target: str | Path,
    data_dir: Path,
    *,
    as_json: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
    wall_clock: Callable[[], float] = time.time,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    url = database_url(target)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        print(f"polytui: no ledger at {url.removeprefix('sqlite:///')}", file=err)
        return FAILED
    engine = make_engine(target, write=False)
    try:
        model = read_model(engine)
    except StoreError as exc:
        print(f"polytui: {exc}", file=err)
        return FAILED
    finally:
        engine.dispose()
    hpath = health_path(target, data_dir)
    report = build_report(model, read_health(hpath), hpath, target, wall_clock())
    if report["wallet"] is None:
        report["wallet"] = _address_from_key_file(data_dir)
    if as_json:
        print(json.dumps(report, indent=2, default=str), file=out)
    else:
        print(render(report), file=out)
    return OK


def build_report(
    model: ReadModel,
    health: dict[str, Any] | None,
    hpath: Path,
    target: str | Path,
    now_s: float,
) -> dict[str, Any]:
    health = health or {}
    written = health.get("written_ms")
    age = None if written is None else round(now_s - written / 1000, 3)
    pid = health.get("pid")
    running = age is not None and age < FRESH_S and not health.get("stopped") and _alive(pid)
    marks = {k: Decimal(str(v)) for k, v in (health.get("marks") or {}).items()}
    marks = {**model.marks, **marks}
    ks = model.kill_switch
    open_orders = [
        {
            "order_id": o.order_id,
            "intent_id": o.intent_id,
            "strategy": o.strategy,
            "asset_id": o.asset_id,
            "side": o.side,
            "price": o.price,
            "size": o.size,
            "size_matched": o.size_matched,
            "state": str(o.state),
        }
        for o in model.unresolved_orders()
        if o.state in OPEN_ORDER_STATES
    ]
    positions = []
    for p in sorted(model.positions.values(), key=lambda p: p.asset_id):
        if not p.size:
            continue
        mark = marks.get(p.asset_id)
        positions.append(
            {
                "asset_id": p.asset_id,
                "market": p.market,
                "size": p.size,
                "sellable": p.sellable,
                "pending": p.pending,
                "avg_cost": p.avg_cost,
                "mark": mark,
                "realised": p.realised,
                "unrealised": p.unrealised(mark) if mark is not None else None,
            }
        )
    unrealised, unmarked = model.unrealised(marks)
    by_status = Counter(str(f.status) for f in model.fills.values())
    recent = [{**a, "what": "alert"} for a in health.get("alerts", [])] + [
        {**e, "what": "error"} for e in health.get("errors", [])
    ]
    recent.sort(key=lambda r: r.get("at_ms", 0))
    return {
        "engine": {
            "running": running,
            "pid": pid if running else None,
            "health_age_s": age,
            "stopped": bool(health.get("stopped")),
            "health_file": str(hpath),
        },
        "wallet": health.get("address"),
        "ledger": {
            "target": str(target),
            "events": model.stats.events,
            "last_seq": model.stats.last_seq,
            "anomalies": model.stats.anomalies,
            "reconciliation_diffs": model.stats.reconciliation_diffs,
        },
        "kill_switch": {
            "engaged": ks.engaged,
            "reason": ks.reason,
            "source": ks.source,
            "since_seq": ks.since_seq if ks.engaged else None,
            "since": _when(ks.since_ts_ms) if ks.engaged else None,
        },
        "open_orders": open_orders,
        "positions": positions,
        "fills": {"count": len(model.fills), "by_status": dict(sorted(by_status.items()))},
        "pnl": {
            "realised": model.realised(),
            "unrealised": unrealised,
            "fees": model.fees(),
            "unmarked": len(unmarked),
        },
        "books": (health.get("summary") or {}).get("books", {}),
        "copy_feed": list(health.get("copy_feed") or [])[-10:],
        "last_errors": recent[-10:],
    }


def render(report: dict[str, Any]) -> str:
    e = report["engine"]
    if e["running"]:
        head = f"engine: running (pid {e['pid']}, health {e['health_age_s']:.1f} s old)"
    elif e["stopped"]:
        head = "engine: stopped"
    elif e["health_age_s"] is not None:
        head = f"engine: NOT RUNNING (last health {e['health_age_s']:.0f} s ago)"
    else:
        head = "engine: not running"
    lines = [head, f"wallet: {report['wallet'] or 'unknown'}"]
    ks = report["kill_switch"]
    if ks["engaged"]:
        why = f": {ks['reason']}" if ks["reason"] else ""
        lines.append(f"kill switch: ENGAGED since {ks['since']} ({ks['source']}){why}")
    else:
        lines.append("kill switch: off")
    orders = report["open_orders"]
    lines.append(f"open orders: {len(orders)}")
    for o in orders:
        lines.append(
            f"  {o['order_id'][:12]}…  {o['side']:<4} {_num(o['price']):>7} x {_num(o['size']):>9}"
            f"  matched {_num(o['size_matched'])}  {o['state']}  {o['strategy']}"
        )
    positions = report["positions"]
    lines.append(f"positions: {len(positions)} open")
    if positions:
        lines.append(
            f"  {'asset':<14} {'size':>11} {'sellable':>11} {'pending':>11} {'avg cost':>8} "
            f"{'mark':>8} {'unrealised':>11}"
        )
        for p in positions:
            unreal = "-" if p["unrealised"] is None else f"{p['unrealised']:+,.4f}"
            mark = "-" if p["mark"] is None else f"{p['mark']:.4f}"
            lines.append(
                f"  {_short(p['asset_id']):<14} {p['size']:>11,.2f} {p['sellable']:>11,.2f} "
                f"{p['pending']:>11,.2f} {p['avg_cost']:>8.4f} {mark:>8} {unreal:>11}"
            )
    fills = report["fills"]
    detail = ", ".join(f"{k} {v}" for k, v in fills["by_status"].items())
    lines.append(f"fills: {fills['count']}" + (f" ({detail})" if detail else ""))
    pnl = report["pnl"]
    note = f" ({pnl['unmarked']} open without a mark)" if pnl["unmarked"] else ""
    lines.append(
        f"pnl: realised {pnl['realised']:+,.4f}, unrealised {pnl['unrealised']:+,.4f}{note}, "
        f"fees {pnl['fees']:,.4f}"
    )
    books = report["books"]
    lines.append("books: " + (", ".join(f"{k} {v}" for k, v in sorted(books.items())) or "unknown"))
    feed = report.get("copy_feed") or []
    if feed:
        lines.append("copy feed (latest leader trades and what was done):")
        for c in feed:
            done = c["outcome"] + (f" by {c['gate']}" if c["gate"] else "")
            lines.append(
                f"  {_when(c['at_ms'])} {c['leader'][:10]}… {c['leader_side']:<4} "
                f"{_num(c['leader_shares'])} @ {c['leader_price']} ({c['kind']}): {done}"
                f" - {c['reason']}"
            )
    errors = report["last_errors"]
    lines.append(f"last errors: {len(errors) or 'none'}")
    for r in errors:
        what = r.get("kind") or r.get("job") or ""
        text = r.get("message") or r.get("error") or ""
        lines.append(f"  {_when(r.get('at_ms', 0))} {r['what']} {what}: {text}")
    return "\n".join(lines)


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _address_from_key_file(data_dir: Path) -> str | None:
    from polytui.keys import SIM_KEY_FILENAME, KeyFileError, load_or_create_sim_key

    if not (data_dir / SIM_KEY_FILENAME).exists():
        return None
    try:
        return load_or_create_sim_key(data_dir).address
    except KeyFileError:
        return None


def _when(ts_ms: int) -> str:
    if not ts_ms:
        return "never"
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _short(asset_id: str) -> str:
    return asset_id if len(asset_id) <= 14 else f"{asset_id[:7]}…{asset_id[-6:]}"


def _num(value: object) -> str:
    if value is None:
        return "-"
    return format(Decimal(str(value)).normalize(), "f")
