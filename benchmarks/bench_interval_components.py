"""Benchmark: block and polynomial charges on a month of quarter-hour readings (2976 intervals).

For each case: prove, verify, proof bytes (canonical CBOR of the component proof), the verifier's
floor — decoding (with full validation) every point the proof carries per interval, plus one
multi-scalar multiplication of the range proof's size — the batch MSM of the Sigma equations,
and the prover's range proof alone. Cases: 3-band block charge with inclining prices (one band
bound per interval), the same with a cap and prices that fall and rise (both bounds), and a
2-band cubic polynomial.

``--baseline`` also measures the construction without this module's refinements: per interval
``F, Lo, Hi`` with a compact CDS OR proof of 3-equation clauses (``oror.prove_or`` /
``oror.verify_or``), measured on 96 intervals and scaled to 2976, plus the range proof with both
bounds per interval (the "both bounds" case's range proof).

Run: ``python benchmarks/bench_interval_components.py`` (``--quick``: one repeat instead of 3 and 5).
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import time
from collections.abc import Callable
from typing import Any

from harness import median_time
from privbill.billing import block, polynomial
from privbill.billing.bands import band_table
from privbill.crypto import bulletproofs, group, oror, pedersen
from privbill.crypto.sigma import Instance, LinearRelation
from privbill.model import codec
from privbill.model.interval_components import (
    Band,
    BlockCharge,
    IntervalProof,
    PolynomialBand,
    PolynomialCharge,
)

INTERVALS = 2976
PB = group.POINT_BYTES

CASES: dict[str, BlockCharge | PolynomialCharge] = {
    "block, 3 bands, inclining": BlockCharge(
        "blocks", (Band(300, 100000), Band(800, 150000), Band(None, 210000))
    ),
    "block, 3 bands, capped, both bounds": BlockCharge(
        "blocks", (Band(300, 200000), Band(800, 150000), Band(2000, 180000))
    ),
    "polynomial, 2 bands, cubic": PolynomialCharge(
        "penalty",
        (PolynomialBand(1000, (0, 100000, 50)), PolynomialBand(None, (0, 200000, 50, 1))),
    ),
}


def carried_points(intervals: tuple[IntervalProof, ...]) -> list[tuple[bytes, int]]:
    """Every point a proof carries, as ``(bytes, count)`` chunks the verifier decodes."""
    out: list[tuple[bytes, int]] = []
    for ip in intervals:
        for data in (ip.fee, ip.lower, ip.upper, ip.powers):
            if data is not None:
                out.append((data, len(data) // PB))
        if ip.band is not None:
            k = (len(ip.band) + 32) // (PB + 64)  # B·48 + (2B − 1)·32 bytes
            out.append((ip.band[: k * PB], k))
        if ip.power_proof is not None:
            d = (len(ip.power_proof) - 32) // (PB + 32)
            out.append((ip.power_proof[: d * PB], d))
    return out


def range_msm_points(component: BlockCharge | PolynomialCharge, n: int) -> int:
    t = band_table(component)
    m = n * t.checks
    big_n = t.bits * (1 << (m - 1).bit_length())
    return 2 * big_n + 2 * (big_n.bit_length() - 1) + m + 7


def interleaved(jobs: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Run the jobs in turn, ``repeats`` rounds: each round sees about the same machine load."""
    out: dict[str, list[float]] = {k: [] for k in jobs}
    for _ in range(repeats):
        for k, fn in jobs.items():
            t0 = time.perf_counter()
            fn()
            out[k].append(time.perf_counter() - t0)
    return out


