"""Read-only views of a running engine, for the UI bridge: plain frozen values, built on the
engine's event loop (nothing here may be called from another thread) and safe to hand to
one. Nothing here changes the engine or imports the UI.

    markets = markets_view(engine)                 # the watched universe, best first
    book = book_view(engine, condition_id)         # both outcomes' ladders and health
    orders = orders_view(engine)                   # the ledger's orders, fills, positions, PnL
    health = health_view(engine, ops)              # components, resyncs, REST/WS, alerts
    feed = copy_feed_view(engine)                  # the copy strategy's records, if any
    line = event_line(event, now_ms)               # a bus event, in words

What is read from the engine (``polytui.engine.kernel.Engine``): ``clock``, ``mirror``,
``scanner``, ``health()``; and, when the order side exists, ``store.model`` (the ledger's
``ReadModel``) and ``kill_switch.engaged``; the copy strategy's records once one runs
(``copy_trader`` or ``strategies.copier``, a ``CopyTrader``). A missing attribute means "not
running", never an error.

Times are the engine clock's epoch ms: a view carries ``now_ms`` so the UI formats ages
against the engine's time, never the wall clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from polytui.core.book import Side, units_price
from polytui.core.orders import OPEN_ORDER_STATES, OrderState
from polytui.core.projections import FillView, OrderView, PositionView

ZERO = Decimal(0)
MAX_LEVELS = 50  # per side of a book view: the ladder shows fewer, VWAP walks these
MAX_ROWS = 200  # orders, fills and copy records in a view, newest first
OUTCOMES = ("YES", "NO")  # Gamma lists a binary market's tokens in this order
STATE_RANK = {"SUSPECT": 0, "RESYNCING": 1, "UNPRIMED": 2, "LIVE": 3}  # worst first


def outcome_of(index: int) -> str:
    return OUTCOMES[index] if index < len(OUTCOMES) else f"#{index + 1}"


def worst_state(states: Iterable[str]) -> str:
    return min(states, key=lambda s: STATE_RANK.get(s, -1), default="UNPRIMED")


# ---- markets ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarketRow:
    """One watched market: the YES token's top of book, and its worst token's health."""

    condition_id: str
    title: str
    tokens: tuple[str, ...]
    bid: Decimal | None
    ask: Decimal | None
    spread: Decimal | None
    volume_24h: float
    end_ms: int | None
    state: str
    staleness_ms: int | None  # of its stalest token; None: never updated
    flags: tuple[str, ...]
    rank: int  # the scanner's order (0 = best)


@dataclass(frozen=True, slots=True)
class MarketsView:
    now_ms: int
    rows: tuple[MarketRow, ...]


def markets_view(engine: Any) -> MarketsView:
    return MarketsView(engine.clock.now_ms(), market_rows(engine))


def market_rows(engine: Any) -> tuple[MarketRow, ...]:
    scanner, tokens = engine.scanner, engine.mirror.tokens
    now = engine.clock.now_ms()
    rows = []
    for rank, cid in enumerate(scanner.universe):
        info = scanner.markets.get(cid)
        if info is None:
            continue
        toks = [tokens.get(a) for a in info.tokens]
        states = [t.state.value if t is not None else "UNPRIMED" for t in toks]
        ages = [
            now - t.kpis.last_update_ms for t in toks if t is not None and t.kpis.last_update_ms
        ]
        book = toks[0].book if toks and toks[0] is not None else None
        bid = book.best_bid.price if book is not None and book.best_bid else None
        ask = book.best_ask.price if book is not None and book.best_ask else None
        rows.append(
            MarketRow(
                condition_id=cid,
                title=info.question or info.slug or cid,
                tokens=tuple(info.tokens),
                bid=bid,
                ask=ask,
                spread=ask - bid if bid is not None and ask is not None else None,
                volume_24h=info.volume_24hr,
                end_ms=info.end_ms,
                state=worst_state(states),
                staleness_ms=max(ages) if len(ages) == len(toks) and ages else None,
                flags=tuple(sorted(str(f) for f in scanner.flags(cid))),
                rank=rank,
            )
        )
    return tuple(rows)


# ---- one market's book ----------------------------------------------------------------------

Levels = tuple[tuple[Decimal, Decimal], ...]  # (price, size), best first


@dataclass(frozen=True, slots=True)
class OutcomeBook:
    asset: str
    outcome: str
    state: str
    reason: str
    detail: str
    tick: Decimal | None
    min_size: str | None
    bids: Levels
    asks: Levels
    bid_levels: int  # levels in the whole side (``bids`` holds at most MAX_LEVELS)
    ask_levels: int
    last_update_ms: int
    last_verified_ms: int
    apply_lag_ms: int
    last_trade: Decimal | None

    @property
    def live(self) -> bool:
        return self.state == "LIVE"


@dataclass(frozen=True, slots=True)
class BookView:
    condition_id: str
    title: str
    end_ms: int | None
    flags: tuple[str, ...]
    outcomes: tuple[OutcomeBook, ...]
    now_ms: int


def book_view(engine: Any, condition_id: str | None) -> BookView | None:
    if condition_id is None:
        return None
    info = engine.scanner.markets.get(condition_id)
    if info is None:
        return None
    outcomes = []
    for i, asset in enumerate(info.tokens):
        tok = engine.mirror.tokens.get(asset)
        if tok is None:
            outcomes.append(_untracked(asset, outcome_of(i)))
            continue
        book, k = tok.book, tok.kpis
        outcomes.append(
            OutcomeBook(
                asset=asset,
                outcome=outcome_of(i),
                state=tok.state.value,
                reason=tok.reason.value,
                detail=tok.detail,
                tick=units_price(tok.tick) if tok.tick else None,
                min_size=tok.meta.min_order_size,
                bids=_levels(book, Side.BID),
                asks=_levels(book, Side.ASK),
                bid_levels=book.counts[0] if book is not None else 0,
                ask_levels=book.counts[1] if book is not None else 0,
                last_update_ms=k.last_update_ms,
                last_verified_ms=k.last_verified_ms,
                apply_lag_ms=k.apply_lag_ms,
                last_trade=tok.meta.last_trade,
            )
        )
    return BookView(
        condition_id=condition_id,
        title=info.question or info.slug or condition_id,
        end_ms=info.end_ms,
        flags=tuple(sorted(str(f) for f in engine.scanner.flags(condition_id))),
        outcomes=tuple(outcomes),
        now_ms=engine.clock.now_ms(),
    )


def _levels(book: Any, side: Side) -> Levels:
    if book is None:
        return ()
    return tuple((lv.price, lv.size) for lv in book.levels(side, MAX_LEVELS))


def _untracked(asset: str, outcome: str) -> OutcomeBook:
    return OutcomeBook(
        asset, outcome, "UNPRIMED", "PRIME", "not tracked", None, None, (), (), 0, 0, 0, 0, 0, None
    )


# ---- orders, fills, positions, PnL ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PositionRow:
    asset: str
    market: str
    title: str
    outcome: str
    size: Decimal
    sellable: Decimal
    pending: Decimal
    avg_cost: Decimal
    mark: Decimal | None
    unrealised: Decimal | None
    realised: Decimal


@dataclass(frozen=True, slots=True)
class KillState:
    engaged: bool = False
    reason: str = ""
    source: str = ""
    since_ms: int = 0


@dataclass(frozen=True, slots=True)
class OrdersView:
    available: bool  # the engine keeps a ledger (its order side runs)
    orders: tuple[OrderView, ...] = ()  # open ones first, then newest first
    fills: tuple[FillView, ...] = ()  # newest first
    positions: tuple[PositionRow, ...] = ()
    realised: Decimal = ZERO
    unrealised: Decimal = ZERO
    unmarked: int = 0  # positions held without a mark
    kill: KillState = field(default_factory=KillState)

    @property
    def pnl(self) -> Decimal:
        return self.realised + self.unrealised


def mark_of(engine: Any, asset: str, fallback: Mapping[str, Decimal]) -> Decimal | None:
    """The mid of the asset's LIVE book, else the ledger's latest mark."""
    book = engine.mirror.live_book(asset)
    if book is not None and book.best_bid is not None and book.best_ask is not None:
        return (book.best_bid.price + book.best_ask.price) / 2
    return fallback.get(asset)


def kill_state(engine: Any) -> KillState:
    store = getattr(engine, "store", None)
    if store is not None:
        ks = store.model.kill_switch
        if ks.engaged:
            return KillState(True, ks.reason, ks.source, ks.since_ts_ms)
    switch = getattr(engine, "kill_switch", None)
    if switch is not None and getattr(switch, "engaged", False):
        return KillState(True)
    return KillState()


def orders_view(engine: Any) -> OrdersView:
    store = getattr(engine, "store", None)
    if store is None:
        return OrdersView(available=False, kill=kill_state(engine))
    model = store.model
    orders = sorted(
        model.orders.values(),
        key=lambda o: (o.state not in OPEN_ORDER_STATES, -o.updated_seq),
    )[:MAX_ROWS]
    fills = sorted(model.fills.values(), key=lambda f: -f.recorded_seq)[:MAX_ROWS]
    titles = _titles(engine)
    positions, realised, unrealised, unmarked = [], ZERO, ZERO, 0
    for asset, p in sorted(model.positions.items()):
        realised += p.realised
        if not p.size and not p.realised:
            continue
        mark = mark_of(engine, asset, model.marks) if p.size else None
        unreal = p.unrealised(mark) if mark is not None else None
        if unreal is not None:
            unrealised += unreal
        elif p.size:
            unmarked += 1
        positions.append(_position_row(engine, p, mark, unreal, titles))
    return OrdersView(
        available=True,
        orders=tuple(orders),
        fills=tuple(fills),
        positions=tuple(positions),
        realised=realised,
        unrealised=unrealised,
        unmarked=unmarked,
        kill=kill_state(engine),
    )


def _titles(engine: Any) -> dict[str, tuple[str, str]]:
    """asset -> (market title, outcome)."""
    out = {}
    for info in engine.scanner.markets.values():
        for i, asset in enumerate(info.tokens):
            out[asset] = (info.question or info.slug or info.condition_id, outcome_of(i))
    return out


def _position_row(
    engine: Any,
    p: PositionView,
    mark: Decimal | None,
    unreal: Decimal | None,
    titles: Mapping[str, tuple[str, str]],
) -> PositionRow:
    title, outcome = titles.get(p.asset_id, (p.market, "?"))
    return PositionRow(
        p.asset_id,
        p.market,
        title,
        outcome,
        p.size,
        p.sellable,
        p.pending,
        p.avg_cost,
        mark,
        unreal,
        p.realised,
    )


def is_partial(order: OrderView) -> bool:
    return order.state is OrderState.PARTIALLY_FILLED or (
        order.state in (OrderState.CANCELED, OrderState.EXPIRED) and order.size_matched > ZERO
    )


# ---- health -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    status: str  # "OK", "WARN", "DOWN", "OFF"
    detail: str


@dataclass(frozen=True, slots=True)
class HealthView:
    now_ms: int
    components: tuple[Component, ...]
    resyncs: tuple[tuple[str, int], ...]  # by reason, most first
    figures: tuple[tuple[str, str], ...]  # (label, value)
    budget: tuple[tuple[str, int, int], ...]  # (family, used in the window, our limit)


def health_view(engine: Any, extra: Mapping[str, Any] | None = None) -> HealthView:
    """``extra``: figures of the host beside the engine (``ops`` from ``OpsRuntime.figures``,
    ``bridge`` from the UI bridge)."""
    h = engine.health()
    extra = extra or {}
    m, sc, ws, http = h["mirror"], h["scanner"], h["market_stream"], h.get("http", {})
    states = m.get("states", {})
    live, tokens = states.get("LIVE", 0), m.get("tokens", 0)
    comps = [
        Component(
            "mirror",
            "OK" if live == tokens else ("WARN" if live else ("OFF" if not tokens else "DOWN")),
            f"{live}/{tokens} LIVE"
            + "".join(f", {n} {s}" for s, n in sorted(states.items()) if s != "LIVE" and n)
            + f", inbox {m.get('inbox', 0)}, shed {m.get('shed', 0)}",
        ),
        Component(
            "scanner",
            "DOWN" if sc.get("stalled") else ("WARN" if sc.get("consecutive_errors") else "OK"),
            f"{sc.get('watched', 0)} watched of {sc.get('seen', 0)}, lag {_ms(sc.get('lag_ms'))}"
            + (f", last error: {sc['last_error']}" if sc.get("last_error") else ""),
        ),
        Component(
            "market ws",
            "OK"
            if ws.get("connected", 0) == ws.get("shards", 0) and ws.get("shards")
            else ("OFF" if not ws.get("shards") else "DOWN"),
            f"{ws.get('connected', 0)}/{ws.get('shards', 0)} connected, "
            f"{ws.get('reconnects', 0)} reconnects, {ws.get('assets', 0)} assets",
        ),
        _rest(http),
    ]
    comps += _order_side(h)
    resyncs = tuple(sorted(m.get("resyncs", {}).items(), key=lambda kv: (-kv[1], kv[0])))
    lag = m.get("apply_lag_ms", {})
    figures = [
        ("apply lag p50/p99", f"{_num(lag.get('p50'))} / {_num(lag.get('p99'))} ms"),
        ("probe mismatch rate", f"{m.get('probe_mismatch_rate', 0.0):.2%} of {m.get('probes', 0)}"),
        ("max staleness", _ms(m.get("max_staleness_ms"))),
        ("longest stall", f"{_num(m.get('max_stall_ms'))} ms"),
        ("scanner lag", _ms(sc.get("lag_ms"))),
        ("frames", str(m.get("frames", 0))),
    ]
    ops = extra.get("ops") or {}
    if ops:
        figures.append(("loop lag max", f"{ops.get('loop_lag_max_s', 0) * 1000:.0f} ms"))
        firing = ops.get("alerts_firing") or {}
        figures.append(("alerts firing", ", ".join(f"{k} {v}" for k, v in firing.items()) or "0"))
    for label, value in (extra.get("bridge") or {}).items():
        figures.append((f"ui {label}", str(value)))
    budget = _budget(engine)
    return HealthView(engine.clock.now_ms(), tuple(comps), resyncs, tuple(figures), budget)


def _rest(http: Mapping[str, int]) -> Component:
    requests = http.get("requests", 0)
    errors = sum(n for k, n in http.items() if k.startswith("no answer"))
    errors += sum(n for k, n in http.items() if k.startswith("status 5"))
    throttled = http.get("status 429", 0)
    retries = sum(n for k, n in http.items() if k.startswith("retry"))
    status = "OK" if not errors and not throttled else "WARN"
    return Component(
        "rest", status, f"{requests} requests, {errors} failed, {throttled} 429, {retries} retries"
    )


def _order_side(h: Mapping[str, Any]) -> list[Component]:
    orders = h.get("orders")
    if orders is None:
        return [Component("orders", "OFF", "no order side in this engine")]
    synced = orders.get("synced", True)
    out = [
        Component(
            "orders",
            "OK" if synced else "WARN",
            f"{orders.get('open', 0)} open, {orders.get('in_flight', 0)} in flight"
            + ("" if synced else ", not synced with the venue yet"),
        )
    ]
    user = h.get("user_stream")
    if user is not None:
        up = bool(user.get("connected"))
        out.append(Component("user ws", "OK" if up else "DOWN",
                             f"{'connected' if up else 'down'}, "
                             f"{user.get('reconnects', 0)} reconnects"))  # fmt: skip
    ks = h.get("kill_switch")
    if ks is not None:
        state = ("ENGAGED" + ("" if ks.get("venue_clear") else ", clearing the venue")
                 if ks.get("engaged") else "off")  # fmt: skip
        out.append(Component("kill switch", "DOWN" if ks.get("engaged") else "OK", state))
    risk = h.get("risk")
    if risk is not None:
        rejects = ", ".join(f"{g} {n}" for g, n in sorted((risk.get("rejects") or {}).items()))
        out.append(Component("risk", "OK", f"{risk.get('checked', 0)} checked, "
                             f"{risk.get('approved', 0)} approved"
                             + (f", rejected: {rejects}" if rejects else "")))  # fmt: skip
    for name, st in sorted((h.get("strategies") or {}).items()):
        running = st.get("state") == "running"
        why = f", last error: {st['last_error']}" if st.get("last_error") else ""
        out.append(Component(name[:11], "OK" if running else "WARN",
                             f"strategy {st.get('state')}, {st.get('intents', 0)} intents, "
                             f"{st.get('restarts', 0)} restarts{why}"))  # fmt: skip
    return out


def _budget(engine: Any) -> tuple[tuple[str, int, int], ...]:
    venue = getattr(engine, "venue", None)
    budget = getattr(getattr(venue, "http", None), "budget", None)
    usage = getattr(budget, "usage", None)
    if usage is None:
        return ()
    return tuple((family, used, limit) for family, (used, limit) in sorted(usage().items()))


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


# ---- copy feed ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CopyRow:
    at_ms: int
    leader: str
    title: str
    outcome: str
    side: str
    leader_shares: Decimal
    leader_price: Decimal
    outcome_kind: str  # copied / resized / skipped
    gate: str
    reason: str
    shares: Decimal | None


@dataclass(frozen=True, slots=True)
class CopyFeedView:
    running: bool
    rows: tuple[CopyRow, ...] = ()


def copy_trader_of(engine: Any) -> Any:
    """The engine's copy-trading strategy: ``engine.copy_trader``, or the strategy side's
    ``engine.strategies.copier``; ``None`` while none runs."""
    trader = getattr(engine, "copy_trader", None)
    if trader is None:
        trader = getattr(getattr(engine, "strategies", None), "copier", None)
    return trader


def copy_feed_view(engine: Any) -> CopyFeedView:
    """The copy strategy's records (``CopyTrader.records()``), newest first."""
    trader = copy_trader_of(engine)
    if trader is None:
        return CopyFeedView(running=False)
    titles = _titles(engine)
    rows = []
    for r in reversed(trader.records()[-MAX_ROWS:]):
        title, outcome = titles.get(r.asset, (r.condition_id, "?"))
        rows.append(
            CopyRow(
                r.at_ms,
                r.leader,
                title,
                outcome,
                str(r.leader_side),
                r.leader_shares,
                r.leader_price,
                str(r.outcome),
                r.gate,
                r.reason,
                r.shares,
            )
        )
    return CopyFeedView(True, tuple(rows))


