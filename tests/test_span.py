"""The minimal-span form and the short-window criterion against brute force.

The brute force knows nothing of blocks, orders or minimal spans: for a set ``W`` of coordinates
the vectors of the row space ``C`` of a matrix ``M`` that vanish outside ``W`` form a space of
dimension ``rank(M) − rank(M restricted to the columns outside W)``. New information about ``W``
exists exactly when that dimension is larger for all functionals than for the base ones; the
criterion asks it for every single coordinate and for every time window ``[t, t + L)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privbill.disclosure.span import Coord, SpanForm, blocks_of, new_short_functional

Functional = dict[Coord, int]


def rank(rows: Sequence[Sequence[Fraction | int]]) -> int:
    m = [[Fraction(x) for x in r] for r in rows]
    if not m:
        return 0
    rk = 0
    for c in range(len(m[0])):
        p = next((i for i in range(rk, len(m)) if m[i][c] != 0), None)
        if p is None:
            continue
        m[rk], m[p] = m[p], m[rk]
        for i in range(len(m)):
            if i != rk and m[i][c] != 0:
                f = m[i][c] / m[rk][c]
                m[i] = [a - f * b for a, b in zip(m[i], m[rk], strict=True)]
        rk += 1
    return rk


def dim_inside(matrix: list[list[int]], inside: set[int]) -> int:
    if not matrix:
        return 0
    outside = [c for c in range(len(matrix[0])) if c not in inside]
    rest = rank([[r[c] for c in outside] for r in matrix]) if outside else 0
    return rank(matrix) - rest


def brute_force(
    functionals: Sequence[Functional], base: set[int], lengths: Mapping[str, int], window: int
) -> bool:
    coords = sorted({c for f in functionals for c in f})
    col = {c: k for k, c in enumerate(coords)}
    everything = [[f.get(c, 0) for c in coords] for f in functionals]
    before = [[f.get(c, 0) for c in coords] for j, f in enumerate(functionals) if j in base]
    for c in coords:
        if dim_inside(everything, {col[c]}) > dim_inside(before, {col[c]}):
            return True
    if window > 0:
        for t in sorted({i * lengths[m] for m, i in coords}):
            inside = {col[(m, i)] for m, i in coords if i * lengths[m] >= t}
            inside = {k for k in inside if (coords[k][1] + 1) * lengths[coords[k][0]] < t + window}
            if inside and dim_inside(everything, inside) > dim_inside(before, inside):
                return True
    return False


@st.composite
def instances(
    draw: st.DrawFn,
) -> tuple[list[Functional], set[int], dict[str, int], int, int]:
    """Small random instances: one or two meters (interval lengths 1–3 time units), windows,
    sparse random functionals with small weights, a random base subset, window and cell."""
    meters = draw(st.sampled_from([["a"], ["a", "b"]]))
    lengths = {m: draw(st.sampled_from([1, 2, 3])) for m in meters}
    span = 12
    out: list[Functional] = []
    for _ in range(draw(st.integers(1, 6))):
        f: Functional = {}
        for m in meters:
            n = span // lengths[m]
            if draw(st.booleans()):
                a = draw(st.integers(0, n - 1))
                b = draw(st.integers(a, n - 1))
                w = draw(st.sampled_from([1, 1, 2, -1, 7]))
                f.update({(m, i): w for i in range(a, b + 1)})
            else:
                for i in range(n):
                    w = draw(st.integers(-2, 2))
                    if w:
                        f[(m, i)] = w
        if f:
            out.append(f)
    if not out:
        out.append({(meters[0], 0): 1})
    base = {j for j in range(len(out)) if draw(st.booleans())}
    return out, base, lengths, draw(st.integers(0, 9)), draw(st.sampled_from([1, 2, 4, 5, 100]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_criterion_equals_brute_force(
    case: tuple[list[Functional], set[int], dict[str, int], int, int],
) -> None:
    functionals, base, lengths, window, cell = case
    found = new_short_functional(functionals, base, lengths, window, cell_s=cell)
    assert (found is not None) == brute_force(functionals, base, lengths, window)
    if found is None:
        return
    # The finding is a vector of the new span, outside the base span, and short.
    coords = sorted({c for f in functionals for c in f} | set(found.vector))
    v = [found.vector.get(c, Fraction(0)) for c in coords]
    everything = [[f.get(c, 0) for c in coords] for f in functionals]
    before = [[f.get(c, 0) for c in coords] for j, f in enumerate(functionals) if j in base]
    assert rank([*everything, v]) == rank(everything)
    assert rank([*before, v]) > rank(before)
    start = min(i * lengths[m] for m, i in found.vector)
    end = max((i + 1) * lengths[m] for m, i in found.vector)
    assert (start, end) == (found.start, found.end)
    assert found.reading or end - start < window
    # Its sources combine into it: Σ coefficient·functional = the vector, for some coefficients
    # on the named functionals (and only those with a new one among them).
    named = [[f.get(c, 0) for c in coords] for j, f in enumerate(functionals) if j in found.sources]
    assert rank([*named, v]) == rank(named)
    assert any(j not in base for j in found.sources)


@settings(max_examples=100, deadline=None)
@given(instances())
def test_minimal_span_form(
    case: tuple[list[Functional], set[int], dict[str, int], int, int],
) -> None:
    """Distinct first and last positions; the same span as the input; and for every range of
    positions, the rows inside it span exactly the vectors supported inside it."""
    functionals, _, lengths, _, cell = case
    blocks, vecs = blocks_of(functionals, lengths, cell)
    form = SpanForm()
    for j, v in enumerate(vecs):
        form.add(v, {j: 1})
    rows = form.rows()
    assert len({r.first for r in rows}) == len({r.last for r in rows}) == len(rows)
    dense_in = [[v.get(b, 0) for b in range(len(blocks))] for v in vecs]
    dense_rows = [[r.vec.get(b, 0) for b in range(len(blocks))] for r in rows]
    assert rank(dense_in) == len(rows) == rank([*dense_in, *dense_rows])
    for lo in range(len(blocks)):
        for hi in range(lo, len(blocks)):
            inside = set(range(lo, hi + 1))
            count = sum(1 for r in rows if lo <= r.first and r.last <= hi)
            assert count == dim_inside(dense_in, inside)
    # Blocks: neighbours differ, and every functional is constant on each block.
    for f in functionals:
        for b in blocks:
            assert len({f.get(c, 0) for c in b.coords}) == 1


def test_known_cases() -> None:
    """Worked examples: overlapping windows, one-hot and packed weights, unit vectors."""
    day = 96
    lengths = {"m": 900}

    def window(a: int, b: int, w: int = 1) -> Functional:
        return {("m", i): w for i in range(a, b)}

    # Days 1–10 and 2–10: their difference is day 1, a whole day.
    f = [window(0, 10 * day), window(day, 10 * day)]
    assert new_short_functional(f, set(), lengths, 23 * 3600) is None
    # Hours: 00:00–day 10 and 01:00–day 10 reveal the first hour.
    f = [window(0, 10 * day), window(4, 10 * day)]
    found = new_short_functional(f, set(), lengths, 23 * 3600)
    assert found is not None and (found.start, found.end) == (0, 3600)
    assert found.sources == (0, 1) and not found.reading
    # The same, the first window already disclosed: only the second is new.
    found = new_short_functional(f, {0}, lengths, 23 * 3600)
    assert found is not None and found.sources == (0, 1)
    # A one-hot weight vector over the month is a single reading.
    f = [{("m", 17): 1}]
    found = new_short_functional(f, set(), lengths, 0)
    assert found is not None and found.reading and found.vector == {("m", 17): 1}
    # Packed weights 1, 2^14, 2^28 on three readings: a 45-minute combination.
    f = [{("m", 40): 1, ("m", 41): 2**14, ("m", 42): 2**28}]
    found = new_short_functional(f, set(), lengths, 3600)
    assert found is not None and found.end - found.start == 2700
    # Nothing new: the same functional twice.
    f = [window(0, 4), window(0, 4)]
    assert new_short_functional(f, {0}, lengths, 86400) is None
    # Two meters: the load (a + b) over a day, meter a over the day, and meter b over the day
    # without its first hour reveal meter b's first hour.
    two = {"a": 900, "b": 900}
    load = {("a", i): 1 for i in range(day)} | {("b", i): 1 for i in range(day)}
    a_day = {("a", i): 1 for i in range(day)}
    b_most = {("b", i): 1 for i in range(4, day)}
    found = new_short_functional([load, a_day, b_most], set(), two, 23 * 3600)
    assert found is not None and set(found.vector) == {("b", i) for i in range(4)}
    # Meters of different interval lengths: an hourly meter's hour minus the quarter-hour
    # meter's four quarters is a one-hour stretch; the hourly reading alone is a reading.
    mixed = {"q": 900, "h": 3600}
    f = [{("q", 0): 1, ("q", 1): 1, ("q", 2): 1, ("q", 3): 1, ("h", 0): 1}]
    found = new_short_functional([*f, {("q", i): 1 for i in range(4)}], set(), mixed, 7200)
    assert found is not None and found.reading and set(found.vector) == {("h", 0)}
