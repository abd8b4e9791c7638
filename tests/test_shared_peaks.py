"""Peaks shared between a bill's windows (``billing/peaks.py``).

A facilities demand over the whole month and an on-peak demand: the facilities window proves its
peak at least the on-peak window's peak, and at least each of its other intervals, instead of
bounding every on-peak interval a second time. The cheater knows every reading and blinding and
tries to bill less through the shared statement: a facilities peak below the on-peak peak, the
cover left out of the facilities statement, the on-peak peak understated while the facilities
statement that relies on it holds, peaks swapped between windows, the statements of the plan
without sharing. Every forgery must be refused, naming the window whose proof fails.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cheaters import bill_case, description, lenient_range_prover
from privbill.billing import components, peaks
from privbill.billing.cleartext import demand_windows
from privbill.billing.peaks import MAX_SHARED, Cover, PeakSet, ProvedPeak, cover_plan
from privbill.crypto import bulletproofs, group, pedersen
from privbill.errors import ComponentProofError, DecodeError
from privbill.model.component_proofs import DemandProof, HoursUseProof, WindowProof
from privbill.provider import Provider

_Q = group.ORDER


def _set(key: int, indices: Sequence[int]) -> PeakSet:
    return PeakSet((key, 0), list(indices), 8, b"ctx", "demand")


# --- the plan ----------------------------------------------------------------------------------


def test_a_window_inside_another_is_its_cover() -> None:
    month = _set(0, range(100))
    on_peak = _set(1, range(40, 60))
    plans = cover_plan([month, on_peak])
    assert plans[1] == Cover((), tuple(range(40, 60)))
    assert plans[0].covers == (1,)
    assert plans[0].direct == tuple(k for k in range(100) if not 40 <= k < 60)


def test_equal_windows_the_later_covers_the_earlier() -> None:
    plans = cover_plan([_set(0, range(30)), _set(1, range(30))])
    assert plans == [Cover((), tuple(range(30))), Cover((0,), ())]


def test_overlapping_windows_share_nothing() -> None:
    plans = cover_plan([_set(0, range(0, 20)), _set(1, range(10, 30))])
    assert [p.covers for p in plans] == [(), ()]


def test_disjoint_windows_cover_one_month_and_chains() -> None:
    """Three time-of-use windows partition the month: the month's window bounds none of its
    intervals itself; a summer window inside one of them chains."""
    sets = [
        _set(0, range(90)),  # the month
        _set(1, range(0, 30)),
        _set(2, range(30, 60)),
        _set(3, range(60, 90)),
        _set(4, range(65, 70)),  # inside window 3
    ]
    plans = cover_plan(sets)
    assert plans[0] == Cover((1, 2, 3), ())
    assert plans[3] == Cover((4,), tuple(k for k in range(60, 90) if not 65 <= k < 70))
    assert plans[4].covers == ()


def test_too_many_windows_share_nothing() -> None:
    sets = [_set(k, range(10)) for k in range(MAX_SHARED + 1)]
    assert all(p.covers == () for p in cover_plan(sets))
    assert cover_plan(sets[:MAX_SHARED])[-1].covers == (0,)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.frozensets(st.integers(0, 40), min_size=1, max_size=40), min_size=1, max_size=10)
)
def test_every_interval_is_bounded_once_through_a_chain_without_cycles(
    families: list[frozenset[int]],
) -> None:
    sets = [_set(k, sorted(s)) for k, s in enumerate(families)]
    plans = cover_plan(sets)
    planned_before: dict[int, int] = {}
    order = sorted(range(len(sets)), key=lambda i: (len(families[i]), i))
    for pos, i in enumerate(order):
        planned_before[i] = pos
    for i, plan in enumerate(plans):
        parts = [set(plan.direct)] + [set(families[j]) for j in plan.covers]
        assert sum(len(p) for p in parts) == len(families[i])  # no interval twice
        assert set().union(*parts) == families[i]  # none left out
        # a cover lies inside, and was planned earlier: chains end
        for j in plan.covers:
            assert families[j] <= families[i] and planned_before[j] < planned_before[i]


# --- whole bills -------------------------------------------------------------------------------

# Facilities demand over every hour; on-peak demand at 17-19 h, off-peak free.
ON_PEAK = [[0] * 17 + [1] * 3 + [0] * 4 for _ in range(12)]
FACILITIES = {
    "kind": "demand",
    "name": "facilities",
    "windows": [{"name": "all", "tiers": [{"up_to_kw": None, "price_per_kw": "12"}]}],
    "weekday_schedule": [[0] * 24] * 12,
    "bits": 8,
}
ON_PEAK_DEMAND = {
    "kind": "demand",
    "name": "on-peak",
    "windows": [
        {"name": "off-peak", "tiers": [{"up_to_kw": None, "price_per_kw": "0"}]},
        {"name": "on-peak", "tiers": [{"up_to_kw": None, "price_per_kw": "20"}]},
    ],
    "weekday_schedule": ON_PEAK,
    "bits": 8,
}


def _hour(k: int) -> int:
    return k % 24


def _reading(k: int, m: int) -> int:
    # on-peak hours peak at 250 (on the 10th day), the rest of the month at most 120
    if 17 <= _hour(k) < 20:
        return 250 if k // 24 == 10 and _hour(k) == 18 else 60 + k % 50
    return (k * 37) % 121


@pytest.fixture(scope="module")
def case(provider: Provider) -> Any:
    return bill_case(
        provider, description(["0.10"], [FACILITIES, ON_PEAK_DEMAND]), "2026-03", _reading
    )


def _window(case: Any, component: int, window: int) -> WindowProof:
    proof = case.honest.components[component]
    assert isinstance(proof, DemandProof)
    wp = proof.windows[window]
    assert isinstance(wp, WindowProof)
    return wp


def _padded(values: int) -> int:
    return sum(1 << (m - 1).bit_length() for m in bulletproofs.chunk_sizes(values))


def _size(values: int) -> int:
    return sum(bulletproofs.proof_size(8, m) for m in bulletproofs.chunk_sizes(values))


def _on_peak_hours(case: Any) -> list[int]:
    body = case.tariff.body
    first, count = case.period.intervals(3600)
    return demand_windows(body, body.components[1], first, count, 3600)[1]


def test_the_month_window_bounds_the_on_peak_peak_once(case: Any) -> None:
    """The facilities window proves 1 + (hours outside on-peak) values, not every hour."""
    hours = len(case.values[0])
    on_peak = len(_on_peak_hours(case))
    assert on_peak > 0
    assert len(_window(case, 1, 1).ranges) == _size(on_peak)
    assert len(_window(case, 0, 0).ranges) == _size(1 + hours - on_peak)
    # the work is in the padded constraints: 1 + hours - on_peak of them, not hours
    assert _padded(1 + hours - on_peak) < _padded(hours)


Claims = Mapping[tuple[int, int], int]


def _forged_peaks(
    claims: Claims, plan: Callable[[Sequence[PeakSet]], list[Cover]] = cover_plan
) -> Callable[..., dict[tuple[int, int], ProvedPeak]]:
    """A bill peak prover that commits to ``claims`` (others: the true peaks) and proves each
    window's statement by the ``plan`` given, whatever the differences (low bits of negative
    ones)."""

    def prove(
        sets: Sequence[PeakSet],
        values: Sequence[int],
        blindings: Sequence[int],
        points: Sequence[Any] | None = None,
    ) -> dict[tuple[int, int], ProvedPeak]:
        chosen = []
        for s in sets:
            peak = claims.get(s.key, max(values[k] for k in s.indices))
            r = group.random_scalar()
            chosen.append((peak, r, pedersen.commit(peak, r)))
        out = {}
        with lenient_range_prover():
            for s, p, (peak, r, c) in zip(sets, plan(sets), chosen, strict=True):
                vals = [(peak - chosen[j][0]) % _Q for j in p.covers]
                vals += [(peak - values[k]) % _Q for k in p.direct]
                blinds = [(r - chosen[j][1]) % _Q for j in p.covers]
                blinds += [(r - blindings[k]) % _Q for k in p.direct]
                ranges = bulletproofs.prove_chunked_values(vals, blinds, s.bits, context=s.context)
                out[s.key] = ProvedPeak(peak, r, c, ranges)
        return out

    return prove


def _forge(case: Any, prover: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(components, "prove_peaks", prover)
    try:
        return case.prove()
    finally:
        monkeypatch.undo()


def _true_peaks(case: Any) -> tuple[int, int, int]:
    """The month's, the on-peak hours' and the other hours' largest readings."""
    on = set(_on_peak_hours(case))
    values = case.values[0]
    rest = [v for k, v in enumerate(values) if k not in on]
    return max(values), max(values[k] for k in on), max(rest)


