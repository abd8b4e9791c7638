"""Time: intervals and billing periods.

A meter with interval length ``L`` seconds numbers its intervals from the Unix epoch: interval
``k`` is ``[k·L, (k+1)·L)`` in UTC seconds. Contiguity is therefore plain integer succession, and a
reading's index fixes its time without any timezone.

A billing period is a half-open UTC range ``[start, end)``. Tariffs live in local time; a billing
period is always a whole number of local days in the tariff's timezone (a calendar month by
default), so that daily and monthly fixed charges are unambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from privbill.errors import UsageError

MIN_INTERVAL_S: Final = 60
MAX_INTERVAL_S: Final = 86400
_MONTH_RE: Final = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE_RE: Final = re.compile(r"^(\d{4}-\d{2}-\d{2})/(\d{4}-\d{2}-\d{2})$")


def zone(name: str) -> ZoneInfo:
    """An IANA timezone, or a :class:`UsageError` naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"unknown timezone {name!r} (expected an IANA name such as Europe/Berlin)"
        ) from None


def local_time(ts: int, tz: ZoneInfo) -> str:
    """UTC second ``ts`` as local date and time in ``tz``, for messages: ``2026-01-05 14:00 MST``."""
    try:
        moment = datetime.fromtimestamp(ts, tz)
    except (OverflowError, ValueError, OSError):  # beyond the calendar (a hostile index)
        return f"UTC second {ts}"
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"


def interval_time(index: int, interval_s: int, tz: ZoneInfo) -> str:
    """Where interval ``index`` starts, in local time, with the index as a detail:
    ``2026-01-05 14:00 MST (interval 1964192)``."""
    return f"{local_time(index * interval_s, tz)} (interval {index})"


def check_interval_length(seconds: int) -> int:
    if not MIN_INTERVAL_S <= seconds <= MAX_INTERVAL_S or MAX_INTERVAL_S % seconds:
        raise UsageError(
            f"interval length {seconds} s must divide a day and lie in [{MIN_INTERVAL_S}, {MAX_INTERVAL_S}]"
        )
    return seconds


def local_midnight(day: date, tz: ZoneInfo) -> int:
    """UTC seconds of local midnight at the start of ``day`` (the first instant of the day)."""
    # PEP 495: with fold=0 a wall time skipped by a DST jump uses the offset before the jump,
    # which maps local midnight to the jump itself, the first instant of that day.
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


