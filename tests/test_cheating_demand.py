"""Cheating provers against demand charges (``billing/demand.py``).

The cheater knows every reading and blinding. Per window it claims a peak below the true
maximum (proving the low bits of the negative differences, or running the honest prover on
readings capped at the claimed peak), splits the true demand into the tiers out of order where
the tier prices rise then fall, shifts the peak commitment, replays a window's proof at another
window or from another bill, drops a charged window, and — on the register path — opens the
meter's register below the true peak or bypasses the register with an understated range proof.
On random demand charges (one window or several, one tier or many, prices rising, falling,
rising then falling, and zero) every forgery bills less than the honest fee and must be refused
with a typed error naming the part that fails.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import re
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cheaters import (
    fill_orders,
    forge_demand,
    greedy_split,
    prove_or_anyway,
    refused,
    shift_total,
    splits_in_widths,
    with_component,
)
from privbill.billing import demand, tiers
from privbill.crypto import group, oror, pedersen
from privbill.errors import ComponentProofError, DecodeError, FeeMismatchError, PrivbillError
from privbill.model.component_proofs import DemandProof, RegisterWindowProof, WindowProof
from privbill.model.components import Demand, DemandWindow, Tier, tier_parts, tiered_fee
from privbill.model.schedules import CELLS
from privbill.provider import Provider

PATH = "components[0]"
P = re.escape(PATH)
CTX = b"cheating-demand"


# --- component level: random demand charges ------------------------------------------------


def _tiers(rng: random.Random, k: int, shape: str) -> tuple[Tier, ...]:
    prices = [rng.choice([0, rng.randrange(1, 20_000)]) for _ in range(k)]
    if shape == "rising":
        prices.sort()
    elif shape == "falling":
        prices.sort(reverse=True)
    elif shape == "rise-fall" and k >= 3:
        prices.sort()
        prices = prices[::2] + prices[1::2][::-1]
    bounds: list[int | None] = []
    acc = 0
    for _ in range(k - 1):
        acc += rng.randrange(1, 300)
        bounds.append(acc)
    bounds.append(None)
    return tuple(Tier(b, p) for b, p in zip(bounds, prices, strict=True))


@dataclasses.dataclass
class Case:
    component: Demand
    values: list[int]
    blindings: list[int]
    windows: list[list[int]]
    interval_s: int

    @property
    def points(self) -> list[Any]:
        return [pedersen.commit(v, r) for v, r in zip(self.values, self.blindings, strict=True)]

    def fee(self, w: int, peak: int) -> int:
        return tiered_fee(self.component.windows[w].tiers, peak * (3600 // self.interval_s))

    def verify(self, proof: DemandProof, ctx: bytes = CTX) -> Any:
        return demand.verify(
            self.component, self.points, self.windows, self.interval_s, ctx, proof, PATH
        )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    rng = random.Random(draw(st.integers(0, 2**32)))
    n_windows = draw(st.integers(1, 3))
    windows = tuple(
        DemandWindow(
            f"w{w}",
            _tiers(
                rng,
                draw(st.integers(1, 3)),
                draw(st.sampled_from(["random", "rising", "falling", "rise-fall"])),
            ),
        )
        for w in range(n_windows)
    )
    component = Demand("demand", windows, bytes(CELLS), bytes(CELLS), 8)
    n = draw(st.integers(2, 8))
    values = [rng.choice([0, rng.randrange(0, 256), 255]) for _ in range(n)]
    assign = [rng.randrange(-1, n_windows) for _ in range(n)]  # -1: in no window
    idx = [[k for k in range(n) if assign[k] == w] for w in range(n_windows)]
    blindings = [group.random_scalar() for _ in range(n)]
    return Case(component, values, blindings, idx, draw(st.sampled_from([900, 3600])))


def attack_demand(case: Case, rng: random.Random, splits: int = 1) -> int:
    """Every forgery class against each charged window of ``case`` (the ``splits`` cheapest
    out-of-order tier splits); returns how many."""
    c, f = case.component, 3600 // case.interval_s
    honest, fee, blind = demand.prove(
        c, case.values, case.blindings, case.windows, case.interval_s, CTX
    )
    assert case.verify(honest) == pedersen.commit(fee, blind)
    submitted = 0

    def submit(proof: DemandProof, forged_fee: int, error: Any, field: str | None) -> None:
        nonlocal submitted
        assert forged_fee < fee
        refused("demand", lambda: case.verify(proof), error, field=field)
        submitted += 1

    for w, idx in enumerate(case.windows):
        win = c.windows[w]
        if honest.windows[w] is None:
            continue
        at = rf"{P}\.windows\[{w}\]"
        peak = max(case.values[k] for k in idx)
        others = sorted({case.values[k] for k in idx} - {peak}, reverse=True)
        claims = sorted({peak - 1, peak // 2, 0, *others[:1]} - {peak})
        claims = [m for m in claims if m >= 0 and case.fee(w, m) < case.fee(w, peak)]
        for n, claim in enumerate(claims):
            # an understated peak, the range proof made anyway (the honest tier parts sent:
            # the peak's range proof is checked first)
            proof, forged_fee, _ = forge_demand(
                c,
                case.values,
                case.blindings,
                case.windows,
                case.interval_s,
                CTX,
                {w: claim},
                parts_from=honest,
            )
            submit(proof, forged_fee, ComponentProofError, rf"{at}\.ranges")
            if n == 0:  # the honest prover on readings capped at the claimed peak
                capped = [min(v, claim) if k in idx else v for k, v in enumerate(case.values)]
                proof, forged_fee, _ = demand.prove(
                    c, capped, case.blindings, case.windows, case.interval_s, CTX
                )
                submit(proof, forged_fee, ComponentProofError, rf"{at}\.ranges")
            # the honest proof with its peak commitment moved down by the difference
            wp = honest.windows[w]
            assert isinstance(wp, WindowProof)
            moved = group.decode_point(wp.peak) - group.mul(group.generator(), peak - claim)
            windows = list(honest.windows)
            windows[w] = dataclasses.replace(wp, peak=group.encode_point(moved))
            gain = case.fee(w, claim) - case.fee(w, peak)
            submit(DemandProof(tuple(windows)), fee + gain, ComponentProofError, rf"{at}\.ranges")
        if len(win.tiers) > 1:
            # the true demand split into the tiers out of order, cheapest first
            ws = tiers.widths(win.tiers, 1)
            amount = f * peak
            in_order = tier_parts(win.tiers, amount)
            candidates = {tuple(s) for s in splits_in_widths(amount, ws, 30)}
            candidates |= {tuple(greedy_split(amount, ws, o)) for o in fill_orders(len(ws), 24)}

            def cost(s: Sequence[int], ts: Sequence[Tier] = win.tiers) -> int:
                return sum(t.price * v for t, v in zip(ts, s, strict=True))

            # a cheater who knows the verifier's rule prefers splits needing the fewest false
            # order proofs (none would be a forgery that passes), then the cheapest
            checked = tiers.ordered_boundaries(win.tiers)

            def false_clauses(
                s: Sequence[int], ws: Sequence[int | None] = ws, checked: list[int] = checked
            ) -> int:
                return sum(1 for j in checked if s[j] != ws[j] and s[j + 1] != 0)

            cheaper = sorted(
                (s for s in candidates if cost(s) < cost(in_order)),
                key=lambda s: (false_clauses(s), cost(s)),
            )
            assert not cheaper or false_clauses(cheaper[0]) > 0, f"{cheaper[0]} needs no forgery"
            for split in cheaper[:splits]:
                proof, forged_fee, _ = forge_demand(
                    c,
                    case.values,
                    case.blindings,
                    case.windows,
                    case.interval_s,
                    CTX,
                    splits={w: split},
                )
                submit(proof, forged_fee, ComponentProofError, rf"{at}\.tiers\.order\[\d+\]")
        # a charged window's proof dropped
        windows = list(honest.windows)
        windows[w] = None
        if case.fee(w, peak):
            submit(DemandProof(tuple(windows)), fee - case.fee(w, peak), DecodeError, at)
        # another window's proof in its place (its peak is lower)
        for w2, idx2 in enumerate(case.windows):
            if w2 == w or honest.windows[w2] is None:
                continue
            peak2 = max(case.values[k] for k in idx2)
            if case.fee(w, peak2) < case.fee(w, peak):
                windows = list(honest.windows)
                windows[w] = honest.windows[w2]
                gain = case.fee(w, peak2) - case.fee(w, peak)
                submit(
                    DemandProof(tuple(windows)),
                    fee + gain,
                    (ComponentProofError, DecodeError),
                    rf"{at}(\..*)?",
                )
    # peaks that cancel but for the gain: one window's peak raised (which its range proof
    # allows), another's lowered by more than the raise costs
    charged = [w for w, wp in enumerate(honest.windows) if wp is not None]
    for lo, hi in itertools.permutations(charged, 2):
        p_lo = max(case.values[k] for k in case.windows[lo])
        p_hi = max(case.values[k] for k in case.windows[hi])
        if p_lo == 0:
            continue
        raised, lowered = p_hi + 1, rng.randrange(0, p_lo)
        gain = (
            case.fee(hi, raised) - case.fee(hi, p_hi) + case.fee(lo, lowered) - case.fee(lo, p_lo)
        )
        if gain < 0:
            proof, forged_fee, _ = forge_demand(
                c,
                case.values,
                case.blindings,
                case.windows,
                case.interval_s,
                CTX,
                {lo: lowered, hi: raised},
                parts_from=honest,
            )
            submit(proof, forged_fee, ComponentProofError, rf"{P}\.windows\[{lo}\]\.ranges")
    # the proof of quieter readings (another bill's context) replayed here
    quiet = [v // 2 for v in case.values]
    other, other_fee, _ = demand.prove(
        c, quiet, case.blindings, case.windows, case.interval_s, b"another bill"
    )
    if other_fee < fee:
        submit(other, other_fee, ComponentProofError, None)
    return submitted


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases(), st.integers(0, 2**32))
def test_random_demand_charges_refuse_every_forgery(case: Case, seed: int) -> None:
    attack_demand(case, random.Random(seed))


def test_rise_then_fall_demand_tiers() -> None:
    """10 → 20 → 5 per kW: the dear middle tier full, the first empty, the rest cheap."""
    tiers_ = (Tier(100, 10_000), Tier(200, 20_000), Tier(None, 5_000))
    component = Demand("d", (DemandWindow("all", tiers_),), bytes(CELLS), bytes(CELLS), 8)
    values = [40, 250, 7, 180]
    case = Case(component, values, [group.random_scalar() for _ in values], [[0, 1, 2, 3]], 3600)
    assert attack_demand(case, random.Random(1), splits=2) >= 5


def test_two_windows_with_peaks_that_cancel() -> None:
    """A cheap window's peak raised by a little, a dear window's lowered by a lot."""
    windows = (
        DemandWindow("cheap", (Tier(None, 1_000),)),
        DemandWindow("dear", (Tier(None, 30_000),)),
    )
    component = Demand("d", windows, bytes(CELLS), bytes(CELLS), 8)
    values = [200, 10, 240, 90]
    case = Case(component, values, [group.random_scalar() for _ in values], [[0, 1], [2, 3]], 900)
    assert attack_demand(case, random.Random(5)) >= 8


# --- whole bills ---------------------------------------------------------------------------

EVENING = [[None] * 17 + [0] * 3 + [None] * 4 for _ in range(12)]
NOON = [[None] * 12 + [1] + [None] * 11 for _ in range(12)]
DEMAND = {
    "kind": "demand",
    "name": "evening and weekend noon",
    "windows": [
        {
            "name": "weekday evening",
            "tiers": [
                {"up_to_kw": "0.1", "price_per_kw": "10"},
                {"up_to_kw": "0.2", "price_per_kw": "20"},
                {"up_to_kw": None, "price_per_kw": "5"},
            ],
        },
        {"name": "weekend noon", "tiers": [{"up_to_kw": None, "price_per_kw": "9"}]},
    ],
    "weekday_schedule": EVENING,
    "weekend_schedule": NOON,
    "bits": 8,
}


def _desc() -> dict[str, Any]:
    from cheaters import description

    return description(["0.12", "-0.03", "0"], [DEMAND], fixed={"per_month": "4.20"})


def _reading(k: int, m: int) -> int:
    return (k * 97 + 31 * m) % 256


@pytest.fixture(scope="module")
def case(provider: Provider) -> Any:
    from cheaters import bill_case

    return bill_case(provider, _desc(), "2026-02", _reading)


def _capped(limit: int) -> Any:
    """A demand prover that lies about the readings: capped at ``limit`` (it proves its own
    windows' peaks from them, not the bill's)."""
    honest = demand.prove

    def make(c: Demand, values: Sequence[int], *args: Any) -> Any:
        blindings, windows, interval_s, context = args[:4]
        return honest(c, [min(v, limit) for v in values], blindings, windows, interval_s, context)

    return make


def test_understated_peak_in_a_bill(case: Any) -> None:
    forged = case.forge(demand, "prove", _capped(150))
    case.refuse(
        "demand", forged, ComponentProofError, field=r"components\[0\]\.windows\[0\]\.ranges"
    )


def test_rise_then_fall_split_in_a_bill(case: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The honest prover handed the cheap split of the evening peak (first tier empty, the dear
    one full, the rest at 5/kW), its OR prover told to prove a clause that does not hold."""

    def cheap_split(ts: list[Tier], amount: int, scale: int = 1) -> list[int]:
        return greedy_split(amount, tiers.widths(ts, scale), [1, 2, 0])

    monkeypatch.setattr(tiers, "tier_parts", cheap_split)
    monkeypatch.setattr(oror, "prove_or", prove_or_anyway)
    forged = case.prove()
    case.refuse(
        "demand",
        forged,
        ComponentProofError,
        field=r"components\[0\]\.windows\[0\]\.tiers\.order\[0\]",
    )