def test_facilities_peak_below_the_on_peak_peak(case: Any, monkeypatch: Any) -> None:
    month, on_peak, rest = _true_peaks(case)
    assert month == on_peak > rest
    forged = _forge(case, _forged_peaks({(0, 0): rest}), monkeypatch)
    case.refuse(
        "demand", forged, ComponentProofError, field=r"components\[0\]\.windows\[0\]\.ranges"
    )


def test_cover_left_out_of_the_statement(case: Any, monkeypatch: Any) -> None:
    """The facilities window bounds only its own hours (true peak of those) and not the
    on-peak peak: a proof of another statement."""
    _, _, rest = _true_peaks(case)

    def without_covers(sets: Sequence[PeakSet]) -> list[Cover]:
        return [Cover((), tuple(k for k in p.direct)) for p in cover_plan(sets)]

    forged = _forge(case, _forged_peaks({(0, 0): rest}, without_covers), monkeypatch)
    case.refuse(
        "demand", forged, ComponentProofError, field=r"components\[0\]\.windows\[0\]\.ranges"
    )


def test_on_peak_peak_understated_under_a_facilities_peak_that_bounds_it(
    case: Any, monkeypatch: Any
) -> None:
    """Both peaks lowered together: the facilities statement holds (its peak is at least the
    claimed on-peak peak and every other hour), the on-peak window's own does not."""
    _, _, rest = _true_peaks(case)
    forged = _forge(case, _forged_peaks({(0, 0): rest, (1, 1): rest}), monkeypatch)
    case.refuse(
        "demand", forged, ComponentProofError, field=r"components\[1\]\.windows\[1\]\.ranges"
    )


