"""Benchmark: road tolling and software-licence metering, a month of realistic use each.

* road tolling: one car's March 2026 (seed 1 of ``privbill.interop.roads``: 684 km) under
  the demo toll tariff — a lookup over 8 hidden cells (zone × road class) and 3 time bands, the
  night band flat; quarter-hour segments (2972 readings; ``--five-minutes`` adds the same month
  in 5-minute segments, 8916 readings);
* licence: a design office's March 2026 (seed 5 of ``privbill.interop.licence``) under the demo
  licence — 3 features, each a meter channel of 743 hourly counts, monthly tiers per feature and
  a minimum commitment.

For each: the meter's cost per reading, prove, verify (the whole bill), message bytes, and the
verification of the same meters' bill without the components (the baseline: decoding, seals,
the energy MSM) — what the application's proofs add. For the toll also its floor: decoding every
point the lookup proofs carry (with the subgroup check) plus one MSM over as many points as their
batched check has, with 128-bit weights.

Run: ``python benchmarks/bench_applications.py`` (``--quick``: 1 repeat instead of 3).
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from typing import Any

import cbor2

from harness import median_time
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.verifier import verify_bill
from privbill.crypto import group, pedersen
from privbill.crypto.signatures import SigningKey
from privbill.demo import demo_tariff_description
from privbill.interop import licence, roads
from privbill.meter import Meter
from privbill.model.periods import BillingPeriod
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider


def without_components(desc: dict[str, Any]) -> dict[str, Any]:
    bare = copy.deepcopy(desc)
    bare["components"] = []
    return bare


def toll_inputs(
    provider: Provider, tariff: SignedTariff, minutes: int
) -> tuple[list[MeterInput], BillingPeriod, float]:
    period = BillingPeriod.month(2026, 3, tariff.body.tz)
    step = minutes * 60
    first, count = period.intervals(step)
    car = roads.drive(first * step, count, step, tariff.body.tz, seed=1)
    key = SigningKey.generate()
    cert = provider.certify_meter(
        "obu-1", "vehicle-1", key.public_key(), interval_s=step, attributes=("toll_cell",)
    )
    t0 = time.perf_counter()
    rec = Meter(cert, key, "day", tariff.body.timezone).record(
        [(first + k, m, (cell,)) for k, (m, cell) in enumerate(car.readings)]
    )
    per_reading = (time.perf_counter() - t0) / count
    return [MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])], period, per_reading


def licence_inputs(
    provider: Provider, tariff: SignedTariff
) -> tuple[list[MeterInput], BillingPeriod, float]:
    period = BillingPeriod.month(2026, 3, tariff.body.tz)
    first, count = period.intervals(3600)
    use = licence.usage(first * 3600, count, 3600, tariff.body.tz, seed=5)
    key = SigningKey.generate()
    okey = Meter.new_opening_key()
    inputs, spent = [], 0.0
    for f in licence.FEATURES:
        cert = provider.certify_meter(
            f"office-5.{f}", "office-5", key.public_key(), interval_s=3600, channel=f
        )
        t0 = time.perf_counter()
        rec = Meter(cert, key, "day", tariff.body.timezone, okey).record(
            [(first + k, v) for k, v in enumerate(use[f])]
        )
        spent += time.perf_counter() - t0
        inputs.append(MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings], okey))
    return inputs, period, spent / (count * len(inputs))


def lookup_floor(data: bytes, values: int, repeats: int) -> float:
    """Decoding every point the lookup proofs carry (and the fee commitments) with the subgroup
    check their batched verification needs (the cofactor of G1 has small factors), and one MSM
    over as many points as that check has (2 per clause, 3 per interval, G and H)."""
    meter = cbor2.loads(data)["components"][0]["meters"][0]
    proofs: list[bytes] = meter["proofs"]
    n = len(proofs)
    pb = group.POINT_BYTES
    t_bytes = b"".join(p[: 2 * values * pb] for p in proofs)
    points = group.decode_points_on_curve(t_bytes, 2 * values * n)
    size = 2 * values * n + 3 * n + 2
    bases = (points * 2)[:size]
    scalars = [group.random_scalar() >> 127 for _ in bases]

    def floor() -> None:
        group.decode_points(t_bytes, 2 * values * n)
        group.decode_points(meter["fees"], n)
        group.msm(bases, scalars)

    return median_time(floor, repeats)


def run(
    name: str,
    provider: Provider,
    desc: dict[str, Any],
    make: Callable[[SignedTariff], tuple[list[MeterInput], BillingPeriod, float]],
    repeats: int,
) -> dict[str, Any]:
    tariff = provider.sign_tariff(TariffBody.from_description(desc))
    bare = provider.sign_tariff(TariffBody.from_description(without_components(desc)))
    inputs, period, meter_s = make(tariff)
    data = prove_bill(tariff, inputs, period).encode()
    bare_data = prove_bill(bare, inputs, period).encode()
    t_prove = median_time(lambda: prove_bill(tariff, inputs, period), repeats)
    t_verify = median_time(lambda: verify_bill(data, tariff, provider.public_key), repeats)
    t_bare = median_time(lambda: verify_bill(bare_data, bare, provider.public_key), repeats)
    readings = sum(len(i.sealed.runs) and sum(r.seal.count for r in i.sealed.runs) for i in inputs)
    out = {
        "case": name,
        "readings": readings,
        "meter_ms": meter_s * 1e3,
        "prove": t_prove,
        "verify": t_verify,
        "baseline": t_bare,
        "bytes": len(data),
        "data": data,
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 repeat instead of 3")
    ap.add_argument(
        "--five-minutes", action="store_true", help="also the toll month in 5-minute segments"
    )
    args = ap.parse_args()
    repeats = 1 if args.quick else 3
    provider = Provider.generate()
    pedersen.precompute()
    toll = demo_tariff_description("road-tolling")
    values = len(toll["components"][0]["values"])
    results = [
        run(
            "road tolling, 15-min segments",
            provider,
            toll,
            lambda t: toll_inputs(provider, t, 15),
            repeats,
        )
    ]
    if args.five_minutes:
        results.append(
            run(
                "road tolling, 5-min segments",
                provider,
                toll,
                lambda t: toll_inputs(provider, t, 5),
                max(1, repeats // 2),
            )
        )
    results.append(
        run(
            "licence, 3 features, hourly",
            provider,
            demo_tariff_description("licence"),
            lambda t: licence_inputs(provider, t),
            repeats,
        )
    )
    print(
        f"{'case':<32} {'readings':>8} {'meter ms':>8} {'prove s':>8} {'verify s':>9} "
        f"{'baseline s':>10} {'added s':>8} {'bytes':>10}"
    )
    for r in results:
        print(
            f"{r['case']:<32} {r['readings']:>8} {r['meter_ms']:>8.3f} {r['prove']:>8.3f} "
            f"{r['verify']:>9.3f} {r['baseline']:>10.3f} {r['verify'] - r['baseline']:>8.3f} "
            f"{r['bytes']:>10,}"
        )
    for r in results:
        if r["case"].startswith("road tolling"):
            floor = lookup_floor(r["data"], values, repeats)
            added = r["verify"] - r["baseline"]
            print(
                f"{r['case']}: lookup floor (decode the proofs' points + one MSM of their "
                f"batched check) {floor:.3f} s; added/floor = {added / floor:.2f}"
            )
    print(f"(medians of {repeats}; daily seals, ECDSA P-256 meter, Ed25519 provider)")


if __name__ == "__main__":
    main()
