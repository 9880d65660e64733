"""The pure order book against a reference model of two dicts (price units -> size).

The reference reads the venue's rules straight (protocol §5.2): a ``price_change`` entry is a
level's new total size, ``0`` removes it; the best bid is the highest bid, the best ask the
lowest ask; a snapshot replaces everything. Random streams of level changes on every tick grid
the venue uses must leave the ``Book`` exactly where the reference is, and what can never be a
level (off the grid, outside (0, 1), a negative or non-finite size) raises ``BadLevel`` and
changes nothing.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polytui.core.book import (
    UNIT,
    BadLevel,
    Book,
    Fill,
    Level,
    Side,
    price_units,
    tick_units,
    units_price,
)

SETTINGS = settings(max_examples=200, deadline=None, database=None)
ZERO = Decimal(0)
TICKS = ("0.1", "0.01", "0.001", "0.0001")

Op = tuple[Side, int, Decimal]  # (side, price units, new total size)


# ---- the reference model ---------------------------------------------------------------------


class Ref:
    """Two dicts; best bid = max key, best ask = min key."""

    def __init__(self) -> None:
        self.sides: dict[Side, dict[int, Decimal]] = {Side.BID: {}, Side.ASK: {}}

    def set(self, side: Side, units: int, size: Decimal) -> None:
        if size == 0:
            self.sides[side].pop(units, None)
        else:
            self.sides[side][units] = size

    def levels(self, side: Side) -> list[Level]:
        book = self.sides[side]
        return [Level(u, book[u]) for u in sorted(book, reverse=side is Side.BID)]

    def best_units(self, side: Side) -> int | None:
        book = self.sides[side]
        if not book:
            return None
        return max(book) if side is Side.BID else min(book)

    def best(self, side: Side) -> Level | None:
        units = self.best_units(side)
        return None if units is None else Level(units, self.sides[side][units])

    @property
    def crossed(self) -> bool:
        bid, ask = self.best_units(Side.BID), self.best_units(Side.ASK)
        return bid is not None and ask is not None and bid >= ask

    def __len__(self) -> int:
        return len(self.sides[Side.BID]) + len(self.sides[Side.ASK])


def apply(target: Book | Ref, ops: list[Op]) -> None:
    for side, units, size in ops:
        target.set(side, units, size)


def ref_of(ops: list[Op]) -> Ref:
    ref = Ref()
    apply(ref, ops)
    return ref


def assert_top(book: Book, ref: Ref) -> None:
    """The O(1) reads."""
    assert book.best_bid_units == ref.best_units(Side.BID)
    assert book.best_ask_units == ref.best_units(Side.ASK)
    assert book.best_bid == ref.best(Side.BID)
    assert book.best_ask == ref.best(Side.ASK)
    assert book.crossed == ref.crossed


def assert_same(book: Book, ref: Ref) -> None:
    """Everything a reader can see."""
    assert_top(book, ref)
    for side in Side:
        assert book.levels(side) == ref.levels(side)
        for depth in (0, 1, 3):
            assert book.levels(side, depth) == ref.levels(side)[:depth]
        for units, size in ref.sides[side].items():
            assert book.size_at(side, units) == size
    assert len(book) == len(ref)


def state(book: Book) -> tuple:
    """A book's visible state, to compare before and after a refused change."""
    return (
        book.levels(Side.BID),
        book.levels(Side.ASK),
        book.best_bid,
        book.best_ask,
        book.best_bid_units,
        book.best_ask_units,
        book.crossed,
        len(book),
    )


# ---- strategies ------------------------------------------------------------------------------

ticks = st.sampled_from(TICKS).map(tick_units)
positive_sizes = st.decimals(
    min_value=Decimal("0.000001"), max_value=Decimal(10**8), places=6
) | st.integers(1, 1000).map(Decimal)
sizes = st.just(ZERO) | positive_sizes  # 0 removes the level


@st.composite
def streams(draw: st.DrawFn, tick: int | None = None, max_ops: int = 60) -> tuple[int, list[Op]]:
    """A tick and a stream of level changes on its grid. The prices come from a small pool (the
    grid's edges included) so that levels are set, changed and removed again and again."""
    if tick is None:
        tick = draw(ticks)
    top = UNIT // tick - 1  # the highest level index inside (0, 1)
    index = st.integers(1, top) | st.sampled_from(sorted({1, top}))
    pool = draw(st.lists(index, min_size=1, max_size=25, unique=True))
    op = st.tuples(st.sampled_from(Side), st.sampled_from(pool).map(lambda i: i * tick), sizes)
    return tick, draw(st.lists(op, max_size=max_ops))


