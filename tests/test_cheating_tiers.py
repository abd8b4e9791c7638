"""Cheating provers against cumulative tiers (energy and demand share ``billing/tiers.py``).

The cheater knows the hidden amount and its blinding and proposes another split of it into the
tiers: every split for small tariffs, every fill order, the cheapest split. On random tariffs with
rising, falling, rising-then-falling, zero and negative prices, a split the verifier accepts must
never cost less than the in-order split the tariff means.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cheaters import (
    REFUSED,
    fill_orders,
    forge_parts,
    greedy_split,
    prove_or_anyway,
    splits_in_widths,
)
from privbill.billing import tiers as tier_proofs
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.verifier import verify_bill
from privbill.crypto import group, oror, pedersen
from privbill.crypto.signatures import SigningKey
from privbill.errors import ComponentProofError, DecodeError, PrivbillError
from privbill.meter import Meter
from privbill.model.components import Tier, tier_parts, tiered_fee
from privbill.model.periods import BillingPeriod
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import TariffBody
from privbill.provider import Provider

CTX = b"cheating-tiers"


def _fee(tiers: list[Tier], parts: list[int]) -> int:
    return sum(t.price * v for t, v in zip(tiers, parts, strict=True))


def _accepts(tiers: list[Tier], amount: int, blinding: int, parts: list[int]) -> bool:
    """Does the verifier accept the forged split? (and if so, its fee commitment matches)"""
    proof = forge_parts(tiers, parts, blinding, 1, CTX)
    try:
        fee_point = tier_proofs.verify(
            tiers, pedersen.commit(amount, blinding), 1, CTX, proof, "tiers"
        )
    except (ComponentProofError, DecodeError):
        return False
    # The verifier hands back Σ p_j·P_j: it commits to the forged fee (with some blinding).
    assert fee_point == group.msm(
        [group.decode_point(proof.parts[i : i + 48]) for i in range(0, len(proof.parts), 48)],
        [t.price for t in tiers],
    )
    return True


def _search(tiers: list[Tier], amount: int, limit: int = 40, tries: int = 6) -> tuple[int, int]:
    """Look for splits cheaper than the in-order one (every split up to ``limit``, every fill
    order, the cheapest split) and submit up to ``tries`` of them, cheapest first; fail if one
    is accepted. Returns (cheaper splits found, submitted)."""
    ws = tier_proofs.widths(tiers, 1)
    honest = tier_parts(tiers, amount)
    honest_fee = _fee(tiers, honest)
    assert honest_fee == tiered_fee(tiers, amount)
    candidates: set[tuple[int, ...]] = set()
    for split in splits_in_widths(amount, ws, limit):
        candidates.add(tuple(split))
    for order in fill_orders(len(tiers), limit=24):
        candidates.add(tuple(greedy_split(amount, ws, order)))
    cheapest = sorted(range(len(tiers)), key=lambda j: tiers[j].price)
    candidates.add(tuple(greedy_split(amount, ws, cheapest)))
    # Splits that cost the same or more only overcharge the cheater: the attack is a cheaper one.
    # A cheater who knows the verifier's rule prefers splits whose order clauses all hold (no OR
    # proof to forge), then those with fewest false clauses; cheapest first.
    checked = tier_proofs.ordered_boundaries(tiers)

    def false_clauses(split: tuple[int, ...]) -> int:
        return sum(1 for j in checked if split[j] != ws[j] and split[j + 1] != 0)

    cheaper = sorted(
        (s for s in candidates if _fee(tiers, list(s)) < honest_fee),
        key=lambda s: (false_clauses(s), _fee(tiers, list(s)), s),
    )
    # No cheaper split satisfies every clause the verifier checks (the module's argument) ...
    assert not cheaper or false_clauses(cheaper[0]) > 0, f"{cheaper[0]} needs no forged proof"
    # ... and the best candidates, with their false order proofs, are refused.
    blinding = group.random_scalar()
    for split in cheaper[:tries]:
        assert not _accepts(tiers, amount, blinding, list(split)), (
            f"forged split {split} of {amount} costs {_fee(tiers, list(split))} "
            f"< {honest_fee} and was accepted"
        )
        REFUSED["tiers/proof"] += 1
    return len(cheaper), min(tries, len(cheaper))


def test_rise_then_fall_regression() -> None:
    """0.10 → 0.20 → 0.05: leave tier 1 empty, fill tier 2, the rest in tier 3 (cheaper)."""
    tiers = [Tier(4, 10), Tier(8, 20), Tier(None, 5)]
    amount, blinding = 10, group.random_scalar()
    honest = tier_parts(tiers, amount)
    forged = [0, 4, 6]
    assert _fee(tiers, forged) < _fee(tiers, honest)
    # the proofs the old rule asked for (only where the price itself drops) would all be valid:
    assert tier_proofs.ordered_boundaries(tiers) == [0, 1]
    old_rule = [j for j in range(len(tiers) - 1) if tiers[j + 1].price < tiers[j].price]
    assert old_rule == [1]
    proof = forge_parts(tiers, forged, blinding, 1, CTX, order_boundaries=old_rule)
    with pytest.raises(DecodeError, match="expected 2 tier-order proofs"):
        tier_proofs.verify(tiers, pedersen.commit(amount, blinding), 1, CTX, proof, "t")
    proof = forge_parts(tiers, forged, blinding, 1, CTX)
    with pytest.raises(ComponentProofError, match=r"tier order proof does not verify"):
        tier_proofs.verify(tiers, pedersen.commit(amount, blinding), 1, CTX, proof, "t")


@pytest.mark.parametrize(
    "prices",
    [
        [10, 20, 5],  # rise then fall
        [8, 14, 6],  # the URDB shape 0.08 / 0.14 / 0.06
        [5, 5, 5],  # flat
        [30, 20, 10],  # falling
        [10, 20, 30],  # rising: no order proof needed
        [0, -3, 7, 2],  # zero and negative
        [-5, -5, 0, -10],
        [3, 9, 1, 9, 0],
    ],
)
def test_no_cheaper_split_is_accepted(prices: list[int]) -> None:
    bounds = [3 * (j + 1) for j in range(len(prices) - 1)]
    tiers = [Tier(b, p) for b, p in zip([*bounds, None], prices, strict=True)]
    blinding = group.random_scalar()
    submitted = 0
    for amount in (2, 5, 3 * len(prices) + 2):
        submitted += _search(tiers, amount, limit=25, tries=3)[1]
        # the honest split always passes
        assert _accepts(tiers, amount, blinding, tier_parts(tiers, amount))
    if prices in ([10, 20, 30], [5, 5, 5]):
        assert submitted == 0  # nothing is cheaper than the in-order split: nothing to forge
    else:
        assert submitted > 0


@st.composite
def _tariffs(draw: st.DrawFn) -> tuple[list[Tier], int]:
    k = draw(st.integers(1, 5))
    widths = draw(st.lists(st.integers(1, 4), min_size=k - 1, max_size=k - 1))
    prices = draw(st.lists(st.integers(-6, 12), min_size=k, max_size=k))
    bounds: list[int | None] = []
    acc = 0
    for w in widths:
        acc += w
        bounds.append(acc)
    bounds.append(None)
    amount = draw(st.integers(0, acc + 4))
    return [Tier(b, p) for b, p in zip(bounds, prices, strict=True)], amount


@pytest.mark.slow
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(_tariffs())
def test_random_tariffs_no_cheaper_split(case: tuple[list[Tier], int]) -> None:
    tiers, amount = case
    _search(tiers, amount, limit=12, tries=2)


def _rise_fall_tariff(provider: Provider) -> TariffBody:
    desc: dict[str, Any] = json.loads(
        json.dumps(
            {
                "format": "privbill/tariff-description/1",
                "name": "rise then fall",
                "currency": "USD",
                "timezone": "UTC",
                "valid_from": "2026-01-01",
                "valid_until": "2027-01-01",
                "energy": {
                    "kind": "time-of-use",
                    "periods": [{"name": "all", "price": "0.00"}],
                    "weekday_schedule": [[0] * 24] * 12,
                    "weekend_schedule": [[0] * 24] * 12,
                },
                "components": [
                    {
                        "kind": "tiered",
                        "name": "rise then fall",
                        "periods": None,
                        "unit": "month",
                        "tiers": [
                            {"up_to_kwh": "100", "price": "0.10"},
                            {"up_to_kwh": "300", "price": "0.20"},
                            {"up_to_kwh": None, "price": "0.05"},
                        ],
                    }
                ],
            }
        )
    )
    return TariffBody.from_description(desc)


def test_forged_bill_with_rise_then_fall_tiers_is_refused(
    provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: the honest prover, handed the cheap split, makes a bill the provider refuses."""
    tariff = provider.sign_tariff(_rise_fall_tariff(provider))
    period = BillingPeriod.parse("2026-03", tariff.body.tz)
    first, count = period.intervals(3600)
    key = SigningKey.generate()
    cert = provider.certify_meter("m-1", "acct", key.public_key(), interval_s=3600)
    rec = Meter(cert, key, "day", "UTC").record([(first + k, 700) for k in range(count)])
    inputs = [MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])]
    honest = verify_bill(prove_bill(tariff, inputs, period).encode(), tariff, provider.public_key)

    def cheap_split(tiers: list[Tier], amount: int, scale: int = 1) -> list[int]:
        ws = tier_proofs.widths(tiers, scale)
        return greedy_split(amount, ws, [1, 2, 0])  # dear tier full, first tier empty

    monkeypatch.setattr(tier_proofs, "tier_parts", cheap_split)
    monkeypatch.setattr(oror, "prove_or", prove_or_anyway)
    forged = prove_bill(tariff, inputs, period)
    assert forged.total_fee < honest.total_fee
    with pytest.raises(ComponentProofError, match="tier order proof does not verify") as err:
        verify_bill(forged.encode(), tariff, provider.public_key)
    assert err.value.field == "components[0].tiers.order[0]"
    REFUSED["tiers/bill"] += 1
    assert isinstance(err.value, PrivbillError)
