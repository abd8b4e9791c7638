"""Demand charge on the largest interval demand of each window, the maximum hidden.

Statement, per window with intervals ``W``: a commitment ``C_M`` to ``M`` with ``M − c_i ∈
[0, 2^bits)`` for every ``i ∈ W`` (one aggregated range proof over the commitments
``C_M − C_i``, which the verifier derives), so ``M ≥ max c_i``. The demand in W is
``f·M`` with ``f = 3600 / interval seconds``; the fee is the tier fee of ``f·M``: for one tier
the fee commitment is ``p·f·C_M``, for several the tier parts of :mod:`privbill.billing.tiers`.

A larger ``M`` only raises the fee (demand prices are not negative), so proving ``M ≥ c_i``
suffices for the provider: the customer cannot pay less than the true maximum demand costs, and
has no reason to claim more. ``M`` itself stays hidden.
"""

from __future__ import annotations

from collections.abc import Sequence

from privbill.billing import tiers
from privbill.crypto import bulletproofs, group, pedersen
from privbill.crypto.group import Point
from privbill.errors import ComponentProofError, DecodeError
from privbill.model.component_proofs import OBJ, DemandProof, WindowProof
from privbill.model.components import Demand


def _charged(component: Demand, w: int, idx: Sequence[int]) -> bool:
    """A window needs a proof only if it has intervals in the period and a non-zero price."""
    return bool(idx) and any(t.price for t in component.windows[w].tiers)


def _window_context(context: bytes, w: int) -> bytes:
    return context + b"/window/" + w.to_bytes(2, "big")


def prove(
    component: Demand,
    values: Sequence[int],
    blindings: Sequence[int],
    windows: Sequence[Sequence[int]],
    interval_s: int,
    context: bytes,
) -> tuple[DemandProof, int, int]:
    f = 3600 // interval_s
    fee, fee_blinding = 0, 0
    proofs: list[WindowProof | None] = []
    for w, idx in enumerate(windows):
        if not _charged(component, w, idx):
            proofs.append(None)
            continue
        ctx = _window_context(context, w)
        peak = max(values[k] for k in idx)
        if peak >= 1 << component.bits:
            raise ComponentProofError(
                f"an interval of {peak} Wh does not fit the tariff's {component.bits}-bit demand proof",
                obj="readings",
                field="wh",
            )
        r_peak = group.random_scalar()
        c_peak = pedersen.commit(peak, r_peak)
        diffs = [peak - values[k] for k in idx]
        dblind = [(r_peak - blindings[k]) % group.ORDER for k in idx]
        ranges = bulletproofs.prove(diffs, dblind, component.bits, context=ctx)
        win = component.windows[w]
        if len(win.tiers) == 1:
            price = win.tiers[0].price
            fee += price * f * peak
            fee_blinding += price * f * r_peak
            parts = None
        else:
            parts, tfee, tblind = tiers.prove(win.tiers, f * peak, f * r_peak % group.ORDER, 1, ctx)
            fee += tfee
            fee_blinding += tblind
        proofs.append(WindowProof(group.encode_point(c_peak), ranges.encode(), parts))
    return DemandProof(tuple(proofs)), fee, fee_blinding % group.ORDER


def verify(
    component: Demand,
    points: Sequence[Point],
    windows: Sequence[Sequence[int]],
    interval_s: int,
    context: bytes,
    proof: DemandProof,
    path: str,
) -> Point:
    f = 3600 // interval_s
    if len(proof.windows) != len(component.windows):
        raise DecodeError(
            f"expected {len(component.windows)} windows", obj=OBJ, field=f"{path}.windows"
        )
    fee_commitments: list[Point] = []
    for w, (idx, wp) in enumerate(zip(windows, proof.windows, strict=True)):
        wpath = f"{path}.windows[{w}]"
        if not _charged(component, w, idx):
            if wp is not None:
                raise DecodeError(
                    "this window charges nothing in the period: no proof", obj=OBJ, field=wpath
                )
            continue
        if wp is None:
            raise DecodeError("missing proof for a window with intervals", obj=OBJ, field=wpath)
        try:
            c_peak = group.decode_point(wp.peak)
        except group.GroupError as exc:
            raise DecodeError(str(exc), obj=OBJ, field=f"{wpath}.peak") from None
        ctx = _window_context(context, w)
        diffs = [c_peak - points[k] for k in idx]
        if not bulletproofs.verify(diffs, component.bits, wp.ranges, context=ctx):
            raise ComponentProofError(
                "peak range proof does not verify", obj=OBJ, field=f"{wpath}.ranges"
            )
        win = component.windows[w]
        if len(win.tiers) == 1:
            if wp.tiers is not None:
                raise DecodeError(
                    "a single-tier window carries no tier parts", obj=OBJ, field=f"{wpath}.tiers"
                )
            fee_commitments.append(group.mul(c_peak, win.tiers[0].price * f))
        else:
            if wp.tiers is None:
                raise DecodeError("missing tier parts", obj=OBJ, field=f"{wpath}.tiers")
            demand = group.mul(c_peak, f)
            fee_commitments.append(
                tiers.verify(win.tiers, demand, 1, ctx, wp.tiers, f"{wpath}.tiers")
            )
    return group.point_sum(fee_commitments)