# ---- events in words ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventLine:
    kind: str  # "book", "universe", "alert", "kill", "fill", "order"
    at_ms: int
    severity: str  # "info", "warning", "error"
    text: str


def event_line(event: object, now_ms: int) -> EventLine | None:
    """A bus event as one line (``None``: not worth a line). Events are recognised by their
    class name, so the UI needs none of the modules that define them."""
    name = type(event).__name__
    at = getattr(event, "at_ms", None) or getattr(event, "ts_ms", None) or now_ms
    if name == "BookStateChanged":
        e: Any = event
        severity = "warning" if e.old.value == "LIVE" else "info"
        detail = f" ({e.detail})" if e.detail else ""
        return EventLine(
            "book",
            at,
            severity,
            f"book {e.asset_id[:10]}… {e.old.value} → {e.new.value}: {e.reason.value}{detail}",
        )
    if name == "UniverseChanged":
        e = event
        if not e.entered and not e.left:
            if not e.flags:
                return None
            return EventLine("universe", at, "info", f"flags changed on {len(e.flags)} market(s)")
        return EventLine(
            "universe", at, "info", f"universe: {len(e.entered)} entered, {len(e.left)} left"
        )
    if name == "Alert":
        e = event
        return EventLine("alert", at, "warning", f"{e.kind}: {e.message}")
    if name == "OrderOutcome":  # the strategy runner: an intent approved and sent, or not
        e = event
        if e.approved:
            sent = f"sent {e.shares} @ {e.price}" + (f", failed: {e.submit_error}" if
                                                    e.submit_error else "")  # fmt: skip
            return EventLine("order", at, "warning" if e.submit_error else "info",
                             f"{e.strategy}: {sent}")  # fmt: skip
        return EventLine("order", at, "info", f"{e.strategy}: rejected by {e.gate}: {e.reason}")
    if name == "CopyRecord":
        e = event
        why = f" ({e.gate}: {e.reason})" if e.gate else ""
        return EventLine("copy", at, "info",
                         f"copy {e.leader[:10]} {e.leader_side} {e.leader_shares} @ "
                         f"{e.leader_price}: {e.outcome}{why}")  # fmt: skip
    if name == "KillSwitchChanged":
        e = event
        if e.engaged:
            return EventLine("kill", at, "error", f"kill switch ENGAGED by {e.source}: {e.reason}")
        return EventLine("kill", at, "warning", f"kill switch released by {e.source}")
    return None


