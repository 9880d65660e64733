"""``polytui doctor``: the preflight's checks and their report. Each check is a line that says
OK, WARN or FAIL, and every WARN and FAIL says how to fix it. The checks that need the venue
are run by ``polytui.doctor``; the judgements are the pure functions here.

    OK    clock skew     venue clock -0.4 s from ours (limit 2 s)
    FAIL  balance        0.00 pUSD
          fix: deposit pUSD to 0xabc... (the orders need collateral)
"""

from __future__ import annotations

import math
import socket
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from polytui.ops.redact import REDACTOR

Status = Literal["OK", "WARN", "FAIL"]
USDC_UNITS = 1_000_000  # pUSD base units


@dataclass(frozen=True, slots=True)
class Check:
    status: Status
    name: str
    detail: str
    fix: str = ""


def ok(name: str, detail: str) -> Check:
    return Check("OK", name, detail)


def warn(name: str, detail: str, fix: str) -> Check:
    return Check("WARN", name, detail, fix)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check("FAIL", name, detail, fix)


def render(checks: Iterable[Check]) -> str:
    lines = []
    for c in checks:
        lines.append(f"{c.status:<5} {c.name:<14} {c.detail}")
        if c.fix:
            lines.append(f"{'':<5} {'':<14} fix: {c.fix}")
    return REDACTOR.scrub_text("\n".join(lines))


def exit_code(checks: Iterable[Check]) -> int:
    return 1 if any(c.status == "FAIL" for c in checks) else 0


# ---- judgements ------------------------------------------------------------------------------


def check_private_file(name: str, path: Path, missing: Check | None = None) -> Check:
    """A key or passphrase file: it exists and only its owner can read it."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return missing or fail(name, f"{path} does not exist", "create it (see README)")
    except OSError as exc:
        return fail(name, f"cannot read {path}: {exc.strerror}", f"check the permissions of {path}")
    if mode & 0o077:
        return fail(name, f"{path} has mode {mode:04o}", f"chmod 600 {path}")
    return ok(name, f"{path} (mode {mode:04o})")


def check_data_dir(path: Path) -> Check:
    if not path.exists():
        return ok("data dir", f"{path} (created 0700 on first start)")
    if not path.is_dir():
        return fail("data dir", f"{path} is not a directory", "set paths.data_dir to a directory")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return warn("data dir", f"{path} has mode {mode:04o}", f"chmod 700 {path}")
    return ok("data dir", f"{path} (mode {mode:04o})")


def check_clock_skew(skew_s: float, limit_s: float) -> Check:
    detail = f"venue clock {skew_s:+.1f} s from ours (limit {limit_s:g} s)"
    if abs(skew_s) > limit_s:
        return fail(
            "clock skew",
            detail,
            "sync this machine's clock: `timedatectl set-ntp true` (systemd-timesyncd) or chrony; "
            "signed requests carry a timestamp the venue checks",
        )
    return ok("clock skew", detail)


def check_balance(
    address: str, balance: int, allowances: dict[str, int], allowance: int | None
) -> list[Check]:
    usd = balance / USDC_UNITS
    out = []
    if balance <= 0:
        out.append(
            fail(
                "balance",
                f"{usd:,.2f} pUSD at {address}",
                f"deposit pUSD to {address}: orders need collateral",
            )
        )
    else:
        out.append(ok("balance", f"{usd:,.2f} pUSD at {address}"))
    spenders = dict(allowances)
    if allowance is not None and not spenders:
        spenders = {"exchange": allowance}
    zero = sorted(s for s, v in spenders.items() if v <= 0)
    if not spenders:
        out.append(
            warn(
                "allowances",
                "the venue reported none",
                "approve pUSD for the exchange contracts (protocol §4.11), then "
                "GET /balance-allowance/update",
            )
        )
    elif zero:
        out.append(
            fail(
                "allowances",
                f"no allowance for {', '.join(zero)}",
                "approve pUSD for those spenders, then GET /balance-allowance/update",
            )
        )
    else:
        out.append(ok("allowances", f"{len(spenders)} spender(s) approved"))
    return out


@dataclass(frozen=True, slots=True)
class RateUse:
    family: str
    per_10s: float
    limit: int


def estimate_rate_use(
    *,
    max_markets: int,
    books_per_request: int,
    probe_interval_ms: int,
    stale_after_ms: int,
    resync_interval_ms: int,
    page_size: int,
    full_scan_s: float,
    cadence_s: float,
    listed_markets: int,
    heartbeat_s: float,
) -> list[RateUse]:
    """Steady-state requests per 10 s of the engine's own work, by venue family (protocol §8),
    for a universe at its cap (two tokens per market)."""
    tokens = 2 * max(max_markets, 0)
    # Probes: at least one batch per interval, and enough that every token is verified within a
    # third of stale_after_ms; preventive resyncs are one batch-sized snapshot each.
    probe_tokens_per_s = tokens / (stale_after_ms / 3000) if tokens else 0.0
    books = max(10_000 / probe_interval_ms, probe_tokens_per_s * 10 / books_per_request)
    books += tokens / (resync_interval_ms / 1000) * 10 / books_per_request
    pages = math.ceil(max(listed_markets, 1) / page_size)
    gamma = pages * 10 / full_scan_s + 2 * 10 / cadence_s
    ok_calls = 10 / heartbeat_s
    return [
        RateUse("clob /books", books, 500),
        RateUse("gamma /markets", gamma, 300),
        RateUse("clob /ok", ok_calls, 100),
    ]


def check_rate_budget(uses: list[RateUse], budget: float) -> Check:
    parts, over = [], []
    for use in uses:
        allowed = use.limit * budget
        parts.append(f"{use.family} ~{use.per_10s:.0f}/{allowed:.0f}")
        if use.per_10s > allowed:
            over.append(use.family)
    detail = f"{budget:.0%} of the venue's limits, per 10 s: " + ", ".join(parts)
    if over:
        return fail(
            "rate budget",
            detail,
            f"{', '.join(over)} would be throttled: lower scanner.max_markets, or raise "
            "mirror.books_per_request / mirror.probe_interval_ms / scanner.cadence_s",
        )
    if any(u.per_10s > 0.5 * u.limit * budget for u in uses):
        return warn(
            "rate budget",
            detail,
            "more than half the budget goes to background work; orders share it",
        )
    return ok("rate budget", detail)


def check_port(host: str, port: int) -> Check:
    if port == 0:
        return ok("metrics", "off (metrics.port = 0)")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            return warn(
                "metrics",
                f"{host}:{port} is taken ({exc.strerror})",
                "a running polytui holds it, or choose another metrics.port",
            )
    scope = "loopback only" if host in ("127.0.0.1", "::1", "localhost") else "REACHABLE FROM "
    if scope != "loopback only":
        return warn(
            "metrics",
            f"http://{host}:{port}/metrics, {scope}{host}",
            "bind metrics.host to 127.0.0.1 and scrape through a tunnel or a proxy",
        )
    return ok("metrics", f"http://{host}:{port}/metrics will listen ({scope})")


def check_webhooks(count: int) -> Check:
    if not count:
        return warn(
            "alerts",
            "no webhook configured: alerts only reach the log",
            'add [[alerts.webhooks]] url = "https://hooks.slack.com/..." (see deploy/)',
        )
    return ok("alerts", f"{count} webhook(s)")
