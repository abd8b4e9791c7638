"""Cheating provers: the honest proving code run on witnesses the verifier must refuse.

A cheating prover knows every secret (readings, blinding factors) and wants a lower bill. It
produces proofs with the project's own proving routines, but for values it chooses: another split
of a hidden total into tiers, an understated peak, another row of a price table, another band. Where
an honest routine would refuse a false statement, the cheater switches that refusal off (for
range proofs: the bits of the out-of-range value, truncated) and sends whatever comes out.

Tests in ``test_cheating_*.py`` use these to search for forgeries; every forged bill with a lower
total must be refused.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from privbill.billing import tiers as tier_proofs
from privbill.crypto import bulletproofs, group, oror, pedersen, transcript
from privbill.model.component_proofs import PartsProof
from privbill.model.components import Tier

_Q = group.ORDER


@contextlib.contextmanager
def lenient_range_prover() -> Iterator[None]:
    """Let the range prover run on values outside their ranges (it proves the low bits)."""
    honest = bulletproofs._check_openings

    def cheating(
        statement: bulletproofs.RangeStatement, values: Sequence[int], blindings: Sequence[int]
    ) -> list[tuple[int, int]]:
        mask = (1 << statement.n) - 1
        return [
            ((sign * values[i] + offset) % _Q & mask, sign * blindings[i] % _Q)
            for i, sign, offset in statement.constraints
        ]

    bulletproofs._check_openings = cheating  # type: ignore[assignment]
    try:
        yield
    finally:
        bulletproofs._check_openings = honest  # type: ignore[assignment]


def prove_or_anyway(
    clauses: Sequence[oror.RelationLike], index: int, witness: Sequence[int], **kw: Any
) -> bytes:
    """The OR prover without its witness check: a proof for a clause that may not hold."""
    label, context = kw.get("label", "generic"), kw.get("context", b"")
    instances = oror._instances(clauses)
    commitments, state = oror.or_commit(instances, index, witness, check_witness=False)
    commitment_bytes = b"".join(transcript.encode_points(t) for t in commitments)
    challenge = oror.derive_or_challenge(oror.or_tag(label, context), instances, commitment_bytes)
    challenges, responses = oror.or_respond(state, challenge)
    return transcript.encode_scalars([*challenges, *(z for r in responses for z in r)])


def split_blinding(blinding: int, k: int) -> list[int]:
    rs = [group.random_scalar() for _ in range(k - 1)]
    rs.append((blinding - sum(rs)) % _Q)
    return rs


def forge_parts(
    tiers: Sequence[Tier],
    parts: Sequence[int],
    blinding: int,
    scale: int,
    context: bytes,
    *,
    order_boundaries: Sequence[int] | None = None,
) -> PartsProof:
    """A tier proof for the split ``parts`` of an amount committed with ``blinding``.

    Range proofs are made for the chosen parts (valid when they are in range); an order proof is
    made for each boundary the verifier asks about (or ``order_boundaries``): a valid one when a
    clause holds for the chosen parts, otherwise the OR prover run with a false witness.
    """
    k = len(tiers)
    rs = split_blinding(blinding, k)
    # parts may be negative (mod q) for a cheater
    points = [pedersen.commit(v % _Q, r) for v, r in zip(parts, rs, strict=True)]
    ws = tier_proofs.widths(tiers, scale)
    bounds = [(0, 1 << tier_proofs.BITS) if w is None else (0, w + 1) for w in ws]
    with lenient_range_prover():
        ranges = bulletproofs.prove_ranges(
            [v % _Q for v in parts],
            rs,
            bounds,
            tier_proofs.BITS,
            context=context,
            commitments=points,
        )
    boundaries = (
        tier_proofs.ordered_boundaries(tiers) if order_boundaries is None else order_boundaries
    )
    order = []
    for j in boundaries:
        width = ws[j]
        assert width is not None
        clauses = tier_proofs._order_clauses(points, j, width)
        if parts[j] == width:
            index, witness = 0, [rs[j]]
        elif parts[j + 1] == 0:
            index, witness = 1, [rs[j + 1]]
        else:  # neither clause holds: try anyway
            index, witness = 0, [rs[j]]
        order.append(
            prove_or_anyway(clauses, index, witness, label=tier_proofs.OR_LABEL, context=context)
        )
    return PartsProof(
        b"".join(group.encode_point(p) for p in points), ranges.encode(), tuple(order)
    )


def splits_in_widths(amount: int, widths: Sequence[int | None], limit: int) -> Iterator[list[int]]:
    """Every split of ``amount`` into parts ``0 ≤ t_j ≤ w_j`` (unbounded where ``None``), up to
    ``limit`` of them, small parts first."""
    count = 0

    def rec(j: int, left: int, acc: list[int]) -> Iterator[list[int]]:
        nonlocal count
        if count >= limit:
            return
        if j == len(widths) - 1:
            w = widths[j]
            if w is None or left <= w:
                count += 1
                yield [*acc, left]
            return
        w = widths[j]
        top = left if w is None else min(left, w)
        for t in range(top + 1):
            yield from rec(j + 1, left - t, [*acc, t])

    yield from rec(0, amount, [])


def greedy_split(amount: int, widths: Sequence[int | None], order: Sequence[int]) -> list[int]:
    """Fill the tiers in the given order, each as far as it goes."""
    parts = [0] * len(widths)
    left = amount
    for j in order:
        w = widths[j]
        take = left if w is None else min(left, w)
        parts[j] = take
        left -= take
    if left:
        raise ValueError("amount does not fit")
    return parts


def fill_orders(k: int, limit: int = 120) -> Iterator[tuple[int, ...]]:
    """Orders in which a cheater might fill ``k`` tiers (all of them for small ``k``); the
    unbounded last tier goes last, otherwise it would swallow everything."""
    for perm in itertools.islice(itertools.permutations(range(k - 1)), limit):
        yield (*perm, k - 1)
