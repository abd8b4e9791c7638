"""Month × day-type × hour schedules, the shape utilities publish (and OpenEI URDB uses).

A schedule maps each local hour to a small integer (a time-of-use period, a demand window) from two
12 × 24 tables, one for weekdays and one for weekends; listed holidays use the weekend table. An
interval belongs to the entry of the local hour in which it starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from privbill.errors import TariffError, TariffMismatchError

MONTHS: Final = 12
HOURS: Final = 24
CELLS: Final = MONTHS * HOURS
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


def _offset(tz: ZoneInfo, ts: int) -> int:
    off = datetime.fromtimestamp(ts, tz).utcoffset()
    assert off is not None
    return int(off.total_seconds())


def schedule_indices(
    weekday: bytes,
    weekend: bytes,
    holidays: Sequence[date],
    tz: ZoneInfo,
    first: int,
    count: int,
    interval_s: int,
    where: str,
) -> list[int]:
    """The schedule entry of each of ``count`` intervals from index ``first``.

    UTC offsets are looked up once per UTC hour (and per interval only in an hour that contains a
    transition); day types once per local day.
    """
    if interval_s > 3600:
        raise TariffMismatchError(
            "schedules are hourly; meter intervals longer than an hour cannot be placed in them",
            obj="tariff",
            field=where,
        )
    hol = {d.toordinal() for d in holidays}
    day_rows: dict[int, tuple[bytes, int]] = {}
    hour_offsets: dict[int, int | None] = {}
    out: list[int] = []
    append = out.append
    for i in range(first, first + count):
        ts = i * interval_s
        uh = ts // 3600
        off = hour_offsets.get(uh, -1)
        if off == -1:
            a = _offset(tz, uh * 3600)
            off = a if a == _offset(tz, uh * 3600 + 3599) else None
            hour_offsets[uh] = off
        local = ts + (off if off is not None else _offset(tz, ts))
        day, sec = divmod(local, 86400)
        row = day_rows.get(day)
        if row is None:
            d = date.fromordinal(_EPOCH_ORDINAL + day)
            table = weekend if d.weekday() >= 5 or d.toordinal() in hol else weekday
            row = (table, (d.month - 1) * HOURS)
            day_rows[day] = row
        append(row[0][row[1] + sec // 3600])
    return out


def check_table(table: bytes, limit: int, where: str, *, allow_none: bool = False) -> None:
    """Every entry below ``limit`` (or 255, meaning "none", where allowed)."""
    if len(table) != CELLS:
        raise TariffError("schedule must be 12 months × 24 hours", obj="tariff", field=where)
    for k, v in enumerate(table):
        if v >= limit and not (allow_none and v == NONE):
            raise TariffError(
                f"entry {v} does not exist (there are {limit})",
                obj="tariff",
                field=f"{where}[{k // HOURS}][{k % HOURS}]",
            )


#: Schedule entry meaning "not in any window".
NONE: Final = 255


def parse_table(value: Any, limit: int, where: str, *, allow_none: bool = False) -> bytes:
    """12 rows of 24 integers from a JSON description (``null`` = none, where allowed)."""
    if not isinstance(value, list) or len(value) != MONTHS:
        raise TariffError(
            "expected 12 rows (January..December) of 24 entries",
            obj="tariff description",
            field=where,
        )
    out = bytearray()
    for m, row in enumerate(value):
        if not isinstance(row, list) or len(row) != HOURS:
            raise TariffError(
                "expected 24 entries (hours 0..23)", obj="tariff description", field=f"{where}[{m}]"
            )
        for h, p in enumerate(row):
            if p is None and allow_none:
                out.append(NONE)
                continue
            if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p < limit:
                raise TariffError(
                    f"expected a number 0..{limit - 1}" + (" or null" if allow_none else ""),
                    obj="tariff description",
                    field=f"{where}[{m}][{h}]",
                )
            out.append(p)
    return bytes(out)


def table_rows(table: bytes) -> list[list[int | None]]:
    """A schedule table back as 12 rows of 24 entries (``None`` for "none")."""
    return [
        [None if v == NONE else v for v in table[m * HOURS : (m + 1) * HOURS]]
        for m in range(MONTHS)
    ]
