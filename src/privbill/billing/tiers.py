"""Cumulative tiers on a hidden amount, shared by tiered energy and demand charges.

Statement: a commitment ``A`` (to the amount ``a``, hidden) and public tiers with bounds
``u_1 < … < u_{k-1}`` (scaled) and prices ``p_1 … p_k``. The prover commits to the parts
``t_j`` of ``a`` in each tier, ``P_j = t_j·G + ρ_j·H``, choosing the blinding factors so that
``Σ P_j = A`` exactly, and proves with one aggregated range proof that ``0 ≤ t_j ≤ u_j − u_{j−1}``
(``0 ≤ t_k < 2^64`` for the unbounded last tier). The fee commitment is ``Σ p_j·P_j``.

Why this is enough: the range proofs and ``Σ P_j = A`` make the parts some split of ``a`` within
the tier widths (``Σ t_j = a`` over the integers: every part is below ``2^64`` and ``k ≤ 16``, far
below the group order). The in-order split is the one the tariff means; any other split must not
cost less. At a boundary ``j`` (between tiers ``j`` and ``j+1``) the prover also shows, with an OR
proof, that tier ``j`` is full or tier ``j+1`` is empty (``P_j − w_j·G = x·H`` or
``P_{j+1} = y·H``) whenever some tier at or before ``j`` is dearer than some tier after it:
``max(p_1 … p_j) > min(p_{j+1} … p_k)`` (:func:`ordered_boundaries`).

Why that rule is sound, for any prices (rising, falling, rising then falling, zero, negative):
the boundaries without an order proof cut the tiers into segments such that every price in an
earlier segment is at most every price in a later one. Inside a segment every boundary has an
order proof, so the segment is filled in order given its own sum. Across segments, moving
``δ`` units from a later segment down into a non-full earlier one adds at most ``δ·max(earlier)``
and removes at least ``δ·min(later)``, never raising the fee; repeating it reaches the in-order
split, so no accepted split costs less than the in-order fee. (A split that costs *more* only
overcharges the prover.) Checking only the boundaries where the price itself drops is not enough:
with prices 0.10 → 0.20 → 0.05, the first tier left empty, the second full and the rest in the
third passes a check at the 0.20 → 0.05 boundary alone and costs less.
"""

from __future__ import annotations

from collections.abc import Sequence

from privbill.crypto import bulletproofs, group, oror, pedersen
from privbill.crypto.group import Point
from privbill.crypto.sigma import Instance, LinearRelation
from privbill.errors import ComponentProofError, DecodeError
from privbill.model.component_proofs import OBJ, PartsProof
from privbill.model.components import Tier, tier_parts

BITS = 64
OR_LABEL = "tier-order"


def widths(tiers: Sequence[Tier], scale: int) -> list[int | None]:
    out: list[int | None] = []
    lower = 0
    for t in tiers:
        if t.up_to is None:
            out.append(None)
        else:
            out.append(t.up_to * scale - lower)
            lower = t.up_to * scale
    return out


def _bounds(ws: Sequence[int | None]) -> list[tuple[int, int]]:
    return [(0, 1 << BITS) if w is None else (0, w + 1) for w in ws]


def _order_clauses(parts: Sequence[Point], j: int, width: int) -> list[Instance]:
    h = pedersen.generator_h()
    full = LinearRelation()
    x = full.scalar("x")
    full.equation(
        full.element("D", parts[j] - group.mul(group.generator(), width)), x * full.element("H", h)
    )
    empty = LinearRelation()
    y = empty.scalar("y")
    empty.equation(empty.element("D", parts[j + 1]), y * empty.element("H", h))
    return [full.compile(), empty.compile()]


def ordered_boundaries(tiers: Sequence[Tier]) -> list[int]:
    """The boundaries ``j`` (tier ``j`` | tier ``j+1``, 0-based) that need an order proof: those
    with a tier at or before ``j`` dearer than a tier after it (module docstring)."""
    prices = [t.price for t in tiers]
    return [j for j in range(len(prices) - 1) if max(prices[: j + 1]) > min(prices[j + 1 :])]


def prove(
    tiers: Sequence[Tier], amount: int, blinding: int, scale: int, context: bytes
) -> tuple[PartsProof, int, int]:
    """``(proof, fee, fee blinding)`` for ``amount`` committed with ``blinding``."""
    values = tier_parts(tiers, amount, scale)
    k = len(values)
    rs = [group.random_scalar() for _ in range(k - 1)]
    rs.append((blinding - sum(rs)) % group.ORDER)
    # the parts reveal the hidden total: constant-time path (at most 16 of them)
    points = [pedersen.commit_ct(v, r) for v, r in zip(values, rs, strict=True)]
    ws = widths(tiers, scale)
    ranges = bulletproofs.prove_ranges(
        values, rs, _bounds(ws), BITS, context=context, commitments=points
    )
    order = []
    for j in ordered_boundaries(tiers):
        width = ws[j]
        assert width is not None
        index = 0 if values[j] == width else 1
        witness = [rs[j]] if index == 0 else [rs[j + 1]]
        order.append(
            oror.prove_or(
                _order_clauses(points, j, width), index, witness, label=OR_LABEL, context=context
            )
        )
    proof = PartsProof(
        b"".join(group.encode_point(p) for p in points), ranges.encode(), tuple(order)
    )
    fee = sum(t.price * v for t, v in zip(tiers, values, strict=True))
    fee_blinding = sum(t.price * r for t, r in zip(tiers, rs, strict=True)) % group.ORDER
    return proof, fee, fee_blinding


def verify(
    tiers: Sequence[Tier], amount: Point, scale: int, context: bytes, proof: PartsProof, path: str
) -> Point:
    """The fee commitment ``Σ p_j·P_j``, or a typed error naming the part that fails."""
    k = len(tiers)
    if len(proof.parts) != k * group.POINT_BYTES:
        raise DecodeError(f"expected {k} tier commitments", obj=OBJ, field=f"{path}.parts")
    try:
        points = [
            group.decode_point(proof.parts[i : i + 48]) for i in range(0, len(proof.parts), 48)
        ]
    except group.GroupError as exc:
        raise DecodeError(str(exc), obj=OBJ, field=f"{path}.parts") from None
    if group.point_sum(points) != amount:
        raise ComponentProofError(
            "tier parts do not add up to the committed amount", obj=OBJ, field=f"{path}.parts"
        )
    ws = widths(tiers, scale)
    if not bulletproofs.verify_ranges(points, _bounds(ws), BITS, proof.ranges, context=context):
        raise ComponentProofError(
            "tier range proof does not verify", obj=OBJ, field=f"{path}.ranges"
        )
    boundaries = ordered_boundaries(tiers)
    if len(proof.order) != len(boundaries):
        raise DecodeError(
            f"expected {len(boundaries)} tier-order proofs", obj=OBJ, field=f"{path}.order"
        )
    for i, j in enumerate(boundaries):
        width = ws[j]
        assert width is not None
        if not oror.verify_or(
            _order_clauses(points, j, width), proof.order[i], label=OR_LABEL, context=context
        ):
            raise ComponentProofError(
                "tier order proof does not verify", obj=OBJ, field=f"{path}.order[{i}]"
            )
    return group.msm(points, [t.price for t in tiers])
