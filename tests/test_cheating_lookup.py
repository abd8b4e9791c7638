"""Cheating provers against the private-attribute lookup (``billing/lookup.py``:
pay-as-you-drive, tolling).

The cheater knows every quantity, attribute and blinding. Interval by interval it claims a
cheaper hidden class (another row of the price table), the prices of another time band, an
attribute commitment of its own instead of the meter's; it moves value out of fee commitments,
lets fee commitments cancel, replays an interval's proof at another interval, another meter
position or from another bill, and drops an interval. On random tables (one to four classes,
one to three time bands, negative, zero and repeated prices) every forgery bills less than the
honest fee and must be refused with a typed error naming the part that fails.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cheaters import (
    RowClaim,
    bill_case,
    description,
    forge_lookup,
    or_prover_without_checks,
    refused,
    shift_total,
    with_component,
)
from privbill.billing import lookup
from privbill.crypto import group, pedersen
from privbill.crypto.group import Point
from privbill.errors import CommitmentError, ComponentProofError, DecodeError, FeeMismatchError
from privbill.model.component_proofs import LookupMeterProof, LookupProof
from privbill.model.components import Lookup, LookupBand
from privbill.model.schedules import CELLS
from privbill.provider import Provider

PATH = "components[0].meters[0]"
P = re.escape(PATH)
CTX = b"cheating-lookup"


@dataclasses.dataclass
class Case:
    component: Lookup
    bands: list[int]
    quantities: list[int]
    rows: list[int]
    blindings: list[int]
    attribute_blindings: list[int]

    @property
    def points(self) -> list[Point]:
        return [pedersen.commit(q, r) for q, r in zip(self.quantities, self.blindings, strict=True)]

    @property
    def attributes(self) -> list[Point]:
        values = self.component.values
        return [
            pedersen.commit(values[j], r)
            for j, r in zip(self.rows, self.attribute_blindings, strict=True)
        ]

    def price(self, i: int, row: int, band: int | None = None) -> int:
        return self.component.bands[self.bands[i] if band is None else band].prices[row]

    def proven(self) -> list[int]:
        """The intervals that carry a proof (their band's prices differ)."""
        return [i for i, b in enumerate(self.bands) if len(set(self.component.bands[b].prices)) > 1]

    def forge(self, claims: dict[int, RowClaim], ctx: bytes = CTX) -> tuple[LookupMeterProof, int]:
        proof, fee, _ = forge_lookup(
            self.component,
            self.bands,
            self.points,
            self.attributes,
            self.quantities,
            self.blindings,
            self.attribute_blindings,
            ctx,
            claims,
        )
        return proof, fee

    def verify(self, proof: LookupMeterProof, ctx: bytes = CTX) -> Point:
        return lookup.verify(
            self.component, self.bands, self.points, self.attributes, ctx, proof, PATH
        )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    rng = random.Random(draw(st.integers(0, 2**32)))
    k = draw(st.integers(1, 4))
    values = tuple(rng.sample(range(0, 50), k))
    n_bands = draw(st.integers(1, 3))
    bands = tuple(
        LookupBand(
            f"b{b}",
            tuple(
                rng.choice([0, -rng.randrange(1, 10**5), rng.randrange(1, 10**5)]) for _ in values
            )
            if draw(st.booleans()) or b == 0
            else (rng.randrange(-(10**5), 10**5),) * k,  # a band with one price for all
        )
        for b in range(n_bands)
    )
    component = Lookup("l", "class", values, bands, bytes(CELLS), bytes(CELLS))
    n = draw(st.integers(2, 5))
    return Case(
        component,
        [rng.randrange(n_bands) for _ in range(n)],
        [rng.choice([0, rng.randrange(1, 10_000)]) for _ in range(n)],
        [rng.randrange(k) for _ in range(n)],
        [group.random_scalar() for _ in range(n)],
        [group.random_scalar() for _ in range(n)],
    )


def attack_lookup(case: Case, rng: random.Random) -> int:
    honest, fee = case.forge({})
    submitted = 0
    # the forger is faithful: no claims, an honest proof
    expected = sum(
        case.component.fee(b, case.component.values[j], q)
        for b, j, q in zip(case.bands, case.rows, case.quantities, strict=True)
    )
    assert fee == expected
    case.verify(honest)

    def submit(claims: dict[int, RowClaim], field: str, ctx: bytes = CTX) -> None:
        nonlocal submitted
        proof, forged_fee = case.forge(claims, ctx)
        assert forged_fee < fee
        refused("lookup", lambda: case.verify(proof), ComponentProofError, field=field)
        submitted += 1

    proven = case.proven()
    for n, i in enumerate(proven):
        q, j, b = case.quantities[i], case.rows[i], case.bands[i]
        true = case.price(i, j) * q
        for j2 in range(len(case.component.values)):
            if case.price(i, j2) * q < true:  # a cheaper hidden class
                submit({i: RowClaim(j2)}, rf"{P}\.proofs")
                # ... proven against an attribute commitment of the cheater's own
                alpha = group.random_scalar()
                own = pedersen.commit(case.component.values[j2], alpha)
                claim = RowClaim(j2, attribute=own, attribute_blinding=alpha)
                submit({i: claim}, rf"{P}\.proofs\[{n}\]")
                break
        for b2 in range(len(case.component.bands)):
            if b2 != b and case.price(i, j, b2) * q < true:  # another time band's price
                submit({i: RowClaim(j, band=b2)}, rf"{P}\.proofs\[{n}\]")
                break
        # the fee commitment moved down (the value moved to the opened total)
        delta = rng.choice([1, rng.randrange(1, 10**9)])
        submit({i: RowClaim(j, fee=true - delta)}, rf"{P}\.proofs")
    if len(proven) >= 2:
        i, k = proven[0], proven[1]
        x = rng.randrange(1, 10**9)
        fee_i = case.price(i, case.rows[i]) * case.quantities[i]
        fee_k = case.price(k, case.rows[k]) * case.quantities[k]
        cancel = {
            i: RowClaim(case.rows[i], fee=fee_i + x),
            k: RowClaim(case.rows[k], fee=fee_k - x - 1),
        }
        submit(cancel, rf"{P}\.proofs")
        # the fee and proof of the cheaper interval replayed at the dearer one
        if fee_i != fee_k:
            cheap, dear = (0, 1) if fee_i < fee_k else (1, 0)
            fees = [honest.fees[m * 48 : (m + 1) * 48] for m in range(len(proven))]
            proofs = list(honest.proofs)
            fees[dear], proofs[dear] = fees[cheap], proofs[cheap]
            replayed = LookupMeterProof(b"".join(fees), tuple(proofs))
            refused(
                "lookup",
                lambda: case.verify(replayed),
                ComponentProofError,
                field=rf"{P}\.proofs\[{dear}\]",
            )
            submitted += 1
    if proven:
        # the dearest interval's fee and proof dropped
        dearest = max(
            range(len(proven)),
            key=lambda m: case.price(proven[m], case.rows[proven[m]]) * case.quantities[proven[m]],
        )
        i = proven[dearest]
        if case.price(i, case.rows[i]) * case.quantities[i] > 0:
            fees = [honest.fees[m * 48 : (m + 1) * 48] for m in range(len(proven))]
            del fees[dearest]
            proofs = list(honest.proofs)
            del proofs[dearest]
            dropped = LookupMeterProof(b"".join(fees), tuple(proofs))
            refused("lookup", lambda: case.verify(dropped), DecodeError, field=rf"{P}\.fees")
            submitted += 1
        # a proof made for another meter position (or component, or bill) with a cheaper row
        j2 = min(range(len(case.component.values)), key=lambda r: case.price(i, r))
        if (
            case.price(i, j2) * case.quantities[i]
            < case.price(i, case.rows[i]) * case.quantities[i]
        ):
            other = CTX + (1).to_bytes(2, "big")
            submit({i: RowClaim(j2)}, rf"{P}\.proofs(\[\d+\])?", other)
    return submitted


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases(), st.integers(0, 2**32))
def test_random_tables_refuse_every_forgery(case: Case, seed: int) -> None:
    attack_lookup(case, random.Random(seed))


