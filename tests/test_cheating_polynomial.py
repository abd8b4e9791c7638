"""Cheating provers against the polynomial (spline) charge (``billing/polynomial.py``).

Besides every attack on the band (``test_cheating_block.py``: other bands, shifted and
cancelling fee commitments, replayed interval and component proofs), the cheater lies about the
powers of a reading: it commits to a square (or cube) that lowers the fee and makes the fee and
band proof consistent with it, or answers the power proof with the other witness that makes the
second equation hold. On random tables — degrees 0 to 3, negative, zero and crossing
coefficients, one band or several, capped or not — every forgery bills less than the honest fee
and must be refused with a typed error naming the part that fails.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cheaters import (
    BandClaim,
    attack_bands,
    bill_case,
    description,
    forge_bands,
    lenient_range_prover,
    shift_total,
    true_claims,
)
from privbill.billing import polynomial
from privbill.billing.bands import BandTable, band_table
from privbill.crypto.group import Point
from privbill.errors import ComponentProofError, FeeMismatchError
from privbill.model.interval_components import (
    IntervalProof,
    PolynomialBand,
    PolynomialCharge,
    PolynomialProof,
    evaluate,
)
from privbill.provider import Provider

PATH = "components[0]"


def _verifier(component: PolynomialCharge) -> Any:
    def verify(
        points: Sequence[Point], ctx: bytes, intervals: tuple[IntervalProof, ...], ranges: bytes
    ) -> Point:
        return polynomial.verify(component, points, ctx, PolynomialProof(intervals, ranges), PATH)

    return verify


def _charge(bands: list[tuple[int | None, tuple[int, ...]]]) -> PolynomialCharge:
    return PolynomialCharge("p", tuple(PolynomialBand(u, a) for u, a in bands), 8)


CASES = {
    # one band check (f_1 − f_0 > 0 on band 0), squares and cubes with positive coefficients
    "cubic, one bound": _charge([(200, (-500, 1000, 5)), (None, (0, 2000, 5, 1))]),
    # the pieces cross: both bounds
    "crossing cubic": _charge([(150, (1000, 1000, 5, -1)), (None, (0, 1000, 50, 1))]),
    # one polynomial, no band proof: only the power proof stands between a cheater and c²
    "one cubic": _charge([(None, (5000, 1000, 5, 1))]),
    # a negative square: a cheater claims a larger c²
    "negative square": _charge([(100, (0, 3000, -7)), (None, (9, -20, 3, -1))]),
    # degree 0: fixed fees per band (steps)
    "steps": _charge([(120, (1000,)), (None, (2500,))]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_no_cheaper_claim_is_accepted(name: str) -> None:
    component = CASES[name]
    table = band_table(component)
    values = [3, 119, 150, table.ceiling - 1]
    submitted = attack_bands(
        "polynomial",
        "polynomial",
        table,
        values,
        _verifier(component),
        PATH,
        random.Random(name),
    )
    assert submitted > 0


@st.composite
def polynomial_tables(draw: st.DrawFn) -> PolynomialCharge:
    n = draw(st.integers(1, 3))
    widths = draw(st.lists(st.integers(1, 256), min_size=n, max_size=n))
    capped = draw(st.booleans())
    degree = draw(st.integers(0, 3))
    bands: list[tuple[int | None, tuple[int, ...]]] = []
    acc = 0
    for w in widths:
        acc += w
        coefficients = draw(st.lists(st.integers(-9, 9), min_size=degree + 1, max_size=degree + 1))
        bands.append((acc, tuple(coefficients)))
    if not capped:
        bands[-1] = (None, bands[-1][1])
    return _charge(bands)


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(polynomial_tables(), st.data())
def test_random_tables_refuse_every_forgery(
    component: PolynomialCharge, data: st.DataObject
) -> None:
    table = band_table(component)
    values = data.draw(st.lists(st.integers(0, table.ceiling - 1), min_size=1, max_size=3))
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    attack_bands("polynomial", "polynomial", table, values, _verifier(component), PATH, rng)


# --- whole bills ---------------------------------------------------------------------------

PENALTY = {
    "kind": "polynomial",
    "name": "peak penalty",
    "bits": 8,
    "bands": [
        {"up_to_wh": "200", "coefficients": ["0", "0.1", "0.5"]},
        {"up_to_wh": None, "coefficients": ["0.01", "0.05", "-0.2", "1"]},
    ],
}


@pytest.fixture(scope="module")
def case(provider: Provider) -> Any:
    return bill_case(
        provider,
        description(["0.10", "-0.01"], [PENALTY]),
        "2026-05-01/2026-05-02",
        lambda k, m: (k * 173) % 450,  # below the last bound + 2^8
    )


def _forger(
    claims: Callable[[BandTable, list[int]], list[BandClaim]], ranges: bytes | None
) -> Callable[..., Any]:
    def make(
        c: PolynomialCharge, vals: list[int], blindings: list[int], ctx: bytes, **kw: Any
    ) -> tuple[PolynomialProof, int, int]:
        table = band_table(c)
        iv, rg, fee, blind = forge_bands(
            "polynomial", table, vals, blindings, ctx, claims(table, vals), ranges
        )
        return PolynomialProof(iv, rg), fee, blind

    return make


def _dearest(table: BandTable, values: list[int]) -> int:
    fees = [evaluate(table.polys[table.band_of(c)], c) for c in values]
    return fees.index(max(fees))


def test_wrong_powers_in_a_bill(case: Any) -> None:
    """A smaller cube, then a smaller square (with the cube its product), at the dearest
    reading; fee and band proof consistent with the lie: the power proof objects."""
    table = band_table(case.tariff.body.components[0])
    k = _dearest(table, case.values[0])
    c = case.values[0][k]
    assert table.band_of(c) == 1  # the cubic band: a³ = 1 > 0, a² = −0.2 < 0

    def smaller_cube(t: BandTable, vals: list[int]) -> list[BandClaim]:
        cl = true_claims(t, vals)
        cl[k] = BandClaim(cl[k].band, powers=(c * c, c**3 // 2))
        return cl

    def larger_square(t: BandTable, vals: list[int]) -> list[BandClaim]:
        cl = true_claims(t, vals)
        s2 = c * c + 1000
        cl[k] = BandClaim(cl[k].band, powers=(s2, c * s2 - 10**6))
        return cl

    ranges = case.honest.components[0].ranges  # the power proof fails first
    for lie in (smaller_cube, larger_square):
        case.refuse(
            "polynomial",
            case.forge(polynomial, "prove", _forger(lie, ranges)),
            ComponentProofError,
            field=rf"components\[0\]\.intervals\[{k}\]\.power_proof",
        )


def test_cheapest_band_and_shifted_total_in_a_bill(
    case: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cheapest(self: BandTable, c: int) -> int:
        fees = [evaluate(p, c) for p in self.polys]
        return fees.index(min(fees))

    monkeypatch.setattr(BandTable, "band_of", cheapest)
    with lenient_range_prover():
        forged = case.prove()
    case.refuse("polynomial", forged, ComponentProofError, field=r"components\[0\]\.ranges")
    for blinding in (0, 1, -1):
        case.refuse("polynomial", shift_total(case.honest, -1, blinding), FeeMismatchError)
