from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privbill.model import money


@pytest.mark.parametrize(
    ("text", "nano"),
    [
        ("0.1234", 123_400_000),
        ("-0.05", -50_000_000),
        ("1", 1_000_000_000),
        ("0.000000001", 1),
        ("0.0947412", 94_741_200),  # PSCo RE-TOU publishes 7 decimals
        ("0.12345678", 123_456_780),  # and utilities up to 8
        ("12.500000000", 12_500_000_000),
        (3, 3_000_000_000),
    ],
)
def test_parse_price_exact(text: str | int, nano: int) -> None:
    assert money.parse_price(text) == nano


@pytest.mark.parametrize(
    "text", ["0.0000000001", "1e-3", "abc", "", "1.2.3", 0.5, True, "99999999999"]
)
def test_parse_price_refuses(text: object) -> None:
    with pytest.raises(money.AmountError):
        money.parse_price(text)  # type: ignore[arg-type]


def test_parse_fee_twelve_digits() -> None:
    assert money.parse_fee("5.71") == 5_710_000_000_000
    assert money.parse_fee("0.000000000001") == 1
    with pytest.raises(money.AmountError, match="more than 12"):
        money.parse_fee("0.0000000000001")


@pytest.mark.parametrize(
    ("fee", "minor", "text"),
    [
        (125_000_000_000, 2, "0.13"),
        (124_999_999_999, 2, "0.12"),
        (-125_000_000_000, 2, "-0.13"),
        (48_915_000_000_000, 2, "48.92"),
        (1_499_999_999_999_999, 0, "1500"),
        (1_234_500_000_000, 3, "1.235"),
        (0, 2, "0.00"),
    ],
)
def test_rounding_half_away_from_zero(fee: int, minor: int, text: str) -> None:
    assert money.format_amount(fee, minor) == text


@given(st.integers(-(10**18), 10**18))
def test_rounding_is_nearest(fee: int) -> None:
    r = money.round_fee(fee, 2)
    exact = Decimal(fee) / Decimal(10**12)
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