def snapshot_levels(draw: st.DrawFn, ref: Ref, side: Side, tick: int) -> list[tuple[int, Decimal]]:
    """The reference's levels of one side in a random order, plus some zero sizes at prices it
    does not hold (a snapshot skips them)."""
    levels = [(u, s) for u, s in ref.sides[side].items()]
    free = [i * tick for i in range(1, UNIT // tick) if i * tick not in ref.sides[side]]
    zeros = draw(st.lists(st.sampled_from(free), max_size=3, unique=True)) if free else []
    return draw(st.permutations(levels + [(u, ZERO) for u in zeros]))


# ---- properties: a stream of changes ---------------------------------------------------------


@SETTINGS
@given(streams())
def test_stream_matches_reference(stream: tuple[int, list[Op]]) -> None:
    tick, ops = stream
    book, ref = Book(tick), Ref()
    for side, units, size in ops:
        book.set(side, units, size)
        ref.set(side, units, size)
        assert_top(book, ref)  # the best is tracked on every single change
    assert_same(book, ref)
    for side, units, _ in ops:  # removed levels read as 0
        assert book.size_at(side, units) == ref.sides[side].get(units, ZERO)


@SETTINGS
@given(st.data())
def test_snapshot_then_deltas_equals_truth(data: st.DataObject) -> None:
    """Truth = every change; the book = a snapshot of the truth at a cut plus the changes after
    it, over a book that held something else before. Replaying changes from before the cut as
    well (the venue stamps a snapshot a little before deltas it already holds, §5.4 item 5) must
    change nothing, since a change is a level's new total."""
    tick, ops = data.draw(streams())
    _, before = data.draw(streams(tick=tick, max_ops=20))
    cut = data.draw(st.integers(0, len(ops)), label="cut")
    replay_from = data.draw(st.integers(0, cut), label="replay_from")
    at_cut = ref_of(ops[:cut])
    bids = snapshot_levels(data.draw, at_cut, Side.BID, tick)
    asks = snapshot_levels(data.draw, at_cut, Side.ASK, tick)
    truth = ref_of(ops)
    assert_same(Book.of(tick, bids, asks), at_cut)

    for start in (cut, replay_from):
        book = Book(tick)
        apply(book, before)  # whatever the book held is dropped by the snapshot
        book.replace(bids, asks)
        assert_same(book, at_cut)
        apply(book, ops[start:])
        assert_same(book, truth)

    fresh = Book(tick)
    fresh.replace(bids, asks)
    apply(fresh, ops[cut:])
    assert fresh == book


@SETTINGS
@given(st.data())
def test_equality_matches_reference(data: st.DataObject) -> None:
    """Two books are equal when they hold the same levels; the second book is the first one's
    stream plus a few more changes, which may or may not leave it as it was."""
    tick, ops = data.draw(streams())
    _, more = data.draw(streams(tick=tick, max_ops=3))
    extra = ops + data.draw(st.permutations(ops[-3:] + more))
    a, b = Book(tick), Book(tick)
    apply(a, ops)
    apply(b, extra)
    same = ref_of(ops).sides == ref_of(extra).sides
    assert (a == b) is same
    assert (b == a) is same
    assert (a != b) is not same


# ---- properties: taking liquidity ------------------------------------------------------------


def expected_fill(levels: list[Level], size: Decimal) -> tuple[Decimal, Decimal, int | None]:
    """Filled, notional and worst level of taking ``size`` from ``levels`` (best first), worked
    out from cumulative depth: the worst level is the first whose cumulative depth reaches
    ``size`` (the last level when the book is too thin)."""
    total = sum((lv.size for lv in levels), ZERO)
    filled = min(size, total)
    if filled <= 0:
        return ZERO, ZERO, None
    cum = ZERO
    for n, level in enumerate(levels):
        if cum + level.size >= filled:
            worst = n
            break
        cum += level.size
    full = sum((units_price(lv.units) * lv.size for lv in levels[:worst]), ZERO)
    notional = full + units_price(levels[worst].units) * (filled - cum)
    return filled, notional, levels[worst].units


@SETTINGS
@given(st.data())
def test_take_matches_reference_walk(data: st.DataObject) -> None:
    tick, ops = data.draw(streams())
    book, ref = Book(tick), ref_of(ops)
    apply(book, ops)
    for side in Side:
        levels = ref.levels(side)
        total = sum((lv.size for lv in levels), ZERO)
        cums = [sum((lv.size for lv in levels[: n + 1]), ZERO) for n in range(len(levels))]
        size = data.draw(
            st.decimals(min_value=0, max_value=total * 2 + 1, places=6)
            | (st.sampled_from(cums) if cums else st.nothing()),  # exactly through a level
            label=f"size {side.name}",
        )
        fill = book.take(side, size)
        filled, notional, worst = expected_fill(levels, size)
        assert fill == Fill(filled, notional, worst)
        assert fill.filled == min(size, total)
        if filled:
            assert fill.vwap == notional / filled
            best = units_price(levels[0].units)
            lo, hi = sorted((best, units_price(worst)))
            assert lo <= fill.vwap <= hi  # between the best and the worst price touched
        else:
            assert fill.vwap is None
    assert_same(book, ref)  # taking is a read: the book is unchanged


def test_take_by_hand() -> None:
    book = Book(tick_units("0.01"))
    book.replace([], [(5200, Decimal(300)), (5300, Decimal(12)), (6000, Decimal(80))])
    assert book.take(Side.ASK, Decimal(0)) == Fill(ZERO, ZERO, None)
    assert book.take(Side.ASK, Decimal(300)) == Fill(Decimal(300), Decimal(156), 5200)
    fill = book.take(Side.ASK, Decimal(310))
    assert fill == Fill(Decimal(310), Decimal("161.3"), 5300)
    assert fill.vwap == Decimal("161.3") / 310
    assert book.take(Side.ASK, Decimal(1000)) == Fill(Decimal(392), Decimal("210.36"), 6000)
    assert book.take(Side.BID, Decimal(5)) == Fill(ZERO, ZERO, None)  # no bids


def test_take_a_negative_size_fills_nothing() -> None:
    book = Book(tick_units("0.01"))
    book.set(Side.ASK, 5200, Decimal(10))
    assert book.take(Side.ASK, Decimal(-5)) == Fill(ZERO, ZERO, None)
    assert book.take(Side.ASK, Decimal(-5)).vwap is None


# ---- properties: what can never be a level ---------------------------------------------------


@st.composite
def bad_levels(draw: st.DrawFn, tick: int) -> tuple[int, Decimal]:
    """A (units, size) that can never be a level on ``tick``'s grid."""
    valid_units = st.integers(1, UNIT // tick - 1).map(lambda i: i * tick)
    kinds = [
        st.tuples(st.integers(-2 * UNIT, 0), sizes),  # price <= 0
        st.tuples(st.integers(UNIT, 3 * UNIT), sizes),  # price >= 1
        st.tuples(  # a negative size
            valid_units, st.decimals(max_value=Decimal("-0.000001"), places=6) | st.just(-ZERO - 1)
        ),
        st.tuples(  # a size that is not a number of shares
            valid_units, st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal("-Inf")])
        ),
    ]
    if tick > 1:  # off the grid
        off = st.integers(1, UNIT - 1).filter(lambda u: u % tick)
        kinds.append(st.tuples(off, sizes))
    return draw(st.one_of(kinds))


@SETTINGS
@given(st.data())
def test_bad_level_raises_and_changes_nothing(data: st.DataObject) -> None:
    tick, ops = data.draw(streams())
    book, ref = Book(tick), ref_of(ops)
    apply(book, ops)
    before = state(book)
    side = data.draw(st.sampled_from(Side))
    units, size = data.draw(bad_levels(tick))
    with pytest.raises(BadLevel):
        book.set(side, units, size)
    assert state(book) == before
    if units <= 0 or units >= UNIT or units % tick:
        with pytest.raises(BadLevel):
            book.size_at(side, units)
    # and the book still works: more changes keep it equal to the reference
    _, more = data.draw(streams(tick=tick, max_ops=10))
    apply(book, more)
    apply(ref, more)
    assert_same(book, ref)


@SETTINGS
@given(st.data())
def test_replace_with_one_bad_level_is_all_or_nothing(data: st.DataObject) -> None:
    tick, ops = data.draw(streams())
    book = Book(tick)
    apply(book, ops)
    before = state(book)
    _, other = data.draw(streams(tick=tick))
    snap = ref_of(other)
    bids = snapshot_levels(data.draw, snap, Side.BID, tick)
    asks = snapshot_levels(data.draw, snap, Side.ASK, tick)
    bad_side = bids if data.draw(st.booleans(), label="bad bid") else asks
    at = data.draw(st.integers(0, len(bad_side)), label="bad at")
    bad_side.insert(at, data.draw(bad_levels(tick)))
    with pytest.raises(BadLevel):
        book.replace(bids, asks)
    assert state(book) == before


# ---- units -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("0.37", 3700),
        ("0.001", 10),
        ("0.0001", 1),
        ("0.999", 9990),
        ("0.3700", 3700),
        ("0.920", 9200),
        ("1", 10000),
        ("1.0", 10000),
        ("0", 0),
        ("0.0", 0),
        ("3.7e-1", 3700),
        ("0.37000000000000000000000000000000000", 3700),  # zeros only: still exact
    ],
)
def test_price_units(text: str, units: int) -> None:
    assert price_units(text) == units
    assert price_units(text) == units  # the cached answer is the same


