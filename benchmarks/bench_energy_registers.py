"""Benchmark: a month of quarter-hour readings (2976) billed from the meter's time-of-use energy
registers or from every reading, and a provider's month-end run extrapolated to a million
customers.

Per path: the meter's cost per reading, prove, verify (warm: a provider verifying many bills in
one process; and cold: ``privbill bill verify`` style, one bill in a fresh process), the payment
message's size; a dynamic-price tariff, which keeps the per-reading path; and the provider's CPU
per bill measured over distinct customers' bills (``time.process_time`` across a batch, the
tariff shared), extrapolated to 10^6 bills with the bytes a provider stores (bill + receipt).

Run: ``python benchmarks/bench_energy_registers.py`` (``--quick``: fewer customers and repeats;
``--no-cold`` skips the fresh-process measurement).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from harness import median_time
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.receipts import issue_receipt
from privbill.billing.verifier import verify_bill
from privbill.crypto.signatures import SigningKey
from privbill.interop.loadprofile import synthetic_wh
from privbill.meter import Meter
from privbill.model.energy_registers import register_config_for
from privbill.model.periods import BillingPeriod
from privbill.model.register_bills import RegisterBill
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider

TZ = "America/Denver"
MONTH = "2026-01"
MILLION = 1_000_000


def demo_description() -> dict[str, Any]:
    text = resources.files("privbill").joinpath("data/demo-tou.json").read_text()
    desc: dict[str, Any] = json.loads(text)
    return desc


def dynamic_description(period: BillingPeriod) -> dict[str, Any]:
    desc = demo_description()
    hours = (period.end - period.start) // 3600 + 48
    desc["energy"] = {
        "kind": "dynamic",
        "interval_minutes": 30,
        "start": "2025-12-31T00:00:00+00:00",
        "prices": [f"0.{(k * 7919) % 300 + 20:04d}" for k in range(2 * hours)],
    }
    return desc


@dataclass
class Customer:
    inp: MeterInput
    meter_seconds: float


def record(
    provider: Provider, tariff: SignedTariff, period: BillingPeriod, k: int, registers: bool
) -> Customer:
    key = SigningKey.generate()
    cert = provider.certify_meter(f"m{k:05d}", f"acct-{k:05d}", key.public_key())
    first, count = period.intervals(900)
    values = synthetic_wh(period.start, count, 900, tariff.body.tz, seed=k)
    meter = Meter(
        cert,
        key,
        "day",
        TZ,
        energy_registers=register_config_for(tariff.body) if registers else None,
    )
    runs, batches, statements = [], [], []
    t0 = time.perf_counter()
    for lo in range(0, count, 96):
        rec = meter.record([(first + i, values[i]) for i in range(lo, min(lo + 96, count))])
        runs += rec.runs
        batches.append(rec.openings)
        statements += rec.energy_registers
    seconds = time.perf_counter() - t0
    sealed = SealedReadings(cert, tuple(runs), (), tuple(statements))
    return Customer(MeterInput(sealed, batches), seconds / count)


_COLD = """
import sys, time
from privbill.billing.verifier import verify_bill
from privbill.crypto.signatures import VerifyingKey
from privbill.model.tariffs import SignedTariff
d = sys.argv[1]
t = SignedTariff.decode(open(d + "/tariff.pbt", "rb").read())
k = VerifyingKey.from_pem(open(d + "/provider.pub", "rb").read())
b = open(d + "/" + sys.argv[2], "rb").read()
print(verify_bill(b, t, k).seconds)
"""


def cold_verify(workdir: Path, name: str, runs: int) -> float:
    """``verify_bill``'s own time for one bill in a fresh process (imports excluded), median."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", "")}
    out = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", _COLD, str(workdir), name],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        out.append(float(proc.stdout.strip()))
    return statistics.median(out)