def test_statements_of_the_plan_without_sharing(case: Any, monkeypatch: Any) -> None:
    """Each window bounding all its hours (the statement of a bill that shares nothing) is not
    what the verifier checks, even with the true peaks; with a lowered peak it bills less."""
    _, on_peak, _ = _true_peaks(case)

    def unshared(sets: Sequence[PeakSet]) -> list[Cover]:
        return [Cover((), tuple(s.indices)) for s in sets]

    honest_peaks = _forge(case, _forged_peaks({}, unshared), monkeypatch)
    with pytest.raises(ComponentProofError, match=r"components\[0\]\.windows\[0\]\.ranges"):
        case.verify(honest_peaks)
    forged = _forge(case, _forged_peaks({(0, 0): on_peak - 1}, unshared), monkeypatch)
    case.refuse(
        "demand", forged, ComponentProofError, field=r"components\[0\]\.windows\[0\]\.ranges"
    )


def test_peaks_swapped_between_windows(case: Any) -> None:
    """The on-peak window's peak commitment and proof moved into the facilities window (it
    claims the month peaked in on-peak hours): its statement is another window's."""
    from cheaters import with_component

    on = _window(case, 1, 1)
    fac = case.honest.components[0]
    assert isinstance(fac, DemandProof)
    moved = DemandProof((WindowProof(on.peak, on.ranges, None),))
    forged = with_component(case.honest, 0, moved)
    with pytest.raises(ComponentProofError, match=r"components\[0\]\.windows\[0\]\.ranges"):
        case.verify(forged)
    # a peak that is not a point is named before any statement is built
    bad = DemandProof((WindowProof(bytes(48), _window(case, 0, 0).ranges, None),))
    with pytest.raises(DecodeError, match=r"components\[0\]\.windows\[0\]\.peak"):
        case.verify(with_component(case.honest, 0, bad))


# --- hours-use tiers and a flat demand over the same month ------------------------------------

HOURS_USE = {
    "kind": "hours-use",
    "name": "load factor",
    "tiers": [
        {"up_to_kwh_per_kw": "200", "price": "0.09"},
        {"up_to_kwh_per_kw": None, "price": "0.05"},
    ],
    "bits": 8,
}


@pytest.fixture(scope="module")
def same_month(provider: Provider) -> Any:
    rng = random.Random(4)
    values = {}

    def reading(k: int, m: int) -> int:
        return values.setdefault(k, rng.randrange(0, 200))

    desc = description(["0"], [HOURS_USE, FACILITIES])
    return bill_case(provider, desc, "2026-04", reading)


def test_billing_demand_and_facilities_demand_share_one_bound(same_month: Any) -> None:
    """Both bound every hour of the month: the hours-use billing demand (first in the tariff)
    bounds them, the facilities peak bounds the billing demand (one value)."""
    hu = same_month.honest.components[0]
    assert isinstance(hu, HoursUseProof)
    assert len(hu.ranges) == _size(len(same_month.values[0]))
    fac = same_month.honest.components[1]
    assert isinstance(fac, DemandProof) and isinstance(fac.windows[0], WindowProof)
    assert len(fac.windows[0].ranges) == _size(1)


