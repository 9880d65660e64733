"""The doctor's judgements: each line OK or a concrete fix."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from polytui.ops import doctor as d


def test_render_and_exit_code() -> None:
    checks = [d.ok("config", "defaults"), d.fail("clock skew", "+9.0 s", "sync the clock")]
    text = d.render(checks)
    assert text.splitlines() == [
        "OK    config         defaults",
        "FAIL  clock skew     +9.0 s",
        "                     fix: sync the clock",
    ]
    assert d.exit_code(checks) == 1 and d.exit_code(checks[:1]) == 0
    assert d.exit_code([d.warn("alerts", "none", "add one")]) == 0


def test_clock_skew() -> None:
    assert d.check_clock_skew(0.4, 2).status == "OK"
    bad = d.check_clock_skew(-3.2, 2)
    assert bad.status == "FAIL" and "timedatectl" in bad.fix and "-3.2 s" in bad.detail


def test_balance_and_allowances() -> None:
    good = d.check_balance("0xabc", 10_000_000_000, {"0xE1": 5, "0xE2": 7}, None)
    assert [c.status for c in good] == ["OK", "OK"] and "10,000.00 pUSD" in good[0].detail
    empty = d.check_balance("0xabc", 0, {"0xE1": 0, "0xE2": 1}, None)
    assert [c.status for c in empty] == ["FAIL", "FAIL"]
    assert "deposit pUSD to 0xabc" in empty[0].fix and "0xE1" in empty[1].detail
    assert d.check_balance("0xabc", 1, {}, 5)[1].status == "OK"  # the older single allowance
    assert d.check_balance("0xabc", 1, {}, None)[1].status == "WARN"


def test_private_files_and_the_data_dir(tmp_path: Path) -> None:
    key = tmp_path / "sim-key"
    assert d.check_private_file("sim wallet", key).status == "FAIL"
    key.write_text("x")
    os.chmod(key, 0o644)
    bad = d.check_private_file("sim wallet", key)
    assert bad.status == "FAIL" and bad.fix == f"chmod 600 {key}"
    os.chmod(key, 0o600)
    assert d.check_private_file("sim wallet", key).status == "OK"
    assert d.check_data_dir(tmp_path / "new").status == "OK"
    os.chmod(tmp_path, 0o755)
    assert d.check_data_dir(tmp_path).fix == f"chmod 700 {tmp_path}"
    assert d.check_data_dir(key).status == "FAIL"


def test_rate_budget() -> None:
    defaults = {
        "books_per_request": 20,
        "probe_interval_ms": 2000,
        "stale_after_ms": 60_000,
        "resync_interval_ms": 300_000,
        "page_size": 500,
        "full_scan_s": 60,
        "cadence_s": 3,
        "listed_markets": 20_000,
        "heartbeat_s": 10,
    }
    fine = d.check_rate_budget(d.estimate_rate_use(max_markets=200, **defaults), 0.8)
    assert fine.status == "OK", fine
    tight = {**defaults, "books_per_request": 1, "probe_interval_ms": 100}
    over = d.check_rate_budget(d.estimate_rate_use(max_markets=5000, **tight), 0.8)
    assert over.status == "FAIL" and "clob /books" in over.fix and "max_markets" in over.fix


def test_metrics_port_and_webhooks() -> None:
    assert d.check_port("127.0.0.1", 0).detail.startswith("off")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert d.check_port("127.0.0.1", port).status == "WARN"
    assert d.check_port("127.0.0.1", port).status == "OK"
    assert d.check_port("0.0.0.0", port).status == "WARN"
    assert d.check_webhooks(0).status == "WARN" and d.check_webhooks(2).status == "OK"
