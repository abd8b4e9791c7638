"""Timings of aggregated Bulletproofs range proofs (16-bit values).

Usage: ``python benchmarks/bench_bulletproofs.py [--quick] [--repeats R] [--strategy-m M]``

For m = 1, 16, 256 and 2976 values (``--quick``: 1 and 16) it prints, as medians:

* the aggregated proof: prove time with 2 and 1 worker threads, verify time, proof bytes and
  group elements plus scalars;
* the verifier's floor: one multi-scalar multiplication of the same size as the verifier's,
  with random full-size scalars, and the ratio verify / floor (same thread count on both sides);
* m separate bit-decomposition range proofs: 16 bit commitments per value, each with an OR proof
  (``gadgets.prove_in_set(C, ·, [0, 1])``) and the check ``Σ 2^k·C_k = V``. They are measured on
  at most 16 values; larger m are extrapolated linearly, and the output says so.

A full run also breaks the prover's time for the largest m down into its phases (one worker)
and compares generator-folding strategies of the inner-product argument on ``N = 16·M`` bits
(``--strategy-m``, default 1024).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from privbill.crypto import bulletproofs as bp
from privbill.crypto import gadgets, group, pedersen
from privbill.crypto.group import Point
from privbill.crypto.pedersen import Opening
from privbill.crypto.transcript import Transcript

Q = group.ORDER
N_BITS = 16
CTX = b"bench|meter:0042|period:2026-01"
SAMPLE = 16


def median_s(fn: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"benchmark sanity check failed: {what}")


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


# --- baseline: bit decomposition with OR proofs --------------------------------------------


def bit_prove(value: int, blinding: int) -> tuple[list[Point], list[bytes]]:
    """Commit to every bit (blindings chosen so that Σ 2^k·C_k = V) and prove each in {0, 1}."""
    bits = [(value >> k) & 1 for k in range(N_BITS)]
    rs = [group.random_scalar() for _ in range(N_BITS - 1)]
    rest = (blinding - sum(r << k for k, r in enumerate(rs))) % Q
    rs.append(rest * pow(1 << (N_BITS - 1), -1, Q) % Q)
    cs = [pedersen.commit(b, r) for b, r in zip(bits, rs, strict=True)]
    proofs = [
        gadgets.prove_in_set(c, Opening(b, r), [0, 1], context=CTX)
        for c, b, r in zip(cs, bits, rs, strict=True)
    ]
    return cs, proofs


def bit_verify(commitment: Point, cs: list[Point], proofs: list[bytes]) -> bool:
    if group.msm(cs, [1 << k for k in range(N_BITS)]) != commitment:
        return False
    return all(
        gadgets.verify_in_set(c, [0, 1], p, context=CTX) for c, p in zip(cs, proofs, strict=True)
    )


def bit_baseline(values: Sequence[int], blindings: Sequence[int], repeats: int) -> dict[str, float]:
    """Per-value medians over a sample of at most SAMPLE values."""
    vs, rs = values[:SAMPLE], blindings[:SAMPLE]
    commitments = [pedersen.commit(v, r) for v, r in zip(vs, rs, strict=True)]
    made = [bit_prove(v, r) for v, r in zip(vs, rs, strict=True)]
    check(
        all(bit_verify(c, *m) for c, m in zip(commitments, made, strict=True)), "bit decomposition"
    )
    reps = max(1, repeats // 2)
    prove = median_s(lambda: [bit_prove(v, r) for v, r in zip(vs, rs, strict=True)], reps)
    verify = median_s(
        lambda: [bit_verify(c, *m) for c, m in zip(commitments, made, strict=True)], reps
    )
    size = sum(48 + len(p) for p in made[0][1])
    return {
        "prove": prove / len(vs),
        "verify": verify / len(vs),
        "bytes": size,
        "elements": N_BITS * (1 + len(made[0][1][0]) // 32),
        "sample": len(vs),
    }


# --- aggregated proofs ---------------------------------------------------------------------


def msm_size(statement: bp.RangeStatement) -> int:
    """Points in the verifier's multi-scalar multiplication."""
    return 2 * statement.size + 3 + 4 + 2 * statement.rounds + len(statement.commitments)


def floor_points(statement: bp.RangeStatement, proof: bp.RangeProof) -> list[Point]:
    gs, hs = bp.vector_generators(statement.size)
    extra = [pedersen.generator_g(), pedersen.generator_h(), bp.generator_u()]
    extra += [proof.A, proof.S, proof.T1, proof.T2, *proof.L, *proof.R]
    return [*gs, *hs, *extra, *statement.commitments]


