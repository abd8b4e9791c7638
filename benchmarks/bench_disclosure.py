"""Benchmark: selective disclosures on a month of quarter-hour readings (2976, daily seals).

Cases (each a request with one statement, answered and verified end to end):

* period total — ``Σ c_i`` over the whole month; verify = decode, seal signatures and chain,
  one point sum. Its *floor* is what no verifier can avoid: decompressing the 2976 sealed points
  (no subgroup check), adding them, and the 31 seal signatures;
* day window, sum ≤ X — one range proof on ``X·G − Σ C_i``;
* day window, no interval above Y — range proofs on ``Y·G − C_i`` for the 96 intervals, with a
  16-bit bound (Y = 3 kWh, a 12 kW household peak) and a 32-bit one (Y = 100 kWh);
* for comparison: the day's readings opened, and a weighted sum over the month.

Run: ``python benchmarks/bench_disclosure.py`` (``--repeats``, ``--json``). Reports medians; the
machines are shared, so read ratios rather than absolute times.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import date, timedelta
from typing import Any

from harness import median_time
from privbill import disclosure
from privbill.crypto import bulletproofs, group, pedersen
from privbill.crypto.signatures import SigningKey
from privbill.demo import demo_tariff_description
from privbill.disclosure.ledger import DisclosureLedger, DisclosurePolicy
from privbill.disclosure.model import (
    Consent,
    DisclosureRequest,
    MeterRef,
    Statement,
    WholePeriod,
    Window,
)
from privbill.disclosure.statements import OpenReadings, Sum, Threshold, WeightedSum
from privbill.meter import Meter
from privbill.model.periods import BillingPeriod
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import TariffBody
from privbill.provider import Provider

TARGET_S = 0.100
#: The cases measure proofs; the policy check has its own benchmark (bench_ledger.py).
ANY = DisclosurePolicy(min_window_s=0, allow_open=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    repeats = args.repeats

    provider = Provider.generate("ed25519")
    meter_key = SigningKey.generate("ecdsa-p256-sha256")
    cert = provider.certify_meter("0001", "acct", meter_key.public_key())
    tariff = provider.sign_tariff(TariffBody.from_description(demo_tariff_description()))
    tz = tariff.body.tz
    start = date(2026, 1, 1)
    period = BillingPeriod.for_dates(start, start + timedelta(days=31), tz)
    first, count = period.intervals(900)
    rng = random.Random(1)
    rows = [(first + k, rng.randrange(0, 2500)) for k in range(count)]
    pedersen.precompute()
    rec = Meter(cert, meter_key, "day", tariff.body.timezone).record(rows)
    sealed = SealedReadings(cert, tuple(rec.runs))
    day = Window(period.start + 14 * 86400, period.start + 15 * 86400)
    d0 = (day.start - period.start) // 900
    bulletproofs.precompute_generators(64 * 32)  # once per process, not part of any case

    cases: list[tuple[str, Statement, bool]] = [
        ("period total (2976)", Sum("0001", WholePeriod()), True),
        ("day: sum <= X", Threshold("0001", day, "sum-at-most", 200_000), True),
        ("day: no interval > 3 kWh (16-bit)", Threshold("0001", day, "each-at-most", 3000), True),
        (
            "day: no interval > 100 kWh (32-bit)",
            Threshold("0001", day, "each-at-most", 100_000),
            False,
        ),
        (
            "day: open 96 readings",
            OpenReadings("0001", tuple(range(first + d0, first + d0 + 96))),
            False,
        ),
        (
            "month: weighted sum",
            WeightedSum("0001", WholePeriod(), 3600, tuple(range(200, 200 + 744)), "g/kWh"),
            False,
        ),
    ]
    results: list[dict[str, Any]] = []
    for label, statement, targeted in cases:
        req = DisclosureRequest.create(
            provider.key,
            requester="Example Power",
            purpose="benchmark",
            account="acct",
            meters=[MeterRef("0001", 900)],
            period=period,
            timezone=tariff.body.timezone,
            statements=[statement],
            issued_at=period.end,
        )
        now = period.end + 60
        consent = Consent.create(req, at=now)

        def prove(
            req: DisclosureRequest = req, consent: Consent = consent, now: int = now
        ) -> bytes:
            return disclosure.answer(
                req,
                consent,
                [sealed],
                [rec.openings],
                provider=provider.public_key,
                ledger=DisclosureLedger(),
                policy=ANY,
                now=now,
            ).encode()

        data = prove()
        t_prove = median_time(prove, max(3, repeats // 2))
        t_verify = median_time(
            lambda data=data, req=req, now=now: disclosure.verify(
                data, req, provider.public_key, now=now
            ),
            repeats,
        )
        results.append(
            {
                "case": label,
                "prove_s": t_prove,
                "verify_s": t_verify,
                "bytes": len(data),
                "target_s": TARGET_S if targeted else None,
            }
        )

    # The floor of the period total: decompress the 2976 points, add them, check 31 seals.
    raw = b"".join(r.commitments for r in sealed.runs)

    def floor() -> None:
        group.point_sum(group.decode_points_on_curve(raw, count))
        for r in sealed.runs:
            r.seal.verify_signature(cert.public_key)

    t_floor = median_time(floor, repeats)
    results[0]["floor_s"] = t_floor

    print(f"{'case':<38} {'prove s':>8} {'verify ms':>10} {'target ms':>10} {'bytes':>8}")
    for r in results:
        target = f"< {r['target_s'] * 1e3:.0f}" if r["target_s"] else ""
        print(
            f"{r['case']:<38} {r['prove_s']:>8.3f} {r['verify_s'] * 1e3:>10.1f} {target:>10} "
            f"{r['bytes']:>8}"
        )
    p = results[0]
    print(
        f"period total: floor {t_floor * 1e3:.1f} ms (decode 2976 points, add them, 31 seals); "
        f"verify/floor {p['verify_s'] / t_floor:.2f}"
    )
    print(f"(medians of {repeats} verifications, {max(3, repeats // 2)} proofs)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
