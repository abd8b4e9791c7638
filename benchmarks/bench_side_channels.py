"""What constant-time group operations cost against the variable-time ones the provers use.

Prints medians (µs) of: a commitment through the fixed-base tables, the same commitment through
blst's constant-time path, a variable-time scalar multiplication, and the estimated extra time
to move each class of secret multiplication to the constant-time path (docs/security.md §6).

    python benchmarks/bench_side_channels.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from privbill.crypto import group, pedersen

REPEAT = 7
SAMPLE = 200


def _median_us(fn: Callable[[int, int], object], pairs: list[tuple[int, int]]) -> float:
    runs = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        for v, r in pairs:
            fn(v, r)
        runs.append((time.perf_counter() - t0) / len(pairs))
    return statistics.median(runs) * 1e6


def main() -> None:
    pedersen.precompute()
    h = pedersen.generator_h()
    pairs = [(group.random_scalar() >> 192, group.random_scalar()) for _ in range(SAMPLE)]
    table = _median_us(pedersen.commit, pairs)
    ct = _median_us(pedersen.commit_ct, pairs)
    var = _median_us(lambda v, r: group.mul(h, r), pairs)
    print(f"commitment, fixed-base tables      {table:8.1f} µs")
    print(f"commitment, constant-time (blst)   {ct:8.1f} µs   ({ct / table:.1f}× the tables)")
    print(f"scalar multiplication, variable    {var:8.1f} µs")
    print()
    readings = 2976
    print("extra time if moved to the constant-time path (a 2976-reading month):")
    print(f"  tier parts, peak, minimum gap (≤ 18 commitments)   {18 * (ct - table) / 1e3:8.1f} ms")
    print(
        f"  lookup fee commitments (one per interval)          {readings * (ct - table) / 1e3:8.1f} ms"
    )
    big_n = 16 * 4096  # demand range proof: 16 bits × 2976 values padded to 4096
    # A (bits), S (2N), and the inner-product rounds (about 2N in all) as single multiplications
    secret_mults = 5 * big_n
    print(
        f"  demand range proof's prover MSMs (~{secret_mults} secret multiplications)"
        f" {secret_mults * ct / 1e6:6.1f} s"
    )


if __name__ == "__main__":
    main()
