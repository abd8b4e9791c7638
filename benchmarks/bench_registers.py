"""Benchmark: a flat demand charge on a month of quarter-hour readings (2976), proven from the
meter's certified maximum-demand register or by range proof.

For each path: prove and verify the demand component (medians), and the proof object's size. The
register path's verification includes the register's meter signature and schedule checks; the
range path's, the aggregated 16-bit range proof over the 2976 differences ``C_M − C_i``. Also
the meter's cost per reading with and without the register.

Run: ``python benchmarks/bench_registers.py`` (``--quick``: 3 repeats instead of 5, and one
for the range proof).
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from harness import median_time
from privbill.billing import components, demand
from privbill.billing.cleartext import demand_windows
from privbill.crypto import group
from privbill.crypto.signatures import SigningKey
from privbill.meter import Meter
from privbill.model import codec
from privbill.model.bills import MeterSection
from privbill.model.components import Demand
from privbill.model.periods import BillingPeriod
from privbill.model.registers import register_schedules_for
from privbill.model.tariffs import TariffBody
from privbill.provider import Provider

TZ = "America/Denver"
MONTH = "2026-08"  # 31 days without a clock change: 2976 quarter hours


def description() -> dict[str, Any]:
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
            "weekend_schedule": [[0] * 24 for _ in range(12)],
        },
        "fixed": {"per_month": "9.00"},
        "components": [
            {
                "kind": "demand",
                "name": "flat demand",
                "windows": [
                    {"name": "all", "tiers": [{"up_to_kw": None, "price_per_kw": "12.50"}]}
                ],
                "bits": 16,
            }
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    repeats = 3 if args.quick else 5
    range_repeats = 1 if args.quick else 3

    provider = Provider.generate()
    tariff = provider.sign_tariff(TariffBody.from_description(description()))
    body = tariff.body
    period = BillingPeriod.parse(MONTH, body.tz)
    first, count = period.intervals(900)
    rng = random.Random(1)
    readings = [(first + k, rng.randrange(0, 20000)) for k in range(count)]

    key = SigningKey.generate()
    cert = provider.certify_meter("m", "acct", key.public_key())
    per_day = 96
    meter_s: dict[str, float] = {}
    for label, schedules in (("without", ()), ("with", register_schedules_for(body))):
        meter = Meter(cert, key, "day", TZ, register_schedules=schedules)
        runs, batches, registers, register_openings = [], [], [], []
        t0 = time.perf_counter()
        for lo in range(0, count, per_day):
            rec = meter.record(readings[lo : lo + per_day])
            runs += rec.runs
            batches.append(rec.openings)
            registers += rec.registers
            register_openings += rec.register_openings
        meter_s[label] = time.perf_counter() - t0
    assert len(registers) == 1 and registers[0].month == period

    values = [v for b in batches for v in b.values]
    blindings = [r for b in batches for r in b.resolve(None)]
    points = [
        p for run in runs for p in group.decode_points_on_curve(run.commitments, run.seal.count)
    ]
    c = body.components[0]
    assert isinstance(c, Demand)
    windows = demand_windows(body, c, first, count, 900)
    ctx = components.context(tariff.hash(), cert.account, period, [cert.meter_id], 0)
    sections = [MeterSection(cert, tuple(runs), tuple(registers))]
    for_prover = demand.bill_registers(sections, register_openings)
    for_verifier = demand.bill_registers(sections)

    def prove_register() -> Any:
        return demand.prove_with_registers(
            c, values, blindings, windows, 900, ctx, for_prover, body, period
        )

    def prove_range() -> Any:
        return demand.prove(c, values, blindings, windows, 900, ctx)

    reg_proof, reg_fee, _ = prove_register()
    range_proof, range_fee, _ = prove_range()
    assert reg_fee == range_fee

    rows = [
        (
            "register",
            median_time(prove_register, repeats),
            median_time(
                lambda: demand.verify_with_registers(
                    c, points, windows, 900, ctx, reg_proof, "c", for_verifier, body, period
                ),
                repeats,
            ),
            len(codec.encode(reg_proof.to_obj())),
        ),
        (
            "range proof",
            median_time(prove_range, range_repeats),
            median_time(
                lambda: demand.verify(c, points, windows, 900, ctx, range_proof, "c"),
                range_repeats,
            ),
            len(codec.encode(range_proof.to_obj())),
        ),
    ]
    print(f"Flat demand charge, {count} quarter-hour readings ({MONTH}), medians")
    print()
    print("| path | prove ms | verify ms | proof bytes |")
    print("|---|---:|---:|---:|")
    for name, p, v, b in rows:
        print(f"| {name} | {p * 1e3:.3f} | {v * 1e3:.3f} | {b} |")
    print()
    (_, rp, rv, _), (_, qp, qv, _) = rows
    print(f"register vs range proof: prove {qp / rp:.0f}x faster, verify {qv / rv:.0f}x faster")
    print(
        f"meter: {meter_s['without'] / count * 1e3:.4f} ms/reading without the register, "
        f"{meter_s['with'] / count * 1e3:.4f} ms/reading with it"
    )


if __name__ == "__main__":
    main()
