"""Tiered energy charge with the consumption hidden.

Statement: the consumption ``T`` of the billing period (of the intervals in the component's
time-of-use periods, all meters together) is committed by ``C_T = Σ C_i`` — the verifier adds the
sealed commitments itself, so no proof is needed for it — and the fee is the cumulative-tier
fee of ``T`` (:mod:`privbill.billing.tiers`). Verification adds ``C_T`` (one point addition per
interval) and checks one small aggregated range proof.
"""

from __future__ import annotations

from collections.abc import Sequence

from privbill.billing import tiers
from privbill.crypto import group
from privbill.crypto.group import Point
from privbill.model.component_proofs import TieredProof
from privbill.model.components import TieredEnergy


def prove(
    component: TieredEnergy,
    values: Sequence[int],
    blindings: Sequence[int],
    indices: Sequence[int],
    days: int,
    context: bytes,
) -> tuple[TieredProof, int, int]:
    """``(proof, fee, fee blinding)``; ``indices`` select the counted intervals."""
    amount = sum(values[k] for k in indices)
    blinding = sum(blindings[k] for k in indices) % group.ORDER
    parts, fee, fee_blinding = tiers.prove(
        component.tiers, amount, blinding, component.scale(days), context
    )
    return TieredProof(parts), fee, fee_blinding


def verify(
    component: TieredEnergy,
    points: Sequence[Point],
    indices: Sequence[int],
    days: int,
    context: bytes,
    proof: TieredProof,
    path: str,
) -> Point:
    """The fee commitment, or a typed error."""
    amount = group.point_sum([points[k] for k in indices])
    return verify_amount(component, amount, days, context, proof, path)


def verify_amount(
    component: TieredEnergy,
    amount: Point,
    days: int,
    context: bytes,
    proof: TieredProof,
    path: str,
) -> Point:
    """:func:`verify` given the commitment to the counted consumption (``Σ C_i`` over the
    counted intervals, or the sum of the energy registers of the counted periods: the same
    point)."""
    return tiers.verify(
        component.tiers, amount, component.scale(days), context, proof.parts, f"{path}.tiers"
    )
