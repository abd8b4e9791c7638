"""Benchmark: the time-of-use bill, end to end, against the verifier's unavoidable floor.

For a month (2976 quarter-hour readings) and a year (35040), with daily seals:

* meter: commit + seal, per reading;
* prove: the customer side, every opening checked against its seal;
* verify: the whole payment message (decode, signatures, coverage, fee);
* floor: what no verifier can avoid — decompress N points (backend, no subgroup check), one MSM
  over the N commitments with the per-interval prices, and the seal signature checks;
* bytes: the encoded payment message.

Run: ``python benchmarks/bench_billing.py`` (``--quick`` for the month only, fewer repeats).
Reports medians; the machines are shared, so read ratios rather than absolute times.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import date, timedelta
from typing import Any

import py_arkworks_bls12381 as backend

from harness import median_time
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.verifier import verify_bill
from privbill.crypto import group, pedersen
from privbill.crypto.signatures import SigningKey
from privbill.demo import demo_tariff_description
from privbill.meter import Meter
from privbill.model.bills import PaymentMessage
from privbill.model.periods import BillingPeriod
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider


def floor_seconds(msg: PaymentMessage, tariff: SignedTariff) -> tuple[float, float, float]:
    """(decode, msm, signatures) for the message's N commitments and seals."""
    blobs = [r.commitments for m in msg.meters for r in m.runs]
    raw = b"".join(blobs)
    chunks = [raw[i : i + 48] for i in range(0, len(raw), 48)]
    dec = backend.G1Point.from_compressed_bytes_unchecked
    t0 = time.perf_counter()
    points = [dec(c) for c in chunks]
    t_decode = time.perf_counter() - t0
    prices = []
    for m in msg.meters:
        first, count = msg.period.intervals(m.certificate.interval_s)
        prices += tariff.body.prices(first, count, m.certificate.interval_s)
    scalars = [backend.Scalar.from_be_bytes((p % group.ORDER).to_bytes(32, "big")) for p in prices]
    t0 = time.perf_counter()
    backend.G1Point.multiexp_unchecked(points, scalars)
    t_msm = time.perf_counter() - t0
    seals = [(m.certificate.public_key, r.seal) for m in msg.meters for r in m.runs]
    t0 = time.perf_counter()
    for key, seal in seals:
        seal.verify_signature(key)
    t_sig = time.perf_counter() - t0
    return t_decode, t_msm, t_sig


def dynamic_tariff(provider: Provider, days: int, start: date) -> SignedTariff:
    rng = random.Random(5)
    prices = [f"{rng.randint(-5000, 60000) / 100000:.5f}" for _ in range(days * 48)]
    desc = {
        "name": "half-hourly dynamic",
        "currency": "EUR",
        "timezone": "America/Denver",
        "valid_from": start.isoformat(),
        "valid_until": (start + timedelta(days=days)).isoformat(),
        "energy": {
            "kind": "dynamic",
            "interval_minutes": 30,
            "start": f"{start.isoformat()}T07:00:00+00:00",
            "prices": prices,
        },
        "fixed": {"per_day": "0.25"},
    }
    return provider.sign_tariff(TariffBody.from_description(desc))


def bench(days: int, label: str, repeats: int, dynamic: bool) -> dict[str, Any]:
    provider = Provider.generate("ed25519")
    meter_key = SigningKey.generate("ecdsa-p256-sha256")
    cert = provider.certify_meter("0001", "acct", meter_key.public_key())
    start = date(2026, 1, 1)
    if dynamic:
        tariff = dynamic_tariff(provider, days, start)
    else:
        tariff = provider.sign_tariff(TariffBody.from_description(demo_tariff_description()))
    tz = tariff.body.tz
    period = BillingPeriod.for_dates(start, start + timedelta(days=days), tz)
    first, count = period.intervals(900)
    rng = random.Random(1)
    rows = [(first + k, rng.randrange(0, 900)) for k in range(count)]
    pedersen.precompute()

    meter_times = []
    rec = None
    for _ in range(max(1, repeats // 2)):
        meter = Meter(cert, meter_key, "day", tariff.body.timezone)
        t0 = time.perf_counter()
        rec = meter.record(rows)
        meter_times.append(time.perf_counter() - t0)
    assert rec is not None
    sealed = SealedReadings(cert, tuple(rec.runs))
    inp = MeterInput(sealed, [rec.openings])
    msg = prove_bill(tariff, [inp], period)
    t_prove = median_time(lambda: prove_bill(tariff, [inp], period), repeats)
    data = msg.encode()
    t_verify = median_time(lambda: verify_bill(data, tariff, provider.public_key), repeats)
    t_strict = median_time(
        lambda: verify_bill(data, tariff, provider.public_key, check_subgroup=True),
        max(1, repeats // 2),
    )
    parts = [floor_seconds(msg, tariff) for _ in range(repeats)]
    dec = statistics.median(p[0] for p in parts)
    msm = statistics.median(p[1] for p in parts)
    sig = statistics.median(p[2] for p in parts)
    floor = dec + msm + sig
    return {
        "case": label,
        "tariff": "dynamic" if dynamic else "time-of-use",
        "readings": count,
        "seals": len(rec.runs),
        "meter_ms_per_reading": statistics.median(meter_times) / count * 1e3,
        "prove_s": t_prove,
        "verify_s": t_verify,
        "verify_strict_s": t_strict,
        "floor_s": floor,
        "floor_decode_s": dec,
        "floor_msm_s": msm,
        "floor_signatures_s": sig,
        "verify_over_floor": t_verify / floor,
        "bytes": len(data),
        "bytes_per_reading": len(data) / count,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="month only, 3 repeats")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    repeats = 3 if args.quick else args.repeats
    cases = [(31, "month", False), (31, "month", True)]
    if not args.quick:
        cases += [(365, "year", False), (365, "year", True)]
    results = []
    for days, label, dyn in cases:
        r = bench(days, label, repeats if days < 100 else max(3, repeats // 2), dyn)
        results.append(r)
    hdr = (
        f"{'case':<6} {'tariff':<11} {'N':>6} {'meter ms/rd':>11} {'prove s':>8} {'verify s':>9} "
        f"{'strict s':>9} {'floor s':>8} {'(dec':>7} {'msm':>7} {'sig)':>7} {'v/floor':>8} {'B/rd':>6}"
    )
    print(hdr)
    for r in results:
        print(
            f"{r['case']:<6} {r['tariff']:<11} {r['readings']:>6} {r['meter_ms_per_reading']:>11.4f} "
            f"{r['prove_s']:>8.3f} {r['verify_s']:>9.4f} {r['verify_strict_s']:>9.4f} {r['floor_s']:>8.4f} "
            f"{r['floor_decode_s']:>7.4f} {r['floor_msm_s']:>7.4f} {r['floor_signatures_s']:>7.4f} "
            f"{r['verify_over_floor']:>8.2f} {r['bytes_per_reading']:>6.1f}"
        )
    print(
        f"(medians of {repeats} runs; reference prototype: meter 0.086 ms/reading, verify 0.165 s for 2976)"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
