"""Alerts: rules evaluated in the engine, sent to webhooks without ever holding trading up.

    rules = AlertRules(settings.alerts)
    rules.on_event(event)                          # BookStateChanged from the engine bus
    conditions = rules.evaluate(health, now_ms)    # pure of (health, what the events said, now)
    for note in manager.update(conditions, now_ms):  # dedupe, repeat, resolve
        dispatcher.submit(note)                    # never blocks; drops are counted

**Rules** (each a pure function of `AlertInputs` and the settings; ``health()`` keys as listed
in ``polytui.ops.metrics``):

====================  ========  ==============================================================
rule                  severity  fires when
====================  ========  ==============================================================
kill_switch           critical  ``health()["kill_switch"]["engaged"]``
cap_tripped           warning   a cap in ``health()["risk"]["caps_tripped"]`` (one per cap)
scanner_stalled       warning   ``health()["scanner"]["stalled"]``
book_not_live         warning   books out of LIVE (SUSPECT or RESYNCING) longer than
                                ``book_not_live_s`` after having been LIVE (one alert for all)
reject_spike          warning   ``reject_min`` rejects or more in ``reject_window_s``, and at
                                least ``reject_rate`` of the intents checked when the engine
                                says how many (``health()["risk"]["checked"]``)
reconciliation_drift  critical  ``health()["reconciler"]["drift"]`` above 0
ws_down               critical  market-channel connections down (or the user channel,
                                ``health()["user_stream"]["connected"]`` false) for
                                ``ws_down_s``
clock_skew            warning   ``|venue clock - ours|`` (``GET /time``) above ``clock_skew_s``
loop_stall            warning   an event-loop wake-up more than ``loop_stall_s`` late since the
                                last evaluation
====================  ========  ==============================================================

**Delivery** (`Dispatcher`): one bounded queue and one background sender per webhook, so a
webhook that times out, answers 5xx or cannot be reached delays nothing else; at most
``max_per_minute`` notifications a minute per webhook (on the engine clock); ``retries``
further tries with a backoff; whatever cannot be sent is dropped and counted by reason
(``queue_full``, ``rate_limited``, ``delivery_failed``). Payloads: ``slack`` and ``discord``
(one body, ``{"text": ..., "content": ...}``, which both accept) or ``json`` (the whole alert).
Every payload goes through the redactor; webhook URLs (which hold tokens) are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from polytui.core.clock import Clock
from polytui.ops.redact import REDACTOR
from polytui.ops.settings import AlertSettings, WebhookSettings

Severity = Literal["warning", "critical"]
Status = Literal["firing", "resolved"]
NOT_LIVE = frozenset({"SUSPECT", "RESYNCING"})


@dataclass(frozen=True, slots=True)
class Condition:
    """Something wrong now. ``key`` identifies it for dedupe (rule, or rule:subject)."""

    rule: str
    key: str
    severity: Severity
    summary: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notification:
    status: Status
    condition: Condition
    since_ms: int
    at_ms: int
    repeat: bool = False

    def as_json(self, host: str) -> dict[str, Any]:
        c = self.condition
        return REDACTOR.scrub(
            {
                "source": "polytui",
                "host": host,
                "status": self.status,
                "rule": c.rule,
                "key": c.key,
                "severity": c.severity,
                "summary": c.summary,
                "fields": dict(c.fields),
                "since": _iso(self.since_ms),
                "at": _iso(self.at_ms),
                "repeat": self.repeat,
            }
        )

    def text(self, host: str) -> str:
        c = self.condition
        if self.status == "resolved":
            head = f"[polytui {host}] RESOLVED {c.rule}"
        else:
            again = " (still firing)" if self.repeat else ""
            head = f"[polytui {host}] {c.severity.upper()} {c.rule}{again}"
        return REDACTOR.scrub_text(f"{head}: {c.summary} (since {_iso(self.since_ms)})")


def _iso(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


# ---- rules: pure functions ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertInputs:
    """What the rules look at: the engine's health, and what the evaluator remembered."""

    health: Mapping[str, Any]
    now_ms: int
    not_live_since: Mapping[str, int] = field(default_factory=dict)  # asset -> ms
    ws_down_since_ms: int | None = None
    user_ws_down_since_ms: int | None = None
    rejects_in_window: int = 0
    checked_in_window: int | None = None
    clock_skew_s: float | None = None
    loop_lag_s: float = 0.0


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def rule_kill_switch(i: AlertInputs, s: AlertSettings) -> Iterable[Condition]:
    ks = _get(i.health, "kill_switch")
    if _get(ks, "engaged") is True:
        reason = _get(ks, "reason") or "no reason given"
        yield Condition(
            "kill_switch",
            "kill_switch",
            "critical",
            f"kill switch engaged: {reason}; no order is sent",
            {"reason": reason},
        )


