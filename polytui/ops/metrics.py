"""Prometheus ``/metrics`` for the engine (prometheus-client), on 127.0.0.1 by default.

    metrics = EngineMetrics()
    metrics.update(engine_health)          # on the engine's loop, every ``metrics.refresh_s``
    metrics.on_event(event)                # engine bus events (book transitions)
    server = metrics.serve("127.0.0.1", 9478)

**Where the figures come from.** The engine's ``health()`` dict is copied on the event loop into
an immutable snapshot; the HTTP server (a thread of prometheus-client) only reads the latest
snapshot, so a scrape never touches engine state and still answers when the loop is stuck
(``polytui_metrics_snapshot_age_seconds`` then grows and ``polytui_loop_lag_seconds`` tells why).

**health() keys read** (each one optional: a figure that is missing is left out, so the metrics
of components that are not wired yet appear, with no samples, as soon as they are):

=================================  ===========================================================
``mirror``                         ``Mirror.stats()``: states, resyncs, probes, inbox, lags
``scanner``                        ``Scanner.stats()``: lag_ms, stalled, watched, errors
``market_stream``                  ``MarketStream.stats()``: shards, connected, reconnects
``http``                           ``HttpClient.stats``: requests, "status N", "retry R"
``latency``                        ``{stage: core.histogram.Histogram}`` in ms, per pipeline
                                   stage (``apply``, ``receive`` today; ``decode``,
                                   ``strategy``, ``gates``, ``sizer``, ``sign``, ``post`` when
                                   they exist)
``orders``                         ``{"states": {STATE: n}, "fills": n, "submitted": n}``
``risk``                           ``{"rejects": {gate: n}, "exposure_usd": x,
                                   "caps_tripped": [cap, ...]}``
``pnl``                            ``{"realised": x, "unrealised": x, "fees": x}`` (USD)
``kill_switch``                    ``{"engaged": bool, "reason": str}``
``reconciler``                     ``{"drift": n}`` (open differences with the venue)
``user_stream``                    ``{"connected": bool}``
``ops``                            this package's own: loop lag, clock skew, alerts
=================================  ===========================================================
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from polytui.core.histogram import Histogram as CoreHistogram

PREFIX = "polytui"
BOOK_STATES = ("UNPRIMED", "LIVE", "SUSPECT", "RESYNCING")
ORDER_STATES = (
    "INTENDED",
    "SIGNED",
    "SUBMITTED",
    "LIVE",
    "PARTIALLY_FILLED",
    "FILLED",
    "CANCELED",
    "EXPIRED",
    "REJECTED",
    "FAILED",
    "UNKNOWN",
)
LOOP_LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _num(data: Any, *path: str) -> float | None:
    value = _get(data, *path)
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


HistogramCopy = tuple[tuple[float, ...], tuple[int, ...], float | None]


def _histogram_copy(value: Any) -> HistogramCopy | None:
    """(bounds, counts, sum) of a core histogram (or of a dict with ``bounds``, ``counts`` and
    optionally ``sum``), in milliseconds."""
    if isinstance(value, CoreHistogram):
        return value.bounds, tuple(value.counts), getattr(value, "sum", None)
    if isinstance(value, Mapping) and "bounds" in value and "counts" in value:
        bounds, counts = tuple(value["bounds"]), tuple(value["counts"])
        if len(counts) == len(bounds) + 1:
            return bounds, counts, value.get("sum")
    return None


def freeze_health(health: Mapping[str, Any]) -> dict[str, Any]:
    """A copy the HTTP thread may read while the loop changes the engine: histograms become
    (bounds, counts) tuples; the rest of ``health()`` is built fresh on each call already."""
    out = dict(health)
    latency = health.get("latency")
    if isinstance(latency, Mapping):
        out["latency"] = {
            str(stage): copy
            for stage, hist in latency.items()
            if (copy := _histogram_copy(hist)) is not None
        }
    return out


class _Families:
    """Builds metric families, leaving out samples whose figure is missing."""

    def __init__(self) -> None:
        self.out: list[Metric] = []

    def gauge(
        self,
        name: str,
        doc: str,
        values: Iterable[tuple[tuple[str, ...], float | None]] | float | None,
        labels: tuple[str, ...] = (),
    ) -> None:
        family = GaugeMetricFamily(f"{PREFIX}_{name}", doc, labels=labels)
        self._fill(family, values)
        self.out.append(family)

    def counter(
        self,
        name: str,
        doc: str,
        values: Iterable[tuple[tuple[str, ...], float | None]] | float | None,
        labels: tuple[str, ...] = (),
    ) -> None:
        family = CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=labels)
        self._fill(family, values)
        self.out.append(family)

    @staticmethod
    def _fill(family: Metric, values: Any) -> None:
        if values is None:
            return
        if isinstance(values, int | float):
            family.add_metric([], float(values))  # type: ignore[attr-defined]
            return
        for label_values, value in values:
            if value is not None:
                family.add_metric(list(label_values), float(value))  # type: ignore[attr-defined]


def _by_label(counts: Any, keys: Iterable[str] = ()) -> list[tuple[tuple[str, ...], float | None]]:
    """``{label: n}`` as samples, with every name of ``keys`` present (0 when absent)."""
    if not isinstance(counts, Mapping):
        return []
    merged: dict[str, Any] = dict.fromkeys(keys, 0)
    merged.update({str(k): v for k, v in counts.items()})
    return [((k,), _num(merged, k)) for k in sorted(merged)]


class _HealthCollector(Collector):
    def __init__(self, metrics: EngineMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        snapshot, taken = self._metrics.snapshot()
        f = _Families()
        age = None if taken is None else max(0.0, time.monotonic() - taken)
        f.gauge(
            "metrics_snapshot_age_seconds", "Seconds since the engine's figures were copied", age
        )
        _mirror(f, snapshot.get("mirror"))
        _latency(f, snapshot.get("latency"))
        _scanner(f, snapshot.get("scanner"))
        _stream(f, snapshot.get("market_stream"), snapshot.get("user_stream"))
        _http(f, snapshot.get("http"))
        _trading(f, snapshot)
        _ops(f, snapshot.get("ops"))
        yield from f.out


def _mirror(f: _Families, m: Any) -> None:
    states = _get(m, "states")
    f.gauge(
        "books",
        "Watched order books by mirror state",
        _by_label(states, BOOK_STATES) if isinstance(states, Mapping) else None,
        ("state",),
    )
    f.gauge("book_tokens", "Tokens the mirror follows", _num(m, "tokens"))
    stale = _num(m, "max_staleness_ms")
    f.gauge(
        "book_staleness_max_seconds",
        "Longest time since a LIVE book was updated",
        None if stale is None else stale / 1000,
    )
    f.counter("resyncs", "Book resyncs by reason", _by_label(_get(m, "resyncs")), ("reason",))
    f.counter("mirror_frames", "Market frames applied", _num(m, "frames"))
    f.counter("mirror_shed", "Frames shed from the full inbox", _num(m, "shed"))
    f.counter("mirror_decode_errors", "Frames that did not decode", _num(m, "decode_errors"))
    f.counter("mirror_fetch_errors", "Failed snapshot and probe fetches", _num(m, "fetch_errors"))
    f.counter(
        "mirror_snapshot_diffs",
        "Preventive resyncs that found a difference",
        _num(m, "snapshot_diffs"),
    )
    f.gauge("mirror_inbox", "Frames waiting to be applied", _num(m, "inbox"))
    f.counter("probes", "Truth probes (REST /books) compared", _num(m, "probes"))
    f.gauge(
        "probe_mismatch_ratio",
        "Share of probes that disagreed with the local book",
        _num(m, "probe_mismatch_rate"),
    )
    f.gauge(
        "book_hash_agreement_ratio",
        "Share of sampled book hashes that agreed",
        _num(m, "hash_agreement_rate"),
    )
    stall = _num(m, "max_stall_ms")
    f.gauge(
        "mirror_max_stall_seconds",
        "Longest time the mirror held the event loop",
        None if stall is None else stall / 1000,
    )
    for name in ("apply_lag_ms", "recv_lag_ms"):
        p99 = _num(m, name, "p99")
        short = name.removesuffix("_ms")
        f.gauge(
            f"{short}_p99_seconds",
            f"p99 of {short.replace('_', ' ')} (bucket bound)",
            None if p99 is None else p99 / 1000,
        )


def _latency(f: _Families, latency: Any) -> None:
    family = HistogramMetricFamily(
        f"{PREFIX}_stage_latency_seconds",
        "Per-stage pipeline latency (apply: venue timestamp to applied; receive: received to "
        "applied; decode, strategy, gates, sizer, sign, post when present)",
        labels=["stage"],
    )
    if isinstance(latency, Mapping):
        for stage, (bounds, counts, total) in sorted(latency.items()):
            cumulative, buckets = 0, []
            for bound, count in zip(bounds, counts, strict=False):
                cumulative += count
                buckets.append((repr(bound / 1000), cumulative))
            cumulative += counts[-1]
            buckets.append(("+Inf", cumulative))
            family.add_metric([stage], buckets, None if total is None else total / 1000)
    f.out.append(family)


def _scanner(f: _Families, s: Any) -> None:
    lag = _num(s, "lag_ms")
    f.gauge(
        "scanner_lag_seconds",
        "Time since the scanner's last successful read",
        None if lag is None else lag / 1000,
    )
    f.gauge(
        "scanner_stalled",
        "1 when the scanner has not refreshed for stall_after_s",
        _num(s, "stalled"),
    )
    for key, doc in (
        ("watched", "Markets watched"),
        ("eligible", "Markets passing the filter"),
        ("seen", "Open markets Gamma lists"),
        ("flagged", "Watched markets flagged"),
    ):
        f.gauge(f"scanner_{key}", doc, _num(s, key))
    for key in ("errors", "full_scans", "refreshes"):
        f.counter(f"scanner_{key}", f"Scanner {key.replace('_', ' ')}", _num(s, key))


def _stream(f: _Families, market: Any, user: Any) -> None:
    f.gauge("ws_shards", "Market-channel connections wanted", _num(market, "shards"))
    f.gauge("ws_connected", "Market-channel connections up", _num(market, "connected"))
    f.gauge("ws_assets", "Assets subscribed on the market channel", _num(market, "assets"))
    for key in ("frames", "reconnects", "drops", "failed_opens", "decode_errors"):
        f.counter(f"ws_{key}", f"Market-channel {key.replace('_', ' ')}", _num(market, key))
    f.gauge("user_ws_connected", "1 when the user channel is connected", _num(user, "connected"))


def _http(f: _Families, h: Any) -> None:
    if not isinstance(h, Mapping):
        h = {}
    statuses, retries, no_answer = [], [], []
    for key in map(str, h):
        if key.startswith("status "):
            statuses.append(((key.removeprefix("status "),), _num(h, key)))
        elif key.startswith("retry "):
            retries.append(((key.removeprefix("retry "),), _num(h, key)))
        elif key.startswith("no answer "):
            no_answer.append(((key.removeprefix("no answer "),), _num(h, key)))
    f.counter("http_requests", "REST requests sent", _num(h, "requests"))
    f.counter("http_responses", "REST answers by status", sorted(statuses), ("status",))
    f.counter("http_429", "REST answers 429 Too Many Requests", _num(h, "status 429") or 0.0)
    f.counter("http_retries", "REST retries by reason", sorted(retries), ("reason",))
    f.counter("http_no_answer", "REST requests without an answer", sorted(no_answer), ("kind",))


def _trading(f: _Families, snap: Mapping[str, Any]) -> None:
    states = _get(snap, "orders", "states")
    f.gauge(
        "orders",
        "Orders by state",
        _by_label(states, ORDER_STATES) if isinstance(states, Mapping) else None,
        ("state",),
    )
    f.counter("orders_submitted", "Orders posted to the venue", _num(snap, "orders", "submitted"))
    f.counter("fills", "Fills recorded", _num(snap, "orders", "fills"))
    f.counter(
        "rejects",
        "Intents rejected by the risk engine, by gate",
        _by_label(_get(snap, "risk", "rejects")),
        ("gate",),
    )
    f.gauge("exposure_usd", "Open exposure (USD)", _num(snap, "risk", "exposure_usd"))
    caps = _get(snap, "risk", "caps_tripped")
    f.gauge(
        "caps_tripped",
        "Risk caps currently tripped (1 per cap)",
        [((str(c),), 1.0) for c in caps] if isinstance(caps, list | tuple) else None,
        ("cap",),
    )
    f.gauge(
        "pnl_usd",
        "PnL (USD) by kind",
        [((k,), _num(snap, "pnl", k)) for k in ("realised", "unrealised", "fees")],
        ("kind",),
    )
    f.gauge(
        "kill_switch_engaged",
        "1 when the kill switch is engaged",
        _num(snap, "kill_switch", "engaged"),
    )
    f.gauge(
        "reconciliation_drift",
        "Open differences between the ledger and the venue",
        _num(snap, "reconciler", "drift"),
    )


def _ops(f: _Families, ops: Any) -> None:
    skew = _num(ops, "clock_skew_s")
    f.gauge("clock_skew_seconds", "Venue clock minus local clock (GET /time)", skew)
    f.gauge(
        "loop_lag_max_seconds", "Longest event-loop lag since start", _num(ops, "loop_lag_max_s")
    )
    firing = _get(ops, "alerts_firing")
    f.gauge(
        "alerts_firing",
        "Alerts firing now, by rule",
        _by_label(firing) if isinstance(firing, Mapping) else None,
        ("rule",),
    )
    sent = _get(ops, "alerts_sent")
    f.counter(
        "alerts_sent",
        "Alert deliveries by webhook and result",
        [((str(w), str(r)), _num(sent, w, r)) for w in sorted(sent) for r in sorted(sent[w])]
        if isinstance(sent, Mapping)
        else None,
        ("webhook", "result"),
    )
    f.counter(
        "alerts_dropped",
        "Alerts not delivered, by reason",
        _by_label(_get(ops, "alerts_dropped")),
        ("reason",),
    )


class EngineMetrics:
    """The registry that ``/metrics`` serves: figures from ``health()`` snapshots, and
    counters fed by engine events and by the ops runtime."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._lock = threading.Lock()
        self._snapshot: dict[str, Any] = {}
        self._taken: float | None = None
        self.registry.register(_HealthCollector(self))
        ProcessCollector(registry=self.registry)  # RSS, open fds, CPU: process_*
        self.book_transitions = Counter(
            f"{PREFIX}_book_transitions",
            "Book state changes, by new state and reason",
            ["state", "reason"],
            registry=self.registry,
        )
        self.loop_lag = Histogram(
            f"{PREFIX}_loop_lag_seconds",
            "Event-loop lag: how late a periodic wake-up ran",
            buckets=LOOP_LAG_BUCKETS,
            registry=self.registry,
        )
        self.up = Gauge(
            f"{PREFIX}_engine_running", "1 while the engine runs", registry=self.registry
        )
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def update(self, health: Mapping[str, Any]) -> None:
        frozen = freeze_health(health)
        with self._lock:
            self._snapshot, self._taken = frozen, time.monotonic()

    def snapshot(self) -> tuple[dict[str, Any], float | None]:
        with self._lock:
            return self._snapshot, self._taken

    def on_event(self, event: object) -> None:
        if type(event).__name__ == "BookStateChanged":
            state = getattr(event, "new", "")
            reason = getattr(event, "reason", "")
            self.book_transitions.labels(str(state), str(reason)).inc()

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)

    # ---- the HTTP server -----------------------------------------------------------------

    def serve(self, host: str, port: int) -> tuple[str, int]:
        """Serve ``/metrics`` from a background thread; returns the address bound. Raises
        ``OSError`` when the port cannot be bound."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        self._server, self._thread = server, thread
        bound = server.server_address
        return str(bound[0]), int(bound[1])

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(Exception):
                server.shutdown()
                server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
