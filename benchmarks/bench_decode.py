"""Benchmark: strict decoding — honest messages, and what refusing a hostile one costs.

Honest: the median time to decode (``PaymentMessage.decode``) a month (2976 quarter-hour
readings) and a year (35040) time-of-use bill with daily seals, and a month bill with a
per-interval block charge (one proof map per interval), plus a signed tariff.

Hostile: for every shape in :func:`hostile_inputs` (deep nesting, huge counts of tiny items, long
arrays of empty maps, huge declared lengths with short data, maps with many keys, a big byte
string in the wrong place, non-canonical forms, …) a ``--size`` MiB input (64 by default, the
largest input any decoder accepts) is decoded by the object kind it targets, each in a fresh
process: the seconds until the typed refusal, the peak memory the decoder allocated
(``tracemalloc``) and the process's peak resident size (``ru_maxrss``, interpreter and input
included).

Run: ``python benchmarks/bench_decode.py`` (``--honest`` or ``--hostile`` for one half,
``--size 8`` for smaller inputs, ``--cache DIR`` to keep the honest messages between runs).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

MiB = 1 << 20


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# --- honest messages ---------------------------------------------------------------------------

BLOCK = {
    "kind": "block",
    "name": "interval blocks",
    "bits": 16,
    "bands": [
        {"from_wh": "0", "up_to_wh": "300", "price": "0.10"},
        {"up_to_kwh": "0.8", "price": "0.15"},
        {"from_kwh": "0.8", "up_to_wh": None, "price": "0.21"},
    ],
}


def make_honest() -> dict[str, bytes]:
    from privbill.billing.prover import MeterInput, prove_bill
    from privbill.crypto import pedersen
    from privbill.crypto.signatures import SigningKey
    from privbill.demo import demo_tariff_description
    from privbill.meter import Meter
    from privbill.model.periods import BillingPeriod
    from privbill.model.sealed import SealedReadings
    from privbill.model.tariffs import TariffBody
    from privbill.provider import Provider

    pedersen.precompute()
    provider = Provider.generate("ed25519")
    key = SigningKey.generate("ecdsa-p256-sha256")
    cert = provider.certify_meter("0001", "acct", key.public_key())
    out: dict[str, bytes] = {}
    for label, days, components in (
        ("month", 31, []),
        ("year", 365, []),
        ("month-block", 31, [BLOCK]),
    ):
        desc = {**demo_tariff_description(), "components": components}
        if days > 31:
            desc["billing_cycle"] = {"every_days": days, "starting": "2026-01-01"}
        tariff = provider.sign_tariff(TariffBody.from_description(desc))
        start = date(2026, 1, 1)
        period = BillingPeriod.for_dates(start, start + timedelta(days=days), tariff.body.tz)
        first, count = period.intervals(900)
        rng = random.Random(1)
        rec = Meter(cert, key, "day", tariff.body.timezone).record(
            [(first + k, rng.randrange(0, 900)) for k in range(count)]
        )
        msg = prove_bill(tariff, [MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])], period)
        out[f"bill-{label}"] = msg.encode()
        out[f"tariff-{label}"] = tariff.encode()
    return out


def honest(cache: str | None, repeats: int) -> list[dict[str, Any]]:
    from privbill.model.bills import PaymentMessage
    from privbill.model.tariffs import SignedTariff

    objects: dict[str, bytes] = {}
    if cache and Path(cache).is_dir():
        objects = {p.stem: p.read_bytes() for p in Path(cache).glob("*.cbor")}
    if not objects:
        objects = make_honest()
        if cache:
            Path(cache).mkdir(parents=True, exist_ok=True)
            for name, data in objects.items():
                (Path(cache) / f"{name}.cbor").write_bytes(data)
    rows = []
    for name in ("bill-month", "bill-year", "bill-month-block", "tariff-month-block"):
        data = objects[name]
        decode = PaymentMessage.decode if name.startswith("bill") else SignedTariff.decode
        decode(data)
        n = repeats if len(data) < 4 * MiB else max(5, repeats // 4)
        rows.append({"object": name, "bytes": len(data), "ms": median_time(lambda: decode(data), n) * 1e3})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--honest", action="store_true", help="only the honest messages")
    ap.add_argument("--cache", help="keep the honest messages in this folder")
    ap.add_argument("--repeats", type=int, default=41)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    results: dict[str, Any] = {}
    rows = honest(args.cache, args.repeats)
    results["honest"] = rows
    print(f"{'honest object':<22} {'bytes':>10} {'decode ms':>10}")
    for r in rows:
        print(f"{r['object']:<22} {r['bytes']:>10} {r['ms']:>10.3f}")
    print(f"(medians of {args.repeats} runs, load average {os.getloadavg()[0]:.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
