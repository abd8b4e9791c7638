"""Exact units for money and energy.

* energy: integer watt-hours (Wh), the meter's unit;
* prices: integer nano-currency per kWh (10⁻⁹ currency/kWh) — utilities publish up to 8
  decimals;
* fees: integer pico-currency (10⁻¹² currency). ``price · Wh`` is exactly a fee:
  10⁻⁹ currency/kWh × 1 Wh = 10⁻⁹ × 10⁻³ currency = 10⁻¹² currency.

No floating point is used anywhere. Decimal text from people or importers converts exactly or is
refused. The displayed amount rounds the exact fee to the currency's minor unit, half away from
zero (``decimal.ROUND_HALF_UP``): 0.125 → 0.13 and -0.125 → -0.13.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

from privbill.errors import AmountError as AmountError

PRICE_DIGITS: Final = 9  # price unit: 10^-9 currency per kWh
FEE_DIGITS: Final = 12  # fee unit: 10^-12 currency
PRICE_SCALE: Final = 10**PRICE_DIGITS
FEE_SCALE: Final = 10**FEE_DIGITS

#: Bounds that keep every sum of a bill far below the group order (see docs/security.md).
MAX_WH_PER_INTERVAL: Final = 2**32 - 1
MAX_ABS_PRICE: Final = 2**50  # nano-currency per kWh: about 1.1 million currency units per kWh
MAX_ABS_FIXED_FEE: Final = 2**62

#: ISO 4217 minor units of common currencies; others may be given explicitly in a tariff.
MINOR_UNITS: Final[dict[str, int]] = {
    "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2, "NZD": 2, "SEK": 2,
    "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "INR": 2, "CNY": 2, "BRL": 2,
    "ZAR": 2, "MXN": 2, "SGD": 2, "HKD": 2, "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0,
    "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip

_DECIMAL_RE: Final = re.compile(r"^[+-]?(\d+)(\.(\d+))?$")
_CURRENCY_RE: Final = re.compile(r"^[A-Z]{3}$")


def parse_scaled(text: str | int, digits: int) -> int:
    """Exact ``text × 10^digits`` as an integer; refuses anything that would need rounding.

    Accepts decimal strings (``"0.1234"``, ``"-3"``) and ints. Floats are refused: their binary
    value is rarely the decimal a person wrote.
    """
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise AmountError(f"expected a decimal string, got {type(text).__name__}")
    if isinstance(text, int):
        scale: int = 10**digits
        return text * scale
    s = text.strip()
    m = _DECIMAL_RE.match(s)
    if not m:
        raise AmountError(f"{text!r} is not a decimal number")
    frac = m.group(3) or ""
    if len(frac.rstrip("0")) > digits:
        raise AmountError(f"{text!r} has more than {digits} decimal places; it cannot be exact")
    try:
        value = Decimal(s).scaleb(digits)
    except InvalidOperation:
        raise AmountError(f"{text!r} is not a decimal number") from None
    return int(value)


def parse_price(text: str | int) -> int:
    """Currency per kWh as decimal text → integer nano-currency per kWh."""
    value = parse_scaled(text, PRICE_DIGITS)
    if abs(value) > MAX_ABS_PRICE:
        raise AmountError(f"price {text!r} is out of range")
    return value


def parse_fee(text: str | int) -> int:
    """Currency as decimal text → integer pico-currency."""
    value = parse_scaled(text, FEE_DIGITS)
    if abs(value) > MAX_ABS_FIXED_FEE:
        raise AmountError(f"amount {text!r} is out of range")
    return value


def format_scaled(value: int, digits: int) -> str:
    """Exact decimal text of ``value × 10^-digits`` without trailing zeros beyond the point."""
    d = Decimal(value).scaleb(-digits)
    text = format(d.normalize(), "f")
    return text


def check_currency(code: str) -> str:
    if not _CURRENCY_RE.match(code):
        raise AmountError(f"currency {code!r} is not an ISO 4217 code (three capital letters)")
    return code


def minor_unit(currency: str, explicit: int | None = None) -> int:
    if explicit is not None:
        return explicit
    return MINOR_UNITS.get(currency, 2)


def round_fee(fee: int, minor: int) -> Decimal:
    """The fee in currency, rounded half away from zero to ``minor`` decimal places."""
    exact = Decimal(fee).scaleb(-FEE_DIGITS)
    return exact.quantize(Decimal(1).scaleb(-minor), rounding=ROUND_HALF_UP)


def format_amount(fee: int, minor: int) -> str:
    """Decimal string of :func:`round_fee` (``"48.92"``, ``"-0.13"``, ``"1200"`` for 0 digits)."""
    return format(round_fee(fee, minor), "f")
