"""Peaks shared between a bill's windows: one range proof per interval, not one per window.

A demand window (and the hours-use billing demand) proves that a committed peak ``M_W`` is at
least every interval of its set ``S_W`` of the account's load: ``M_W − c_i ∈ [0, 2^n)`` for
``i ∈ S_W``. A bill whose tariff charges a facilities demand over the whole month *and* an
on-peak demand would prove every on-peak interval twice. Instead, when a window's intervals
include all those of another range-proven window ``V`` (a *cover*), the window proves
``M_W − M_V ∈ [0, 2^n)`` once for the whole of ``V`` and ``M_W − c_i`` only for its other
intervals: ``M_W ≥ M_V ≥ c_i`` for every ``i ∈ S_V``.

The plan (:func:`cover_plan`) follows from public facts only — the tariff, the period's
calendar and which windows the bill proves by range proof — so prover and verifier compute the
same statements. Windows are taken smallest first (ties in bill order); each takes as covers
the already planned windows inside it, largest first, that do not overlap a cover it already
took. A cover may have covers of its own: the chain ends at windows that bound intervals only,
and every link is a range proof in the same bill. Above :data:`MAX_SHARED` windows nothing is
shared (a bound on the planning work for any tariff).

Soundness: all values are far below the group order (``n ≤ 64`` and every interval is a meter
reading below ``2^64``), so ``M_W − M_V ∈ [0, 2^n)`` and ``M_V − c_i ∈ [0, 2^n)`` give
``M_W ≥ M_V ≥ c_i`` as integers. Nothing more is revealed than before: every peak stays
hidden, and the statements' shape is public.

The prover commits to every peak first, then proves all the windows' statements together
(:func:`privbill.crypto.bulletproofs.prove_chunked_many`: their chunks share the cores).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from privbill.crypto import bulletproofs, group, pedersen
from privbill.crypto.group import Point
from privbill.errors import ComponentProofError

#: A bill with more range-proven windows than this shares no peaks.
MAX_SHARED = 32

#: A window's place in the bill: (component index, window index).
Key = tuple[int, int]


@dataclass(frozen=True, slots=True)
class PeakSet:
    """A range-proven window: its intervals (indices into the load), range width, transcript
    context and what its proof is called in errors; the verifier's decoded peak commitment."""

    key: Key
    indices: Sequence[int]
    bits: int
    context: bytes
    what: str
    commitment: Point | None = None


@dataclass(frozen=True, slots=True)
class Cover:
    """Which windows stand for part of a window's intervals (by position in the list of sets),
    and the intervals it bounds itself."""

    covers: tuple[int, ...]
    direct: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ProvedPeak:
    """The prover's peak of a window: value, blinding, commitment and range proof."""

    value: int
    blinding: int
    commitment: Point
    ranges: bytes


def cover_plan(sets: Sequence[PeakSet]) -> list[Cover]:
    """For each set (same order), its covers and its own intervals (module docstring)."""
    plans = [Cover((), tuple(s.indices)) for s in sets]
    if len(sets) < 2 or len(sets) > MAX_SHARED:
        return plans
    members = [frozenset(s.indices) for s in sets]
    order = sorted(range(len(sets)), key=lambda i: (len(members[i]), i))
    done: list[int] = []
    for i in order:
        covered: set[int] = set()
        covers: list[int] = []
        for j in sorted(done, key=lambda j: (-len(members[j]), j)):
            if members[j] and members[j] <= members[i] and covered.isdisjoint(members[j]):
                covers.append(j)
                covered |= members[j]
        if covers:
            direct = tuple(k for k in sets[i].indices if k not in covered)
            plans[i] = Cover(tuple(covers), direct)
        done.append(i)
    return plans


def prove_peaks(
    sets: Sequence[PeakSet],
    values: Sequence[int],
    blindings: Sequence[int],
    points: Sequence[Point] | None = None,
) -> dict[Key, ProvedPeak]:
    """Commit to every window's peak and prove every window's statement (all at once).

    ``points`` (the load's commitments, if at hand) spare recomputing the differences'
    commitments. Raises :class:`ComponentProofError` if a peak does not fit its range width.
    """
    peaks: list[tuple[int, int, Point]] = []
    for s in sets:
        peak = max(values[k] for k in s.indices)
        if peak >= 1 << s.bits:
            raise ComponentProofError(
                f"an interval of {peak} Wh does not fit the tariff's {s.bits}-bit {s.what} proof",
                obj="readings",
                field="wh",
            )
        r = group.random_scalar()
        peaks.append((peak, r, pedersen.commit_ct(peak, r)))  # secret peak: constant time
    q = group.ORDER
    jobs: list[bulletproofs.ChunkedValues] = []
    for s, plan, (peak, r, c) in zip(sets, cover_plan(sets), peaks, strict=True):
        vals = [peak - peaks[j][0] for j in plan.covers] + [peak - values[k] for k in plan.direct]
        blinds = [(r - peaks[j][1]) % q for j in plan.covers]
        blinds += [(r - blindings[k]) % q for k in plan.direct]
        commitments: list[Point] | None = None
        if points is not None:
            commitments = [c - peaks[j][2] for j in plan.covers]
            commitments += [c - points[k] for k in plan.direct]
        jobs.append(bulletproofs.ChunkedValues(vals, blinds, s.bits, s.context, commitments))
    proofs = bulletproofs.prove_chunked_many(jobs)
    return {
        s.key: ProvedPeak(peak, r, c, proof)
        for s, (peak, r, c), proof in zip(sets, peaks, proofs, strict=True)
    }


def peak_differences(sets: Sequence[PeakSet], points: Sequence[Point]) -> dict[Key, list[Point]]:
    """The verifier's side: for each window, the commitments its range proof bounds (peak minus
    each cover's peak, then peak minus each of its own intervals), in the prover's order."""
    out: dict[Key, list[Point]] = {}
    for s, plan in zip(sets, cover_plan(sets), strict=True):
        c = s.commitment
        if c is None:
            raise ComponentProofError("a window's peak is missing", obj="bill", field=str(s.key))
        diffs = [c - _commitment(sets[j]) for j in plan.covers]
        diffs += [c - points[k] for k in plan.direct]
        out[s.key] = diffs
    return out


def _commitment(s: PeakSet) -> Point:
    if s.commitment is None:
        raise ComponentProofError("a window's peak is missing", obj="bill", field=str(s.key))
    return s.commitment