@pytest.mark.parametrize(
    "text",
    [
        "0.00005",  # finer than 0.0001
        "0.37000000000000000000000000001",  # finer, past Decimal's 28 digits
        "abc",
        "",
        "NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        "-0.1",  # not a price: negative
        "1.5",  # not a price: above 1
        "1e999999",  # too large for the Decimal context (used to raise Overflow)
        "1e-999999999",  # below the Decimal context (used to underflow to 0)
        None,
    ],
)
def test_price_units_refuses(text: str) -> None:
    assert price_units(text) is None  # type: ignore[arg-type]
    assert price_units(text) is None  # type: ignore[arg-type]


def test_price_units_of_a_huge_number_is_quick() -> None:
    """A hostile or broken ``"1e900000"`` must not build a 900,000 digit integer (it took 20 s)."""
    start = time.perf_counter()
    assert price_units("1e900000") is None
    assert time.perf_counter() - start < 0.5


@SETTINGS
@given(st.integers(0, UNIT), st.integers(0, 6))
def test_price_units_round_trips(units: int, zeros: int) -> None:
    price = units_price(units)
    assert price_units(str(price)) == units
    assert price_units(format(price, "f") + ("0" * zeros if "." in str(price) else "")) == units
    assert price_units(f"{Decimal(units) / UNIT:.{4 + zeros}f}") == units


