"""Band planning of the per-interval charges: the public band table that the prover and the
verifier of a block or polynomial charge both derive from the component.

:func:`band_table` gives per band the lower bound, the upper bound and the fee polynomial, and
decides which band-bound checks the proof needs for soundness: none when every band has the
same polynomial, only the upper bound when claiming a higher band never costs less, only the
lower bound when claiming a lower band never costs less (and there is no cap), else both.
"Never costs less" is decided exactly by :func:`min_on_integers` (``docs/interval_components.md``
has the argument).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from math import isqrt

from privbill.errors import UsageError
from privbill.model.interval_components import BlockCharge, PolynomialCharge, evaluate


@dataclass(frozen=True, slots=True)
class BandTable:
    """What the proof of a banded charge needs: per band the lower bound, the upper bound
    (exclusive; for an unbounded last band ``lower + 2^bits``, the largest consumption a proof
    can cover there) and the fee polynomial (padded to ``degree + 1`` coefficients), and which
    band-bound checks are needed for soundness."""

    lowers: tuple[int, ...]
    uppers: tuple[int, ...]
    polys: tuple[tuple[int, ...], ...]
    degree: int
    bits: int
    capped: bool
    lower_check: bool
    upper_check: bool

    @property
    def bands(self) -> int:
        return len(self.lowers)

    @property
    def band_proof(self) -> bool:
        """Whether each interval proves its band (an OR over the bands)."""
        return self.lower_check or self.upper_check or len(set(self.polys)) > 1

    @property
    def checks(self) -> int:
        return int(self.lower_check) + int(self.upper_check)

    @property
    def ceiling(self) -> int:
        """Consumption from here up cannot be proven (cap, or the last lower bound + 2^bits)."""
        return self.uppers[-1]

    def band_of(self, c: int) -> int:
        for b, up in enumerate(self.uppers):
            if c < up:
                return b
        return self.bands - 1


def min_on_integers(poly: Sequence[int], lo: int, hi: int) -> int:
    """The exact minimum of the integer polynomial ``poly`` (degree ≤ 3, ascending) over the
    integers of ``[lo, hi]``.

    Between real critical points the polynomial is monotone, so the minimum over the integers is
    at an end of the interval or at an integer next to a critical point; the critical points (roots
    of the derivative, a quadratic) are bracketed with integer square roots, and every integer
    within one of a bracket is evaluated.
    """
    if lo > hi:
        raise UsageError(f"empty interval [{lo}, {hi}]", obj="polynomial")
    p = [*poly, 0, 0, 0, 0][:4]
    candidates = {lo, hi}
    a3, a2, a1 = 3 * p[3], 2 * p[2], p[1]  # derivative: a3·x² + a2·x + a1
    brackets: list[tuple[int, int]] = []  # (numerator range) over a positive denominator
    if a3 == 0:
        if a2 != 0:
            num, den = -a1, a2
            if den < 0:
                num, den = -num, -den
            brackets.append((num // den, num // den))
    else:
        disc = a2 * a2 - 4 * a3 * a1
        if disc >= 0:
            s = isqrt(disc)
            den = 2 * a3
            for sign in (1, -1):
                lo_num, hi_num = -a2 + sign * s, -a2 + sign * (s + 1)
                if den < 0:
                    lo_num, hi_num, d = -lo_num, -hi_num, -den
                else:
                    d = den
                ends = sorted((lo_num // d, hi_num // d))
                brackets.append((ends[0], ends[1]))
    for first, last in brackets:
        for x in range(first - 1, last + 3):
            if lo <= x <= hi:
                candidates.add(x)
    return min(evaluate(p, x) for x in candidates)


def _dominates(polys: Sequence[Sequence[int]], lowers: Sequence[int], uppers: Sequence[int],
               claimed_above: bool) -> bool:  # fmt: skip
    """Whether claiming any band above (``claimed_above``) or below the true band never costs
    less than the true band, for every consumption of every band."""
    n = len(polys)
    for t in range(n):
        others = range(t + 1, n) if claimed_above else range(t)
        for b in others:
            diff = [x - y for x, y in zip(polys[b], polys[t], strict=True)]
            if any(diff) and min_on_integers(diff, lowers[t], uppers[t] - 1) < 0:
                return False
    return True


def _make_table(uppers: Sequence[int | None], raw: Sequence[Sequence[int]], bits: int) -> BandTable:
    degree = max(
        (max((k for k, a in enumerate(p) if a), default=0) for p in raw),
        default=0,
    )
    polys = tuple(tuple([*p, 0, 0, 0, 0][: degree + 1]) for p in raw)
    lowers = tuple([0, *(u for u in uppers[:-1] if u is not None)])
    capped = uppers[-1] is not None
    last = uppers[-1] if uppers[-1] is not None else lowers[-1] + (1 << bits)
    ups = tuple([*(u for u in uppers[:-1] if u is not None), last])
    if len(set(polys)) == 1:
        lower, upper = False, capped
    elif _dominates(polys, lowers, ups, claimed_above=True):
        lower, upper = False, True
    elif not capped and _dominates(polys, lowers, ups, claimed_above=False):
        lower, upper = True, False
    else:
        lower, upper = True, True
    return BandTable(lowers, ups, polys, degree, bits, capped, lower, upper)


@lru_cache(maxsize=256)
def band_table(component: BlockCharge | PolynomialCharge) -> BandTable:
    """The band table of a (validated) component; computed once per component."""
    if isinstance(component, BlockCharge):
        uppers = [b.up_to for b in component.bands]
        return _make_table(uppers, [(0, b.price) for b in component.bands], component.bits)
    uppers = [b.up_to for b in component.bands]
    return _make_table(uppers, [b.coefficients for b in component.bands], component.bits)