@dataclass(frozen=True, slots=True)
class BillingPeriod:
    """``[start, end)`` in UTC seconds."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise UsageError("billing period must end after it starts")

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def for_dates(cls, first: date, end: date, tz: ZoneInfo) -> BillingPeriod:
        """Local days ``first`` (inclusive) to ``end`` (exclusive)."""
        if end <= first:
            raise UsageError("billing period must end after it starts")
        return cls(local_midnight(first, tz), local_midnight(end, tz))

    @classmethod
    def month(cls, year: int, month: int, tz: ZoneInfo) -> BillingPeriod:
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        return cls.for_dates(date(year, month, 1), nxt, tz)

    @classmethod
    def parse(cls, text: str, tz: ZoneInfo) -> BillingPeriod:
        """``YYYY-MM`` (a calendar month) or ``YYYY-MM-DD/YYYY-MM-DD`` (end date exclusive)."""
        m = _MONTH_RE.match(text)
        if m:
            year, month = int(m.group(1)), int(m.group(2))
            if not 1 <= month <= 12:
                raise UsageError(f"bad month in period {text!r}")
            return cls.month(year, month, tz)
        m = _RANGE_RE.match(text)
        if m:
            try:
                first, end = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
            except ValueError as exc:
                raise UsageError(f"bad date in period {text!r}: {exc}") from None
            return cls.for_dates(first, end, tz)
        raise UsageError(f"period {text!r} is neither YYYY-MM nor YYYY-MM-DD/YYYY-MM-DD")

    # --- queries --------------------------------------------------------------------------

    def intervals(self, interval_s: int) -> tuple[int, int]:
        """``(first index, count)`` of the meter intervals that make up the period."""
        if self.start % interval_s or self.end % interval_s:
            raise UsageError(f"billing period is not aligned to {interval_s}-second intervals")
        return self.start // interval_s, (self.end - self.start) // interval_s

    def local_days(self, tz: ZoneInfo) -> list[date]:
        """The local days of the period; raises unless it starts and ends at local midnight."""
        first = datetime.fromtimestamp(self.start, tz).date()
        last_excl = datetime.fromtimestamp(self.end, tz).date()
        if local_midnight(first, tz) != self.start or local_midnight(last_excl, tz) != self.end:
            raise UsageError("billing period does not start and end at local midnight")
        return [first + timedelta(days=i) for i in range((last_excl - first).days)]

    def month_fractions(self, tz: ZoneInfo) -> list[tuple[int, int, Fraction]]:
        """For each calendar month touched: ``(year, month, days billed / days in month)``."""
        counts: dict[tuple[int, int], int] = {}
        for d in self.local_days(tz):
            counts[(d.year, d.month)] = counts.get((d.year, d.month), 0) + 1
        out = []
        for (y, m), n in sorted(counts.items()):
            nxt = date(y + (m == 12), m % 12 + 1, 1)
            out.append((y, m, Fraction(n, (nxt - date(y, m, 1)).days)))
        return out

    def is_calendar_month(self, tz: ZoneInfo) -> bool:
        """From the first instant of a month's first local day to that of the next month's.
        (Where daylight saving starts at local midnight the month starts at 01:00.)"""
        a = datetime.fromtimestamp(self.start, tz).date()
        return a.day == 1 and self == BillingPeriod.month(a.year, a.month, tz)

    def label(self, tz: ZoneInfo) -> str:
        """``YYYY-MM`` for a calendar month, else ``YYYY-MM-DD/YYYY-MM-DD``."""
        a = datetime.fromtimestamp(self.start, tz)
        b = datetime.fromtimestamp(self.end, tz)
        if self.is_calendar_month(tz):
            return f"{a.year:04d}-{a.month:02d}"
        return f"{a.date().isoformat()}/{b.date().isoformat()}"

    def to_obj(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end}


MAX_CYCLE_DAYS: Final = 366


@dataclass(frozen=True, slots=True)
class BillingCycle:
    """How a tariff cuts time into bills; a bill must cover exactly one cycle.

    Monthly cycles start on local day ``day`` of every month (``day=1``: calendar months);
    fixed cycles are ``days`` local days long, one of them starting on ``anchor``. Letting the
    customer choose the period instead would let them cut a month into pieces that each verify
    and chain but together cost less (per-day tiers, minimum bills, rounding of prorated fixed
    charges).
    """

    day: int = 1
    days: int = 0  # 0: monthly
    anchor: date | None = None

    def __post_init__(self) -> None:
        if self.days == 0:
            if not 1 <= self.day <= 28 or self.anchor is not None:
                raise UsageError("a monthly billing cycle starts on a day 1..28 of the month")
        elif not 1 <= self.days <= MAX_CYCLE_DAYS or self.anchor is None or self.day != 1:
            raise UsageError(
                f"a fixed billing cycle is 1..{MAX_CYCLE_DAYS} days from an anchor day"
            )

    @property
    def monthly(self) -> bool:
        return self.days == 0

    def first_day(self, day: date) -> date:
        """The first local day of the cycle that contains ``day``."""
        if self.monthly:
            start = day.replace(day=self.day)
            if start > day:
                start = _add_months(start, -1)
            return start
        assert self.anchor is not None
        return day - timedelta(days=(day - self.anchor).days % self.days)

    def period_of(self, day: date, tz: ZoneInfo) -> BillingPeriod:
        """The cycle that contains local day ``day``."""
        first = self.first_day(day)
        end = _add_months(first, 1) if self.monthly else first + timedelta(days=self.days)
        return BillingPeriod.for_dates(first, end, tz)

    def check(self, period: BillingPeriod, tz: ZoneInfo) -> None:
        """Raise a :class:`UsageError` unless ``period`` is exactly one cycle."""
        days = period.local_days(tz)
        expected = self.period_of(days[0], tz)
        if expected != period:
            raise UsageError(
                f"the billing cycle is {self.describe()}: the period {period.label(tz)} is not one "
                f"cycle (the cycle from {days[0].isoformat()} is {expected.label(tz)})"
            )

    def describe(self) -> str:
        if self.monthly:
            return "calendar months" if self.day == 1 else f"months from day {self.day}"
        assert self.anchor is not None
        unit = "day" if self.days == 1 else f"{self.days} days"
        return f"every {unit} from {self.anchor.isoformat()}"

    def to_obj(self) -> dict[str, Any]:
        if self.monthly:
            return {"kind": "monthly", "day": self.day}
        assert self.anchor is not None
        return {"kind": "days", "days": self.days, "anchor": self.anchor.isoformat()}


def _add_months(d: date, n: int) -> date:
    m = d.year * 12 + d.month - 1 + n
    return d.replace(year=m // 12, month=m % 12 + 1)
