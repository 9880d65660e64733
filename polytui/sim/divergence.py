"""The divergence report: where a client's book, built from exactly what it was sent, is wrong.

For each client and token the tracker keeps a *view*: the book a perfect client would hold after
applying exactly the frames this simulator sent it (faults included) and the snapshots it
fetched. After every change it compares the touched levels with the truth. A *window* opens when
the view first differs and closes when it agrees again, with what closed it: a REST snapshot, a
WS ``book`` dump, or later frames (``converged``). Each window names the fault that caused it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from polytui.sim.messages import Change, Levels

Key = tuple[bool, int]  # (is_bid, price units) in token terms


@dataclass(slots=True)
class Window:
    client: str
    conn: int | None
    token: str
    opened_ms: int
    cause: str
    closed_ms: int | None = None
    closed_by: str | None = None

    def as_dict(self) -> dict:
        return {
            "client": self.client,
            "conn": self.conn,
            "token": self.token,
            "opened_ms": self.opened_ms,
            "closed_ms": self.closed_ms,
            "duration_ms": None if self.closed_ms is None else self.closed_ms - self.opened_ms,
            "cause": self.cause,
            "closed_by": self.closed_by,
        }


@dataclass(slots=True)
class View:
    client: str
    token: str
    conn: int | None
    levels: dict[Key, int] = field(default_factory=dict)
    diff: set[Key] = field(default_factory=set)
    window: Window | None = None
    cause: str = "unknown"


def _as_dict(levels: Levels) -> dict[Key, int]:
    bids, asks = levels
    out = {(True, p): s for p, s in bids}
    out.update({(False, p): s for p, s in asks})
    return out


class DivergenceTracker:
    def __init__(
        self,
        truth: Callable[[str, Key], int],
        truth_levels: Callable[[str], Levels | None],
        now_ms: Callable[[], int],
        keep: int = 10_000,
    ) -> None:
        self._truth = truth
        self._truth_levels = truth_levels
        self._now = now_ms
        self.views: dict[tuple[str, str], View] = {}
        self.by_token: dict[str, dict[str, View]] = {}
        self.closed: deque[Window] = deque(maxlen=keep)
        self.opened_by_cause: dict[str, int] = {}
        self.orders_while_diverged: deque[dict] = deque(maxlen=keep)
        self._dirty: dict[int, tuple[View, set[Key]]] = {}  # levels to compare at the next settle

    # ---- what clients got ----------------------------------------------------------------

    def snapshot(
        self, client: str, token: str, levels: Levels, source: str, conn: int | None = None
    ) -> None:
        """The client received a whole book (``source``: ``ws_book`` or ``rest_snapshot``)."""
        view = self.views.get((client, token))
        if view is None:
            if source == "rest_snapshot":
                return  # REST-only readers hold no book to diverge
            view = View(client, token, conn)
            self.views[(client, token)] = view
            self.by_token.setdefault(token, {})[client] = view
        if conn is not None:
            view.conn = conn
        view.levels = _as_dict(levels)
        truth = self._truth_levels(token)
        expected = _as_dict(truth) if truth is not None else {}
        view.diff = {
            k
            for k in view.levels.keys() | expected.keys()
            if view.levels.get(k, 0) != expected.get(k, 0)
        }
        self._settle(view, closed_by=source)

    def start_empty(self, client: str, token: str, conn: int) -> None:
        """Subscribed without an initial dump: the client holds no book yet."""
        self.snapshot(client, token, ([], []), "ws_book", conn)
        view = self.views[(client, token)]
        if view.diff and view.window is None:
            view.cause = "no_snapshot"
            self._settle(view, closed_by="ws_book")

    def apply(self, client: str, changes: Iterable[Change]) -> None:
        """The client was sent these level changes; they are compared at the next ``settle``."""
        for token, is_bid, price, size in changes:
            view = self.views.get((client, token))
            if view is None:
                continue
            key = (is_bid, price)
            if size:
                view.levels[key] = size
            else:
                view.levels.pop(key, None)
            self._mark(view, (key,))

    def fault(self, client: str, tokens: Iterable[str], cause: str) -> None:
        for token in tokens:
            view = self.views.get((client, token))
            if view is not None:
                view.cause = cause

    # ---- what the truth did --------------------------------------------------------------

    def truth_changed(self, token: str, keys: Iterable[Key]) -> None:
        views = self.by_token.get(token)
        if views:
            keys = tuple(keys)
            for view in views.values():
                self._mark(view, keys)

    def settle(self) -> None:
        """Compare every touched level once an event has been sent in full: never mid-burst,
        when a client's book is legitimately crossed while the truth has already settled."""
        dirty, self._dirty = self._dirty, {}
        for view, keys in dirty.values():
            if self.views.get((view.client, view.token)) is not view:
                continue
            for key in keys:
                if view.levels.get(key, 0) != self._truth(view.token, key):
                    view.diff.add(key)
                else:
                    view.diff.discard(key)
            self._settle(view, closed_by="converged")

    def _mark(self, view: View, keys: Iterable[Key]) -> None:
        entry = self._dirty.get(id(view))
        if entry is None:
            entry = self._dirty[id(view)] = (view, set())
        entry[1].update(keys)

    def forget(self, client: str, token: str, reason: str) -> None:
        view = self.views.pop((client, token), None)
        if view is None:
            return
        self.by_token.get(token, {}).pop(client, None)
        if view.window is not None:
            self._close(view, reason)

    def forget_token(self, token: str, reason: str) -> None:
        for client in list(self.by_token.get(token, {})):
            self.forget(client, token, reason)
        self.by_token.pop(token, None)

    # ---- windows -------------------------------------------------------------------------

    def _settle(self, view: View, closed_by: str) -> None:
        if view.diff and view.window is None:
            view.window = Window(view.client, view.conn, view.token, self._now(), view.cause)
            self.opened_by_cause[view.cause] = self.opened_by_cause.get(view.cause, 0) + 1
        elif not view.diff and view.window is not None:
            self._close(view, closed_by)

    def _close(self, view: View, closed_by: str) -> None:
        assert view.window is not None
        view.window.closed_ms = self._now()
        view.window.closed_by = closed_by
        self.closed.append(view.window)
        view.window = None
        view.cause = "unknown"

    def order_arrived(self, client: str, token: str, order_id: str) -> None:
        """Note an order sent for ``token`` while this client's view of it was wrong: the
        trade a self-healing mirror must never make."""
        view = self.views.get((client, token))
        if view is not None and view.window is not None:
            self.orders_while_diverged.append(
                {
                    "client": client,
                    "token": token,
                    "order_id": order_id,
                    "at_ms": self._now(),
                    "window_opened_ms": view.window.opened_ms,
                    "cause": view.window.cause,
                }
            )

    def report(self) -> dict:
        open_windows = [v.window.as_dict() for v in self.views.values() if v.window is not None]
        return {
            "now_ms": self._now(),
            "open": open_windows,
            "closed": [w.as_dict() for w in self.closed],
            "opened_by_cause": dict(self.opened_by_cause),
            "views": len(self.views),
            "diverged_views": len(open_windows),
            "orders_while_diverged": list(self.orders_while_diverged),
        }