def test_three_road_classes() -> None:
    component = Lookup(
        "per-km premium",
        "road_class",
        (0, 1, 2),
        (LookupBand("day", (31_000, 24_000, 52_000)), LookupBand("night", (45_000, -8_000, 0))),
        bytes(CELLS),
        bytes(CELLS),
    )
    n = 6
    case = Case(
        component,
        [0, 1, 0, 1, 1, 0],
        [4000, 2500, 0, 9000, 700, 1200],
        [2, 0, 1, 2, 1, 0],
        [group.random_scalar() for _ in range(n)],
        [group.random_scalar() for _ in range(n)],
    )
    assert attack_lookup(case, random.Random(3)) >= 12


def test_fee_commitment_that_makes_a_clause_the_identity() -> None:
    """``F = p_j·C``: the clause's second element is the identity. The bill is refused either
    way; the verifier must say so with a typed error."""
    component = Lookup("l", "c", (0, 1), (LookupBand("b", (10, 20)),), bytes(CELLS), bytes(CELLS))
    q, r = 50, group.random_scalar()
    point = pedersen.commit(q, r)
    attribute = pedersen.commit(1, group.random_scalar())
    fee = group.mul(point, 10)  # the cheaper row's fee with blinding 10·r: F − 10·C = 0
    junk = b"".join(
        group.encode_point(pedersen.commit(1, group.random_scalar())) for _ in range(4)
    ) + b"".join(group.encode_scalar(1) for _ in range(6))
    proof = LookupMeterProof(group.encode_point(fee), (junk,))
    refused(
        "lookup",
        lambda: lookup.verify(component, [0], [point], [attribute], CTX, proof, PATH),
        ComponentProofError,
        field=re.escape(f"{PATH}.fees"),
        match="fee commitment makes clause 0 degenerate",
    )


