"""An independent cleartext bill, straight from the JSON tariff description.

It shares no code with privbill's tariff model: it walks the readings with ``datetime`` in the
tariff's timezone, looks prices up in the description, and sums with ``Decimal``.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo


def price_at(desc: dict[str, Any], ts: int) -> Decimal:
    tz = ZoneInfo(desc["timezone"])
    e = desc["energy"]
    if e["kind"] == "time-of-use":
        local = datetime.fromtimestamp(ts, tz)
        holidays = {date.fromisoformat(h) for h in e.get("holidays", [])}
        weekend = local.weekday() >= 5 or local.date() in holidays
        sched = e["weekend_schedule"] if weekend else e["weekday_schedule"]
        return Decimal(e["periods"][sched[local.month - 1][local.hour]]["price"])
    start = datetime.fromisoformat(e["start"]).timestamp()
    k = int((ts - start) // (e["interval_minutes"] * 60))
    assert 0 <= k < len(e["prices"])
    return Decimal(e["prices"][k])


def cleartext_total(
    desc: dict[str, Any], readings: list[tuple[int, int]], first_day: date, days: int
) -> Decimal:
    """Energy (price per kWh × kWh) plus fixed charges, exact, in currency units."""
    energy = sum((price_at(desc, ts) * Decimal(wh) / 1000 for ts, wh in readings), Decimal(0))
    fixed = desc.get("fixed", {})
    per_day = Decimal(fixed.get("per_day", "0"))
    per_month = Decimal(fixed.get("per_month", "0"))
    total = energy + per_day * days
    counts: dict[tuple[int, int], int] = {}
    for i in range(days):
        d = first_day + timedelta(days=i)
        counts[(d.year, d.month)] = counts.get((d.year, d.month), 0) + 1
    for (y, m), n in counts.items():
        share = per_month * n / calendar.monthrange(y, m)[1]
        total += share.quantize(Decimal("1e-12"), rounding=ROUND_HALF_UP)
    return total
