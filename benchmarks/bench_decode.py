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
import contextlib
import json
import os
import random
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from harness import median_time

MiB = 1 << 20


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
        msg = prove_bill(
            tariff, [MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])], period
        )
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
        ms = median_time(lambda d=data, f=decode: f(d), n) * 1e3  # type: ignore[misc]
        rows.append({"object": name, "bytes": len(data), "ms": ms})
    return rows


# --- hostile inputs ----------------------------------------------------------------------------

TESTS = Path(__file__).resolve().parents[1] / "tests"


def _status(field: str) -> float:
    """A memory figure of this process from /proc (MiB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def _reset_peak() -> float:
    """Reset the peak resident size to the current one (Linux); return it (MiB)."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def hostile_one(path: str, kind: str, traced: bool = True) -> dict[str, Any]:
    """In this (fresh) process: decode the file at ``path`` as ``kind``; time, memory, outcome."""
    import gc
    import tracemalloc

    sys.path.insert(0, str(TESTS))
    import hostile_cbor
    from privbill.errors import PrivbillError

    _, decode = hostile_cbor.decoders()[kind]
    data = Path(path).read_bytes()
    gc.collect()
    base = _reset_peak()
    outcome = "accepted"
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        decode(data)
    except PrivbillError as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # reported, not hidden: anything untyped is a bug
        outcome = f"UNTYPED {type(exc).__name__}: {exc}"
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak_rss = _status("VmHWM")
    traced_mib = float("nan")
    if traced:  # a second run under tracemalloc (slow for the item-heavy shapes)
        tracemalloc.start()
        with contextlib.suppress(Exception):
            decode(data)
        traced_mib = tracemalloc.get_traced_memory()[1] / MiB
        tracemalloc.stop()
    return {
        "seconds": wall,
        "cpu_seconds": cpu,
        "traced_mib": traced_mib,
        "rss_before_mib": base,
        "rss_peak_mib": peak_rss,
        "outcome": outcome[:160],
    }


def hostile(
    size_mib: int, kinds: list[str], shapes: list[str] | None, traced: bool
) -> list[dict[str, Any]]:
    import tempfile

    sys.path.insert(0, str(TESTS))
    import hostile_cbor

    decoders = hostile_cbor.decoders()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            fmt, _ = decoders[kind]
            for name, make in hostile_cbor.SHAPES.items():
                if shapes and name not in shapes:
                    continue
                path = Path(tmp) / "input.cbor"
                data = make(size_mib * MiB - 64, fmt)
                path.write_bytes(data)
                del data
                out = subprocess.run(
                    [sys.executable, __file__, "--one", str(path), kind]
                    + ([] if traced else ["--no-traced"]),
                    capture_output=True,
                    text=True,
                    check=True,
                )
                row = {"kind": kind, "shape": name, "bytes": path.stat().st_size}
                row.update(json.loads(out.stdout))
                rows.append(row)
                print(
                    f"{kind:<20} {name:<44} {row['seconds']:>6.3f} {row['cpu_seconds']:>6.3f} "
                    f"{row['traced_mib']:>7.1f} {row['rss_before_mib']:>7.1f} "
                    f"{row['rss_peak_mib']:>7.1f}  {row['outcome'][:70]}",
                    flush=True,
                )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--honest", action="store_true", help="only the honest messages")
    ap.add_argument("--hostile", action="store_true", help="only the hostile inputs")
    ap.add_argument("--size", type=int, default=64, help="MiB of each hostile input")
    ap.add_argument(
        "--kinds", default="bill", help="object kinds for every shape ('all', or comma-separated)"
    )
    ap.add_argument("--shapes", help="only these shapes (names separated by semicolons)")
    ap.add_argument("--no-traced", action="store_true", help="skip the tracemalloc run")
    ap.add_argument("--one", nargs=2, metavar=("FILE", "KIND"), help=argparse.SUPPRESS)
    ap.add_argument("--cache", help="keep the honest messages in this folder")
    ap.add_argument("--repeats", type=int, default=41)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(hostile_one(*args.one, traced=not args.no_traced)))
        return
    results: dict[str, Any] = {}
    if not args.hostile:
        rows = honest(args.cache, args.repeats)
        results["honest"] = rows
        print(f"{'honest object':<22} {'bytes':>10} {'decode ms':>10}")
        for r in rows:
            print(f"{r['object']:<22} {r['bytes']:>10} {r['ms']:>10.3f}")
        print(f"(medians of {args.repeats} runs, load average {os.getloadavg()[0]:.2f})")
    if not args.honest:
        sys.path.insert(0, str(TESTS))
        import hostile_cbor

        kinds = list(hostile_cbor.decoders()) if args.kinds == "all" else args.kinds.split(",")
        print(
            f"\n{args.size} MiB hostile inputs: wall s, CPU s, traced MiB (decoder's allocations), "
            "RSS MiB before decoding (interpreter + input) and at peak"
        )
        print(
            f"{'kind':<20} {'shape':<44} {'wall':>6} {'cpu':>6} {'traced':>7} {'rss0':>7} "
            f"{'rss':>7}  outcome"
        )
        shapes = args.shapes.split(";") if args.shapes else None
        results["hostile"] = hostile(args.size, kinds, shapes, not args.no_traced)
        print(f"(load average {os.getloadavg()[0]:.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
