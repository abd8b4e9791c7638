"""Readings CSV: columns ``interval_start`` (ISO 8601 with UTC offset) and ``wh`` (integer; or
``quantity`` for meters that count something else, such as metres driven), plus one integer
column per private attribute the meter's certificate names (``road_class``, ``zone``).

Other columns are ignored; rows must be in time order, one per meter interval, without gaps or
duplicates, each ``interval_start`` aligned to the meter's interval length.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from privbill.errors import ReadingError
from privbill.model import money

OBJ = "readings CSV"


def parse(
    text: str, interval_s: int, attributes: Sequence[str] = ()
) -> list[tuple[int, int, tuple[int, ...]]]:
    """``(interval index, quantity, attribute values)`` rows of a readings CSV."""
    reader = csv.DictReader(io.StringIO(text))
    cols = reader.fieldnames or []
    qty = "wh" if "wh" in cols else "quantity"
    for need in ("interval_start", qty, *attributes):
        if need not in cols:
            raise ReadingError(
                f"missing column {need!r} (have {', '.join(cols) or 'none'})",
                obj=OBJ,
                field="header",
            )
    out: list[tuple[int, int, tuple[int, ...]]] = []
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
        index = int(ts) // interval_s
        if not raw_wh.isdigit():
            raise ReadingError(
                f"line {line}: {raw_wh!r} is not a non-negative integer", obj=OBJ, field="wh"
            )
        wh = int(raw_wh)
        if wh > money.MAX_WH_PER_INTERVAL:
            raise ReadingError(f"line {line}: {wh} Wh is out of range", obj=OBJ, field="wh")
        if prev is not None and index != prev + 1:
            what = "duplicate or out-of-order" if index <= prev else "gap before"
            raise ReadingError(
                f"line {line}: {what} interval {raw_t}", obj=OBJ, field="interval_start"
            )
        values = []
        for name in attributes:
            raw = (row.get(name) or "").strip()
            if not raw.isdigit() or int(raw) >= 2**32:
                raise ReadingError(
                    f"line {line}: {raw!r} is not an attribute value in [0, 2^32)",
                    obj=OBJ,
                    field=name,
                )
            values.append(int(raw))
        out.append((index, wh, tuple(values)))
        prev = index
    if not out:
        raise ReadingError("no readings", obj=OBJ)
    return out


def read(
    path: Path, interval_s: int, attributes: Sequence[str] = ()
) -> list[tuple[int, int, tuple[int, ...]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ReadingError("file is not UTF-8 text", obj=OBJ) from None
    return parse(text, interval_s, attributes)


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