def fill_line(fill: FillView, titles: Mapping[str, tuple[str, str]], at_ms: int) -> EventLine:
    title, outcome = titles.get(fill.asset_id, (fill.market, "?"))
    severity = "warning" if fill.status == "FAILED" else "info"
    return EventLine(
        "fill",
        fill.match_time_ms or at_ms,
        severity,
        f"fill {fill.side} {fill.size} {outcome} @ {fill.price} {fill.status}: {title}",
    )


def order_line(order: OrderView, at_ms: int) -> EventLine:
    severity = "warning" if order.state in (OrderState.REJECTED, OrderState.FAILED) else "info"
    why = f" ({order.reason})" if order.reason else ""
    return EventLine(
        "order",
        order.updated_ts_ms or at_ms,
        severity,
        f"order {order.side} {order.size} @ {order.price} {order.state}{why}",
    )


class LedgerWatch:
    """New fills and order moves since the last look, as lines (by ``updated_seq``): what a
    bridge turns into its never-dropped event streams. The first look only sets the mark."""

    def __init__(self) -> None:
        self._seen: int | None = None

    def new_lines(self, engine: Any) -> list[EventLine]:
        store = getattr(engine, "store", None)
        if store is None:
            return []
        model = store.model
        last = model.stats.last_seq
        if self._seen is None or last <= self._seen:
            self._seen = last if self._seen is None else self._seen
            return []
        since, self._seen = self._seen, last
        now = engine.clock.now_ms()
        titles = _titles(engine)
        fills = [f for f in model.fills.values() if f.updated_seq > since]
        orders = [o for o in model.orders.values() if o.updated_seq > since]
        lines = [fill_line(f, titles, now) for f in sorted(fills, key=lambda f: f.updated_seq)]
        lines += [order_line(o, now) for o in sorted(orders, key=lambda o: o.updated_seq)]
        return lines


# ---- size to cost, over a view ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cost:
    side: str  # "BUY" takes the asks, "SELL" hits the bids
    asked: Decimal
    filled: Decimal
    cost: Decimal  # USDC
    worst: Decimal | None

    @property
    def vwap(self) -> Decimal | None:
        return self.cost / self.filled if self.filled else None

    @property
    def complete(self) -> bool:
        return self.filled >= self.asked


def cost_in_view(book: OutcomeBook, side: str, shares: Decimal) -> Cost:
    """What ``shares`` would cost (BUY) or fetch (SELL) walking the levels of a view, best
    first (the view holds at most ``MAX_LEVELS`` per side)."""
    levels = book.asks if side == "BUY" else book.bids
    left, cost, worst = shares, ZERO, None
    for price, size in levels:
        if left <= ZERO:
            break
        part = min(left, size)
        cost += part * price
        left -= part
        worst = price
    return Cost(side, shares, shares - max(left, ZERO), cost, worst)
