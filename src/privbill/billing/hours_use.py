"""Hours-use tiers: tier widths in kWh per kW of the month's billing demand, both hidden.

Statement: commitments ``C_i`` to the month's interval consumptions (the account's load) and the
counted intervals ``S`` (all, or those of some time-of-use periods). The prover commits to the
month's largest interval consumption ``M`` (``C_M``) and shows with one aggregated range proof
that ``M − c_i ∈ [0, 2^bits)`` for every interval of the month, so ``M ≥ max c_i``. The billing
demand in W is ``D = f·M`` (``f = 3600 / interval seconds``), committed by ``f·C_M``. The
counted consumption ``A = Σ_{i∈S} C_i`` is then split into tiers of widths ``(u_j − u_{j−1})·D``
with :mod:`privbill.billing.tiers` in its hidden-width form; the fee commitment is
``Σ p_j·P_j``. Per-day tiers ("kWh/kW daily") scale ``D`` by the days billed (public, from the
period): widths ``(u_j − u_{j−1})·D·days``, committed by ``f·days·C_M``. No wrap-around:
``u_j ≤ 2^20``, ``M < 2^32``, ``f ≤ 60`` and ``days ≤ 31`` keep every width below ``2^63``, inside
the tiers' 64-bit ranges and far below the group order.

Why a lower bound on ``M`` is enough: the tariff's prices do not increase from tier to tier
(checked when it is made), so wider tiers move consumption into earlier, dearer tiers and a
larger ``D`` can only raise the fee. The customer cannot pay less than the true billing demand
gives; nobody learns ``M``, ``D`` or the consumption.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from privbill.billing import tiers
from privbill.billing.components import ChargeContext, LoadView
from privbill.crypto import bulletproofs, group, pedersen
from privbill.crypto.group import Point
from privbill.errors import ComponentProofError, DecodeError
from privbill.model.component_proofs import OBJ, HoursUseProof
from privbill.model.components import HoursUse


def _peak_context(context: bytes) -> bytes:
    return context + b"/billing-demand"


def _tier_context(context: bytes) -> bytes:
    return context + b"/tiers"


def prove(
    component: HoursUse,
    values: Sequence[int],
    blindings: Sequence[int],
    indices: Sequence[int],
    interval_s: int,
    context: bytes,
    days: int = 1,
) -> tuple[HoursUseProof, int, int]:
    """``(proof, fee, fee blinding)``; ``indices`` select the counted intervals; ``days`` billed
    (per-day tiers only)."""
    f = 3600 // interval_s * component.scale(days)
    peak = max(values)
    if peak >= 1 << component.bits:
        raise ComponentProofError(
            f"an interval of {peak} Wh does not fit the tariff's {component.bits}-bit "
            "billing-demand proof",
            obj="readings",
            field="wh",
        )
    r_peak = group.random_scalar()
    c_peak = pedersen.commit_ct(peak, r_peak)  # the peak is secret: constant-time path
    diffs = [peak - v for v in values]
    dblind = [(r_peak - r) % group.ORDER for r in blindings]
    ranges = bulletproofs.prove_chunked_values(
        diffs, dblind, component.bits, context=_peak_context(context)
    )
    amount = sum(values[k] for k in indices)
    blinding = sum(blindings[k] for k in indices) % group.ORDER
    scale = tiers.HiddenScale(group.mul(c_peak, f), f * peak, f * r_peak % group.ORDER)
    parts, fee, fee_blinding = tiers.prove(
        component.tiers, amount, blinding, scale, _tier_context(context)
    )
    return HoursUseProof(group.encode_point(c_peak), ranges, parts), fee, fee_blinding


def verify(
    component: HoursUse,
    points: Sequence[Point],
    indices: Sequence[int],
    interval_s: int,
    context: bytes,
    proof: HoursUseProof,
    path: str,
    days: int = 1,
) -> Point:
    """The fee commitment, or a typed error naming what fails."""
    f = 3600 // interval_s * component.scale(days)
    try:
        c_peak = group.decode_point(proof.peak)
    except group.GroupError as exc:
        raise DecodeError(str(exc), obj=OBJ, field=f"{path}.peak") from None
    diffs = [c_peak - p for p in points]
    if not bulletproofs.verify_chunked_values(
        diffs, component.bits, proof.ranges, context=_peak_context(context)
    ):
        raise ComponentProofError(
            "billing-demand range proof does not verify", obj=OBJ, field=f"{path}.ranges"
        )
    amount = group.point_sum([points[k] for k in indices])
    scale = tiers.HiddenScale(group.mul(c_peak, f))
    return tiers.verify(
        component.tiers, amount, scale, _tier_context(context), proof.parts, f"{path}.tiers"
    )


def prove_charge(
    component: HoursUse, load: LoadView, ctx: ChargeContext
) -> tuple[HoursUseProof, int, int]:
    """:func:`prove` over the account's load, with the range width the bill's meter ratings
    allow (:meth:`LoadView.bits`)."""
    idx = load.indices(component)
    component = replace(component, bits=load.bits(component.bits))
    return prove(
        component, load.values, load.blindings, idx, load.interval_s, ctx.context, load.days
    )


def verify_charge(
    component: HoursUse, proof: HoursUseProof, load: LoadView, ctx: ChargeContext
) -> list[Point]:
    """:func:`verify` over the account's load, with the prover's range width."""
    idx = load.indices(component)
    component = replace(component, bits=load.bits(component.bits))
    return [
        verify(
            component, load.points, idx, load.interval_s, ctx.context, proof, ctx.path, load.days
        )
    ]


def needs_readings(component: HoursUse, proof: HoursUseProof) -> bool:
    """Always: the billing demand is the largest interval of the readings."""
    return True
