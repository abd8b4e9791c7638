"""Import half-hourly price feeds in the shape of Octopus Energy's public Agile API.

Input: one or more JSON pages ``{"results": [{"value_inc_vat": 23.5515, "value_exc_vat": ...,
"valid_from": "2026-03-01T00:00:00Z", "valid_to": "2026-03-01T00:30:00Z"}, ...]}``; values are
pence per kWh. The slots are sorted, must be half-hourly and contiguous (a gap or an overlap is an
error naming the slot), and become a ``dynamic`` energy price list in GBP per kWh, exact to 10⁻⁶
(more precision is refused unless rounding is asked for and reported). The tariff is valid on
the local days (Europe/London) the prices cover completely.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from privbill.errors import TariffError

OBJ: Final = "price feed"
SLOT: Final = timedelta(minutes=30)
TZ: Final = "Europe/London"


def _err(field: str, message: str) -> TariffError:
    return TariffError(message, obj=OBJ, field=field)


def _time(v: Any, where: str) -> datetime:
    if not isinstance(v, str):
        raise _err(where, "expected an ISO 8601 time")
    try:
        t = datetime.fromisoformat(v)
    except ValueError:
        raise _err(where, f"{v!r} is not an ISO 8601 time") from None
    if t.tzinfo is None:
        raise _err(where, f"{v!r} has no UTC offset")
    return t


def agile_to_description(
    pages: Sequence[str | bytes],
    *,
    vat: bool = True,
    standing_charge: str | None = None,
    name: str = "Agile half-hourly prices (imported)",
    allow_rounding: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """A dynamic-price tariff description, and the list of rounded prices (if allowed)."""
    key = "value_inc_vat" if vat else "value_exc_vat"
    slots: dict[datetime, Decimal] = {}
    for p, page in enumerate(pages):
        try:
            data = json.loads(page, parse_float=Decimal)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise _err(f"page {p}", f"not valid JSON: {exc}") from None
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise _err(f"page {p}.results", "expected a list of price slots")
        for i, r in enumerate(results):
            where = f"page {p}.results[{i}]"
            if not isinstance(r, dict):
                raise _err(where, "expected an object")
            start = _time(r.get("valid_from"), f"{where}.valid_from")
            end = _time(r.get("valid_to"), f"{where}.valid_to")
            if end - start != SLOT:
                raise _err(f"{where}.valid_to", "slot is not 30 minutes long")
            value = r.get(key)
            if isinstance(value, bool) or not isinstance(value, Decimal | int):
                raise _err(f"{where}.{key}", "expected a number (pence per kWh)")
            if start in slots and slots[start] != Decimal(value):
                raise _err(
                    f"{where}.valid_from",
                    f"two different prices for the slot at {start.isoformat()}",
                )
            slots[start] = Decimal(value)
    if not slots:
        raise _err("results", "no price slots")
    times = sorted(slots)
    for a, b in itertools.pairwise(times):
        if b - a != SLOT:
            raise _err("results", f"no price for the slot at {(a + SLOT).isoformat()}")
    rounded: list[str] = []
    prices = []
    for t in times:
        gbp = slots[t] / 100
        q = gbp.quantize(Decimal("0.000000001"), rounding=ROUND_HALF_UP)
        if q != gbp:
            if not allow_rounding:
                raise _err(
                    f"slot {t.isoformat()}",
                    f"{gbp} GBP/kWh needs more than 9 decimals (--round-prices, or "
                    f"allow_rounding=True, rounds it to {q} and reports it)",
                )
            rounded.append(f"{t.isoformat()}: {gbp} -> {q}")
        prices.append(format(q.normalize(), "f"))
    tz = ZoneInfo(TZ)
    first, last = times[0], times[-1] + SLOT
    start_day = first.astimezone(tz).date()
    if datetime(start_day.year, start_day.month, start_day.day, tzinfo=tz) < first:
        start_day += timedelta(days=1)
    end_day = last.astimezone(tz).date()
    if start_day >= end_day:
        raise _err("results", "the prices do not cover a whole local day")
    desc: dict[str, Any] = {
        "format": "privbill/tariff-description/1",
        "name": name,
        "utility": "imported price feed",
        "currency": "GBP",
        "timezone": TZ,
        "valid_from": start_day.isoformat(),
        "valid_until": end_day.isoformat(),
        "energy": {
            "kind": "dynamic",
            "interval_minutes": 30,
            "start": first.isoformat(),
            "prices": prices,
        },
        "fixed": {"per_day": standing_charge} if standing_charge else {},
    }
    return desc, rounded