def test_attribute_commitment_without_blinding_is_refused_typed() -> None:
    """``A = v_j·G`` (no blinding) makes the attribute equation of clause ``j`` the identity:
    the statement is not a valid Sigma instance, and the verifier says which element."""
    component = Lookup("l", "c", (0, 1), (LookupBand("b", (10, 20)),), bytes(CELLS), bytes(CELLS))
    point = pedersen.commit(50, group.random_scalar())
    attribute = group.mul(group.generator(), 1)  # value 1, blinding 0: A − 1·G = 0
    fee = pedersen.commit(1000, group.random_scalar())
    junk = b"".join(
        group.encode_point(pedersen.commit(1, group.random_scalar())) for _ in range(4)
    ) + b"".join(group.encode_scalar(1) for _ in range(6))
    proof = LookupMeterProof(group.encode_point(fee), (junk,))
    refused(
        "lookup",
        lambda: lookup.verify(component, [0], [point], [attribute], CTX, proof, PATH),
        ComponentProofError,
        field=re.escape(f"{PATH}.proofs[0]"),
        match="attribute commitment makes clause 1 degenerate",
    )


# --- whole bills ---------------------------------------------------------------------------

NIGHT = [[1] * 6 + [0] * 16 + [1] * 2 for _ in range(12)]
PAYD = {
    "kind": "lookup",
    "name": "per-km premium",
    "attribute": "road_class",
    "values": [0, 1, 2],
    "bands": [
        {"name": "day", "prices": ["0.031", "0.024", "0.052"]},
        {"name": "night", "prices": ["0.045", "-0.008", "0"]},
    ],
    "weekday_schedule": NIGHT,
    "weekend_schedule": NIGHT,
}


@pytest.fixture(scope="module")
def case(provider: Provider) -> Any:
    return bill_case(
        provider,
        description(["0"], [PAYD], fixed={"per_month": "4.50"}),
        "2026-05-04/2026-05-05",
        lambda k, m: (k * 1777) % 9000,
        attributes=("road_class",),
        attribute=lambda k, m: (k * 7) % 3,
    )


def _lookup_forger(claim: Any) -> Any:
    """A lookup prover that makes the claims ``claim(i, band, row)`` (or none)."""

    def make(
        c: Lookup,
        bands: Sequence[int],
        points: Sequence[Point],
        attributes: Sequence[Point],
        values: Sequence[int],
        blindings: Sequence[int],
        attribute_values: Sequence[int],
        attribute_blindings: Sequence[int],
        ctx: bytes,
    ) -> Any:
        claims = {}
        for i, (b, a) in enumerate(zip(bands, attribute_values, strict=True)):
            made = claim(i, b, c.values.index(a))
            if made is not None:
                claims[i] = made
        return forge_lookup(
            c, bands, points, attributes, values, blindings, attribute_blindings, ctx, claims
        )

    return make