def aggregated_row(m: int, repeats: int, prove_repeats: int) -> dict[str, Any]:
    values = [secrets.randbelow(1 << N_BITS) for _ in range(m)]
    values[0] = (1 << N_BITS) - 1
    blindings = [group.random_scalar() for _ in range(m)]
    commitments = [pedersen.commit(v, r) for v, r in zip(values, blindings, strict=True)]
    statement = bp.values_statement(commitments, N_BITS, context=CTX)

    start = time.perf_counter()
    bp.precompute_generators(statement.size)
    setup = time.perf_counter() - start

    proof = bp.prove_statement(statement, values, blindings)
    check(bp.verify_statement(statement, proof), f"aggregated proof m={m}")
    encoded = proof.encode()
    row: dict[str, Any] = {
        "m": m,
        "N": statement.size,
        "setup": setup,
        "bytes": len(encoded),
        "elements": proof.num_elements,
        "msm": msm_size(statement),
    }
    for w in (2, 1):
        row[f"prove{w}"] = median_s(
            lambda w=w: bp.prove_statement(statement, values, blindings, workers=w), prove_repeats
        )
    points = floor_points(statement, proof)
    check(len(points) == row["msm"], "floor size")
    scalars = [secrets.randbelow(Q) for _ in points]
    for w in (1, 2):
        row[f"verify{w}"] = median_s(
            lambda w=w: bp.verify_statement(statement, encoded, workers=w), repeats
        )
        row[f"floor{w}"] = median_s(lambda w=w: group.msm_split(points, scalars, w), repeats)
    row["baseline"] = bit_baseline(values, blindings, repeats)
    return row


