"""What every benchmark here shares: medians of repeated runs (wall and CPU), percentiles, and
one timed call. The machines are shared and noisy: benchmarks report medians, CPU seconds beside
wall seconds where threads or other jobs blur the wall clock, and ratios of cases measured in
the same run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def median_times(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of this process (all its threads) over
    ``repeats`` calls of ``fn``."""
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall seconds of ``repeats`` calls of ``fn``."""
    return median_times(fn, repeats)[0]


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """``fn()`` and its wall time in milliseconds."""
    start = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - start) * 1e3


def pct(xs: list[float], q: float) -> float:
    """The ``q``-quantile of ``xs`` (nearest rank)."""
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]
