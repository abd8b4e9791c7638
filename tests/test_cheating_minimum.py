"""Cheating provers against the minimum bill (``billing/minimum.py``).

With everything else ``S`` committed in ``C_S``, the cheater claims the minimum "applied" when
``S`` is above it (range proof over ``minimum·G − C_S`` made anyway, or made for another point,
or replayed from a month where the minimum did apply), claims it "not applied" with a total
below the minimum, opens ``C_S`` to another total with every blinding it could try (value moved
between the opened total and the blinding), raises to less than the minimum, or reveals a
blinding with a raised bill. Subtotals are random, including negative ones (negative energy
prices) and ones right at the minimum; every forgery bills less than the tariff says and must
be refused with a typed error.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cheaters import bill_case, description, lenient_range_prover, refused, shift_total
from privbill.billing import minimum
from privbill.crypto import bulletproofs, group, pedersen
from privbill.errors import ComponentProofError, FeeMismatchError
from privbill.model.component_proofs import MinimumProof
from privbill.model.components import Minimum
from privbill.provider import Provider

PATH = "components[1]"
CTX = b"cheating-minimum"


def _verify(
    c: Minimum,
    subtotal: int,
    r: int,
    total: int,
    blinding: int,
    proof: MinimumProof,
    ctx: bytes = CTX,
) -> None:
    minimum.verify(c, pedersen.commit(subtotal, r), total, blinding, ctx, proof, PATH)


def _gap_proof(c: Minimum, subtotal: int, r: int, ctx: bytes = CTX) -> bytes:
    """A range proof over ``minimum·G − C_S`` whatever ``minimum − S`` is (the low bits of a
    negative one)."""
    gap = group.mul(group.generator(), c.per_month) - pedersen.commit(subtotal, r)
    with lenient_range_prover():
        return bulletproofs.prove(
            [(c.per_month - subtotal) % group.ORDER],
            [-r % group.ORDER],
            minimum.BITS,
            context=ctx,
            commitments=[gap],
        ).encode()


def attack_minimum(c: Minimum, subtotal: int, rng: random.Random) -> int:
    """Every forgery class for a bill whose everything-else comes to ``subtotal``."""
    r = group.random_scalar()
    proof, total, blinding = minimum.prove(c, subtotal, r, CTX)
    _verify(c, subtotal, r, total, blinding, proof)  # the honest bill verifies
    assert total == max(subtotal, c.per_month)
    n = 0

    def submit(fee: int, b: int, p: MinimumProof, error: Any, match: str) -> None:
        nonlocal n
        assert fee < total
        refused("minimum", lambda: _verify(c, subtotal, r, fee, b, p), error, match=match)
        n += 1

    delta = rng.choice([1, rng.randrange(1, 10**9)])
    if subtotal > c.per_month:
        # "applied" although S is above the minimum: the range proof made anyway ...
        submit(
            c.per_month,
            0,
            MinimumProof(True, _gap_proof(c, subtotal, r)),
            ComponentProofError,
            "range proof",
        )
        # ... made for the point a bill of exactly the minimum would have (−r·H) ...
        fake = bulletproofs.prove([0], [-r % group.ORDER], minimum.BITS, context=CTX).encode()
        submit(c.per_month, 0, MinimumProof(True, fake), ComponentProofError, "range proof")
        # ... or replayed from a bill (another context) in which the minimum did apply
        low = c.per_month - rng.randrange(1, 10**6)
        other, _, _ = minimum.prove(c, low, r, b"another bill")
        submit(c.per_month, 0, other, ComponentProofError, "range proof")
    elif subtotal < c.per_month:
        # "not applied" with the true subtotal as the total
        submit(
            subtotal, r, MinimumProof(False, b""), FeeMismatchError, "below the tariff's minimum"
        )
        # raised, but to less than the minimum
        submit(c.per_month - delta, 0, proof, FeeMismatchError, "must equal the minimum")
    # the opened total moved down, with every blinding the cheater could try
    for b in (r, r + delta, r - delta, 0, blinding):
        if total - delta >= c.per_month:
            submit(
                total - delta,
                b % group.ORDER,
                MinimumProof(False, b""),
                FeeMismatchError,
                "does not match",
            )
        else:
            submit(
                total - delta, b % group.ORDER, MinimumProof(False, b""), FeeMismatchError, "below"
            )
    # "not applied" with the minimum as the total and C_S's blinding (S below the minimum)
    if subtotal < c.per_month and total > c.per_month - 1:
        fee = c.per_month - 1
        submit(fee, r, MinimumProof(False, b""), FeeMismatchError, "below the tariff's minimum")
    return n


@pytest.mark.parametrize(
    "subtotal",
    [-(10**12), -1, 0, 9_999_999_999, 10**10, 10**10 + 1, 3 * 10**12],
)
def test_minimum_of_ten(subtotal: int) -> None:
    assert attack_minimum(Minimum(10**10), subtotal, random.Random(subtotal)) >= 3


@settings(max_examples=10, deadline=None, derandomize=True)
@given(st.integers(1, 10**13), st.integers(-(10**13), 10**14), st.integers(0, 2**32))
def test_random_subtotals(per_month: int, subtotal: int, seed: int) -> None:
    attack_minimum(Minimum(per_month), subtotal, random.Random(seed))


def test_shifted_blinding_in_the_raised_bill() -> None:
    """Applied with a blinding revealed (C_S's, or anything else): a raised bill reveals none."""
    c = Minimum(10**10)
    r = group.random_scalar()
    proof, total, _ = minimum.prove(c, 10**9, r, CTX)
    for b in (r, 1, group.ORDER - 1):
        refused(
            "minimum",
            lambda b=b: _verify(c, 10**9, r, total, b, proof),
            FeeMismatchError,
            match="reveals no blinding",
        )


# --- whole bills ---------------------------------------------------------------------------


def _desc() -> dict[str, Any]:
    return description(
        ["0.25", "-0.40", "0"],
        [
            {"kind": "tiered", "name": "tiers", "tiers": [
                {"up_to_kwh": "50", "price": "0.05"},
                {"up_to_kwh": "100", "price": "0.20"},
                {"up_to_kwh": None, "price": "0.01"},
            ]},
            {"kind": "minimum", "per_month": "12.00"},
        ],
        fixed={"per_day": "0.05"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def busy(provider: Provider) -> Any:
    """A month well above the minimum."""
    return bill_case(provider, _desc(), "2026-06", lambda k, m: 400 if k % 3 == 0 else 20)


@pytest.fixture(scope="module")
def quiet(provider: Provider) -> Any:
    """A month below the minimum (negative prices at every third hour help)."""
    return bill_case(provider, _desc(), "2026-06", lambda k, m: 30 if k % 3 == 1 else 1)


def test_minimum_claimed_above_it_in_a_bill(busy: Any) -> None:
    assert not busy.honest.components[1].applied

    def applied(c: Minimum, subtotal: int, r: int, ctx: bytes) -> Any:
        return MinimumProof(True, _gap_proof(c, subtotal, r, ctx)), c.per_month, 0

    forged = busy.forge(minimum, "prove", applied)
    busy.refuse("minimum", forged, ComponentProofError, field=r"components\[1\]\.ranges")


def test_minimum_dodged_below_it_in_a_bill(quiet: Any) -> None:
    assert quiet.honest.components[1].applied

    def not_applied(c: Minimum, subtotal: int, r: int, ctx: bytes) -> Any:
        return MinimumProof(False, b""), subtotal, r

    forged = quiet.forge(minimum, "prove", not_applied)
    quiet.refuse("minimum", forged, FeeMismatchError, match="below the tariff's minimum")
    # the raised bill's proof replayed with a total just under the minimum
    quiet.refuse("minimum", shift_total(quiet.honest, -1, 0), FeeMismatchError, match="must equal")
