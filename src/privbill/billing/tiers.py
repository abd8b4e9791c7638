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

Hidden widths (hours-use tiers, :class:`HiddenScale`): the bounds are ``u_j·S`` for a committed
``S`` (the billing demand). The range proof then covers ``t_j`` and ``(u_j − u_{j−1})·C_S − P_j``
(derived by the verifier) in ``[0, 2^64)``, and "tier ``j`` full" reads
``P_j − (u_j − u_{j−1})·C_S = x·H``. No wrap-around: ``(u_j − u_{j−1})·S < 2^63`` by the tariff's
limits (``docs/tariff-format.md``, hours-use), far below ``q``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from privbill.crypto import bulletproofs, group, oror, pedersen
from privbill.crypto.group import Point
from privbill.crypto.sigma import Instance, LinearRelation
from privbill.errors import ComponentProofError, DecodeError
from privbill.model.component_proofs import OBJ, PartsProof
from privbill.model.components import Tier, tier_parts

BITS = 64
OR_LABEL = "tier-order"


@dataclass(frozen=True, slots=True)
class HiddenScale:
    """Tier bounds ``up_to × S`` for a committed ``S``: the verifier knows ``point``, the prover
    also ``value`` and ``blinding``."""

    point: Point
    value: int = 0
    blinding: int = 0

    def __repr__(self) -> str:  # the value and blinding are secret
        return "HiddenScale(<point>)"


Scale = int | HiddenScale


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


def _multipliers(tiers: Sequence[Tier]) -> list[int]:
    """``u_j − u_{j−1}`` of every bounded tier."""
    bounds = [0, *(t.up_to for t in tiers if t.up_to is not None)]
    return [b - a for a, b in itertools.pairwise(bounds)]


def _full_points(tiers: Sequence[Tier], scale: Scale) -> list[Point]:
    """For each bounded tier, the commitment a full tier equals up to a multiple of ``H``:
    ``w_j·G`` for public widths, ``(u_j − u_{j−1})·C_S`` for hidden ones."""
    if isinstance(scale, HiddenScale):
        return [group.mul(scale.point, m) for m in _multipliers(tiers)]
    g = group.generator()
    return [group.mul(g, w) for w in widths(tiers, scale) if w is not None]


def _order_clauses(parts: Sequence[Point], j: int, full: int | Point) -> list[Instance]:
    """Tier ``j`` full (``P_j − full`` a multiple of ``H``) or tier ``j+1`` empty; ``full`` is
    the full tier's commitment without blinding (an int: that many units of ``G``)."""
    h = pedersen.generator_h()
    if isinstance(full, int):
        full = group.mul(group.generator(), full)
    rel_full = LinearRelation()
    x = rel_full.scalar("x")
    rel_full.equation(rel_full.element("D", parts[j] - full), x * rel_full.element("H", h))
    empty = LinearRelation()
    y = empty.scalar("y")
    empty.equation(empty.element("D", parts[j + 1]), y * empty.element("H", h))
    return [rel_full.compile(), empty.compile()]


def ordered_boundaries(tiers: Sequence[Tier]) -> list[int]:
    """The boundaries ``j`` (tier ``j`` | tier ``j+1``, 0-based) that need an order proof: those
    with a tier at or before ``j`` dearer than a tier after it (module docstring)."""
    prices = [t.price for t in tiers]
    return [j for j in range(len(prices) - 1) if max(prices[: j + 1]) > min(prices[j + 1 :])]


def _range_statement_points(
    tiers: Sequence[Tier], points: Sequence[Point], scale: HiddenScale
) -> list[Point]:
    """The parts, then ``(u_j − u_{j−1})·C_S − P_j`` for every bounded tier."""
    fulls = _full_points(tiers, scale)
    return [*points, *(f - p for f, p in zip(fulls, points, strict=False))]


def prove(
    tiers: Sequence[Tier], amount: int, blinding: int, scale: Scale, context: bytes
) -> tuple[PartsProof, int, int]:
    """``(proof, fee, fee blinding)`` for ``amount`` committed with ``blinding``."""
    hidden = scale if isinstance(scale, HiddenScale) else None
    s = hidden.value if hidden else scale
    assert isinstance(s, int)
    values = tier_parts(tiers, amount, s)
    k = len(values)
    rs = [group.random_scalar() for _ in range(k - 1)]
    rs.append((blinding - sum(rs)) % group.ORDER)
    # the parts reveal the hidden total: constant-time path (at most 16 of them)
    points = [pedersen.commit_ct(v, r) for v, r in zip(values, rs, strict=True)]
    ws = widths(tiers, s)
    if hidden is None:
        ranges = bulletproofs.prove_ranges(
            values, rs, _bounds(ws), BITS, context=context, commitments=points
        )
    else:
        mults = _multipliers(tiers)
        gaps = [m * s - v for m, v in zip(mults, values, strict=False)]
        gap_blinds = [
            (m * hidden.blinding - r) % group.ORDER for m, r in zip(mults, rs, strict=False)
        ]
        ranges = bulletproofs.prove(
            [*values, *gaps],
            [*rs, *gap_blinds],
            BITS,
            context=context,
            commitments=_range_statement_points(tiers, points, hidden),
        )
    fulls = _full_points(tiers, scale)
    # a full tier's part minus its full commitment is a multiple of H with this factor
    full_blinds = [
        (r - (m * hidden.blinding if hidden else 0)) % group.ORDER
        for m, r in zip(_multipliers(tiers), rs, strict=False)
    ]
    order = []
    for j in ordered_boundaries(tiers):
        full = values[j] == ws[j]
        order.append(
            oror.prove_or(
                _order_clauses(points, j, fulls[j]),
                0 if full else 1,
                [full_blinds[j]] if full else [rs[j + 1]],
                label=OR_LABEL,
                context=context,
            )
        )
    proof = PartsProof(
        b"".join(group.encode_point(p) for p in points), ranges.encode(), tuple(order)
    )
    fee = sum(t.price * v for t, v in zip(tiers, values, strict=True))
    fee_blinding = sum(t.price * r for t, r in zip(tiers, rs, strict=True)) % group.ORDER
    return proof, fee, fee_blinding


def _bounds(ws: Sequence[int | None]) -> list[tuple[int, int]]:
    return [(0, 1 << BITS) if w is None else (0, w + 1) for w in ws]


def verify(
    tiers: Sequence[Tier],
    amount: Point,
    scale: Scale,
    context: bytes,
    proof: PartsProof,
    path: str,
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
    if isinstance(scale, HiddenScale):
        ok = bulletproofs.verify(
            _range_statement_points(tiers, points, scale), BITS, proof.ranges, context=context
        )
    else:
        ok = bulletproofs.verify_ranges(
            points, _bounds(widths(tiers, scale)), BITS, proof.ranges, context=context
        )
    if not ok:
        raise ComponentProofError(
            "tier range proof does not verify", obj=OBJ, field=f"{path}.ranges"
        )
    boundaries = ordered_boundaries(tiers)
    if len(proof.order) != len(boundaries):
        raise DecodeError(
            f"expected {len(boundaries)} tier-order proofs", obj=OBJ, field=f"{path}.order"
        )
    fulls = _full_points(tiers, scale)
    for i, j in enumerate(boundaries):
        if not oror.verify_or(
            _order_clauses(points, j, fulls[j]), proof.order[i], label=OR_LABEL, context=context
        ):
            raise ComponentProofError(
                "tier order proof does not verify", obj=OBJ, field=f"{path}.order[{i}]"
            )
    return group.msm(points, [t.price for t in tiers])