def print_rows(rows: list[dict[str, Any]]) -> None:
    print("\naggregated Bulletproofs, n = 16 (medians; w = worker threads)")
    header = (
        f"{'m':>5} {'N':>6} {'bytes':>6} {'elems':>5} {'prove w=2':>10} {'prove w=1':>10} "
        f"{'verify w=1':>10} {'floor w=1':>10} {'ratio':>6} {'verify w=2':>10} "
        f"{'floor w=2':>10} {'ratio':>6} {'msm pts':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['m']:>5} {r['N']:>6} {r['bytes']:>6} {r['elements']:>5} "
            f"{fmt_s(r['prove2']):>10} {fmt_s(r['prove1']):>10} "
            f"{fmt_s(r['verify1']):>10} {fmt_s(r['floor1']):>10} "
            f"{r['verify1'] / r['floor1']:>6.2f} {fmt_s(r['verify2']):>10} "
            f"{fmt_s(r['floor2']):>10} {r['verify2'] / r['floor2']:>6.2f} {r['msm']:>8}"
        )
    print("\none-time generator derivation (hash to curve, cached per process):")
    for r in rows:
        print(f"  up to N = {r['N']:>6}: {fmt_s(r['setup'])} (incremental)")

    print("\nm separate bit-decomposition proofs (16 OR proofs + 16 bit commitments per value)")
    header = (
        f"{'m':>5} {'prove':>10} {'verify':>10} {'bytes':>9} {'elems':>7} "
        f"{'prove x':>8} {'verify x':>8} {'bytes x':>8}  note"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        b = r["baseline"]
        m = r["m"]
        prove, verify = b["prove"] * m, b["verify"] * m
        size, elems = b["bytes"] * m, b["elements"] * m
        note = f"extrapolated from {b['sample']} values" if m > b["sample"] else "measured"
        print(
            f"{m:>5} {fmt_s(prove):>10} {fmt_s(verify):>10} {size:>9} {elems:>7} "
            f"{prove / r['prove2']:>8.1f} {verify / r['verify1']:>8.1f} "
            f"{size / r['bytes']:>8.1f}  {note}"
        )
    print("  (x = bit-decomposition / aggregated: prove vs w=2, verify vs w=1, bytes)")


# --- prover breakdown ----------------------------------------------------------------------


@contextmanager
def instrumented() -> Iterator[defaultdict[str, float]]:
    """Time the prover's phases by wrapping the functions it calls."""
    acc: defaultdict[str, float] = defaultdict(float)
    saved: tuple[Any, ...] = (group.msm_many, group.msm_split, bp._fold_bases, bp._ipa_prove)
    depth = {"ipa": 0, "fold": 0}

    def many(jobs: Any, workers: int = 1) -> list[Point]:
        start = time.perf_counter()
        out = saved[0](jobs, workers)
        if not depth["fold"]:
            acc["IPA: L, R multi-exponentiations" if depth["ipa"] else "A (two 0/1 MSMs)"] += (
                time.perf_counter() - start
            )
        return out

    def split(points: Any, scalars: Any, workers: int = 1) -> Point:
        start = time.perf_counter()
        out = saved[1](points, scalars, workers)
        acc["S (one MSM, 2N points)"] += time.perf_counter() - start
        return out

    def fold(*args: Any) -> list[Point]:
        start = time.perf_counter()
        depth["fold"] += 1
        try:
            return saved[2](*args)
        finally:
            depth["fold"] -= 1
            acc["IPA: generator folding (T-point MSMs)"] += time.perf_counter() - start

    def ipa(*args: Any) -> Any:
        start = time.perf_counter()
        depth["ipa"] += 1
        try:
            return saved[3](*args)
        finally:
            depth["ipa"] -= 1
            acc["IPA total"] += time.perf_counter() - start

    names = [(group, "msm_many"), (group, "msm_split"), (bp, "_fold_bases"), (bp, "_ipa_prove")]
    for (module, name), fn in zip(names, (many, split, fold, ipa), strict=True):
        setattr(module, name, fn)
    try:
        yield acc
    finally:
        for (module, name), fn in zip(names, saved, strict=True):
            setattr(module, name, fn)


def breakdown(m: int) -> None:
    values = [secrets.randbelow(1 << N_BITS) for _ in range(m)]
    blindings = [group.random_scalar() for _ in range(m)]
    commitments = [pedersen.commit(v, r) for v, r in zip(values, blindings, strict=True)]
    statement = bp.values_statement(commitments, N_BITS, context=CTX)
    bp.precompute_generators(statement.size)
    with instrumented() as acc:
        start = time.perf_counter()
        bp.prove_statement(statement, values, blindings, workers=1)
        total = time.perf_counter() - start
    ipa_rest = acc["IPA total"] - acc["IPA: L, R multi-exponentiations"]
    ipa_rest -= acc["IPA: generator folding (T-point MSMs)"]
    outside = total - acc["IPA total"] - acc["A (two 0/1 MSMs)"] - acc["S (one MSM, 2N points)"]
    print(f"\nprover breakdown, m = {m} (N = {statement.size}), one worker: total {fmt_s(total)}")
    parts = [
        ("A (two 0/1 MSMs)", acc["A (two 0/1 MSMs)"]),
        ("S (one MSM, 2N points)", acc["S (one MSM, 2N points)"]),
        ("IPA: L, R multi-exponentiations", acc["IPA: L, R multi-exponentiations"]),
        ("IPA: generator folding (T-point MSMs)", acc["IPA: generator folding (T-point MSMs)"]),
        ("IPA: scalar arithmetic, transcript", ipa_rest),
        ("rest: openings, l(X), r(X), t(X), T1, T2", outside),
    ]
    for name, seconds in parts:
        print(f"  {name:<44} {fmt_s(seconds):>10} {100 * seconds / total:>5.1f} %")


# --- folding strategies of the inner-product argument --------------------------------------


def ipa_explicit(
    t: Transcript,
    gs: list[Point],
    hs: list[Point],
    hw: list[int],
    u: Point,
    a: list[int],
    b: list[int],
    deferred: bool,
) -> tuple[list[Point], list[Point], int, int]:
    """The inner-product prover folding generators every round with scalar multiplications.

    Actual generators are ``weight_i · stored_i`` (initially ``H'_i = y^-i·H_i``). Plain folding
    costs two multiplications per new generator (``x⁻¹·G_lo + x·G_hi``); ``deferred`` costs one
    (``G_lo + x²·(w_hi/w_lo)·G_hi`` with the factor ``x⁻¹·w_lo`` kept as the new weight)."""
    wg = [1] * len(gs)
    wh = list(hw)
    mul = group.mul
    lefts, rights = [], []
    while len(a) > 1:
        n2 = len(a) // 2
        a_lo, a_hi, b_lo, b_hi = a[:n2], a[n2:], b[:n2], b[n2:]
        cl = sum(p * q for p, q in zip(a_lo, b_hi, strict=True)) % Q
        cr = sum(p * q for p, q in zip(a_hi, b_lo, strict=True)) % Q
        left = group.msm(
            [*gs[n2:], *hs[:n2], u],
            [
                *(v * w for v, w in zip(a_lo, wg[n2:], strict=True)),
                *(v * w for v, w in zip(b_hi, wh[:n2], strict=True)),
                cl,
            ],
        )
        right = group.msm(
            [*gs[:n2], *hs[n2:], u],
            [
                *(v * w for v, w in zip(a_hi, wg[:n2], strict=True)),
                *(v * w for v, w in zip(b_lo, wh[n2:], strict=True)),
                cr,
            ],
        )
        t.absorb_points([left, right])
        lefts.append(left)
        rights.append(right)
        x = t.challenge()
        x_inv = pow(x, -1, Q)
        a = [(p * x + q * x_inv) % Q for p, q in zip(a_lo, a_hi, strict=True)]
        b = [(p * x_inv + q * x) % Q for p, q in zip(b_lo, b_hi, strict=True)]
        if len(a) == 1:
            break
        g_lo, g_hi, h_lo, h_hi = gs[:n2], gs[n2:], hs[:n2], hs[n2:]
        if deferred:
            x2, x2_inv = x * x % Q, x_inv * x_inv % Q
            inv_g, inv_h = group.batch_invert(wg[:n2]), group.batch_invert(wh[:n2])
            gs = [
                lo + mul(hi, x2 * w * i % Q)
                for lo, hi, w, i in zip(g_lo, g_hi, wg[n2:], inv_g, strict=True)
            ]
            hs = [
                lo + mul(hi, x2_inv * w * i % Q)
                for lo, hi, w, i in zip(h_lo, h_hi, wh[n2:], inv_h, strict=True)
            ]
            wg = [w * x_inv % Q for w in wg[:n2]]
            wh = [w * x % Q for w in wh[:n2]]
        else:
            gs = [
                mul(lo, x_inv * wl) + mul(hi, x * wh_)
                for lo, hi, wl, wh_ in zip(g_lo, g_hi, wg[:n2], wg[n2:], strict=True)
            ]
            hs = [
                mul(lo, x * wl) + mul(hi, x_inv * wh_)
                for lo, hi, wl, wh_ in zip(h_lo, h_hi, wh[:n2], wh[n2:], strict=True)
            ]
            wg, wh = [1] * n2, [1] * n2
    return lefts, rights, a[0], b[0]


def strategies(m: int) -> None:
    big_n = N_BITS * m
    gs, hs = bp.vector_generators(big_n)
    u = bp.generator_u()
    a = [secrets.randbelow(Q) for _ in range(big_n)]
    b = [secrets.randbelow(Q) for _ in range(big_n)]
    y_inv = secrets.randbelow(Q - 1) + 1
    hw = [pow(y_inv, i, Q) for i in range(big_n)]

    def fresh() -> Transcript:
        t = Transcript.from_tag(b"privbill/bench/ipa-strategies")
        t.absorb_instance(b"bench")
        return t

    print(f"\ninner-product prover strategies, N = {big_n} (one run each, one worker)")
    results: list[tuple[str, float, Any]] = []
    for name, deferred in (("fold every round, 2 mults/generator", False), ("deferred", True)):
        start = time.perf_counter()
        out = ipa_explicit(fresh(), gs, hs, hw, u, a, b, deferred)
        results.append((name, time.perf_counter() - start, out))
    for blocks in (2, 4, 8, 16, 32, 1 << 30):
        label = "never fold (all rounds implicit)" if blocks > big_n else f"fold at T = {blocks}"
        start = time.perf_counter()
        out = bp._ipa_prove(fresh(), gs, hs, hw, u, 1, a, b, 1, blocks)
        results.append((label, time.perf_counter() - start, out))
    reference = results[-1][2]
    for name, seconds, out in results:
        check(out == reference, f"strategy {name} computes the same argument")
        chosen = "  <- default" if name == f"fold at T = {bp.FOLD_BLOCKS}" else ""
        print(f"  {name:<40} {fmt_s(seconds):>10}{chosen}")
    print("  (all strategies produce identical L, R, a, b)")


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only m = 1 and 16")
    parser.add_argument("--repeats", type=int, default=5, help="repeats for medians (default 5)")
    parser.add_argument(
        "--strategy-m", type=int, default=1024, help="values in the strategy comparison"
    )
    parser.add_argument(
        "--strategies-only", action="store_true", help="only the folding-strategy comparison"
    )
    args = parser.parse_args()
    sizes = [1, 16] if args.quick else [1, 16, 256, 2976]
    if args.strategies_only:
        strategies(args.strategy_m)
        return

    pedersen.precompute()
    print(f"privbill Bulletproofs benchmark ({'quick' if args.quick else 'full'} run)")
    print(f"n = {N_BITS} bits, medians over {args.repeats} repeats (prove: 3 for m > 256)")
    rows = []
    for m in sizes:
        prove_repeats = args.repeats if m <= 256 else min(args.repeats, 3)
        rows.append(aggregated_row(m, args.repeats, prove_repeats))
        print(f"  m = {m} done", flush=True)
    print_rows(rows)
    if not args.quick:
        breakdown(sizes[-1])
        strategies(args.strategy_m)


if __name__ == "__main__":
    main()
