"""Exact linear algebra of disclosed functionals: which readings and short windows they fix.

Every figure a customer discloses that is linear in the readings — a total over the period, a
window or a register, a weighted sum, an opened reading, a bill's energy charge — is a vector
``f`` over the coordinates ``(meter, interval)``: the figure is ``Σ f_x·c_x``. A set of such
figures determines exactly the functionals in their linear span (the blinding factors they come
with reveal nothing more, ``docs/disclosure.md`` §1). This module answers, with exact integer
arithmetic (never floating point, never arithmetic modulo a fixed prime), one question: does
adding *new* functionals to a *base* set put into the span a functional that the base did not
already determine and that is

* a single reading (a unit vector ``e_x``), or
* supported within a time window shorter than ``L`` seconds: its coordinates' intervals all lie
  in ``[t, t + L)`` for some ``t`` (``L`` is the customer's minimum window)?

Method (``docs/disclosure.md`` §7 gives the proof):

1. Order the coordinates by (UTC day, meter, interval start) and merge neighbours that every
   functional weighs alike into *blocks*: no vector of the span can tell them apart, so the span
   lives on blocks. Within one meter the order is time order; several meters interleave day by
   day.
2. Bring a basis of the span into *minimal-span form*: all rows' first nonzero positions
   distinct and all rows' last nonzero positions distinct (row echelon form, then, while two
   rows end at the same position, subtract a multiple of the later-starting row from the
   earlier-starting one). For every nonzero ``v = Σ a_r·g_r`` the first position of ``v`` is
   the smallest first position among the rows with ``a_r ≠ 0`` (no other row is nonzero there)
   and its last position the largest last position; so the vectors supported in a range of
   positions ``[lo, hi]`` are exactly the combinations of the rows lying inside ``[lo, hi]``
   (the minimal-span property of Kschischang and Sorokine's trellis theory, 1995).
3. For a window ``[t, t + L)`` the blocks inside it (start ``≥ t``, end ``< t + L``) sit between
   two positions ``lo`` and ``hi``; the span's vectors supported inside the window are the
   combinations of the rows lying in ``[lo, hi]`` that vanish on the other blocks of that range
   (blocks of another meter or longer blocks): a small exact kernel computation, empty in the
   common case. Each kernel vector is tested for membership in the base span.

Rows carry their *provenance*, the rational combination of input functionals they are, so a
finding names the figures that combine into it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import Final

#: A coordinate: meter id and interval index.
Coord = tuple[str, int]
#: Length of the ordering cells (UTC days): within a cell, meter by meter in time order.
CELL_S: Final = 86400

_Vec = dict[int, int]
_Prov = dict[int, Fraction]


# --- blocks ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Block:
    """Consecutive coordinates (in the order of the module docstring) that every functional
    weighs alike: their time extent ``[start, end)`` and the ordering cell of the first."""

    coords: tuple[Coord, ...]
    start: int
    end: int
    cell: int


def _key(c: Coord, lengths: Mapping[str, int], cell_s: int) -> tuple[int, str, int]:
    start = c[1] * lengths[c[0]]
    return start // cell_s, c[0], start


def blocks_of(
    functionals: Sequence[Mapping[Coord, int]],
    lengths: Mapping[str, int],
    cell_s: int = CELL_S,
) -> tuple[list[Block], list[_Vec]]:
    """The blocks of a set of functionals and each functional as a vector over blocks.
    Coordinates that no functional touches are left out (every vector of the span is zero
    there)."""
    cols: dict[Coord, list[tuple[int, int]]] = {}
    for j, f in enumerate(functionals):
        for c, w in f.items():
            if w:
                cols.setdefault(c, []).append((j, w))
    order = sorted(cols, key=lambda c: _key(c, lengths, cell_s))
    blocks: list[Block] = []
    rows: list[_Vec] = [{} for _ in functionals]
    members: list[Coord] = []
    prev: tuple[tuple[int, int], ...] | None = None

    def close() -> None:
        starts = [i * lengths[m] for m, i in members]
        ends = [(i + 1) * lengths[m] for m, i in members]
        first = members[0]
        blocks.append(
            Block(tuple(members), min(starts), max(ends), first[1] * lengths[first[0]] // cell_s)
        )

    for c in order:
        col = tuple(cols[c])
        if col != prev:
            if members:
                close()
            members = []
            b = len(blocks)
            for j, w in col:
                rows[j][b] = w
            prev = col
        members.append(c)
    if members:
        close()
    return blocks, rows


# --- minimal-span form -----------------------------------------------------------------------


class _Row:
    __slots__ = ("first", "last", "prov", "vec")

    def __init__(self, vec: _Vec, prov: _Prov) -> None:
        self.vec = vec
        self.prov = prov
        self.first = min(vec)
        self.last = max(vec)


def _combine(x: _Vec, a: int, y: _Vec, b: int) -> _Vec:
    """``a·x − b·y`` without zero entries."""
    out = {k: a * v for k, v in x.items()}
    for k, v in y.items():
        w = out.get(k, 0) - b * v
        if w:
            out[k] = w
        else:
            out.pop(k, None)
    return out


def _combine_prov(x: _Prov, a: int, y: _Prov, b: int) -> _Prov:
    out = {k: a * v for k, v in x.items()}
    for k, v in y.items():
        w = out.get(k, Fraction(0)) - b * v
        if w:
            out[k] = w
        else:
            out.pop(k, None)
    return out


def _eliminate(x: _Vec, xp: _Prov, y: _Row, pos: int) -> tuple[_Vec, _Prov]:
    """``x`` minus the multiple of ``y`` that clears position ``pos`` (fraction-free: both are
    scaled by coprime integers, then the result is divided by the gcd of its entries)."""
    a, b = y.vec[pos], x[pos]
    g = gcd(a, b)
    a, b = a // g, b // g
    if a < 0:
        a, b = -a, -b
    vec = _combine(x, a, y.vec, b)
    prov = _combine_prov(xp, a, y.prov, b)
    if vec:
        c = gcd(*vec.values())
        if c > 1:
            vec = {k: v // c for k, v in vec.items()}
            prov = {k: v / c for k, v in prov.items()}
    return vec, prov


class SpanForm:
    """A basis of the span of the vectors added so far, kept in minimal-span form."""

    __slots__ = ("by_first", "by_last")

    def __init__(self) -> None:
        self.by_first: dict[int, _Row] = {}
        self.by_last: dict[int, _Row] = {}

    def copy(self) -> SpanForm:
        """An independent form with the same rows (rows are never changed in place)."""
        out = SpanForm()
        out.by_first = dict(self.by_first)
        out.by_last = dict(self.by_last)
        return out

    @property
    def rank(self) -> int:
        return len(self.by_first)

    def rows(self) -> list[_Row]:
        return [self.by_first[k] for k in sorted(self.by_first)]

    def _reduce(self, vec: _Vec, prov: _Prov) -> tuple[_Vec, _Prov]:
        while vec:
            pivot = self.by_first.get(min(vec))
            if pivot is None:
                break
            vec, prov = _eliminate(vec, prov, pivot, pivot.first)
        return vec, prov

    def contains(self, vec: Mapping[int, int | Fraction]) -> bool:
        """Whether ``vec`` lies in the span."""
        if not vec:
            return True
        den = 1
        for v in vec.values():
            if isinstance(v, Fraction):
                den = den * v.denominator // gcd(den, v.denominator)
        ints = {k: int(v * den) for k, v in vec.items() if v}
        rest, _ = self._reduce(ints, {})
        return not rest

    def add(self, vec: Mapping[int, int], prov: Mapping[int, Fraction | int]) -> bool:
        """Add a vector (with its provenance); ``False`` if it was already in the span."""
        v, p = self._reduce(
            {k: x for k, x in vec.items() if x}, {k: Fraction(x) for k, x in prov.items()}
        )
        if not v:
            return False
        row = _Row(v, p)
        # The new row's first position is free; make its last position free too.
        while True:
            other = self.by_last.get(row.last)
            if other is None:
                self.by_first[row.first] = row
                self.by_last[row.last] = row
                return True
            pos = row.last
            if other.first < row.first:
                # Shorten the earlier-starting row by the later-starting one; its first
                # position is untouched, its last moves left, and it is placed again.
                self.by_first[row.first] = row
                self.by_last[pos] = row
                del self.by_first[other.first]
                row = _Row(*_eliminate(other.vec, other.prov, row, pos))
            else:
                row = _Row(*_eliminate(row.vec, row.prov, other, pos))


# --- small exact kernels -----------------------------------------------------------------------


def _left_kernel(rows: Sequence[_Row], cols: Sequence[int]) -> list[list[Fraction]]:
    """A basis of ``{k : Σ k_r·rows[r] vanishes on cols}``."""
    n = len(rows)
    if not cols:
        return [[Fraction(int(r == s)) for s in range(n)] for r in range(n)]
    m = [[Fraction(r.vec.get(c, 0)) for c in cols] for r in rows]
    ident = [[Fraction(int(r == s)) for s in range(n)] for r in range(n)]
    pivot_row = 0
    for c in range(len(cols)):
        p = next((r for r in range(pivot_row, n) if m[r][c] != 0), None)
        if p is None:
            continue
        m[pivot_row], m[p] = m[p], m[pivot_row]
        ident[pivot_row], ident[p] = ident[p], ident[pivot_row]
        for r in range(n):
            if r != pivot_row and m[r][c] != 0:
                f = m[r][c] / m[pivot_row][c]
                m[r] = [a - f * b for a, b in zip(m[r], m[pivot_row], strict=True)]
                ident[r] = [a - f * b for a, b in zip(ident[r], ident[pivot_row], strict=True)]
        pivot_row += 1
        if pivot_row == n:
            break
    return ident[pivot_row:]


# --- the question ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding:
    """A functional the new figures determine and the base did not: its coordinates and
    weights, its time extent, and the input functionals it combines (with nonzero weight)."""

    vector: dict[Coord, Fraction]
    start: int
    end: int
    sources: tuple[int, ...]

    @property
    def reading(self) -> bool:
        return len(self.vector) == 1


def _finding(
    vec: Mapping[int, Fraction | int], prov: Mapping[int, Fraction], blocks: Sequence[Block]
) -> Finding:
    vector: dict[Coord, Fraction] = {}
    for b, w in vec.items():
        if w:
            for c in blocks[b].coords:
                vector[c] = Fraction(w)
    return Finding(
        vector=vector,
        start=min(blocks[b].start for b, w in vec.items() if w),
        end=max(blocks[b].end for b, w in vec.items() if w),
        sources=tuple(sorted(k for k, v in prov.items() if v)),
    )


def _combination(
    ks: Sequence[Fraction], rows: Sequence[_Row]
) -> tuple[dict[int, Fraction], dict[int, Fraction]]:
    vec: dict[int, Fraction] = {}
    prov: dict[int, Fraction] = {}
    for k, r in zip(ks, rows, strict=True):
        if k:
            for p, w in r.vec.items():
                vec[p] = vec.get(p, Fraction(0)) + k * w
            for j, x in r.prov.items():
                prov[j] = prov.get(j, Fraction(0)) + k * x
    return {p: w for p, w in vec.items() if w}, {p: w for p, w in prov.items() if w}


def new_short_functional(
    functionals: Sequence[Mapping[Coord, int]],
    base: Iterable[int],
    lengths: Mapping[str, int],
    min_window_s: int,
    *,
    cell_s: int = CELL_S,
) -> Finding | None:
    """A functional that ``functionals`` determine and ``functionals[base]`` do not, which is a
    single reading or lies within a window shorter than ``min_window_s``; ``None`` if there is
    none. ``lengths`` gives each meter's interval length in seconds."""
    blocks, vecs = blocks_of(functionals, lengths, cell_s)
    in_base = set(base)
    # Short rows first: they eliminate cheaply and keep the longer ones sparse.
    old = SpanForm()
    for j in sorted(in_base, key=lambda j: (len(vecs[j]), j)):
        old.add(vecs[j], {j: 1})
    new = old.copy()
    grew = False
    for j in sorted(set(range(len(vecs))) - in_base, key=lambda j: (len(vecs[j]), j)):
        grew |= new.add(vecs[j], {j: 1})
    if not grew:
        return None

    # Single readings: a row that is exactly one single-coordinate block.
    for b, row in sorted(new.by_first.items()):
        if row.last == b and len(blocks[b].coords) == 1:
            had = old.by_first.get(b)
            if had is None or had.last != b:
                return _finding(row.vec, row.prov, blocks)
    if min_window_s <= 0:
        return None

    rows = new.rows()
    firsts = [r.first for r in rows]
    cells = [b.cell for b in blocks]
    length = min_window_s
    for t in sorted({b.start for b in blocks}):
        # Blocks inside [t, t + L) begin (in the order) in the cells of t .. t + L - 1.
        p0 = bisect.bisect_left(cells, t // cell_s)
        p1 = bisect.bisect_right(cells, (t + length - 1) // cell_s)
        i0, i1 = bisect.bisect_left(firsts, p0), bisect.bisect_left(firsts, p1)
        candidates = [r for r in rows[i0:i1] if r.last < p1]
        if not candidates:
            continue
        inside = [p for p in range(p0, p1) if blocks[p].start >= t and blocks[p].end < t + length]
        if not inside:
            continue
        lo, hi = inside[0], inside[-1]
        chosen = [r for r in candidates if r.first >= lo and r.last <= hi]
        if not chosen:
            continue
        ok = set(inside)
        outside = [p for p in range(lo, hi + 1) if p not in ok]
        for ks in _left_kernel(chosen, outside):
            vec, prov = _combination(ks, chosen)
            if vec and not old.contains(vec):
                return _finding(vec, prov, blocks)
    return None
