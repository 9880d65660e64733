"""Numbers as the panes show them (polytui/ui/format.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polytui.ui import format as fmt


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("0", "0"),
        ("12", "12"),
        ("12.5", "12.5"),
        ("1234.567", "1,234.57"),
        ("150000", "150k"),
        ("0.004", "0.004"),  # a dust trade is not shown as 0 shares
        ("0.00042", "0.00042"),
        ("-0.003", "-0.003"),
        ("0.005", "0.005"),
        ("0.015", "0.02"),
    ],
)
def test_a_size_is_never_shown_as_zero_unless_it_is(value: str, shown: str) -> None:
    assert fmt.size(Decimal(value)) == shown
    assert fmt.size(None) == fmt.DASH
