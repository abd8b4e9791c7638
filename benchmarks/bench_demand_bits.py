"""Benchmark: the cost of 32-bit instead of 16-bit demand proofs (the default range of imported
tariffs, which holds any reading a meter signs) on a month of quarter-hour readings (2976).

The tariff has a flat demand charge (every interval) and an on-peak demand window (weekday
15:00–19:00), as commercial URDB rates do. The same readings (all below 2^16 Wh, so both widths
can prove them) are billed with ``bits`` 16 and 32. Reported per width: the Bulletproof
generators the month needs (``n·m'``) and the time to make them available in a fresh process
(from the disk cache where pinned, derived otherwise), prove and verify medians with generators
in memory, and the bill's bytes.

Run: ``python benchmarks/bench_demand_bits.py`` (``--quick``: 2 repeats instead of 3).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from typing import Any

from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.verifier import verify_bill
from privbill.crypto import bulletproofs
from privbill.crypto.signatures import SigningKey
from privbill.meter import Meter
from privbill.model.periods import BillingPeriod
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import TariffBody
from privbill.provider import Provider

TZ = "America/Denver"
FLAT = [[0] * 24 for _ in range(12)]
ON_PEAK = [[None] * 15 + [0] * 4 + [None] * 5 for _ in range(12)]


def description(bits: int) -> dict[str, Any]:
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
        "components": [
            {"kind": "demand", "name": "facilities",
             "windows": [{"name": "all", "tiers": [{"up_to_kw": None, "price_per_kw": "8.10"}]}],
             "bits": bits},
            {"kind": "demand", "name": "on-peak",
             "windows": [{"name": "on", "tiers": [{"up_to_kw": None, "price_per_kw": "14.20"}]}],
             "weekday_schedule": ON_PEAK, "weekend_schedule": [[None] * 24 for _ in range(12)],
             "bits": bits},
        ],
    }  # fmt: skip


def generator_setup_seconds(count: int) -> float:
    """Seconds for a fresh process to make ``count`` generators available (disk cache as set)."""
    code = (
        "import time; from privbill.crypto import bulletproofs as b; t=time.perf_counter(); "
        f"b.precompute_generators({count}); print(time.perf_counter()-t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=os.environ
    )
    return float(out.stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    repeats = 2 if args.quick else 3
    period = BillingPeriod.parse("2026-03", TariffBody.from_description(description(16)).tz)
    first, count = period.intervals(900)
    rng = random.Random(7)
    values = [rng.randrange(2000, 40000) for _ in range(count)]
    provider = Provider.generate()
    key = SigningKey.generate()
    cert = provider.certify_meter("m", "a", key.public_key())
    rec = Meter(cert, key, "day", TZ).record([(first + k, values[k]) for k in range(count)])
    sealed = SealedReadings(cert, tuple(rec.runs))
    padded = 1 << (count - 1).bit_length()
    print(f"{count} quarter-hour readings, two demand components (flat + on-peak window)")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    rows = {}
    for bits in (16, 32):
        tariff = provider.sign_tariff(TariffBody.from_description(description(bits)))
        need = padded * bits
        setup = generator_setup_seconds(need)
        bulletproofs.precompute_generators(need)
        prove_s, verify_s = [], []
        msg = None
        for _ in range(repeats):
            t = time.perf_counter()
            msg = prove_bill(tariff, [MeterInput(sealed, [rec.openings])], period)
            prove_s.append(time.perf_counter() - t)
            data = msg.encode()
            t = time.perf_counter()
            verify_bill(data, tariff, provider.public_key)
            verify_s.append(time.perf_counter() - t)
        assert msg is not None
        rows[bits] = (
            need,
            setup,
            statistics.median(prove_s),
            statistics.median(verify_s),
            len(msg.encode()),
        )
        print(
            f"bits {bits:2d}: generators {need:6d}, fresh-process setup {setup:6.2f} s, "
            f"prove {rows[bits][2]:6.2f} s, verify {rows[bits][3]:6.2f} s (medians of {repeats}), "
            f"bill {rows[bits][4]} bytes"
        )
    a, b = rows[16], rows[32]
    print(
        f"32 vs 16 bits: setup ×{b[1] / a[1]:.2f}, prove ×{b[2] / a[2]:.2f}, "
        f"verify ×{b[3] / a[3]:.2f}, bytes ×{b[4] / a[4]:.3f}"
    )


if __name__ == "__main__":
    main()
