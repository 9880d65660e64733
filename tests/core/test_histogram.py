"""Latency histogram quantiles by bucket."""

from __future__ import annotations

import pytest

from polytui.core.histogram import Histogram


def test_quantiles_are_bucket_upper_bounds_and_the_max_is_exact():
    h = Histogram((1, 10, 100))
    for v in [0.5] * 90 + [7] * 9 + [250]:
        h.add(v)
    assert h.count == 100
    assert h.quantile(0.5) == 1
    assert h.quantile(0.99) == 10
    assert h.quantile(1.0) == 250  # the open last bucket reports the exact maximum
    assert h.as_dict() == {"count": 100, "p50": 1.0, "p99": 10.0, "max": 250}


def test_an_empty_histogram_and_bad_arguments():
    h = Histogram()
    assert h.quantile(0.99) == 0.0 and h.count == 0
    with pytest.raises(ValueError, match="between 0 and 1"):
        h.quantile(1.5)
    with pytest.raises(ValueError, match="increase"):
        Histogram((5, 1))