def test_billing_demand_understated_under_a_facilities_peak(
    same_month: Any, monkeypatch: Any
) -> None:
    low = max(same_month.values[0]) - 20
    forged = _forge(same_month, _forged_peaks({(0, 0): low, (1, 0): low}), monkeypatch)
    same_month.refuse("hours-use", forged, ComponentProofError, field=r"components\[0\]\.ranges")


def test_peak_prover_refuses_a_peak_beyond_the_range() -> None:
    s = PeakSet((0, 0), [0, 1], 8, b"c", "demand")
    with pytest.raises(ComponentProofError, match="300 Wh does not fit the tariff's 8-bit demand"):
        peaks.prove_peaks([s], [300, 2], [1, 2])


def test_a_statement_needs_every_peak() -> None:
    """The verifier's statements are built only from decoded peaks: a window without one (or
    covering one without one) is refused, not skipped."""
    c = pedersen.commit(5, 1)
    points = [pedersen.commit(v, 2) for v in range(4)]
    month = PeakSet((0, 0), range(4), 8, b"c", "demand", c)
    part = PeakSet((1, 0), [1, 2], 8, b"c", "demand")
    with pytest.raises(ComponentProofError, match="peak is missing"):
        peaks.peak_differences([month, part], points)
    with pytest.raises(ComponentProofError, match="peak is missing"):
        peaks.peak_differences([part], points)
    diffs = peaks.peak_differences([month, PeakSet((1, 0), [1, 2], 8, b"c", "demand", c)], points)
    assert diffs[(0, 0)] == [c - c, c - points[0], c - points[3]]


# --- random nestings: any understated peak is refused ------------------------------------------


def _tou_demand(rng: random.Random, windows: int) -> dict[str, Any]:
    """A time-of-use demand charge: ``windows`` windows over disjoint random hours of the day,
    each with a price (one of them possibly free)."""
    hours = list(range(24))
    rng.shuffle(hours)
    day: list[int | None] = [None] * 24
    for w in range(windows):
        for h in hours[w * 3 : w * 3 + rng.randrange(1, 4)]:
            day[h] = w
    prices = [str(rng.choice([0, 3, 7, 15])) for _ in range(windows)]
    if not any(p != "0" for p in prices):
        prices[0] = "5"
    return {
        "kind": "demand",
        "name": f"tou-{windows}",
        "windows": [
            {"name": f"w{w}", "tiers": [{"up_to_kw": None, "price_per_kw": p}]}
            for w, p in enumerate(prices)
        ],
        "weekday_schedule": [list(day) for _ in range(12)],
        "bits": 8,
    }


@settings(max_examples=5, deadline=None, derandomize=True)
@given(st.integers(0, 2**32), st.integers(1, 3), st.booleans())
def test_any_understated_peak_of_random_nested_windows_is_refused(
    seed: int, windows: int, facilities_first: bool
) -> None:
    """A facilities demand and a time-of-use demand with random windows (the facilities window
    covering theirs), in either order in the tariff: the cheater lowers one charged window's
    peak below its true maximum (proving the low bits of whatever differences that gives, on the
    honest plan) and the bill is refused at that window's range proof or at a window whose
    statement relies on it."""
    rng = random.Random(seed)
    provider = Provider.generate("ed25519")
    comps = [FACILITIES, _tou_demand(rng, windows)]
    if not facilities_first:
        comps.reverse()
    readings = {}

    def reading(k: int, m: int) -> int:
        return readings.setdefault(k, rng.randrange(1, 200))

    case = bill_case(provider, description(["0.10"], comps), "2026-05", reading)
    fac = 0 if facilities_first else 1
    tou = 1 - fac
    body = case.tariff.body
    first, count = case.period.intervals(3600)
    values = case.values[0]
    charged = [(fac, 0, list(range(count)))]
    tou_windows = demand_windows(body, body.components[tou], first, count, 3600)
    for w, idx in enumerate(tou_windows):
        if idx and any(t.price for t in body.components[tou].windows[w].tiers):
            charged.append((tou, w, idx))
    comp, w, idx = rng.choice(charged)
    low = rng.randrange(0, max(values[k] for k in idx))  # every reading is at least 1
    prover = _forged_peaks({(comp, w): low})
    with pytest.MonkeyPatch.context() as mp:
        forged = _forge(case, prover, mp)
    err = case.refuse("demand", forged, ComponentProofError)
    assert err.field is not None and err.field.endswith(".ranges"), err.field