def cpu_per_bill(
    bills: list[bytes], tariff: SignedTariff, provider: Provider, rounds: int
) -> float:
    """Process CPU seconds per bill over ``rounds`` passes of the batch (verification and the
    receipt, as a provider's worker does), median of the passes."""
    per: list[float] = []
    for _ in range(rounds):
        c0 = time.process_time()
        for b in bills:
            issue_receipt(provider.key, verify_bill(b, tariff, provider.public_key))
        per.append((time.process_time() - c0) / len(bills))
    return statistics.median(per)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-cold", action="store_true")
    ap.add_argument("--customers", type=int, help="distinct customers (default 40, quick 12)")
    args = ap.parse_args()
    n = args.customers or (12 if args.quick else 40)
    repeats = 3 if args.quick else 7

    provider = Provider.generate("ed25519")
    tariff = provider.sign_tariff(TariffBody.from_description(demo_description()))
    period = BillingPeriod.parse(MONTH, tariff.body.tz)
    load = os.getloadavg()
    customers = [record(provider, tariff, period, k, True) for k in range(n)]
    plain = record(provider, tariff, period, 10**6, False)
    meter_with = statistics.median(c.meter_seconds for c in customers)

    inputs = [[c.inp] for c in customers]
    register_bills = [prove_bill(tariff, i, period, path="registers") for i in inputs]
    reading_bills = [prove_bill(tariff, i, period) for i in inputs]
    assert all(isinstance(b, RegisterBill) for b in register_bills)
    assert [b.total_fee for b in register_bills] == [b.total_fee for b in reading_bills]
    reg_bytes = [b.encode() for b in register_bills]
    read_bytes = [b.encode() for b in reading_bills]

    prove_reg = median_time(
        lambda: prove_bill(tariff, inputs[0], period, path="registers"), repeats
    )
    prove_read = median_time(lambda: prove_bill(tariff, inputs[0], period), repeats)

    # Warm verification: one process, distinct customers' bills under one tariff.
    for b in reg_bytes[:3] + read_bytes[:3]:
        verify_bill(b, tariff, provider.public_key)
    verify_reg = statistics.median(
        min(verify_bill(b, tariff, provider.public_key).seconds for _ in range(3))
        for b in reg_bytes
    )
    verify_read = statistics.median(
        verify_bill(b, tariff, provider.public_key).seconds for b in read_bytes[: max(5, n // 4)]
    )

    # A dynamic-price tariff: no calendar, the auto path takes the readings.
    dynamic = provider.sign_tariff(TariffBody.from_description(dynamic_description(period)))
    dyn_bill = prove_bill(dynamic, inputs[0], period, path="auto")
    assert not isinstance(dyn_bill, RegisterBill)
    dyn_bytes = dyn_bill.encode()
    verify_dyn = median_time(lambda: verify_bill(dyn_bytes, dynamic, provider.public_key), 3)

    cold_reg = cold_read = float("nan")
    if not args.no_cold:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            (d / "tariff.pbt").write_bytes(tariff.encode())
            (d / "provider.pub").write_bytes(provider.public_key.to_pem())
            (d / "reg.pbm").write_bytes(reg_bytes[0])
            (d / "read.pbm").write_bytes(read_bytes[0])
            cold_reg = cold_verify(d, "reg.pbm", 3)
            cold_read = cold_verify(d, "read.pbm", 3)

    rounds = 3 if args.quick else 5
    cpu_reg = cpu_per_bill(reg_bytes, tariff, provider, rounds)
    cpu_read = cpu_per_bill(read_bytes[: max(8, n // 4)], tariff, provider, max(1, rounds // 2))
    receipt = issue_receipt(provider.key, verify_bill(reg_bytes[0], tariff, provider.public_key))
    receipt_len = len(receipt.encode())
    size_reg = statistics.median(len(b) for b in reg_bytes)
    size_read = statistics.median(len(b) for b in read_bytes)

    print(
        f"Time-of-use month, {period.intervals(900)[1]} quarter-hour readings ({MONTH}), "
        f"{n} customers, medians; load average {load[0]:.1f} at the start"
    )
    print()
    print("| path | meter ms/reading | prove s | verify ms (warm) | verify ms (fresh process) "
          "| message bytes |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| energy registers | {meter_with * 1e3:.3f} | {prove_reg:.3f} | {verify_reg * 1e3:.2f} "
        f"| {cold_reg * 1e3:.1f} | {size_reg:,.0f} |"
    )
    print(
        f"| every reading | {plain.meter_seconds * 1e3:.3f} | {prove_read:.3f} | "
        f"{verify_read * 1e3:.1f} | {cold_read * 1e3:.1f} | {size_read:,.0f} |"
    )
    print(
        f"| every reading, dynamic prices | — | — | {verify_dyn * 1e3:.1f} | — | "
        f"{len(dyn_bytes):,} |"
    )
    print()
    print(
        f"registers vs readings: verify {verify_read / verify_reg:.0f}x faster (warm), "
        f"message {size_read / size_reg:.0f}x smaller"
    )
    print()
    print("Provider month-end, verification and receipt per bill (process CPU), extrapolated:")
    print()
    print("| path | CPU ms per bill | CPU-minutes for 10^6 bills | bytes stored per bill "
          "(bill + receipt) | stored for 10^6 bills |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    for name, cpu, size in (
        ("energy registers", cpu_reg, size_reg),
        ("every reading", cpu_read, size_read),
    ):
        stored = size + receipt_len
        print(
            f"| {name} | {cpu * 1e3:.2f} | {cpu * MILLION / 60:,.0f} | {stored:,.0f} | "
            f"{stored * MILLION / 1e9:,.1f} GB |"
        )
    print()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
