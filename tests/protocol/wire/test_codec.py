"""The shared decoding rules: the repairing fallback is exact, and its key-name rule is guarded."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from polytui.protocol.wire.codec import Codec, Wire, decode, to_ms
from polytui.protocol.wire.errors import WireError, WireErrorKind


class Quote(Wire):
    bid: Decimal | None
    tick: Decimal
    label: str


class Entry(Wire):
    spread: Decimal | None


class Other(Wire):
    spread: str


class Both(Wire):
    """``""`` under ``spread`` would mean None in one struct and "" in the other."""

    entry: Entry
    other: Other


class Row(Wire):
    ts: int
    amount: int
    token_id: str


def test_to_ms() -> None:
    assert to_ms(1795569890) == 1795569890000
    assert to_ms(1795569890812) == 1795569890812


def test_the_fallback_keeps_numbers_exact() -> None:
    # "" sends the message down the repairing path; the JSON number must survive it exactly.
    quote = decode(Quote, '{"bid": "", "tick": 0.001, "label": ""}')
    assert quote == Quote(bid=None, tick=Decimal("0.001"), label="")
    assert str(quote.tick) == "0.001"


def test_an_empty_string_stays_a_string_where_a_string_is_expected() -> None:
    assert decode(Quote, '{"bid": "0.4", "tick": "0.01", "label": ""}').label == ""


def test_decimal_strings_timestamps_and_big_ints() -> None:
    big = "9" * 78
    row = decode(Row, f'{{"ts": "1795000000000", "amount": "{big}", "token_id": "{big}"}}')
    assert (row.ts, row.amount, row.token_id) == (1795000000000, int(big), big)
    with pytest.raises(WireError) as info:
        decode(Row, f'{{"ts": 1, "amount": 1, "token_id": {big}}}')
    assert info.value.kind is WireErrorKind.WRONG_TYPE  # an id served as a number is refused


def test_a_key_both_optional_decimal_and_string_is_refused_when_the_codec_is_built() -> None:
    with pytest.raises(TypeError, match="spread"):
        Codec(Both)


def test_errors_are_wire_errors_with_the_cause_attached() -> None:
    with pytest.raises(WireError) as info:
        decode(Quote, b'{"bid": ')
    assert info.value.kind is WireErrorKind.MALFORMED
    assert isinstance(info.value.__cause__, msgspec.DecodeError)
    assert info.value.raw == '{"bid": '