def rule_cap_tripped(i: AlertInputs, s: AlertSettings) -> Iterable[Condition]:
    caps = _get(i.health, "risk", "caps_tripped")
    for cap in caps if isinstance(caps, list | tuple) else ():
        yield Condition(
            "cap_tripped",
            f"cap_tripped:{cap}",
            "warning",
            f"risk cap {cap} tripped: intents it covers are rejected",
            {"cap": cap},
        )


def rule_scanner_stalled(i: AlertInputs, s: AlertSettings) -> Iterable[Condition]:
    scanner = _get(i.health, "scanner")
    if _get(scanner, "stalled") is True:
        lag = _get(scanner, "lag_ms")
        error = _get(scanner, "last_error") or ""
        lag_text = f" for {lag / 1000:.0f} s" if isinstance(lag, int | float) else ""
        yield Condition(
            "scanner_stalled",
            "scanner_stalled",
            "warning",
            f"the scanner has not refreshed the markets{lag_text}"
            + (f": {error}" if error else ""),
            {"lag_ms": lag, "last_error": error},
        )


def rule_book_not_live(i: AlertInputs, s: AlertSettings) -> Iterable[Condition]:
    limit_ms = s.book_not_live_s * 1000
    late = sorted(a for a, since in i.not_live_since.items() if i.now_ms - since >= limit_ms)
    if late:
        oldest = min(i.not_live_since[a] for a in late)
        yield Condition(
            "book_not_live",
            "book_not_live",
            "warning",
            f"{len(late)} book(s) out of LIVE for more than {s.book_not_live_s:g} s "
            f"(longest {(i.now_ms - oldest) / 1000:.0f} s); orders on them are held",
            {"books": len(late), "assets": [a[:12] + "..." for a in late[:5]]},
        )


def rule_reject_spike(i: AlertInputs, s: AlertSettings) -> Iterable[Condition]:
    rejects, checked = i.rejects_in_window, i.checked_in_window
    if rejects < s.reject_min:
        return
    if checked is not None and checked > 0 and rejects / checked < s.reject_rate:
        return
    rate = f" of {checked} intents" if checked else ""
    yield Condition(
        "reject_spike",
        "reject_spike",
        "warning",
        f"{rejects} intents rejected{rate} in the last {s.reject_window_s:g} s",
        {"rejects": rejects, "checked": checked},
    )


def rule_reconciliation_drift(i: AlertInputs, s: AlertSettings) -> Iterable[Condition]:
    drift = _get(i.health, "reconciler", "drift")
    if isinstance(drift, int | float) and not isinstance(drift, bool) and drift > 0:
        yield Condition(
            "reconciliation_drift",
            "reconciliation_drift",
            "critical",
            f"{drift:g} difference(s) between the ledger and the venue",
            {"drift": drift},
        )


def rule_ws_down(i: AlertInputs, s: AlertSettings) -> Iterable[Condition]:
    limit_ms = s.ws_down_s * 1000
    if i.ws_down_since_ms is not None and i.now_ms - i.ws_down_since_ms >= limit_ms:
        stream = _get(i.health, "market_stream")
        up, wanted = _get(stream, "connected"), _get(stream, "shards")
        yield Condition(
            "ws_down",
            "ws_down:market",
            "critical",
            f"market channel: {up} of {wanted} connection(s) up for "
            f"{(i.now_ms - i.ws_down_since_ms) / 1000:.0f} s; books go stale",
            {"channel": "market", "connected": up, "shards": wanted},
        )
    if i.user_ws_down_since_ms is not None and i.now_ms - i.user_ws_down_since_ms >= limit_ms:
        yield Condition(
            "ws_down",
            "ws_down:user",
            "critical",
            f"user channel down for {(i.now_ms - i.user_ws_down_since_ms) / 1000:.0f}"
            " s; fills are only seen by REST",
            {"channel": "user"},
        )


def rule_clock_skew(i: AlertInputs, s: AlertSettings) -> Iterable[Condition]:
    if i.clock_skew_s is not None and abs(i.clock_skew_s) > s.clock_skew_s:
        yield Condition(
            "clock_skew",
            "clock_skew",
            "warning",
            f"the venue's clock is {i.clock_skew_s:+.1f} s from ours (GET /time); "
            "signed requests may be refused: check NTP (timedatectl)",
            {"clock_skew_s": i.clock_skew_s},
        )


def rule_loop_stall(i: AlertInputs, s: AlertSettings) -> Iterable[Condition]:
    if i.loop_lag_s > s.loop_stall_s:
        yield Condition(
            "loop_stall",
            "loop_stall",
            "warning",
            f"the event loop was held {i.loop_lag_s:.2f} s",
            {"lag_s": i.loop_lag_s},
        )


