"""Energy charge with a public price per interval (time-of-use or dynamic prices).

Statement: for commitments ``C_i = c_i·G + r_i·H`` and public prices ``p_i`` (nano-currency per
kWh), the fee ``F = Σ p_i·c_i`` (pico-currency) is committed by ``Σ p_i·C_i = F·G + (Σ p_i·r_i)·H``.
The prover reveals ``R = Σ p_i·r_i mod q``; the verifier recomputes ``Σ p_i·C_i`` and checks it
against ``F·G + R·H``. No zero-knowledge proof is needed: ``R`` is uniform given ``F`` whenever
some ``p_i ≠ 0``, and binding of the commitments fixes ``F``. With ``|c_i| < 2^32``,
``|p_i| ≤ 2^40`` and at most ``2^20`` intervals, ``|F| < 2^92``, far below ``q/2 ≈ 2^254``: the
check over the group decides the integer equation.
"""

from __future__ import annotations

from collections.abc import Sequence

from privbill.crypto import group, pedersen
from privbill.crypto.group import Point
from privbill.errors import UsageError


def prove(
    prices: Sequence[int], values: Sequence[int], blindings: Sequence[int]
) -> tuple[int, int]:
    """``(F, R)``: the exact fee and the opening of the fee commitment."""
    if not len(prices) == len(values) == len(blindings):
        raise UsageError("prices, values and blindings differ in length", obj="energy charge")
    fee = sum(p * c for p, c in zip(prices, values, strict=True))
    blinding = sum(p * r for p, r in zip(prices, blindings, strict=True)) % group.ORDER
    return fee, blinding


def fee_commitment(prices: Sequence[int], points: Sequence[Point]) -> Point:
    """``Σ p_i·C_i``.

    Time-of-use tariffs have few distinct prices: commitments with the same price are added first
    (one point addition each) and only the per-price sums enter the multi-scalar multiplication.
    Dynamic prices, mostly distinct, go to one MSM over all commitments.
    """
    if len(prices) != len(points):
        raise UsageError("prices and commitments differ in length", obj="energy charge")
    distinct = set(prices)
    if 4 * len(distinct) > len(prices):
        return group.msm(points, prices)
    buckets: dict[int, list[Point]] = {p: [] for p in distinct if p}
    for p, pt in zip(prices, points, strict=True):
        if p:
            buckets[p].append(pt)
    keys = list(buckets)
    return group.msm([group.point_sum(buckets[k]) for k in keys], keys)


def verify(fee: int, blinding: int, commitment: Point) -> bool:
    """Does ``commitment`` open to ``(fee, blinding)``?"""
    return pedersen.commit_public(fee, blinding) == commitment
