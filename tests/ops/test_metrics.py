"""Prometheus figures from engine health snapshots, read defensively, served on loopback."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from polytui.core.histogram import Histogram
from polytui.ops.metrics import EngineMetrics

HEALTH = {
    "mirror": {
        "tokens": 4,
        "states": {"LIVE": 3, "SUSPECT": 1},
        "resyncs": {"BBO_MISMATCH": 2, "RECONNECT": 4},
        "frames": 120,
        "shed": 0,
        "inbox": 5,
        "probes": 10,
        "probe_mismatch_rate": 0.1,
        "max_staleness_ms": 2500,
        "apply_lag_ms": {"count": 3, "p50": 2.0, "p99": 50.0, "max": 40.0},
        "max_stall_ms": 12.0,
    },
    "scanner": {"lag_ms": 1500, "stalled": True, "watched": 2, "errors": 3},
    "market_stream": {"shards": 2, "connected": 1, "reconnects": 7},
    "http": {"requests": 50, "status 429": 2, "status 500": 1, "retry 429": 2, "retry timeout": 1},
}


def samples(metrics: EngineMetrics) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_engine_figures_become_metrics() -> None:
    metrics = EngineMetrics()
    hist = Histogram()
    for value in (1, 3, 300):
        hist.add(value)
    metrics.update({**HEALTH, "latency": {"apply": hist}})
    got = samples(metrics)
    assert got[("polytui_books", (("state", "LIVE"),))] == 3
    assert got[("polytui_books", (("state", "RESYNCING"),))] == 0  # every state is present
    assert got[("polytui_resyncs_total", (("reason", "RECONNECT"),))] == 4
    assert got[("polytui_book_staleness_max_seconds", ())] == 2.5
    assert got[("polytui_apply_lag_p99_seconds", ())] == 0.05
    assert got[("polytui_scanner_stalled", ())] == 1
    assert got[("polytui_scanner_lag_seconds", ())] == 1.5
    assert got[("polytui_ws_connected", ())] == 1
    assert got[("polytui_http_429_total", ())] == 2
    assert got[("polytui_http_responses_total", (("status", "500"),))] == 1
    assert got[("polytui_http_retries_total", (("reason", "timeout"),))] == 1
    bucket = ("polytui_stage_latency_seconds_bucket", (("le", "0.005"), ("stage", "apply")))
    assert got[bucket] == 2
    assert got[("polytui_stage_latency_seconds_count", (("stage", "apply"),))] == 3
    # Figures that do not exist yet are declared with no samples, never invented.
    assert not any(name == "polytui_kill_switch_engaged" for name, _ in got)
    assert not any(name == "polytui_orders" for name, _ in got)


def test_order_and_risk_figures_light_up_when_health_has_them() -> None:
    metrics = EngineMetrics()
    metrics.update(
        {
            "orders": {"states": {"LIVE": 2, "FILLED": 5}, "fills": 9, "submitted": 7},
            "risk": {
                "rejects": {"caps": 3, "book_not_live": 1},
                "exposure_usd": 120.5,
                "caps_tripped": ["daily_loss"],
            },
            "pnl": {"realised": "-1.25", "unrealised": 3.0},
            "kill_switch": {"engaged": True},
            "reconciler": {"drift": 2},
            "user_stream": {"connected": False},
            "ops": {
                "clock_skew_s": -0.4,
                "alerts_firing": {"kill_switch": 1},
                "alerts_sent": {"slack-0": {"ok": 2, "failed": 1}},
                "alerts_dropped": {"rate_limited": 4},
            },
        }
    )
    got = samples(metrics)
    assert got[("polytui_orders", (("state", "FILLED"),))] == 5
    assert got[("polytui_orders", (("state", "UNKNOWN"),))] == 0
    assert got[("polytui_fills_total", ())] == 9
    assert got[("polytui_rejects_total", (("gate", "caps"),))] == 3
    assert got[("polytui_exposure_usd", ())] == 120.5
    assert got[("polytui_caps_tripped", (("cap", "daily_loss"),))] == 1
    assert got[("polytui_pnl_usd", (("kind", "realised"),))] == -1.25
    assert got[("polytui_kill_switch_engaged", ())] == 1
    assert got[("polytui_reconciliation_drift", ())] == 2
    assert got[("polytui_user_ws_connected", ())] == 0
    assert got[("polytui_clock_skew_seconds", ())] == -0.4
    assert got[("polytui_alerts_sent_total", (("result", "failed"), ("webhook", "slack-0")))] == 1
    assert got[("polytui_alerts_dropped_total", (("reason", "rate_limited"),))] == 4


def test_malformed_health_is_skipped_not_raised() -> None:
    metrics = EngineMetrics()
    metrics.update(
        {
            "mirror": "broken",
            "scanner": {"lag_ms": "soon"},
            "http": None,
            "orders": {"states": ["LIVE"]},
            "latency": {"x": {"bounds": [1]}},
        }
    )
    got = samples(metrics)
    assert ("polytui_scanner_lag_seconds", ()) not in got
    assert got[("polytui_http_429_total", ())] == 0


def test_book_transitions_are_counted_from_events() -> None:
    from polytui.engine.mirror import BookState, BookStateChanged, Reason

    metrics = EngineMetrics()
    event = BookStateChanged("a1", BookState.LIVE, BookState.SUSPECT, Reason.SHED, "", 1)
    metrics.on_event(event)
    metrics.on_event(event)
    metrics.on_event(object())
    got = samples(metrics)
    assert got[("polytui_book_transitions_total", (("reason", "SHED"), ("state", "SUSPECT")))] == 2


def test_metrics_are_served_on_loopback() -> None:
    metrics = EngineMetrics()
    metrics.update(HEALTH)
    host, port = metrics.serve("127.0.0.1", 0)
    try:
        assert host == "127.0.0.1" and port > 0
        body = httpx.get(f"http://{host}:{port}/metrics", timeout=5).text
        assert 'polytui_books{state="LIVE"} 3.0' in body
        assert "polytui_metrics_snapshot_age_seconds" in body
    finally:
        metrics.close()
