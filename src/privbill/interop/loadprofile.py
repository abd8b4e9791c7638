"""Synthetic household load: the BDEW H25 standard load profile with per-household randomness.

H25 (BDEW 2025 revision, via ``demandlib``) gives the average German household's quarter-hourly
power for a given time, with its seasonal dynamisation. A single household is far spikier than
the average, so each simulated household gets: its own annual consumption, a day-to-day factor,
quarter-hour noise, and appliance events (kettle, cooking, washing). Everything is drawn from a
seeded ``numpy`` generator, so the same seed gives the same readings. This is simulation
randomness, never used for keys or blinding factors.
"""

from __future__ import annotations

import warnings
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from privbill.errors import UsageError

QUARTER_S = 900


def household_wh(
    start: int,
    count: int,
    interval_s: int,
    tz: ZoneInfo,
    *,
    seed: int | None = None,
    annual_kwh: float | None = None,
) -> list[int]:
    """Integer Wh for ``count`` intervals of ``interval_s`` seconds from UTC second ``start``."""
    return synthetic_wh(start, count, interval_s, tz, seed=seed, annual_kwh=annual_kwh)


def synthetic_wh(
    start: int,
    count: int,
    interval_s: int,
    tz: ZoneInfo,
    *,
    profile: str = "household",
    seed: int | None = None,
    annual_kwh: float | None = None,
) -> list[int]:
    """A simulated customer's integer Wh per interval.

    ``household``: BDEW H25 with the randomness described above (about 3200 kWh a year by
    default). ``business``: BDEW G25 (general commercial) for a small business, about
    120 MWh a year by default, with day-to-day variation, quarter-hour noise and equipment
    start-ups in working hours that set the month's demand peak.
    """
    try:
        import numpy as np
        import pandas as pd
        from demandlib.bdew import G25, H25
    except ImportError:
        raise UsageError(
            "the household simulation needs demandlib: pip install 'privbill[demo]'"
        ) from None
    if interval_s % QUARTER_S and QUARTER_S % interval_s:
        raise UsageError("interval must be a multiple or a divisor of 15 minutes")
    if profile not in ("household", "business"):
        raise UsageError(f"unknown load profile {profile!r} (household or business)")
    business = profile == "business"
    rng = np.random.default_rng(seed)
    typical = 120_000 if business else 3200
    annual = annual_kwh if annual_kwh is not None else float(rng.lognormal(np.log(typical), 0.3))
    end = start + count * interval_s
    q_start = start - start % QUARTER_S
    q_count = -(-(end - q_start) // QUARTER_S)
    index = pd.date_range(datetime.fromtimestamp(q_start, tz), periods=q_count, freq="15min", tz=tz)
    with warnings.catch_warnings():
        # demandlib uses pandas idioms that newer pandas versions announce as deprecated.
        warnings.simplefilter("ignore")
        shape: Any = (G25 if business else H25)(index)
    # H25 is in kW for 1 GWh/year: Wh per quarter hour = kW · 1000 · 0.25 · annual / 1e6.
    base = shape.to_numpy(dtype=float) * 250.0 * annual / 1e6
    days = q_count // 96 + 2
    day_factor = np.repeat(rng.lognormal(0.0, 0.18, days), 96)[:q_count]
    noise = rng.lognormal(-0.02, 0.2, q_count)
    wh = base * day_factor * noise
    hours = np.asarray(index.hour)
    # Appliance events: more likely in the morning and evening; 0.3-2 kWh spread over 1-4 quarters.
    p_event = np.where(
        (hours >= 6) & (hours <= 9), 0.05, np.where((hours >= 17) & (hours <= 21), 0.08, 0.012)
    )
    starts = np.nonzero(rng.random(q_count) < p_event)[0]
    for s in starts:
        length = int(rng.integers(1, 5))
        energy = float(rng.uniform(300, 2000))
        wh[s : s + length] += energy / length
    quarters = np.maximum(np.rint(wh), 0).astype(np.int64)
    # Resample to the meter interval, keeping integers and the total exact.
    if interval_s >= QUARTER_S:
        k = interval_s // QUARTER_S
        offset = (start - q_start) // QUARTER_S
        q = quarters[offset : offset + count * k]
        return [int(x) for x in q.reshape(count, k).sum(axis=1)]
    k = QUARTER_S // interval_s
    offset = (start - q_start) // interval_s
    split = np.repeat(quarters // k, k)
    rem = np.repeat(quarters % k, k)
    pos = np.tile(np.arange(k), len(quarters))
    fine = split + (pos < rem)
    return [int(x) for x in fine[offset : offset + count]]
