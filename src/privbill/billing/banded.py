"""Block and polynomial charges in a bill: both are proven on the account's load, interval by
interval (:mod:`privbill.billing.block`, :mod:`privbill.billing.polynomial`)."""

from __future__ import annotations

from privbill.billing import block, polynomial
from privbill.billing.components import ChargeContext, LoadView
from privbill.crypto.group import Point
from privbill.model.interval_components import (
    BlockCharge,
    BlockProof,
    IntervalComponent,
    IntervalComponentProof,
    PolynomialCharge,
    PolynomialProof,
)


def prove_charge(
    component: IntervalComponent, load: LoadView, ctx: ChargeContext
) -> tuple[IntervalComponentProof, int, int]:
    """``(proof, fee, fee blinding)`` over the account's load."""
    if isinstance(component, BlockCharge):
        return block.prove(component, load.values, load.blindings, ctx.context, points=load.points)
    return polynomial.prove(component, load.values, load.blindings, ctx.context, points=load.points)


def verify_charge(
    component: IntervalComponent,
    proof: IntervalComponentProof,
    load: LoadView,
    ctx: ChargeContext,
) -> list[Point]:
    """The fee commitment over the account's load, or a typed error."""
    if isinstance(component, BlockCharge):
        assert isinstance(proof, BlockProof)
        return [block.verify(component, load.points, ctx.context, proof, ctx.path)]
    assert isinstance(component, PolynomialCharge) and isinstance(proof, PolynomialProof)
    return [polynomial.verify(component, load.points, ctx.context, proof, ctx.path)]


def needs_readings(component: IntervalComponent, proof: IntervalComponentProof) -> bool:
    """Always: each interval is priced by its own consumption."""
    return True