def test_cheapest_class_in_a_bill(case: Any) -> None:
    """The honest prover told every interval was on the cheapest road class of its band (its
    OR prover's witness check switched off), and a forger doing the same."""
    c: Lookup = case.tariff.body.components[0]
    honest = lookup.prove

    def lie(
        comp: Lookup,
        bands: Sequence[int],
        points: Any,
        attrs: Any,
        values: Any,
        blindings: Any,
        avals: Sequence[int],
        *rest: Any,
    ) -> Any:
        cheapest = [
            comp.values[min(range(len(comp.values)), key=comp.bands[b].prices.__getitem__)]
            for b in bands
        ]
        return honest(comp, bands, points, attrs, values, blindings, cheapest, *rest)

    with or_prover_without_checks():
        forged = case.forge(lookup, "prove", lie)
    case.refuse(
        "lookup", forged, ComponentProofError, field=r"components\[0\]\.meters\[0\]\.proofs"
    )

    def cheapest_row(i: int, b: int, row: int) -> RowClaim:
        return RowClaim(min(range(len(c.values)), key=c.bands[b].prices.__getitem__))

    forged = case.forge(lookup, "prove", _lookup_forger(cheapest_row))
    case.refuse(
        "lookup", forged, ComponentProofError, field=r"components\[0\]\.meters\[0\]\.proofs"
    )


def test_day_prices_at_night_in_a_bill(case: Any) -> None:
    """Night intervals (band 1) billed at the day band's price of their class where cheaper."""
    c: Lookup = case.tariff.body.components[0]

    def day_price(i: int, b: int, row: int) -> RowClaim | None:
        if b == 1 and c.bands[0].prices[row] < c.bands[1].prices[row]:
            return RowClaim(row, band=0)
        return None

    forged = case.forge(lookup, "prove", _lookup_forger(day_price))
    case.refuse(
        "lookup", forged, ComponentProofError, field=r"components\[0\]\.meters\[0\]\.proofs\[\d+\]"
    )


def test_attribute_commitments_of_the_cheaters_own(case: Any) -> None:
    """The cheater commits to the cheapest class itself, proves against those commitments and
    puts them in the sealed run: the meter's seal does not cover them."""
    c: Lookup = case.tariff.body.components[0]
    own: dict[int, Point] = {}

    def own_commitment(i: int, b: int, row: int) -> RowClaim:
        cheap = min(range(len(c.values)), key=c.bands[b].prices.__getitem__)
        alpha = group.random_scalar()
        own[i] = pedersen.commit(c.values[cheap], alpha)
        return RowClaim(cheap, attribute=own[i], attribute_blinding=alpha)

    forged = case.forge(lookup, "prove", _lookup_forger(own_commitment))
    section = forged.meters[0]
    run = section.runs[0]
    attrs = b"".join(group.encode_point(own[i]) for i in range(run.seal.count))
    runs = (dataclasses.replace(run, attributes=attrs), *section.runs[1:])
    forged = dataclasses.replace(forged, meters=(dataclasses.replace(section, runs=runs),))
    case.refuse("lookup", forged, CommitmentError, field=r"meters\[0\]\.runs\[0\]\.attributes")


def test_replays_and_shifts_in_a_bill(case: Any, provider: Provider) -> None:
    # yesterday's drive (another bill: same meter, another period) replayed today
    yesterday = bill_case(
        provider,
        description(["0"], [PAYD], fixed={"per_month": "4.50"}),
        "2026-05-03/2026-05-04",
        lambda k, m: (k * 1777) % 9000 // 4,
        attributes=("road_class",),
        attribute=lambda k, m: 1,
        meter_ids=["m-0"],
    )
    old = yesterday.honest.components[0]
    assert isinstance(old, LookupProof)
    fee_today = case.honest.total_fee - case.tariff.body.fixed_charges(case.period)
    fee_then = yesterday.honest.total_fee - yesterday.tariff.body.fixed_charges(yesterday.period)
    assert fee_then < fee_today
    replayed = shift_total(with_component(case.honest, 0, old), fee_then - fee_today, 0)
    case.refuse(
        "lookup",
        replayed,
        ComponentProofError,
        field=r"components\[0\]\.meters\[0\]\.proofs(\[\d+\])?",
    )
    for blinding in (0, 1, -1):
        case.refuse("lookup", shift_total(case.honest, -1, blinding), FeeMismatchError)
