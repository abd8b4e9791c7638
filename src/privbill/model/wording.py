"""Tariff parts in words: tier tables, band tables and month × hour schedules as text lines, and
energy amounts in kWh. Components describe themselves with these (``privbill tariff show`` and
``privbill explain`` print what they return)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Protocol

from privbill.model import money
from privbill.model.schedules import HOURS, MONTHS, NONE

MONTH_NAMES: Final = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
)  # fmt: skip


class Bounded(Protocol):
    @property
    def up_to(self) -> int | None: ...

    @property
    def price(self) -> int: ...


def _cell(v: int) -> str:
    return "." if v == NONE else str(v)


def grid(table: bytes, indent: str = "    ") -> list[str]:
    """A month × hour schedule as text: one row per run of identical months, one column per
    local hour; cells are period (window, band) numbers, ``.`` for none."""
    rows = [table[m * HOURS : (m + 1) * HOURS] for m in range(MONTHS)]
    out = [indent + " " * 8 + "".join(f"{h:>3}" for h in range(HOURS))]
    m = 0
    while m < MONTHS:
        n = m
        while n + 1 < MONTHS and rows[n + 1] == rows[m]:
            n += 1
        label = MONTH_NAMES[m] if n == m else f"{MONTH_NAMES[m]}-{MONTH_NAMES[n]}"
        out.append(indent + f"{label:<8}" + "".join(f"{_cell(v):>3}" for v in rows[m]))
        m = n + 1
    return out


def schedule_lines(weekday: bytes, weekend: bytes, indent: str = "  ") -> list[str]:
    if weekday == weekend:
        return [f"{indent}every day (local hour across):", *grid(weekday, indent + "  ")]
    return [
        f"{indent}weekdays (local hour across):",
        *grid(weekday, indent + "  "),
        f"{indent}weekends and holidays:",
        *grid(weekend, indent + "  "),
    ]


def tier_lines(
    tiers: Sequence[Bounded], unit: str, price_unit: str, cur: str, indent: str
) -> list[str]:
    out, lower = [], "0"
    for t in tiers:
        upper = None if t.up_to is None else money.format_scaled(t.up_to, 3)
        span = f"{lower}..{upper} {unit}" if upper else f"above {lower} {unit}"
        out.append(f"{indent}{span:<24} {price_text(t.price)} {cur}/{price_unit}")
        lower = upper or lower
    return out


def band_lines(bands: Sequence[tuple[int | None, str]]) -> list[str]:
    out, lower = [], 0
    for up_to, what in bands:
        span = f"{lower}..{up_to} Wh" if up_to else f"above {lower} Wh"
        out.append(f"       {span:<24} {what}")
        lower = up_to or lower
    return out


def price_text(p: int) -> str:
    return money.format_scaled(p, money.PRICE_DIGITS)


def kwh(wh: int) -> str:
    """Wh as kWh with three decimals (exact)."""
    sign = "-" if wh < 0 else ""
    q, r = divmod(abs(wh), 1000)
    return f"{sign}{q:,}.{r:03d}"


__all__ = ["MONTH_NAMES", "band_lines", "grid", "kwh", "price_text", "schedule_lines", "tier_lines"]
