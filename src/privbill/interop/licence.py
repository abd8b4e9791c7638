"""Synthetic software-licence usage: hourly counts per licensed feature.

A design office licenses a program with three metered features, each a *channel* its metering
module counts:

* ``api`` — calls to the program's automation interface: a synchronisation job around the clock,
  the team's tools in working hours, and a nightly bulk import on some nights;
* ``render`` — GPU render minutes: designers render in working hours (limited by the GPU slots
  of the licence), and leave long batch renders running overnight before deadlines;
* ``export`` — documents exported (PDF, CAD exchange): steady in working hours, with the
  month-end reporting rush on the last two working days.

The office (``seed``) has its own team size and habits; working days are Monday to Friday, with
a few days of absence per person, a lunch dip and some people starting early or staying late.
Everything is drawn from ``random.Random(seed)``: simulation randomness only, never used for keys
or blinding factors.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from privbill.errors import UsageError

FEATURES: Final = ("api", "render", "export")
#: Render minutes the licence's GPU slots allow per hour.
GPU_SLOTS: Final = 4


@dataclass(frozen=True, slots=True)
class Office:
    """The licensee: team size and how heavily it uses each feature."""

    team: int
    api_base: int  # calls per hour, around the clock
    api_per_person: int  # calls per person per working hour
    bulk_import: float  # chance of a nightly bulk import
    render_share: float  # share of the team that renders
    export_per_person: float  # exports per person per working hour


def office(seed: int | None) -> Office:
    rng = random.Random(seed)
    team = rng.randint(6, 30)
    return Office(
        team=team,
        api_base=rng.randint(80, 400),
        api_per_person=rng.randint(60, 220),
        bulk_import=rng.uniform(0.1, 0.5),
        render_share=rng.uniform(0.2, 0.6),
        export_per_person=rng.uniform(0.2, 0.8),
    )


def _workday_share(hour: int, rng: random.Random) -> float:
    """Share of the team at work in a local hour of a working day."""
    share = {7: 0.15, 8: 0.6, 9: 0.95, 10: 1.0, 11: 1.0, 12: 0.55, 13: 0.85,
             14: 1.0, 15: 0.95, 16: 0.85, 17: 0.5, 18: 0.2, 19: 0.08}.get(hour, 0.0)  # fmt: skip
    return max(0.0, share * rng.gauss(1.0, 0.08))


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (normal approximation above 30)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _last_working_days(year: int, month: int, n: int) -> set[date]:
    d = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    out: set[date] = set()
    while len(out) < n:
        if d.weekday() < 5:
            out.add(d)
        d -= timedelta(days=1)
    return out


def usage(
    start: int, count: int, interval_s: int, tz: ZoneInfo, *, seed: int | None = None
) -> dict[str, list[int]]:
    """Per feature, the count of each of ``count`` hourly intervals from UTC second ``start``."""
    if interval_s != 3600 or start % 3600:
        raise UsageError("the licence metering module counts whole hours: use --interval 60")
    o = office(seed)
    rng = random.Random(seed)
    out: dict[str, list[int]] = {f: [0] * count for f in FEATURES}
    days = [datetime.fromtimestamp(start + k * 3600, tz) for k in range(count)]
    last_working: set[date] = set()  # the month-end rush, whatever part of it is billed
    for y, m in sorted({(t.year, t.month) for t in days}):
        last_working |= _last_working_days(y, m, 2)
    absent: dict[date, float] = {}
    bulk: dict[date, bool] = {}
    deadline: dict[date, bool] = {}
    for k, local in enumerate(days):
        d, h = local.date(), local.hour
        if d not in absent:
            absent[d] = rng.uniform(0.0, 0.2)
            bulk[d] = rng.random() < o.bulk_import
            deadline[d] = rng.random() < 0.15
        working = d.weekday() < 5
        present = o.team * (1 - absent[d]) * (_workday_share(h, rng) if working else 0.0)
        if not working and rng.random() < 0.02:  # someone works on a weekend hour
            present = 1.0
        api = o.api_base * rng.uniform(0.7, 1.3) + present * o.api_per_person
        if bulk[d] and h == 2:
            api += rng.randint(8_000, 40_000)
        out["api"][k] = _poisson(rng, api)
        renderers = present * o.render_share
        minutes = sum(rng.uniform(5, 25) for _ in range(_poisson(rng, renderers * 0.5)))
        if deadline[d] and working and (h >= 20 or h < 4):
            minutes += 60 * rng.randint(1, GPU_SLOTS)  # overnight batch renders
        out["render"][k] = min(60 * GPU_SLOTS, round(minutes))
        rush = 3.0 if d in last_working else 1.0
        out["export"][k] = _poisson(rng, present * o.export_per_person * rush)
    return out
