"""Timings of the zero-knowledge gadgets, batch verification and OR proofs.

Usage: ``python benchmarks/bench_sigma.py [--quick]``

Prints median prove / verify times per gadget (milliseconds), batch verification of opening
proofs against verifying them one by one, and OR proofs over 2, 8 and 64 rows, with the targets
(batch at least 5x faster than one by one, opening verify under 1 ms, OR over 8 rows verify under
5 ms).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

from harness import timed
from privbill.crypto import gadgets, group, pedersen, sigma, transcript
from privbill.crypto.group import Point
from privbill.crypto.pedersen import Opening
from privbill.crypto.sigma import Flavor

T = TypeVar("T")


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3


def opening(value: int) -> Opening:
    return Opening(value, group.random_scalar())


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"benchmark sanity check failed: {what}")


def gadget_rows(repeats: int) -> list[tuple[str, float, float, int]]:
    rows: list[tuple[str, float, float, int]] = []

    def row(name: str, prove: Callable[[], bytes], verify: Callable[[bytes], bool]) -> None:
        proof = prove()
        check(verify(proof), name)
        rows.append(
            (name, median_ms(prove, repeats), median_ms(lambda: verify(proof), repeats), len(proof))
        )

    a = opening(1200)
    ca = a.commitment()
    twin = opening(1200)
    ct = twin.commitment()
    ctx = b"meter:0042|period:2025-01"

    for flavor in Flavor:
        label = flavor.name.lower()
        row(
            f"opening ({label})",
            lambda f=flavor: gadgets.prove_opening(ca, a, context=ctx, flavor=f),
            lambda p, f=flavor: gadgets.verify_opening(ca, p, context=ctx, flavor=f),
        )
    row(
        "equal (batchable)",
        lambda: gadgets.prove_equal(ca, ct, a, twin, context=ctx),
        lambda p: gadgets.verify_equal(ca, ct, p, context=ctx),
    )
    readings = [opening(v) for v in (250, 300, 275, 310)]
    rc = [o.commitment() for o in readings]
    total = opening(1135)
    row(
        "linear, 4 terms = public",
        lambda: gadgets.prove_linear([1, 1, 1, 1], rc, readings, 1135, context=ctx),
        lambda p: gadgets.verify_linear([1, 1, 1, 1], rc, 1135, p, context=ctx),
    )
    row(
        "linear, 4 terms = committed",
        lambda: gadgets.prove_linear(
            [1, 1, 1, 1], rc, readings, total.commitment(), total, context=ctx
        ),
        lambda p: gadgets.verify_linear([1, 1, 1, 1], rc, total.commitment(), p, context=ctx),
    )
    # powers c², c³ of a: on a transcript over the chain (C, S, K), one MSM of the equations
    rs = [a.blinding, group.random_scalar(), group.random_scalar()]
    chain = [pedersen.commit(a.value**k, r) for k, r in zip((1, 2, 3), rs, strict=True)]
    chain_bytes = b"".join(group.encode_point(p) for p in chain)

    def powers_transcript() -> transcript.Transcript:
        t = transcript.Transcript(transcript.derive_session_id(b"bench/powers"))
        t.absorb_instance(ctx + chain_bytes)
        return t

    def verify_powers(p: bytes) -> bool:
        n_points, n_scalars = gadgets.powers_length(3)
        t_bytes = p[: n_points * group.POINT_BYTES]
        ts = group.decode_points(t_bytes, n_points)
        zs = transcript.decode_scalars(p[len(t_bytes) :], n_scalars)
        bases, scalars, g, h = gadgets.powers_terms(powers_transcript(), t_bytes, ts, zs, chain)
        gens = [pedersen.generator_g(), pedersen.generator_h()]
        return group.is_identity(group.msm([*bases, *gens], [*scalars, g, h]))

    row(
        "powers c², c³ (batchable)",
        lambda: gadgets.prove_powers(powers_transcript(), a.value, rs),
        verify_powers,
    )
    band, price = opening(2), opening(35)
    tariff = [[0, 21], [1, 28], [2, 35], [3, 17]]
    tc = [band.commitment(), price.commitment()]
    row(
        "table 4 rows x 2 columns",
        lambda: gadgets.prove_membership(tc, [band, price], tariff, context=ctx),
        lambda p: gadgets.verify_membership(tc, tariff, p, context=ctx),
    )
    return rows


def or_rows(sizes: list[int], repeats: int) -> list[tuple[str, float, float, int]]:
    rows = []
    for n in sizes:
        values = list(range(1000, 1000 + n))
        o = opening(values[n // 2])
        c = o.commitment()
        proof = gadgets.prove_in_set(c, o, values)
        check(gadgets.verify_in_set(c, values, proof), f"OR {n}")
        reps = max(3, repeats // max(1, n // 8))
        rows.append(
            (
                f"OR over {n} rows",
                median_ms(lambda v=values, o=o, c=c: gadgets.prove_in_set(c, o, v), reps),
                median_ms(lambda v=values, c=c, p=proof: gadgets.verify_in_set(c, v, p), reps),
                len(proof),
            )
        )
    return rows


def draft_literal_verify(commitment: Point, proof: bytes) -> bool:
    """VerifyBatchable spelled out as in the draft: deserialise the commitment and response,
    derive the challenge, run ``Verifier``."""
    st = gadgets.opening_statement(commitment)
    try:
        points = transcript.decode_points(proof[:48], 1)
        response = transcript.decode_scalars(proof[48:], 2)
    except transcript.CodecError:
        return False
    challenge = sigma.derive_challenge(st.tag, st.instance, proof[:48])
    return sigma.verifier(st.instance, points, challenge, response)


def batch_rows(n: int, repeats: int) -> dict[str, float]:
    ops = [opening(v) for v in range(n)]
    items = [(o.commitment(), gadgets.prove_opening(o.commitment(), o)) for o in ops]
    one_by_one: list[float] = []
    literal: list[float] = []
    batched: list[float] = []
    for _ in range(repeats):
        ok, ms = timed(lambda: all(gadgets.verify_opening(c, p) for c, p in items))
        check(ok, "one by one")
        one_by_one.append(ms)
        ok, ms = timed(lambda: all(draft_literal_verify(c, p) for c, p in items))
        check(ok, "draft-literal one by one")
        literal.append(ms)
        ok, ms = timed(lambda: gadgets.verify_openings_batch(items))
        check(ok, "batch")
        batched.append(ms)
    bad = [*items[:-1], (items[-1][0], items[0][1])]
    check(not gadgets.verify_openings_batch(bad), "batch with one bad proof is rejected")
    return {
        "one_by_one": statistics.median(one_by_one),
        "literal": statistics.median(literal),
        "batch": statistics.median(batched),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller batch")
    args = parser.parse_args()
    repeats = 7 if args.quick else 31
    batch_n = 1000
    batch_repeats = 1 if args.quick else 3

    pedersen.precompute()
    warm = opening(1)
    gadgets.verify_opening(warm.commitment(), gadgets.prove_opening(warm.commitment(), warm))

    print(f"privbill zero-knowledge benchmarks ({'quick' if args.quick else 'full'} run)")
    print(f"medians over {repeats} repeats, milliseconds\n")
    header = f"{'statement':<30} {'prove ms':>10} {'verify ms':>10} {'proof bytes':>12}"
    print(header)
    print("-" * len(header))
    rows = gadget_rows(repeats) + or_rows([2, 8, 64], repeats)
    for name, p_ms, v_ms, size in rows:
        print(f"{name:<30} {p_ms:>10.3f} {v_ms:>10.3f} {size:>12}")

    print(f"\nbatch verification of {batch_n} opening proofs (median of {batch_repeats})")
    b = batch_rows(batch_n, batch_repeats)
    print(f"{'one by one (verify_opening)':<40} {b['one_by_one']:>10.1f} ms")
    print(f"{'one by one (deserialise + Verifier)':<40} {b['literal']:>10.1f} ms")
    print(f"{'batch_verify (one MSM)':<40} {b['batch']:>10.1f} ms")
    ratio = b["one_by_one"] / b["batch"]
    literal_ratio = b["literal"] / b["batch"]
    print(f"{'ratio one-by-one / batch':<40} {ratio:>10.2f} x")
    print(f"{'ratio deserialise+Verifier / batch':<40} {literal_ratio:>10.2f} x")

    opening_verify = next(v for name, _, v, _ in rows if name == "opening (batchable)")
    or8_verify = next(v for name, _, v, _ in rows if name == "OR over 8 rows")
    print("\ntargets")
    for label, value, target, good in (
        ("batch >= 5x faster than one by one", ratio, "5x", ratio >= 5),
        ("opening proof verify < 1 ms", opening_verify, "1 ms", opening_verify < 1),
        ("OR over 8 rows verify < 5 ms", or8_verify, "5 ms", or8_verify < 5),
    ):
        print(f"  {label:<40} {value:>8.2f} (target {target}): {'met' if good else 'NOT met'}")


if __name__ == "__main__":
    main()