@pytest.mark.parametrize(
    ("units", "text"),
    [(3700, "0.37"), (10, "0.001"), (1, "0.0001"), (5000, "0.5"), (10000, "1"), (0, "0")],
)
def test_units_price(units: int, text: str) -> None:
    assert units_price(units) == Decimal(text)
    assert str(units_price(units)) == text
    assert Level(units, Decimal(1)).price == Decimal(text)


@pytest.mark.parametrize(
    ("tick", "units"),
    [
        ("0.1", 1000),
        ("0.01", 100),
        ("0.001", 10),
        ("0.0001", 1),
        ("0.005", 50),
        ("0.0025", 25),
        ("0.010", 100),
        (Decimal("0.01"), 100),
        (Decimal("1E-3"), 10),
    ],
)
def test_tick_units(tick: str | Decimal, units: int) -> None:
    assert tick_units(tick) == units
    assert Book(units).tick == units


@pytest.mark.parametrize(
    "tick", ["0", "0.0", "0.003", "0.03", "0.00001", "-0.01", "abc", "", "NaN", "Infinity"]
)
def test_tick_units_refuses(tick: str) -> None:
    with pytest.raises(ValueError, match="unsupported tick"):
        tick_units(tick)


@pytest.mark.parametrize("tick", [0, -100, 3, 30, 300, 7, 20_000])
def test_book_refuses_a_bad_tick(tick: int) -> None:
    with pytest.raises(ValueError, match="not a divisor"):
        Book(tick)


# ---- a book by hand --------------------------------------------------------------------------


def test_removing_the_best_bid_moves_to_the_next_and_then_to_none() -> None:
    book = Book(tick_units("0.01"))
    for units in (3000, 3500, 4000):
        book.set(Side.BID, units, Decimal(10))
    assert book.best_bid == Level(4000, Decimal(10))
    book.set(Side.BID, 4000, ZERO)
    assert book.best_bid_units == 3500
    book.set(Side.BID, 3000, ZERO)  # not the best: the best stays
    assert book.best_bid_units == 3500
    book.set(Side.BID, 3500, Decimal("-0"))  # "-0" is a zero too
    assert book.best_bid is None and book.best_bid_units is None
    assert book.levels(Side.BID) == [] and len(book) == 0
    assert book.size_at(Side.BID, 4000) == ZERO
    book.set(Side.BID, 100, Decimal(1))  # the lowest level of the grid
    assert book.best_bid_units == 100
    book.set(Side.BID, 100, ZERO)
    assert book.best_bid_units is None


