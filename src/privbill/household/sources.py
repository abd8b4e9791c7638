"""What a meter measures: a readings CSV, a Green Button file or the synthetic household load.

A source yields :class:`~privbill.interop.csv_readings.Row`\\ s (interval index, Wh, outage mark)
from any interval on — a restarted meter asks for the readings from where its persisted state
stopped, and gets the same values again (the synthetic load is seeded per 28-day block).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from privbill.errors import UsageError
from privbill.files import read_bytes
from privbill.interop import csv_readings, greenbutton
from privbill.interop.csv_readings import Row

BLOCK_DAYS = 28


class Source(Protocol):
    first: int  # the first interval the source has

    def rows_from(self, index: int) -> Iterator[Row]: ...

    def describe(self) -> str: ...


@dataclass
class ListSource:
    """Readings read from a file, held in memory."""

    rows: list[Row]
    name: str

    @property
    def first(self) -> int:
        return self.rows[0].index

    def rows_from(self, index: int) -> Iterator[Row]:
        if index < self.first:
            raise UsageError(
                f"{self.name} starts at interval {self.first}, after the meter's next interval "
                f"{index}: the readings in between are missing",
                obj="source",
            )
        yield from self.rows[index - self.first :]

    def describe(self) -> str:
        return f"{self.name}: {len(self.rows)} readings"


def csv_source(path: str, interval_s: int, tz: ZoneInfo) -> ListSource:
    rows = csv_readings.parse_rows(csv_readings.read_text(Path(path)), interval_s, (), tz=tz)
    if not rows:
        raise UsageError(f"{path} holds no readings", obj="readings CSV")
    return ListSource(rows, path)


def greenbutton_source(path: str, interval_s: int, tz: ZoneInfo) -> ListSource:
    data = greenbutton.parse(read_bytes(path, "Green Button file"), interval_s, tz)
    return ListSource(data.rows, path)


@dataclass
class SyntheticSource:
    """The simulated household of :mod:`privbill.interop.loadprofile` from interval ``first``,
    for ``count`` intervals (``None``: without end), generated in 28-day blocks."""

    first: int
    interval_s: int
    tz: ZoneInfo
    seed: int
    count: int | None = None
    annual_kwh: float = 3200.0

    def _block(self, b: int) -> list[int]:
        from privbill.interop.loadprofile import synthetic_wh

        per = BLOCK_DAYS * 86400 // self.interval_s
        seed = int.from_bytes(hashlib.sha256(f"{self.seed}/{b}".encode()).digest()[:8], "big")
        return synthetic_wh(
            (self.first + b * per) * self.interval_s,
            per,
            self.interval_s,
            self.tz,
            seed=seed,
            annual_kwh=self.annual_kwh,
        )

    def rows_from(self, index: int) -> Iterator[Row]:
        per = BLOCK_DAYS * 86400 // self.interval_s
        end = None if self.count is None else self.first + self.count
        i = max(index, self.first)
        while end is None or i < end:
            b = (i - self.first) // per
            values = self._block(b)
            stop = (
                self.first + (b + 1) * per if end is None else min(end, self.first + (b + 1) * per)
            )
            for j in range(i, stop):
                yield Row(j, values[j - self.first - b * per])
            i = stop

    def describe(self) -> str:
        return f"synthetic household load (seed {self.seed})"


def now_index(interval_s: int) -> int:
    return int(time.time()) // interval_s