RULES: tuple[Callable[[AlertInputs, AlertSettings], Iterable[Condition]], ...] = (
    rule_kill_switch,
    rule_cap_tripped,
    rule_scanner_stalled,
    rule_book_not_live,
    rule_reject_spike,
    rule_reconciliation_drift,
    rule_ws_down,
    rule_clock_skew,
    rule_loop_stall,
)


def evaluate(inputs: AlertInputs, settings: AlertSettings) -> list[Condition]:
    return [c for rule in RULES for c in rule(inputs, settings)]


def _total(counts: Any) -> int | None:
    if isinstance(counts, Mapping):
        return int(sum(v for v in counts.values() if isinstance(v, int | float)))
    if isinstance(counts, int | float) and not isinstance(counts, bool):
        return int(counts)
    return None


class AlertRules:
    """Keeps what the rules need across evaluations (since when a book or a connection is
    down, recent reject counts) and builds their inputs."""

    def __init__(self, settings: AlertSettings) -> None:
        self.settings = settings
        self.not_live_since: dict[str, int] = {}
        self._ws_down_since: int | None = None
        self._user_down_since: int | None = None
        self._rejects: deque[tuple[int, int, int | None]] = deque()  # (ms, rejects, checked)
        self.clock_skew_s: float | None = None
        self._loop_lag_s = 0.0

    def on_event(self, event: object) -> None:
        if type(event).__name__ != "BookStateChanged":
            return
        asset, new = getattr(event, "asset_id", ""), str(getattr(event, "new", ""))
        at_ms = int(getattr(event, "at_ms", 0) or 0)
        if new in NOT_LIVE:
            if str(getattr(event, "old", "")) == "LIVE" or asset in self.not_live_since:
                self.not_live_since.setdefault(asset, at_ms)
        else:
            self.not_live_since.pop(asset, None)

    def keep_only(self, assets: Collection[str]) -> None:
        """Forget the books no longer followed (their market left the universe)."""
        for asset in [a for a in self.not_live_since if a not in assets]:
            del self.not_live_since[asset]

    def note_loop_lag(self, lag_s: float) -> None:
        self._loop_lag_s = max(self._loop_lag_s, lag_s)

    def inputs(self, health: Mapping[str, Any], now_ms: int) -> AlertInputs:
        stream = _get(health, "market_stream")
        up, wanted = _get(stream, "connected"), _get(stream, "shards")
        if isinstance(up, int) and isinstance(wanted, int) and wanted > 0 and up < wanted:
            self._ws_down_since = self._ws_down_since or now_ms
        else:
            self._ws_down_since = None
        if _get(health, "user_stream", "connected") is False:
            self._user_down_since = self._user_down_since or now_ms
        else:
            self._user_down_since = None
        rejects = _total(_get(health, "risk", "rejects"))
        checked = _total(_get(health, "risk", "checked"))
        in_window, checked_in_window = 0, None
        if rejects is not None:
            self._rejects.append((now_ms, rejects, checked))
            horizon = now_ms - self.settings.reject_window_s * 1000
            while len(self._rejects) > 1 and self._rejects[1][0] <= horizon:
                self._rejects.popleft()
            first = self._rejects[0]
            in_window = rejects - first[1]
            if checked is not None and first[2] is not None:
                checked_in_window = checked - first[2]
        lag, self._loop_lag_s = self._loop_lag_s, 0.0
        return AlertInputs(
            health=health,
            now_ms=now_ms,
            not_live_since=dict(self.not_live_since),
            ws_down_since_ms=self._ws_down_since,
            user_ws_down_since_ms=self._user_down_since,
            rejects_in_window=in_window,
            checked_in_window=checked_in_window,
            clock_skew_s=self.clock_skew_s,
            loop_lag_s=lag,
        )

    def evaluate(self, health: Mapping[str, Any], now_ms: int) -> list[Condition]:
        return evaluate(self.inputs(health, now_ms), self.settings)


# ---- dedupe, repeat, resolve ----------------------------------------------------------------


@dataclass(slots=True)
class _Firing:
    condition: Condition
    since_ms: int
    last_sent_ms: int


class AlertManager:
    """Turns each evaluation's conditions into notifications: a new condition fires once, a
    condition still there is sent again after ``repeat_s``, one that went away is resolved."""

    def __init__(self, settings: AlertSettings) -> None:
        self.settings = settings
        self.firing: dict[str, _Firing] = {}

    def update(self, conditions: Iterable[Condition], now_ms: int) -> list[Notification]:
        out: list[Notification] = []
        seen: set[str] = set()
        repeat_ms = self.settings.repeat_s * 1000
        for c in conditions:
            if c.key in seen:
                continue
            seen.add(c.key)
            firing = self.firing.get(c.key)
            if firing is None:
                self.firing[c.key] = _Firing(c, now_ms, now_ms)
                out.append(Notification("firing", c, now_ms, now_ms))
            else:
                firing.condition = c
                if now_ms - firing.last_sent_ms >= repeat_ms:
                    firing.last_sent_ms = now_ms
                    out.append(Notification("firing", c, firing.since_ms, now_ms, repeat=True))
        for key in [k for k in self.firing if k not in seen]:
            gone = self.firing.pop(key)
            if self.settings.send_resolved:
                out.append(Notification("resolved", gone.condition, gone.since_ms, now_ms))
        return out

    def firing_by_rule(self) -> dict[str, int]:
        return dict(Counter(f.condition.rule for f in self.firing.values()))