def test_removing_the_best_ask_moves_to_the_next_and_then_to_none() -> None:
    book = Book(tick_units("0.001"))
    for units in (6000, 5300, 5200):
        book.set(Side.ASK, units, Decimal(7))
    assert book.best_ask == Level(5200, Decimal(7))
    book.set(Side.ASK, 5200, ZERO)
    assert book.best_ask_units == 5300
    book.set(Side.ASK, 6000, ZERO)
    assert book.best_ask_units == 5300
    book.set(Side.ASK, 5300, ZERO)
    assert book.best_ask is None and book.best_ask_units is None
    book.set(Side.ASK, 9990, Decimal(1))  # the highest level of the grid
    assert book.best_ask_units == 9990
    book.set(Side.ASK, 9990, ZERO)
    assert book.best_ask_units is None
    book.set(Side.ASK, 5000, ZERO)  # removing a level that is not there is harmless
    assert len(book) == 0


def test_crossed_counts_a_locked_book() -> None:
    book = Book(tick_units("0.01"))
    assert not book.crossed
    book.set(Side.BID, 5000, Decimal(1))
    assert not book.crossed  # one side only
    book.set(Side.ASK, 5100, Decimal(1))
    assert not book.crossed
    book.set(Side.ASK, 5000, Decimal(1))
    assert book.crossed  # locked
    book.set(Side.ASK, 5000, ZERO)
    book.set(Side.BID, 5200, Decimal(1))
    assert book.crossed


def test_a_snapshot_skips_zero_sizes() -> None:
    book = Book(tick_units("0.01"))
    book.set(Side.BID, 1000, Decimal(3))
    book.replace([(4000, Decimal(1)), (3000, ZERO)], [(6000, ZERO)])
    assert book.levels(Side.BID) == [Level(4000, Decimal(1))]
    assert book.levels(Side.ASK) == [] and len(book) == 1


def test_repr() -> None:
    book = Book(tick_units("0.01"))
    assert repr(book) == "<Book tick=0.01 - / - levels=0>"
    book.set(Side.BID, 4800, Decimal(10))
    book.set(Side.ASK, 5200, Decimal(300))
    book.set(Side.ASK, 5300, Decimal(12))
    assert repr(book) == "<Book tick=0.01 0.48 / 0.52 levels=3>"
    book.set(Side.BID, 4800, ZERO)
    assert repr(book) == "<Book tick=0.01 - / 0.52 levels=2>"


def test_equality() -> None:
    tick = tick_units("0.01")
    a, b = Book(tick), Book(tick)
    assert a == b
    a.replace([(4000, Decimal(1)), (4100, Decimal(2))], [(6000, Decimal(3))])
    for units, size in ((6000, Decimal(3)), (4100, Decimal(2)), (4000, Decimal(1))):
        b.set(Side.ASK if units > 5000 else Side.BID, units, size)
    assert a == b  # the same levels, set in another order
    b.set(Side.BID, 4000, Decimal("1.5"))
    assert a != b  # one size differs
    b.set(Side.BID, 4000, Decimal("1.000"))
    assert a == b  # Decimal equality: 1.000 == 1
    b.set(Side.ASK, 6000, ZERO)
    b.set(Side.BID, 6000, Decimal(3))
    assert a != b  # the same price and size on the other side
    other_grid = Book(tick_units("0.001"))
    other_grid.replace([(4000, Decimal(1)), (4100, Decimal(2))], [(6010, Decimal(3))])
    assert a != other_grid  # books on two grids compare by their levels
    b.set(Side.BID, 6000, ZERO)
    b.set(Side.ASK, 6000, Decimal(3))
    assert a == b
    b.set(Side.ASK, 6100, Decimal(3))
    assert a != b  # only the asks differ
    assert a != "a book"
    assert a.__eq__(object()) is NotImplemented
    with pytest.raises(TypeError):
        hash(a)


def test_prices_are_spelled_as_the_venue_spells_them():
    from polytui.core.book import price_text, spelling_places

    assert [price_text(u) for u in (0, 5, 3700, 10_000)] == ["0", "0.0005", "0.37", "1"]
    assert price_text(4000, 2) == "0.40" and price_text(4010, 2) == "0.401"
    assert price_text(4000, 3) == "0.400"
    assert spelling_places(["0.40", "0.47"]) == 2
    assert spelling_places(["0.4", "0.47", "1"]) is None
    assert spelling_places([]) is None
