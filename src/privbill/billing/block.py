"""Block charge: each interval's consumption at the price of the band it falls in, hidden.

Statement: interval commitments ``C_i`` (all meters added) and public bands ``[l_b, u_b)`` with
prices ``p_b``; the fee is ``Σ_i p_{b(i)}·c_i``, committed as ``Σ F_i``.

Proof: the degree-1 case of :mod:`privbill.billing.polynomial`. Per interval ``F_i`` (the fee),
the band bounds the table needs (``Lo_i`` and/or ``Hi_i``), and a CDS OR over the bands whose
clause ``b`` is ``F − p_b·C + ζ·(Lo − l_b·G) + ζ'·(Hi − u_b·G) = w·H``; one aggregated range proof
``C − Lo ∈ [0, 2^bits)``, ``Hi − G − C ∈ [0, 2^bits)``. With prices that never fall from one band
to the next only ``Hi`` is needed (claiming a higher band never costs less), with prices that
never rise and no cap only ``Lo``; with one price and no cap nothing is needed at all (the fee
commitment is ``p·Σ C_i``). ``docs/interval_components.md`` has the argument and the costs.
"""

from __future__ import annotations

from collections.abc import Sequence

from privbill.billing.bands import band_table
from privbill.billing.polynomial import prove_bands, verify_bands
from privbill.crypto.group import Point
from privbill.model.interval_components import BlockCharge, BlockProof


def prove(
    component: BlockCharge,
    values: Sequence[int],
    blindings: Sequence[int],
    context: bytes,
    *,
    points: Sequence[Point] | None = None,
) -> tuple[BlockProof, int, int]:
    """``(proof, fee, fee blinding)`` for the per-interval consumption ``values`` committed with
    ``blindings`` (``points``: those commitments, if at hand)."""
    intervals, ranges, fee, blind = prove_bands(
        component.kind, band_table(component), values, blindings, context, points
    )
    return BlockProof(intervals, ranges), fee, blind


def verify(
    component: BlockCharge,
    points: Sequence[Point],
    context: bytes,
    proof: BlockProof,
    path: str,
) -> Point:
    """The fee commitment, or a typed error naming the part that fails."""
    return verify_bands(
        component.kind, band_table(component), points, context, proof.intervals, proof.ranges, path
    )
