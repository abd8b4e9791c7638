"""Readings CSV: columns ``interval_start`` (ISO 8601 with UTC offset) and ``wh`` (integer).

Extra columns are ignored; rows must be in time order, one per meter interval, without gaps or
duplicates, each ``interval_start`` aligned to the meter's interval length.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from privbill.errors import ReadingError
from privbill.model import money

OBJ = "readings CSV"


def parse(text: str, interval_s: int) -> list[tuple[int, int]]:
    """``(interval index, Wh)`` rows of a readings CSV."""
    reader = csv.DictReader(io.StringIO(text))
    cols = reader.fieldnames or []
    for need in ("interval_start", "wh"):
        if need not in cols:
            raise ReadingError(
                f"missing column {need!r} (have {', '.join(cols) or 'none'})",
                obj=OBJ,
                field="header",
            )
    out: list[tuple[int, int]] = []
    prev: int | None = None
    for row in reader:
        line = reader.line_num
        raw_t, raw_wh = (row.get("interval_start") or "").strip(), (row.get("wh") or "").strip()
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
        out.append((index, wh))
        prev = index
    if not out:
        raise ReadingError("no readings", obj=OBJ)
    return out


def read(path: Path, interval_s: int) -> list[tuple[int, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ReadingError("file is not UTF-8 text", obj=OBJ) from None
    return parse(text, interval_s)


def format_rows(rows: Iterable[tuple[int, int]], interval_s: int, tz: object) -> str:
    """A readings CSV for ``rows``, times written in ``tz`` (a ``tzinfo``) with their offset."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["interval_start", "wh"])
    for index, wh in rows:
        w.writerow([datetime.fromtimestamp(index * interval_s, tz).isoformat(), wh])  # type: ignore[arg-type]
    return buf.getvalue()
