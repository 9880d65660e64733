"""What a strategy (and the risk engine) reads of the running engine: books with their mirror
state, the scanner's market facts and flags, our positions from the ledger's projections.

``EngineView`` implements ``polytui.core.strategy.StrategyContext`` over the live components,
read on the engine's loop at the moment of the call; nothing here writes or waits.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from polytui.core.book import UNIT
from polytui.core.market_flags import Flag
from polytui.core.projections import ReadModel
from polytui.core.risk import MarketState
from polytui.core.strategy import LIVE, UNTRACKED, UNVERIFIED, BookRead
from polytui.engine.mirror import BookState, Mirror
from polytui.engine.scanner import Scanner

ZERO = Decimal(0)
DEFAULT_MIN_SIZE = Decimal(5)
TERMINAL = {"FILLED", "CANCELED", "EXPIRED", "REJECTED", "FAILED"}


def trusted_read(mirror: Mirror, asset: str) -> BookRead:
    """A book as an order may rely on it (the risk engine's golden rule): LIVE and not
    contradicted by the venue's hash (``UNVERIFIED`` otherwise, see ``Mirror.trusted_book``)."""
    tok = mirror.tokens.get(asset)
    if tok is None:
        return UNTRACKED
    if tok.state is not BookState.LIVE:
        return BookRead(tok.state.value, None)
    book = mirror.trusted_book(asset)
    return BookRead(LIVE, book) if book is not None else BookRead(UNVERIFIED, None)


class EngineView:
    """The engine as a strategy sees it. ``model`` gives the ledger's projections (``None``
    while no ledger is open: no positions), ``cash`` our pUSD balance as last read."""

    def __init__(
        self,
        clock,
        mirror: Mirror,
        scanner: Scanner | None,
        model: Callable[[], ReadModel | None] = lambda: None,
        cash: Callable[[], Decimal] = lambda: ZERO,
    ) -> None:
        self._clock = clock
        self.mirror = mirror
        self.scanner = scanner
        self._model = model
        self._cash = cash

    def now_ms(self) -> int:
        return self._clock.now_ms()

    def book(self, asset: str) -> BookRead:
        tok = self.mirror.tokens.get(asset)
        if tok is None:
            return UNTRACKED
        return BookRead(tok.state.value, tok.book if tok.state is BookState.LIVE else None)

    def trusted(self, asset: str) -> BookRead:
        return trusted_read(self.mirror, asset)

    def position(self, asset: str) -> Decimal:
        model = self._model()
        p = model.positions.get(asset) if model is not None else None
        return p.size if p is not None else ZERO

    def flags(self, condition_id: str) -> frozenset[Flag]:
        if self.scanner is None:
            return frozenset((Flag.UNKNOWN,))
        return frozenset(self.scanner.flags(condition_id))

    def mark(self, asset: str) -> Decimal | None:
        """The mid of a LIVE book (price), else the ledger's last mark."""
        book = self.mirror.live_book(asset)
        if book is not None and book.best_bid_units and book.best_ask_units:
            return Decimal(book.best_bid_units + book.best_ask_units) / (2 * UNIT)
        model = self._model()
        return model.marks.get(asset) if model is not None else None

    def bankroll(self) -> Decimal:
        """Cash plus our positions at their marks (a position without a mark counts at its
        average cost)."""
        total = self._cash()
        model = self._model()
        for asset, p in model.positions.items() if model is not None else ():
            if p.size:
                total += p.size * (self.mark(asset) or p.avg_cost)
        return total

    def market(self, condition_id: str, asset: str) -> MarketState:
        """What the gates need of one market: flags, end, tags (scanner); tick and minimum
        size (the mirror's book of ``asset``, else the defaults)."""
        info = self.scanner.markets.get(condition_id) if self.scanner is not None else None
        tok = self.mirror.tokens.get(asset)
        tick = Decimal(tok.tick) / UNIT if tok is not None and tok.tick else Decimal("0.01")
        min_size = DEFAULT_MIN_SIZE
        if tok is not None and tok.meta.min_order_size is not None:
            min_size = Decimal(tok.meta.min_order_size)
        return MarketState(
            flags=self.flags(condition_id),
            end_ms=info.end_ms if info is not None else None,
            tags=info.tags if info is not None else frozenset(),
            tick=tick,
            min_size=min_size,
        )
