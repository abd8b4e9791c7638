"""Hours-use tiers: tier widths in kWh per kW of the month's billing demand, both hidden.

Statement: commitments ``C_i`` to the month's interval consumptions (the account's load) and the
counted intervals ``S`` (all, or those of some time-of-use periods). The prover commits to the
month's largest interval consumption ``M`` (``C_M``) and shows with aggregated range proofs
that ``M − c_i ∈ [0, 2^bits)`` for every interval of the month, so ``M ≥ max c_i`` (in a bill,
the month is one of the windows of :mod:`privbill.billing.peaks`: where another window's peak
covers intervals, ``M`` bounds that peak instead of each of them). The billing
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
from privbill.billing.peaks import PeakSet, ProvedPeak, prove_peaks
from privbill.billing.range_batch import RangeBatch
from privbill.crypto import bulletproofs, group
from privbill.crypto.group import Point
from privbill.errors import DecodeError
from privbill.model.component_proofs import OBJ, HoursUseProof
from privbill.model.components import HoursUse


def _peak_context(context: bytes) -> bytes:
    return context + b"/billing-demand"


def _tier_context(context: bytes) -> bytes:
    return context + b"/tiers"


def _peak_set(component: HoursUse, count: int, context: bytes, index: int = 0) -> PeakSet:
    return PeakSet(
        (index, 0), range(count), component.bits, _peak_context(context), "billing-demand"
    )


def prove(
    component: HoursUse,
    values: Sequence[int],
    blindings: Sequence[int],
    indices: Sequence[int],
    interval_s: int,
    context: bytes,
    days: int = 1,
    peak: ProvedPeak | None = None,
) -> tuple[HoursUseProof, int, int]:
    """``(proof, fee, fee blinding)``; ``indices`` select the counted intervals; ``days`` billed
    (per-day tiers only); ``peak``: the month's peak as the bill proved it
    (:mod:`privbill.billing.peaks`), else proven here."""
    if peak is None:
        pset = _peak_set(component, len(values), context)
        peak = prove_peaks([pset], values, blindings)[pset.key]
    f = 3600 // interval_s * component.scale(days)
    amount = sum(values[k] for k in indices)
    blinding = sum(blindings[k] for k in indices) % group.ORDER
    c_peak = peak.commitment
    scale = tiers.HiddenScale(group.mul(c_peak, f), f * peak.value, f * peak.blinding % group.ORDER)
    parts, fee, fee_blinding = tiers.prove(
        component.tiers, amount, blinding, scale, _tier_context(context)
    )
    return HoursUseProof(group.encode_point(c_peak), peak.ranges, parts), fee, fee_blinding


def verify(
    component: HoursUse,
    points: Sequence[Point],
    indices: Sequence[int],
    interval_s: int,
    context: bytes,
    proof: HoursUseProof,
    path: str,
    days: int = 1,
    batch: RangeBatch | None = None,
    differences: Sequence[Point] | None = None,
) -> Point:
    """The fee commitment, or a typed error naming what fails. With ``batch`` the range proof
    and the tier check after it are queued there (the fee then comes from ``batch.settle()``
    and the identity is returned); ``differences``: the statement the bill's shared peaks give
    (:func:`privbill.billing.peaks.peak_differences`), else the peak minus every interval."""
    f = 3600 // interval_s * component.scale(days)
    c_peak = _decode_peak(proof, path)
    diffs = [c_peak - p for p in points] if differences is None else differences
    own = RangeBatch() if batch is None else batch
    own.add_chunked(
        bulletproofs.chunked_values_statements(
            diffs, component.bits, context=_peak_context(context)
        ),
        proof.ranges,
        obj=OBJ,
        field=f"{path}.ranges",
        message="billing-demand range proof does not verify",
    )
    amount = group.point_sum([points[k] for k in indices])
    scale = tiers.HiddenScale(group.mul(c_peak, f))
    own.after(
        lambda: tiers.verify(
            component.tiers, amount, scale, _tier_context(context), proof.parts, f"{path}.tiers"
        )
    )
    if batch is None:
        return group.point_sum(own.settle())
    return group.identity()


def charge_peak_sets(
    component: HoursUse, load: LoadView, ctx: ChargeContext, proof: HoursUseProof | None
) -> list[PeakSet]:
    """The month's billing demand as a window of the bill's shared peaks (the verifier's with
    the proof's decoded peak, or a :class:`DecodeError` naming it)."""
    component = replace(component, bits=load.bits(component.bits))
    pset = _peak_set(component, load.count, ctx.context, ctx.index)
    if proof is None:
        return [pset]
    return [replace(pset, commitment=_decode_peak(proof, ctx.path))]


def _decode_peak(proof: HoursUseProof, path: str) -> Point:
    try:
        return group.decode_point(proof.peak)
    except group.GroupError as exc:
        raise DecodeError(str(exc), obj=OBJ, field=f"{path}.peak") from None


def prove_charge(
    component: HoursUse, load: LoadView, ctx: ChargeContext
) -> tuple[HoursUseProof, int, int]:
    """:func:`prove` over the account's load, with the range width the bill's meter ratings
    allow (:meth:`LoadView.bits`) and the peak the bill proved."""
    idx = load.indices(component)
    component = replace(component, bits=load.bits(component.bits))
    peak = None if ctx.peaks is None else ctx.peaks[(ctx.index, 0)]
    return prove(
        component, load.values, load.blindings, idx, load.interval_s, ctx.context, load.days, peak
    )


def verify_charge(
    component: HoursUse, proof: HoursUseProof, load: LoadView, ctx: ChargeContext
) -> list[Point]:
    """:func:`verify` over the account's load, with the prover's range width; the range proof
    goes to the bill's batch, its statement from the bill's shared peaks."""
    idx = load.indices(component)
    component = replace(component, bits=load.bits(component.bits))
    fee = verify(
        component,
        load.points,
        idx,
        load.interval_s,
        ctx.context,
        proof,
        ctx.path,
        load.days,
        ctx.batch,
        ctx.peak_differences.get((ctx.index, 0)),
    )
    return [fee]


def needs_readings(component: HoursUse, proof: HoursUseProof) -> bool:
    """Always: the billing demand is the largest interval of the readings."""
    return True
