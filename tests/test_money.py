from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privbill.model import money


@pytest.mark.parametrize(
    ("text", "micro"),
    [
        ("0.1234", 123400),
        ("-0.05", -50000),
        ("1", 1000000),
        ("0.000001", 1),
        ("12.500000", 12500000),
        (3, 3000000),
    ],
)
def test_parse_price_exact(text: str | int, micro: int) -> None:
    assert money.parse_price(text) == micro


@pytest.mark.parametrize(
    "text", ["0.0000001", "1e-3", "abc", "", "1.2.3", 0.5, True, "99999999999"]
)
def test_parse_price_refuses(text: object) -> None:
    with pytest.raises(money.AmountError):
        money.parse_price(text)  # type: ignore[arg-type]


def test_parse_fee_nine_digits() -> None:
    assert money.parse_fee("5.71") == 5_710_000_000
    assert money.parse_fee("0.000000001") == 1
    with pytest.raises(money.AmountError, match="more than 9"):
        money.parse_fee("0.0000000001")


@pytest.mark.parametrize(
    ("nano", "minor", "text"),
    [
        (125_000_000, 2, "0.13"),
        (124_999_999, 2, "0.12"),
        (-125_000_000, 2, "-0.13"),
        (48_915_000_000, 2, "48.92"),
        (1_499_999_999_999, 0, "1500"),
        (1_234_500_000, 3, "1.235"),
        (0, 2, "0.00"),
    ],
)
def test_rounding_half_away_from_zero(nano: int, minor: int, text: str) -> None:
    assert money.format_amount(nano, minor) == text


@given(st.integers(-(10**15), 10**15))
def test_rounding_is_nearest(nano: int) -> None:
    r = money.round_fee(nano, 2)
    exact = Decimal(nano) / Decimal(10**9)
    assert abs(r - exact) <= Decimal("0.005")


def test_currency_codes() -> None:
    assert money.check_currency("EUR") == "EUR"
    with pytest.raises(money.AmountError):
        money.check_currency("eur")
    assert (
        money.minor_unit("JPY") == 0
        and money.minor_unit("KWD") == 3
        and money.minor_unit("XYZ") == 2
    )
