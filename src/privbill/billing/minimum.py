"""Minimum bill with the unraised total hidden when the minimum applies.

Let ``C_S`` be the commitment to everything else (energy, components, fixed charges). If the
total ``S`` reaches the minimum, the bill reveals ``S`` as usual (the opening of ``C_S``) and the
verifier checks ``S ≥ minimum``. Otherwise the bill states exactly the minimum and proves, with a
64-bit range proof on ``minimum·G − C_S``, that ``S ≤ minimum`` — without revealing ``S``.
"""

from __future__ import annotations

from privbill.billing.components import ChargeContext, LoadView
from privbill.crypto import bulletproofs, group, pedersen
from privbill.crypto.group import Point
from privbill.errors import ComponentProofError, FeeMismatchError
from privbill.model.component_proofs import OBJ, MinimumProof
from privbill.model.components import Minimum

BITS = 64


def prove(
    component: Minimum, subtotal: int, blinding: int, context: bytes
) -> tuple[MinimumProof, int, int]:
    """``(proof, billed total, blinding to reveal)``."""
    if subtotal >= component.per_month:
        return MinimumProof(False, b""), subtotal, blinding
    gap = component.per_month - subtotal
    point = pedersen.commit_ct(gap, -blinding % group.ORDER)  # secret gap: constant-time
    ranges = bulletproofs.prove(
        [gap], [-blinding % group.ORDER], BITS, context=context, commitments=[point]
    )
    return MinimumProof(True, ranges.encode()), component.per_month, 0


def verify(
    component: Minimum,
    subtotal: Point,
    total_fee: int,
    blinding: int,
    context: bytes,
    proof: MinimumProof,
    path: str,
) -> None:
    if not proof.applied:
        if total_fee < component.per_month:
            raise FeeMismatchError("bill is below the tariff's minimum", obj=OBJ, field="total_fee")
        if pedersen.commit(total_fee, blinding) != subtotal:
            raise FeeMismatchError(
                "total fee does not match the committed readings and the tariff",
                obj=OBJ,
                field="total_fee",
            )
        return
    if total_fee != component.per_month:
        raise FeeMismatchError("a raised bill must equal the minimum", obj=OBJ, field="total_fee")
    if blinding != 0:
        raise FeeMismatchError(
            "a bill raised to the minimum reveals no blinding", obj=OBJ, field="blinding"
        )
    gap = group.mul(group.generator(), component.per_month) - subtotal
    if not bulletproofs.verify([gap], BITS, proof.ranges, context=context):
        raise ComponentProofError(
            "minimum-bill range proof does not verify", obj=OBJ, field=f"{path}.ranges"
        )


def prove_charge(
    component: Minimum, load: LoadView, ctx: ChargeContext
) -> tuple[MinimumProof, int, int]:
    """:func:`prove` on the rest of the bill (``ctx.so_far``): what the minimum adds to the
    total and to its blinding."""
    proof, total, blinding = prove(component, ctx.so_far, ctx.so_far_blinding, ctx.context)
    return proof, total - ctx.so_far, (blinding - ctx.so_far_blinding) % group.ORDER


def verify_charge(
    component: Minimum, proof: MinimumProof, load: LoadView, ctx: ChargeContext
) -> list[Point]:
    """:func:`verify` of the billed total on the commitment to the rest of the bill."""
    assert ctx.bill is not None
    verify(component, ctx.bill, ctx.total_fee, ctx.blinding, ctx.context, proof, ctx.path)
    return []


def needs_readings(component: Minimum, proof: MinimumProof) -> bool:
    """Never: the minimum looks only at the rest of the bill."""
    return False