# ---- delivery -------------------------------------------------------------------------------


def webhook_payload(note: Notification, fmt: str, host: str) -> dict[str, Any]:
    if fmt == "json":
        return note.as_json(host)
    text = note.text(host)[:1900]  # Discord's content limit is 2000 characters
    return {"text": text, "content": text}


Post = Callable[[str, dict[str, Any], float], Any]  # (url, json, timeout) -> awaitable status


class _Webhook:
    def __init__(self, settings: WebhookSettings, index: int, queue_size: int) -> None:
        self.settings = settings
        self.name = settings.name or f"{settings.format}-{index}"
        self.queue: asyncio.Queue[Notification] = asyncio.Queue(queue_size)
        self.sent_at: deque[int] = deque()  # clock ms of recent sends, for the rate limit


class Dispatcher:
    """Bounded queues and background senders, one per webhook. ``submit`` never blocks."""

    def __init__(
        self,
        settings: AlertSettings,
        clock: Clock,
        *,
        post: Post | None = None,
        host: str | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.host = host or socket.gethostname()
        self.webhooks = [
            _Webhook(w, i, settings.queue_size) for i, w in enumerate(settings.webhooks)
        ]
        for w in settings.webhooks:
            REDACTOR.register(w.url)
        self.sent: dict[str, Counter[str]] = {w.name: Counter() for w in self.webhooks}
        self.dropped: Counter[str] = Counter()
        self._post = post
        self._client: httpx.AsyncClient | None = None

    def submit(self, note: Notification) -> None:
        for webhook in self.webhooks:
            try:
                webhook.queue.put_nowait(note)
            except asyncio.QueueFull:
                self.dropped["queue_full"] += 1

    async def run(self) -> None:
        """Send until cancelled."""
        if not self.webhooks:
            return
        async with contextlib.AsyncExitStack() as stack:
            if self._post is None:
                self._client = await stack.enter_async_context(
                    httpx.AsyncClient(follow_redirects=False, trust_env=False)
                )
                self._post = self._httpx_post
            await asyncio.gather(*(self._sender(w) for w in self.webhooks))

    async def _httpx_post(self, url: str, body: dict[str, Any], timeout_s: float) -> int:
        assert self._client is not None
        response = await self._client.post(url, json=body, timeout=timeout_s)
        return response.status_code

    def _rate_limited(self, webhook: _Webhook) -> bool:
        now = self.clock.now_ms()
        while webhook.sent_at and webhook.sent_at[0] <= now - 60_000:
            webhook.sent_at.popleft()
        if len(webhook.sent_at) >= self.settings.max_per_minute:
            return True
        webhook.sent_at.append(now)
        return False

    async def _sender(self, webhook: _Webhook) -> None:
        while True:
            note = await webhook.queue.get()
            if self._rate_limited(webhook):
                self.dropped["rate_limited"] += 1
                continue
            body = webhook_payload(note, webhook.settings.format, self.host)
            if await self._deliver(webhook, body):
                self.sent[webhook.name]["ok"] += 1
            else:
                self.sent[webhook.name]["failed"] += 1
                self.dropped["delivery_failed"] += 1

    async def _deliver(self, webhook: _Webhook, body: dict[str, Any]) -> bool:
        assert self._post is not None
        for attempt in range(self.settings.retries + 1):
            if attempt:
                await self.clock.sleep(self.settings.retry_backoff_s * 2 ** (attempt - 1))
            try:
                status = await self._post(webhook.settings.url, body, webhook.settings.timeout_s)
            except (httpx.HTTPError, OSError):
                self.sent[webhook.name]["error"] += 1
                continue
            if 200 <= int(status) < 300:
                return True
            self.sent[webhook.name][f"status_{int(status) // 100}xx"] += 1
            if 400 <= int(status) < 500 and int(status) != 429:
                return False  # the webhook refuses this body: trying again will not help
        return False

    def figures(self) -> dict[str, Any]:
        return {
            "alerts_sent": {name: dict(c) for name, c in self.sent.items()},
            "alerts_dropped": dict(self.dropped),
            "alert_queues": {w.name: w.queue.qsize() for w in self.webhooks},
        }
