"""An independent cleartext bill, straight from the JSON tariff description.

It shares no code with privbill's tariff model: it walks the readings with ``datetime`` in the
tariff's timezone, looks prices up in the description, and sums with ``Decimal``.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any
from zoneinfo import ZoneInfo


def price_at(desc: dict[str, Any], ts: int) -> Decimal:
    tz = ZoneInfo(desc["timezone"])
    e = desc["energy"]
    if e["kind"] == "time-of-use":
        local = datetime.fromtimestamp(ts, tz)
        holidays = {date.fromisoformat(h) for h in e.get("holidays", [])}
        weekend = local.weekday() >= 5 or local.date() in holidays
        sched = (
            e.get("weekend_schedule", e["weekday_schedule"]) if weekend else e["weekday_schedule"]
        )
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


# --- the whole bill, every component ---------------------------------------------------------
#
# Written from docs/tariff-format.md and docs/interval_components.md alone: local times with
# ``zoneinfo``, schedules looked up by (month, hour, weekday or weekend/holiday), amounts in
# ``Decimal`` in currency, kWh and kW exactly as the description writes them.

_EXACT = Context(prec=80)


def _holidays(desc: dict[str, Any]) -> set[date]:
    e = desc["energy"]
    return (
        {date.fromisoformat(h) for h in e.get("holidays", [])}
        if e["kind"] == "time-of-use"
        else set()
    )


def _cell(desc: dict[str, Any], weekday: list[list[Any]], weekend: list[list[Any]], ts: int) -> Any:
    """The entry of a 12 × 24 schedule pair for the interval starting at UTC second ``ts``."""
    local = datetime.fromtimestamp(ts, ZoneInfo(desc["timezone"]))
    off = local.weekday() >= 5 or local.date() in _holidays(desc)
    return (weekend if off else weekday)[local.month - 1][local.hour]


def tou_period(desc: dict[str, Any], ts: int) -> int:
    e = desc["energy"]
    weekday = e["weekday_schedule"]
    return int(_cell(desc, weekday, e.get("weekend_schedule", weekday), ts))


def cumulative(tiers: list[tuple[Decimal | None, Decimal]], amount: Decimal) -> Decimal:
    """Σ price × (the part of ``amount`` between the previous bound and this one)."""
    fee, lower = Decimal(0), Decimal(0)
    for bound, price in tiers:
        top = amount if bound is None else min(amount, bound)
        if top > lower:
            fee += price * (top - lower)
        if bound is None or amount <= bound:
            break
        lower = bound
    return fee


def _kwh_bound(item: dict[str, Any], stem: str) -> Decimal | None:
    """A band bound in kWh from ``<stem>_wh`` or ``<stem>_kwh`` (``None``: unbounded)."""
    if f"{stem}_wh" in item:
        v = item[f"{stem}_wh"]
        return None if v is None else Decimal(str(v)) / 1000
    v = item[f"{stem}_kwh"]
    return None if v is None else Decimal(str(v))


def _band(bands: list[dict[str, Any]], kwh: Decimal) -> dict[str, Any]:
    for b in bands:
        up = _kwh_bound(b, "up_to")
        if up is None or kwh < up:
            return b
    raise ValueError(f"{kwh} kWh is above the last band's cap")


def reference_total(
    desc: dict[str, Any],
    meters: list[list[tuple[int, int]]],
    first_day: date,
    days: int,
    interval_s: int,
    attributes: list[list[int]] | None = None,
) -> Decimal:
    """The bill in currency: energy, fixed charges, tiered, demand, block, polynomial and
    lookup components, then the minimum. ``meters[m]`` lists ``(start second, Wh)`` of meter
    ``m`` over the period (the same intervals for every meter); ``attributes[m]`` the value of
    the meter's one attribute per interval (for lookups)."""
    with localcontext(_EXACT):
        total = Decimal(0)
        for readings in meters:
            total += cleartext_total(desc, readings, first_day, days) - _fixed(
                desc, first_day, days
            )
        total += _fixed(desc, first_day, days)
        load: dict[int, int] = {}
        for readings in meters:
            for ts, wh in readings:
                load[ts] = load.get(ts, 0) + wh
        per_hour = Decimal(3600) / interval_s
        minimum: Decimal | None = None
        for c in desc.get("components", []):
            kind = c["kind"]
            if kind == "tiered":
                wanted = c.get("periods")
                kwh = sum(
                    (
                        Decimal(wh) / 1000
                        for ts, wh in load.items()
                        if wanted is None or tou_period(desc, ts) in wanted
                    ),
                    Decimal(0),
                )
                scale = days if c.get("unit", "month") == "day" else 1
                tiers = [
                    (
                        None if t["up_to_kwh"] is None else Decimal(t["up_to_kwh"]) * scale,
                        Decimal(t["price"]),
                    )
                    for t in c["tiers"]
                ]
                total += cumulative(tiers, kwh)
            elif kind == "demand":
                windows = c["windows"]
                weekday = c.get("weekday_schedule", [[0] * 24] * 12)
                weekend = c.get("weekend_schedule", weekday)
                peaks: dict[int, int] = {}
                for ts, wh in load.items():
                    w = _cell(desc, weekday, weekend, ts)
                    if w is not None:
                        peaks[w] = max(peaks.get(w, 0), wh)
                for w, win in enumerate(windows):
                    kw = Decimal(peaks.get(w, 0)) * per_hour / 1000
                    tiers = [
                        (
                            None if t["up_to_kw"] is None else Decimal(t["up_to_kw"]),
                            Decimal(t["price_per_kw"]),
                        )
                        for t in win["tiers"]
                    ]
                    total += cumulative(tiers, kw)
            elif kind == "block":
                for wh in load.values():
                    kwh = Decimal(wh) / 1000
                    total += Decimal(_band(c["bands"], kwh)["price"]) * kwh
            elif kind == "polynomial":
                for wh in load.values():
                    kwh = Decimal(wh) / 1000
                    coefficients = _band(c["bands"], kwh)["coefficients"]
                    total += sum(
                        (
                            Decimal(a) * (kwh**k if k else Decimal(1))
                            for k, a in enumerate(coefficients)
                        ),
                        Decimal(0),
                    )
            elif kind == "lookup":
                weekday = c.get("weekday_schedule", [[0] * 24] * 12)
                weekend = c.get("weekend_schedule", weekday)
                assert attributes is not None
                for readings, attrs in zip(meters, attributes, strict=True):
                    for (ts, q), a in zip(readings, attrs, strict=True):
                        band = c["bands"][_cell(desc, weekday, weekend, ts)]
                        total += Decimal(band["prices"][c["values"].index(a)]) * Decimal(q) / 1000
            elif kind == "minimum":
                minimum = Decimal(c["per_month"])
            else:
                raise ValueError(f"unknown component {kind!r}")
        if minimum is not None and total < minimum:
            total = minimum
        return total


def _fixed(desc: dict[str, Any], first_day: date, days: int) -> Decimal:
    """The fixed charges alone (``cleartext_total`` of no readings)."""
    return cleartext_total(desc, [], first_day, days)
