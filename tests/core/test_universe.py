"""The universe's rules: who may enter, who stays, the ranking and the cap."""

from __future__ import annotations

import dataclasses

import pytest

from polytui.core.universe import HOUR_MS, Excluded, Filter, MarketInfo, exclusion, score, select

NOW = 1_795_000_000_000


def market(n: int = 1, **fields) -> MarketInfo:
    base = {
        "condition_id": f"0x{n:064x}",
        "gamma_id": str(500_000 + n),
        "slug": f"market-{n}",
        "tokens": (f"{n}1", f"{n}2"),
        "end_ms": NOW + 48 * HOUR_MS,
        "liquidity": 10_000.0,
        "volume_24hr": 5_000.0,
        "spread": 0.02,
        "tags": frozenset({"politics"}),
    }
    base.update(fields)
    return MarketInfo(**base)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"closed": True}, Excluded.CLOSED),
        ({"resolved": True}, Excluded.RESOLVED),
        ({"archived": True}, Excluded.ARCHIVED),
        ({"listed": False}, Excluded.UNLISTED),
        ({"enable_order_book": False}, Excluded.NO_ORDER_BOOK),
        ({"tokens": ()}, Excluded.NO_ORDER_BOOK),
        ({"active": False}, Excluded.INACTIVE),
        ({"accepting_orders": False}, Excluded.NOT_ACCEPTING),
        ({"uma_status": "proposed"}, Excluded.IN_RESOLUTION),
        ({"end_ms": NOW - 1}, Excluded.ENDS_TOO_SOON),
    ],
)
def test_an_open_tradable_market_is_required_to_enter(fields, reason) -> None:
    assert exclusion(market(), Filter(), NOW) is None
    assert exclusion(market(**fields), Filter(), NOW) is reason


def test_the_users_thresholds() -> None:
    m = market()
    assert exclusion(m, Filter(min_liquidity=20_000), NOW) is Excluded.LIQUIDITY
    assert exclusion(m, Filter(min_volume_24hr=6_000), NOW) is Excluded.VOLUME
    assert exclusion(m, Filter(max_spread=0.01), NOW) is Excluded.SPREAD
    assert exclusion(market(spread=None), Filter(max_spread=0.5), NOW) is Excluded.SPREAD
    assert exclusion(m, Filter(min_hours_to_end=49), NOW) is Excluded.ENDS_TOO_SOON
    assert exclusion(m, Filter(max_hours_to_end=47), NOW) is Excluded.ENDS_TOO_LATE
    assert exclusion(market(end_ms=None), Filter(max_hours_to_end=47), NOW) is (
        Excluded.NO_END_DATE
    )
    assert exclusion(market(end_ms=None), Filter(), NOW) is None
    assert exclusion(market(neg_risk=True), Filter(allow_neg_risk=False), NOW) is (
        Excluded.NEG_RISK
    )
    assert exclusion(m, Filter(categories=frozenset({"sports"})), NOW) is Excluded.CATEGORY
    assert exclusion(m, Filter(categories=frozenset({"sports", "politics"})), NOW) is None
    assert exclusion(m, Filter(exclude_categories=frozenset({"politics"})), NOW) is (
        Excluded.EXCLUDED_CATEGORY
    )


def test_allow_skips_the_thresholds_and_deny_always_wins() -> None:
    thin = market(liquidity=0, volume_24hr=0, spread=None, accepting_orders=False)
    strict = Filter(min_liquidity=1_000, max_spread=0.05)
    assert exclusion(thin, strict, NOW) is Excluded.NOT_ACCEPTING
    for name in thin.names():  # condition id, Gamma id or slug
        allowed = dataclasses.replace(strict, allow=frozenset({name}))
        assert exclusion(thin, allowed, NOW) is None
        both = dataclasses.replace(allowed, deny=frozenset({name}))
        assert exclusion(thin, both, NOW) is Excluded.DENIED
    closed = dataclasses.replace(thin, closed=True)
    assert exclusion(closed, Filter(allow=frozenset({thin.slug})), NOW) is Excluded.CLOSED


def test_a_watched_market_stays_through_a_pause_and_within_the_hysteresis() -> None:
    f = Filter(min_liquidity=10_000, hysteresis=0.2)
    paused = market(accepting_orders=False, active=False, uma_status="proposed")
    assert exclusion(paused, f, NOW, watched=False) is Excluded.INACTIVE
    assert exclusion(paused, f, NOW, watched=True) is None
    dipped = market(liquidity=8_500)
    assert exclusion(dipped, f, NOW, watched=False) is Excluded.LIQUIDITY
    assert exclusion(dipped, f, NOW, watched=True) is None
    assert exclusion(market(liquidity=7_900), f, NOW, watched=True) is Excluded.LIQUIDITY
    for gone in ({"closed": True}, {"resolved": True}, {"end_ms": NOW - 1}, {"listed": False}):
        assert exclusion(market(**gone), f, NOW, watched=True) is not None


def test_score_prefers_activity_depth_and_a_tight_spread() -> None:
    base = market()
    assert score(market(volume_24hr=50_000)) > score(base)
    assert score(market(liquidity=100_000)) > score(base)
    assert score(market(spread=0.01)) > score(base)
    assert score(market(spread=None)) < score(market(spread=0.5))
    assert score(market(volume_24hr=0, liquidity=0, spread=0)) == 0


def test_select_ranks_caps_and_counts_why() -> None:
    markets = [market(n, volume_24hr=1_000.0 * n) for n in range(1, 6)]
    markets.append(market(9, closed=True))
    sel = select(markets, Filter(max_markets=3), NOW)
    assert sel.watched == tuple(markets[n].condition_id for n in (4, 3, 2))
    assert sel.eligible == 5
    assert sel.excluded == {Excluded.CAP: 2, Excluded.CLOSED: 1}


def test_allowed_markets_come_first_and_ties_go_to_the_older() -> None:
    a, b, c = market(1), market(2), market(3, volume_24hr=1.0)
    sel = select([b, a, c], Filter(max_markets=2, allow=frozenset({c.slug})), NOW)
    assert sel.watched == (c.condition_id, a.condition_id)


def test_stickiness_keeps_a_watched_market_against_a_slightly_better_newcomer() -> None:
    old = market(1, volume_24hr=5_000.0)
    new = market(2, volume_24hr=6_000.0)  # log10 gain ~0.08 < stickiness 0.1
    f = Filter(max_markets=1)
    assert select([old, new], f, NOW).watched == (new.condition_id,)
    assert select([old, new], f, NOW, watched={old.condition_id}).watched == (old.condition_id,)
    much_better = market(3, volume_24hr=50_000.0)
    assert select([old, much_better], f, NOW, watched={old.condition_id}).watched == (
        much_better.condition_id,
    )


def test_a_bad_filter_is_refused() -> None:
    with pytest.raises(ValueError, match="max_markets"):
        Filter(max_markets=-1)
    with pytest.raises(ValueError, match="hysteresis"):
        Filter(hysteresis=1.0)
    with pytest.raises(ValueError, match="max_hours_to_end"):
        Filter(min_hours_to_end=5, max_hours_to_end=1)
