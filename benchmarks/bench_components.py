"""Benchmark: tariff components on a month of quarter-hour readings (2976).

For each component: prove, verify (the whole bill), the verification time it adds over the same
bill without the component, message bytes, and the component's floor (the MSM its range proof
cannot avoid). Components: tiered energy (3 tiers, hidden monthly total), flat demand (hidden
maximum over all 2976 intervals, 16-bit), minimum bill (applied: hidden total below it), and a
private-attribute lookup (3 hidden road classes × 8 public time bands = 24 table rows).

Run: ``python benchmarks/bench_components.py`` (``--quick``: 3 repeats instead of 5).
"""

from __future__ import annotations

import argparse
import random
from typing import Any

from harness import median_time, median_times
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.verifier import verify_bill
from privbill.crypto import bulletproofs, group, pedersen
from privbill.crypto.signatures import SigningKey
from privbill.meter import Meter
from privbill.model.periods import BillingPeriod
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import TariffBody
from privbill.provider import Provider

TZ = "America/Denver"
FLAT = [[0] * 24 for _ in range(12)]


def description(components: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": "benchmark",
        "currency": "USD",
        "timezone": TZ,
        "valid_from": "2026-01-01",
        "valid_until": "2027-01-01",
        "energy": {
            "kind": "time-of-use",
            "periods": [{"name": "off", "price": "0.09"}, {"name": "on", "price": "0.21"}],
            "weekday_schedule": [[0] * 15 + [1] * 4 + [0] * 5 for _ in range(12)],
            "weekend_schedule": FLAT,
        },
        "fixed": {"per_month": "9.00"},
        "components": components,
    }


CASES: dict[str, list[dict[str, Any]]] = {
    "none (time-of-use only)": [],
    "tiered, 3 tiers": [
        {
            "kind": "tiered",
            "name": "tiers",
            "tiers": [
                {"up_to_kwh": "300", "price": "0"},
                {"up_to_kwh": "800", "price": "0.03"},
                {"up_to_kwh": None, "price": "0.07"},
            ],
        }
    ],
    "tiered, rise then fall": [
        {
            "kind": "tiered",
            "name": "tiers",
            "tiers": [
                {"up_to_kwh": "300", "price": "0.08"},
                {"up_to_kwh": "800", "price": "0.14"},
                {"up_to_kwh": None, "price": "0.06"},
            ],
        }
    ],
    "tiered, 8 tiers, 7 order proofs": [
        {
            "kind": "tiered",
            "name": "tiers",
            "tiers": [
                *({"up_to_kwh": str(100 * (j + 1)), "price": f"0.{9 - j:02d}"} for j in range(7)),
                {"up_to_kwh": None, "price": "0.01"},
            ],
        }
    ],
    "demand, flat, 2976 intervals": [
        {
            "kind": "demand",
            "name": "flat demand",
            "windows": [{"name": "all", "tiers": [{"up_to_kw": None, "price_per_kw": "12.50"}]}],
            "bits": 16,
        }
    ],
    "minimum (applied)": [{"kind": "minimum", "per_month": "500.00"}],
    "lookup, 24 rows (3 hidden x 8 bands)": [
        {
            "kind": "lookup",
            "name": "per-km premium",
            "attribute": "road_class",
            "values": [0, 1, 2],
            "bands": [
                {"name": f"band {b}", "prices": [f"0.0{20 + b}", f"0.0{30 + b}", f"0.0{40 + b}"]}
                for b in range(8)
            ],
            "weekday_schedule": [[h // 3 for h in range(24)] for _ in range(12)],
            "weekend_schedule": [[h // 3 for h in range(24)] for _ in range(12)],
        }
    ],
}


def msm_floor(points: int, repeats: int, workers: int) -> float:
    """One MSM of ``points`` generators with random full-size scalars, on ``workers`` threads
    (as the range-proof verifier computes its MSM)."""
    g, h = bulletproofs.vector_generators(max(1, points // 2))
    bases = (g + h)[:points]
    scalars = [group.random_scalar() for _ in bases]
    return median_time(lambda: group.msm_split(bases, scalars, workers), repeats)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", help="run only cases whose name contains this (and the baseline)")
    args = ap.parse_args()
    repeats = 3 if args.quick else 5
    provider = Provider.generate()
    key = SigningKey.generate()
    # One meter that also commits to a private attribute, so every case bills the same readings.
    cert = provider.certify_meter("m", "acct", key.public_key(), attributes=("road_class",))
    period = BillingPeriod.parse("2026-03", TariffBody.from_description(description([])).tz)
    first, count = period.intervals(900)
    rng = random.Random(1)
    rows = [(first + k, rng.randrange(0, 900), (rng.randrange(0, 3),)) for k in range(count)]
    rec = Meter(cert, key, "day", TZ).record(rows)
    inp = MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])
    pedersen.precompute()
    results = []
    base_verify = None
    base_cpu = 0.0
    for name, comps in CASES.items():
        if args.only and comps and args.only not in name:
            continue
        tariff = provider.sign_tariff(TariffBody.from_description(description(comps)))
        r = max(1, repeats if "demand" not in name else max(1, repeats // 2))
        data = prove_bill(tariff, [inp], period).encode()
        t_prove = median_time(lambda t=tariff: prove_bill(t, [inp], period), r)
        # Verification is cheap for most components: more repeats steady the added figure.
        rv = r if "demand" in name else 3 * repeats
        t_verify, c_verify = median_times(
            lambda t=tariff, d=data: verify_bill(d, t, provider.public_key), rv
        )
        if base_verify is None:
            base_verify, base_cpu = t_verify, c_verify
        results.append(
            (name, t_prove, t_verify, t_verify - base_verify, c_verify - base_cpu, len(data))
        )
    print(
        f"{'component':<36} {'prove s':>8} {'verify s':>9} {'added s':>8} {'added cpu s':>12} "
        f"{'bytes':>8}"
    )
    for name, tp, tv, added, added_cpu, size in results:
        print(f"{name:<36} {tp:>8.3f} {tv:>9.4f} {added:>8.4f} {added_cpu:>12.4f} {size:>8}")
    demand = [added for name, _, _, added, _, _ in results if name.startswith("demand")]
    if demand:
        # the batch of the month's chunks: 2·n times the largest chunk's padded values
        size = 2 * 16 * bulletproofs.chunk_sizes(count)[0]
        workers = bulletproofs.DEFAULT_WORKERS
        floor = msm_floor(size, max(1, repeats // 2), workers)
        floor1 = msm_floor(size, max(1, repeats // 2), 1)
        print(
            f"demand range-proof floor, one MSM of {size} points: {floor:.3f} s on {workers} "
            f"threads (as verified; added/floor = {demand[0] / floor:.2f}), {floor1:.3f} s on "
            "1 thread"
        )
    print(f"(medians; {count} quarter-hour readings, daily seals)")


if __name__ == "__main__":
    main()