def test_window_dropped_or_replayed_in_a_bill(case: Any, provider: Provider) -> None:
    from cheaters import bill_case

    proof = case.honest.components[0]
    assert isinstance(proof, DemandProof)
    fees = _window_fees(case)
    dropped = DemandProof((None, proof.windows[1]))
    case.refuse(
        "demand",
        shift_total(with_component(case.honest, 0, dropped), -fees[0], 0),
        DecodeError,
        field=r"components\[0\]\.windows\[0\]",
    )
    # March's quieter proof (another bill of the same customer) replayed in February's
    march = bill_case(
        provider, _desc(), "2026-03", lambda k, m: _reading(k, m) // 2, meter_ids=["m-0"]
    )
    replayed = with_component(case.honest, 0, march.honest.components[0])
    gain = sum(_window_fees(march)) - sum(fees)
    assert gain < 0
    case.refuse(
        "demand",
        shift_total(replayed, gain, 0),
        ComponentProofError,
        field=r"components\[0\]\.windows\[0\]\.ranges",
    )
    for blinding in (0, 1, -1):
        case.refuse("demand", shift_total(case.honest, -1, blinding), FeeMismatchError)


def _window_fees(case: Any) -> list[int]:
    from privbill.billing.cleartext import demand_windows

    body = case.tariff.body
    c = body.components[0]
    first, count = case.period.intervals(3600)
    values = case.values[0]
    out = []
    for w, idx in enumerate(demand_windows(body, c, first, count, 3600)):
        out.append(c.fee(w, max((values[k] for k in idx), default=0), 3600))
    return out