def msm_job(points: int) -> Callable[[], object]:
    """One MSM of ``points`` generators with random full-size scalars, split like the verifier's."""
    g, h = bulletproofs.vector_generators((points + 1) // 2)
    bases = (g + h)[:points]
    scalars = [group.random_scalar() for _ in bases]
    workers = bulletproofs.DEFAULT_WORKERS
    return lambda: group.msm_split(bases, scalars, workers)


def range_prove(m: int, bits: int) -> None:
    """The prover's range proof alone: ``m`` random in-range values."""
    values = [secrets.randbelow(1 << bits) for _ in range(m)]
    bulletproofs.prove(values, [group.random_scalar() for _ in values], bits)


def sigma_points(intervals: tuple[IntervalProof, ...]) -> int:
    """Points of the verifier's batch of Sigma equations."""
    return sum(k for _, k in carried_points(intervals)) + len(intervals) + 2  # + C_i, G, H


def baseline_or(values: list[int], blindings: list[int], repeats: int) -> tuple[float, float, int]:
    """Per-interval compact CDS OR with 3-equation clauses (``F``, ``Lo``, ``Hi``)."""
    bands = [(0, 300, 100000), (300, 800, 150000), (800, 800 + 2**16, 210000)]
    h = pedersen.generator_h()
    templates: list[LinearRelation] = []
    for lo, up, price in bands:
        rel = LinearRelation()
        beta, lam, mu = rel.scalars("beta", "lam", "mu")
        big_h = rel.element("H", h)
        f, c, lo_e, hi_e = rel.elements("F", "C", "Lo", "Hi")
        rel.equation(f - price * c, beta * big_h)
        rel.equation(lo_e - lo * rel.G, lam * big_h)
        rel.equation(hi_e - up * rel.G, mu * big_h)
        templates.append(rel)
    items: list[tuple[list[Instance], int, list[int]]] = []
    for v, r in zip(values, blindings, strict=True):
        b = next(j for j, (lo, up, _) in enumerate(bands) if lo <= v < up)
        lo, up, price = bands[b]
        rf, rl, ru = group.random_scalar(), group.random_scalar(), group.random_scalar()
        pts = {
            "F": pedersen.commit(price * v, rf),
            "C": pedersen.commit(v, r),
            "Lo": pedersen.commit(lo, rl),
            "Hi": pedersen.commit(up, ru),
        }
        clauses = [t.instance(pts) for t in templates]
        items.append((clauses, b, [(rf - price * r) % group.ORDER, rl, ru]))
    proofs: list[bytes] = []

    def prove_all() -> None:
        proofs.clear()
        for clauses, b, w in items:
            proofs.append(oror.prove_or(clauses, b, w, label="baseline"))

    def verify_all() -> None:
        for (clauses, _, _), p in zip(items, proofs, strict=True):
            assert oror.verify_or(clauses, p, label="baseline")

    t_prove = median_time(prove_all, repeats)
    t_verify = median_time(verify_all, repeats)
    size = sum(len(p) + 3 * PB for p in proofs)
    return t_prove, t_verify, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--baseline", action="store_true")
    args = ap.parse_args()
    repeats = 1 if args.quick else 3
    fine = 1 if args.quick else 5  # the cheaper measurements
    rng = random.Random(1)
    values = [rng.randrange(0, 1500) for _ in range(INTERVALS)]
    blindings = [group.random_scalar() for _ in values]
    points = [pedersen.commit(v, r) for v, r in zip(values, blindings, strict=True)]
    pedersen.precompute()
    ctx = bytes(32)
    rows: list[tuple[str, dict[str, float], int, float]] = []
    for name, component in CASES.items():
        module: Any = block if isinstance(component, BlockCharge) else polynomial
        tab = band_table(component)
        m = INTERVALS * tab.checks
        bulletproofs.precompute_generators(tab.bits * (1 << (m - 1).bit_length()))
        proof, fee, blind = module.prove(component, values, blindings, ctx, points=points)
        assert fee == component.fee(values)
        assert module.verify(component, points, ctx, proof, "c") == pedersen.commit(fee, blind)
        chunks = carried_points(proof.intervals)
        slow = interleaved(
            {
                "prove": lambda c=component, mod=module: mod.prove(
                    c, values, blindings, ctx, points=points
                ),
                "range prove": lambda m=m, b=tab.bits: range_prove(m, b),
            },
            repeats,
        )
        fast = interleaved(
            {
                "verify": lambda c=component, mod=module, p=proof: mod.verify(
                    c, points, ctx, p, "c"
                ),
                "decode": lambda ch=chunks: [group.decode_points(d, k) for d, k in ch],
                "range MSM": msm_job(range_msm_points(component, INTERVALS)),
                "sigma MSM": msm_job(sigma_points(proof.intervals)),
            },
            fine,
        )
        ratio = [
            v / (d + r)
            for v, d, r in zip(fast["verify"], fast["decode"], fast["range MSM"], strict=True)
        ]
        med = {k: statistics.median(v) for k, v in (slow | fast).items()}
        size = len(codec.encode(proof.to_obj()))
        rows.append((name, med, size, statistics.median(ratio)))
    print(
        f"{'case':<38} {'prove s':>8} {'(range)':>8} {'verify s':>9} {'bytes':>9} {'B/intv':>7} "
        f"{'floor s':>8} {'decode':>7} {'rangeMSM':>9} {'verify/floor':>12} {'sigmaMSM':>9}"
    )
    for name, t, size, ratio in rows:
        print(
            f"{name:<38} {t['prove']:>8.2f} {t['range prove']:>8.2f} {t['verify']:>9.3f} "
            f"{size:>9} {size / INTERVALS:>7.0f} {t['decode'] + t['range MSM']:>8.3f} "
            f"{t['decode']:>7.3f} {t['range MSM']:>9.3f} {ratio:>12.2f} {t['sigma MSM']:>9.3f}"
        )
    print(
        f"(medians: prove and (range), the range proof alone, of {repeats}, the rest of {fine}, "
        f"interleaved; verify/floor: median of the per-round ratios; {INTERVALS} intervals; "
        f"{bulletproofs.DEFAULT_WORKERS} workers)"
    )
    if args.baseline:
        sub = 96
        tp, tv, size = baseline_or(values[:sub], blindings[:sub], repeats)
        scale = INTERVALS / sub
        print(
            f"baseline compact OR (F, Lo, Hi; 3 equations per clause), {sub} intervals scaled to "
            f"{INTERVALS}: prove {tp * scale:.2f} s, verify {tv * scale:.2f} s, "
            f"{size / sub:.0f} bytes per interval (points and OR proof)"
        )


if __name__ == "__main__":
    main()
