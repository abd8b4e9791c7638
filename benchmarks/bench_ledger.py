"""Benchmark: the disclosure policy check on a month of quarter-hour readings (2976).

The customer's ledger holds 50 figures about January (one meter): the bill's energy charge at
time-of-use prices, 19 daily totals, 10 weekly totals, 10 weighted sums over the month with
hourly weights (carbon intensities, all distinct), 5 sum thresholds over several days and 5
per-interval bounds over days. A new request asks for another weighted sum over the month and a
week's total; ``DisclosureLedger.check`` decides whether to answer (it does: nothing short
follows). A second case replaces the weighted sums' hourly weights by half-hourly dynamic prices
(1488 distinct values: the largest blocks count a time-of-use month can have short of
per-interval weights), and a third asks for a total that *is* refused (the minimal-span form
then names the figures that combine).

Run: ``python benchmarks/bench_ledger.py`` (``--repeats``). Reports medians; the machines are
shared, so read ratios rather than absolute times.
"""

from __future__ import annotations

import argparse
import random

from harness import median_time
from privbill.disclosure.ledger import (
    DisclosureLedger,
    DisclosurePolicy,
    LedgerEntry,
    Term,
    runs_of,
)
from privbill.disclosure.model import DisclosurePolicyError
from privbill.model.periods import BillingPeriod, zone

TZ = zone("America/Denver")
L = 900
DAY = 96


def entry(kind: str, weights: list[tuple[int, int]], k: int) -> LedgerEntry:
    return LedgerEntry(
        kind,  # type: ignore[arg-type]
        (Term("0001", runs_of(weights)),),
        f"figure {k}",
        "Example Power",
        "request",
        bytes(32),
        k,
        0,
    )


def ledger_of(
    first: int, count: int, per_weight_steps: int, rng: random.Random
) -> DisclosureLedger:
    """50 figures; weighted sums change weight every ``per_weight_steps`` intervals."""
    idx = range(first, first + count)
    entries = []
    tou = [
        99060 if (k % DAY) < 52 or (k % DAY) >= 76 else (135780 if k % DAY < 60 else 220010)
        for k in range(count)
    ]
    entries.append(entry("value", list(zip(idx, tou, strict=True)), 0))
    for d in range(19):
        entries.append(entry("value", [(first + d * DAY + k, 1) for k in range(DAY)], len(entries)))
    for w in range(10):
        a = first + (w * 2 * DAY) % (count - 7 * DAY)
        entries.append(entry("value", [(a + k, 1) for k in range(7 * DAY)], len(entries)))
    for _ in range(10):
        steps = count // per_weight_steps
        ws = [rng.randrange(50, 900) for _ in range(steps)]
        entries.append(
            entry(
                "value",
                [(first + k, ws[k // per_weight_steps]) for k in range(count)],
                len(entries),
            )
        )
    for t in range(5):
        a = first + (3 + 4 * t) * DAY
        entries.append(entry("bound", [(a + k, 1) for k in range(3 * DAY)], len(entries)))
    for t in range(5):
        a = first + (2 + 5 * t) * DAY
        entries.append(entry("peak", [(a + k, 1) for k in range(DAY)], len(entries)))
    assert len(entries) == 50
    return DisclosureLedger({"0001": L}, entries)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    period = BillingPeriod.month(2026, 1, TZ)
    first, count = period.intervals(L)
    policy = DisclosurePolicy()
    rng = random.Random(7)
    rows = []
    for label, per in (("hourly weights", 4), ("half-hourly weights", 2)):
        ledger = ledger_of(first, count, per, rng)
        steps = count // per
        ws = [rng.randrange(50, 900) for _ in range(steps)]
        new = [
            entry("value", [(first + k, ws[k // per]) for k in range(count)], 0),
            entry("value", [(first + 9 * DAY + k, 1) for k in range(7 * DAY)], 1),
        ]
        t = median_time(
            lambda ledger=ledger, new=new: ledger.check(new, {"0001": L}, policy, TZ), args.repeats
        )
        rows.append((f"answered: 50 figures ({label}) + 2 new", t))
        # Refused: a total of day 25 without its first hour (day 25 is not in the ledger, but
        # the bill, the weekly totals and the weighted sums cover it).
        short = [
            entry("value", [(first + 24 * DAY + k, 1) for k in range(DAY)], 0),
            entry("value", [(first + 24 * DAY + k, 1) for k in range(4, DAY)], 1),
        ]

        def refused(ledger: DisclosureLedger = ledger, short: list[LedgerEntry] = short) -> None:
            try:
                ledger.check(short, {"0001": L}, policy, TZ)
            except DisclosurePolicyError:
                return
            raise AssertionError("expected a refusal")

        rows.append((f"refused: 50 figures ({label}) + 2 new", median_time(refused, args.repeats)))
    print(f"{'case':<52} {'check ms':>9}")
    for label, t in rows:
        print(f"{label:<52} {t * 1e3:>9.1f}")
    print(f"(medians of {args.repeats} runs; {count} intervals, policy minimum 23 hours)")


if __name__ == "__main__":
    main()
