"""Synthetic driving for pay-as-you-drive: metres per interval and the road class of each.

Weekday commutes (out around 07:00–09:00, back around 16:00–19:00), a few errands, and longer
weekend trips; each trip has a road class (0 urban, 1 rural, 2 motorway) and a speed drawn around
30, 60 and 110 km/h. Seeded with ``random.Random`` for reproducibility; simulation randomness
only, never used for keys or blinding factors.
"""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

SPEEDS_KMH = (30, 60, 110)


def drive_metres(
    start: int, count: int, interval_s: int, tz: ZoneInfo, *, seed: int | None = None
) -> list[tuple[int, int]]:
    """``(metres, road class)`` for ``count`` intervals from UTC second ``start``; intervals
    without driving are ``(0, 0)``."""
    rng = random.Random(seed)
    out = [(0, 0)] * count
    per_hour = 3600 // interval_s
    k = 0
    while k < count:
        local = datetime.fromtimestamp(start + k * interval_s, tz)
        weekday = local.weekday() < 5
        h = local.hour
        if weekday and h in (7, 8, 16, 17, 18):
            p = 0.35 / per_hour
        elif weekday and 10 <= h <= 20:
            p = 0.06 / per_hour
        elif not weekday and 9 <= h <= 19:
            p = 0.12 / per_hour
        else:
            p = 0.004 / per_hour
        if rng.random() < p:
            road = rng.choices((0, 1, 2), weights=(5, 3, 2))[0]
            length = max(1, round(rng.uniform(0.3, 1.5 if weekday else 3.0) * per_hour))
            for j in range(k, min(count, k + length)):
                kmh = max(5.0, rng.gauss(SPEEDS_KMH[road], SPEEDS_KMH[road] * 0.15))
                out[j] = (int(kmh * 1000 * interval_s / 3600), road)
            k += length
        else:
            k += 1
    return out