# --- the register path -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def register_case(provider: Provider) -> Any:
    from cheaters import bill_case

    # with registers the honest bill proves both windows by register, without range proofs
    c = bill_case(provider, _desc(), "2026-02", _reading, registers=True)
    proof = c.honest.components[0]
    assert all(isinstance(w, RegisterWindowProof) for w in proof.windows)
    return c


@pytest.mark.parametrize(("window", "error", "field"), [
    (0, ComponentProofError, r"components\[0\]\.windows\[0\]\.tiers\.parts"),
    (1, FeeMismatchError, r"total_fee"),
])  # fmt: skip
def test_register_opened_below_the_peak(
    register_case: Any, window: int, error: type[PrivbillError], field: str
) -> None:
    """The customer's device says the meter's register for a window holds less than the true
    peak (and caps the readings to match): the tier parts (several tiers) or the total (one
    tier) no longer match the register's commitment."""
    honest_opened = demand._opened
    limit = 100

    def lowered(*args: Any) -> Any:
        opened = honest_opened(*args)
        if opened is None:
            return None
        maxima, rs = opened
        return [min(m, limit) if w == window else m for w, m in enumerate(maxima)], rs

    def make(
        c: Demand, values: Sequence[int], blindings: Sequence[int], windows: Any, *a: Any
    ) -> Any:
        vals = list(values)
        for k in windows[window]:
            vals[k] = min(vals[k], limit)
        return honest_prove(c, vals, blindings, windows, *a)

    honest_prove = demand.prove_with_registers
    demand._opened = lowered  # type: ignore[assignment]
    try:
        forged = register_case.forge(demand, "prove_with_registers", make)
    finally:
        demand._opened = honest_opened  # type: ignore[assignment]
    assert isinstance(forged.components[0].windows[window], RegisterWindowProof)
    register_case.refuse("demand", forged, error, field=field)


def test_register_bypassed_with_an_understated_range_proof(register_case: Any) -> None:
    """The meter keeps a register, the cheater uses the range-proof path with a lower peak."""

    def make(
        c: Demand,
        values: Sequence[int],
        blindings: Sequence[int],
        windows: Any,
        interval_s: int,
        context: bytes,
        *a: Any,
    ) -> Any:
        return forge_demand(c, values, blindings, windows, interval_s, context, {0: 120, 1: 60})

    forged = register_case.forge(demand, "prove_with_registers", make)
    register_case.refuse(
        "demand", forged, ComponentProofError, field=r"components\[0\]\.windows\[0\]\.ranges"
    )
