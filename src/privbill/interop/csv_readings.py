"""Readings CSV: columns ``interval_start`` (ISO 8601 with UTC offset) and ``wh`` (integer; or
``quantity`` for meters that count something else, such as metres driven), plus one integer
column per private attribute the meter's certificate names (``road_class``, ``zone``), and
optionally ``outage`` (``1``/``true``/``yes`` for an interval in which the meter had no supply;
its reading must be 0 or empty).

Other columns are ignored; rows must be in time order, one per meter interval, without gaps
(unless the caller fills them, e.g. with outages) or duplicates, each ``interval_start`` aligned
to the meter's interval length. A UTF-8 byte-order mark is accepted. Given the meter's timezone,
every UTC offset must be either zero or the zone's offset at that time, so that times exported in
another timezone are caught before they are sealed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from privbill.errors import ReadingError
from privbill.model import money

OBJ = "readings CSV"
_YES = frozenset({"1", "true", "yes", "y"})
_NO = frozenset({"", "0", "false", "no", "n"})


@dataclass(frozen=True, slots=True)
class Row:
    """One CSV row: interval index, reading, attribute values, outage mark."""

    index: int
    value: int
    attributes: tuple[int, ...] = ()
    outage: bool = False


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def parse(
    text: str, interval_s: int, attributes: Sequence[str] = ()
) -> list[tuple[int, int, tuple[int, ...]]]:
    """``(interval index, quantity, attribute values)`` rows of a readings CSV without gaps or
    outages."""
    rows = parse_rows(text, interval_s, attributes)
    for r in rows:
        if r.outage:
            raise ReadingError(
                f"the reading at {datetime.fromtimestamp(r.index * interval_s, UTC):%Y-%m-%d %H:%M} "
                "UTC is marked as an outage: read the file with parse_rows and record outages "
                "with Meter.record(..., outage=True)",
                obj=OBJ,
                field="outage",
            )
    return [(r.index, r.value, r.attributes) for r in rows]


def parse_rows(
    text: str,
    interval_s: int,
    attributes: Sequence[str] = (),
    *,
    tz: ZoneInfo | None = None,
    gaps: bool = False,
) -> list[Row]:
    """The rows of a readings CSV. With ``tz`` every UTC offset must be zero or ``tz``'s offset
    at that time; with ``gaps`` missing intervals (even all of them) are allowed: the caller
    accounts for them."""
    text = text.removeprefix("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    cols = [c.strip() for c in reader.fieldnames or []]
    reader.fieldnames = cols
    qty = "wh" if "wh" in cols else "quantity"
    for need in ("interval_start", qty, *attributes):
        if need not in cols:
            raise ReadingError(
                f"missing column {need!r} (have {', '.join(cols) or 'none'})",
                obj=OBJ,
                field="header",
            )
    out: list[Row] = []
    prev: int | None = None
    for row in reader:
        line = reader.line_num
        raw_t, raw_wh = (row.get("interval_start") or "").strip(), (row.get(qty) or "").strip()
        try:
            when = datetime.fromisoformat(raw_t)
        except ValueError:
            raise ReadingError(
                f"line {line}: {raw_t!r} is not an ISO 8601 time", obj=OBJ, field="interval_start"
            ) from None
        if when.tzinfo is None:
            raise ReadingError(
                f"line {line}: {raw_t!r} has no UTC offset", obj=OBJ, field="interval_start"
            )
        ts = when.timestamp()
        if ts != int(ts) or int(ts) % interval_s:
            raise ReadingError(
                f"line {line}: {raw_t} is not aligned to {interval_s // 60}-minute intervals",
                obj=OBJ,
                field="interval_start",
            )
        if tz is not None:
            given = when.utcoffset()
            local = datetime.fromtimestamp(int(ts), tz)
            if given and given != local.utcoffset():
                raise ReadingError(
                    f"line {line}: {raw_t} has UTC offset {_offset(given)}, but the meter's "
                    f"timezone {tz.key} is at {_offset(local.utcoffset())} then "
                    f"({local:%Y-%m-%d %H:%M %Z}); were the readings exported in another "
                    "timezone? Give the meter's --timezone, or write the times in UTC or with "
                    "the meter's offset",
                    obj=OBJ,
                    field="interval_start",
                )
        index = int(ts) // interval_s
        raw_outage = (row.get("outage") or "").strip().lower()
        if raw_outage not in _YES | _NO:
            raise ReadingError(
                f"line {line}: outage {raw_outage!r} is neither 1/true/yes nor 0/false/no/empty",
                obj=OBJ,
                field="outage",
            )
        outage = raw_outage in _YES
        if outage and raw_wh in ("", "0"):
            raw_wh = "0"
        elif outage:
            raise ReadingError(
                f"line {line}: an outage interval reads 0 (or nothing), not {raw_wh!r}",
                obj=OBJ,
                field=qty,
            )
        if not raw_wh.isdigit():
            raise ReadingError(
                f"line {line}: {raw_wh!r} is not a non-negative integer", obj=OBJ, field=qty
            )
        wh = int(raw_wh)
        if wh > money.MAX_WH_PER_INTERVAL:
            raise ReadingError(f"line {line}: {wh} Wh is out of range", obj=OBJ, field=qty)
        if prev is not None and (index <= prev or (index != prev + 1 and not gaps)):
            what = "duplicate or out-of-order" if index <= prev else "gap before"
            raise ReadingError(
                f"line {line}: {what} interval {raw_t}", obj=OBJ, field="interval_start"
            )
        values = []
        for name in attributes:
            raw = (row.get(name) or "").strip()
            if outage and raw == "":
                raw = "0"
            if not raw.isdigit() or int(raw) >= 2**32:
                raise ReadingError(
                    f"line {line}: {raw!r} is not an attribute value in [0, 2^32)",
                    obj=OBJ,
                    field=name,
                )
            values.append(int(raw))
        out.append(Row(index, wh, tuple(values), outage))
        prev = index
    if not out and not gaps:
        raise ReadingError("no readings", obj=OBJ)
    return out


def read_text(path: Path) -> str:
    """The text of a readings CSV (UTF-8, with or without a byte-order mark)."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ReadingError("file is not UTF-8 text", obj=OBJ) from None


def read(
    path: Path, interval_s: int, attributes: Sequence[str] = ()
) -> list[tuple[int, int, tuple[int, ...]]]:
    return parse(read_text(path), interval_s, attributes)


def format_rows(
    rows: Iterable[tuple[int, int] | tuple[int, int, Sequence[int]]],
    interval_s: int,
    tz: object,
    attributes: Sequence[str] = (),
    quantity: str = "wh",
) -> str:
    """A readings CSV for ``rows``, times written in ``tz`` (a ``tzinfo``) with their offset."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["interval_start", quantity, *attributes])
    for row in rows:
        index, value = row[0], row[1]
        extra = list(row[2]) if len(row) > 2 else []
        when = datetime.fromtimestamp(index * interval_s, tz)  # type: ignore[arg-type]
        w.writerow([when.isoformat(), value, *extra])
    return buf.getvalue()
