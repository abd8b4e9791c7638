"""Tiered energy charge with the consumption hidden.

Statement: the consumption ``T`` of the billing period (of the intervals in the component's
time-of-use periods, all meters together) is committed by ``C_T = Σ C_i`` — the verifier adds the
sealed commitments itself, so no proof is needed for it — and the fee is the cumulative-tier
fee of ``T`` (:mod:`privbill.billing.tiers`). Verification adds ``C_T`` (one point addition per
interval) and checks one small aggregated range proof.
"""

from __future__ import annotations

from collections.abc import Sequence

from privbill.billing import components, tiers
from privbill.billing.cleartext import tiered_indices
from privbill.billing.components import ChargeContext, LoadView
from privbill.crypto import group
from privbill.crypto.group import Point
from privbill.errors import DecodeError
from privbill.model.component_proofs import OBJ, TieredProof
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


def _channel(
    component: TieredEnergy, load: LoadView, path: str
) -> tuple[list[components.MeterData], list[int]]:
    """The meters of the component's channel and the intervals of theirs it counts."""
    chosen = components.channel_meters(load.meters, component.channel, path)
    step = components.common_interval([m.interval_s for m in chosen])
    first, count = load.period.intervals(step)
    return chosen, tiered_indices(load.body, component, first, count, step)


def prove_charge(
    component: TieredEnergy, load: LoadView, ctx: ChargeContext
) -> tuple[TieredProof, int, int]:
    """:func:`prove` over the account's load, or the load of the component's channel."""
    if component.channel is None:
        values, blindings, idx = load.values, load.blindings, load.indices(component)
    else:
        chosen, idx = _channel(component, load, ctx.path)
        values, blindings = components.load_openings(chosen)
    return prove(component, values, blindings, idx, load.days, ctx.context)


def verify_charge(
    component: TieredEnergy, proof: TieredProof, load: LoadView, ctx: ChargeContext
) -> list[Point]:
    """:func:`verify` (:func:`verify_amount` for a register bill, which cannot prove tiers that
    count one channel's meters)."""
    if component.channel is not None:
        if load.amount is not None:
            raise DecodeError(
                "tiers that count one channel's meters need the readings: a register bill "
                "cannot prove them",
                obj=OBJ,
                field=ctx.path,
            )
        chosen, idx = _channel(component, load, ctx.path)
        points = components.load_points(chosen)
        return [verify(component, points, idx, load.days, ctx.context, proof, ctx.path)]
    if load.amount is not None:
        amount = load.amount(component)
        return [verify_amount(component, amount, load.days, ctx.context, proof, ctx.path)]
    idx = load.indices(component)
    return [verify(component, load.points, idx, load.days, ctx.context, proof, ctx.path)]


def needs_readings(component: TieredEnergy, proof: TieredProof) -> bool:
    """Never: a register bill proves tiers on the sum of its energy registers."""
    return False
