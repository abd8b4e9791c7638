"""Disclosure in plain words: the request as the customer sees it before consenting, spans of
time, durations and amounts. Each statement kind words itself
(:meth:`privbill.disclosure.model.Statement.describe`) with the helpers here; :func:`describe`
adds what statements of those kinds can reveal (:data:`CAVEATS`) and what the customer's
device checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from privbill.disclosure.model import (
    DEFAULT_MIN_WINDOW_S,
    DisclosureRequest,
    Register,
)
from privbill.model import money
from privbill.model.tariffs import SignedTariff, TimeOfUse

#: Caveat names (:meth:`~privbill.disclosure.model.Statement.caveats`).
OPENED: Final = "opened"
TOTALS: Final = "totals"
WEIGHTED: Final = "weighted"
SUM_BOUNDS: Final = "sum-bounds"
PEAK_BOUND: Final = "peak-bound"
#: What statements of a kind can reveal, shown once per request in this order.
CAVEATS: Final[dict[str, str]] = {
    OPENED: "Opened readings are learned exactly, each with its time.",
    TOTALS: (
        "Totals over overlapping times reveal the consumption of their difference (a day's "
        "total and the same day's total without its first hour reveal that hour), also "
        "together with totals you disclosed before or your bills."
    ),
    WEIGHTED: (
        "A weighted total mixes your readings with the weights listed. With unequal weights "
        "it can, alone or with other figures, reveal individual readings: weights far "
        "apart, or weights that are all multiples of one number but a few, pack readings "
        "into one figure."
    ),
    SUM_BOUNDS: (
        "A statement that a total was at most or at least an amount can only be answered "
        "if it is true; they learn that it is true, not the total, but several such "
        "statements with different amounts narrow the total down."
    ),
    PEAK_BOUND: (
        "A statement that no reading was above an amount can only be answered if it is "
        "true; repeated with smaller amounts it finds your largest reading in that time "
        "(not when it was)."
    ),
}
CAVEAT_ORDER: Final = (OPENED, TOTALS, WEIGHTED, SUM_BOUNDS, PEAK_BOUND)

_MONTHS: Final = (
    "", "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def day(d: datetime) -> str:
    return f"{d.day} {_MONTHS[d.month]} {d.year}"


def clock(d: datetime) -> str:
    return f"{d.hour:02d}:{d.minute:02d}"


def _is_midnight(d: datetime) -> bool:
    return d.hour == 0 and d.minute == 0 and d.second == 0


def describe_span(start: int, end: int, tz: ZoneInfo) -> str:
    """``"from 1 to 31 January 2026"``, ``"on 5 January 2026"``,
    ``"on 5 January 2026 from 18:00 to 21:00"`` — end exclusive, shown inclusive for whole days."""
    a = datetime.fromtimestamp(start, tz)
    b = datetime.fromtimestamp(end, tz)
    if _is_midnight(a) and _is_midnight(b):
        last = datetime.fromtimestamp(end - 1, tz)
        if a.date() == last.date():
            return f"on {day(a)}"
        if (a.year, a.month) == (last.year, last.month):
            return f"from {a.day} to {day(last)}"
        if a.year == last.year:
            return f"from {a.day} {_MONTHS[a.month]} to {day(last)}"
        return f"from {day(a)} to {day(last)}"
    if a.date() == b.date() or (_is_midnight(b) and (b.date() - a.date()).days == 1):
        until = "24:00" if _is_midnight(b) else clock(b)
        return f"on {day(a)} from {clock(a)} to {until}"
    return f"from {day(a)} {clock(a)} to {day(b)} {clock(b)}"


def kwh(wh: int) -> str:
    return f"{money.format_scaled(wh, 3)} kWh"


def step_name(seconds: int) -> str:
    """``"hour"``, ``"15-minute interval"``, ``"2-hour interval"``."""
    return "hour" if seconds == 3600 else f"{minutes_adj(seconds)} interval"


def minutes_adj(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600}-hour"
    return f"{seconds // 60}-minute"


def register_name(sel: Register, tariffs: Sequence[SignedTariff]) -> str:
    for t in tariffs:
        if t.hash() == sel.tariff_hash and isinstance(t.body.energy, TimeOfUse):
            names = t.body.energy.period_names
            if sel.register < len(names):
                return f'the "{names[sel.register]}" periods of the tariff "{t.body.name}"'
    return f"tariff period {sel.register} of the tariff {sel.tariff_hash.hex()[:16]}"


def describe_duration(seconds: int) -> str:
    """``"23 hours"``, ``"1 day"``, ``"2 days 6 hours"``, ``"45 minutes"``."""
    if seconds <= 0:
        return "0 minutes"
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n} {unit}" if n == 1 else f"{n} {unit}s")
    return " ".join(parts)


def describe(
    req: DisclosureRequest,
    tariffs: Sequence[SignedTariff] = (),
    min_window_s: int = DEFAULT_MIN_WINDOW_S,
) -> str:
    """The request in plain words, shown to the customer before anything is revealed: what
    each statement discloses, what statements like these can reveal, alone or together with
    earlier disclosures, and what the customer's device checks (``min_window_s``: the
    customer's policy, ``docs/disclosure.md`` §7)."""
    items = [s.describe(req, tariffs) for s in req.statements]
    head = f"{req.requester} asks, for {req.purpose.strip()}, to learn"
    if len(items) == 1:
        text = f"{head} {items[0]}."
    else:
        text = f"{head}:\n" + "\n".join(f"  {k + 1}. {item};" for k, item in enumerate(items))
        text = text[:-1] + "."
    caveats = frozenset[str]().union(*(s.caveats() for s in req.statements))
    lines = [text, *(CAVEATS[c] for c in CAVEAT_ORDER if c in caveats)]
    opened = OPENED in caveats
    other = " other than those listed" if opened else ""
    stretch = (
        f" and no combination of readings within any stretch of time shorter than "
        f"{describe_duration(min_window_s)}"
        if min_window_s > 0
        else ""
    )
    lines.append(
        "Before answering, your device checks that this, together with everything you have "
        f"disclosed before to anyone and your bills, reveals no single reading{other}{stretch}; "
        "it refuses otherwise and tells you why. They learn nothing about your readings beyond "
        "what these figures imply."
    )
    lines.append(
        f"Account {req.account}. You may agree to all or some of this, or to none; "
        f"the request is valid until {day(datetime.fromtimestamp(req.expires, req.tz))} "
        f"{clock(datetime.fromtimestamp(req.expires, req.tz))} ({req.timezone})."
    )
    return "\n".join(lines)
