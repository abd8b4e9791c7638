"""Cheating provers against the per-interval block charge (``billing/block.py``).

The cheater knows every reading and blinding and claims, interval by interval, another band
than its own wherever that band's price is lower, with commitments consistent with the claim
(only the range proof can object) or with the true band's bounds (the band proof objects); it
moves value out of fee commitments, lets fee commitments cancel, replays proofs across
intervals, bills and component positions. On random tables — rising, falling, rising then
falling, zero and negative prices, one band or many, capped or not — every forgery bills less
than the honest fee and must be refused with a typed error naming the part that fails.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cheaters import (
    BandClaim,
    attack_bands,
    bill_case,
    description,
    forge_bands,
    lenient_range_prover,
    shift_total,
    true_claims,
    with_component,
)
from privbill.billing import block
from privbill.billing.bands import BandTable, band_table
from privbill.billing.components import context
from privbill.crypto.group import Point
from privbill.errors import ComponentProofError, FeeMismatchError
from privbill.model.interval_components import (
    Band,
    BlockCharge,
    BlockProof,
    IntervalProof,
    evaluate,
)
from privbill.model.periods import BillingPeriod
from privbill.provider import Provider

PATH = "components[0]"


def _verifier(component: BlockCharge) -> Any:
    def verify(
        points: Sequence[Point], ctx: bytes, intervals: tuple[IntervalProof, ...], ranges: bytes
    ) -> Point:
        return block.verify(component, points, ctx, BlockProof(intervals, ranges), PATH)

    return verify


SHAPES = ("random", "rising", "falling", "rise-fall", "fall-rise", "flat")


@st.composite
def block_tables(draw: st.DrawFn) -> BlockCharge:
    n = draw(st.integers(1, 5))
    widths = draw(st.lists(st.integers(1, 256), min_size=n, max_size=n))
    capped = draw(st.booleans())
    shape = draw(st.sampled_from(SHAPES))
    prices = draw(st.lists(st.integers(-300, 300), min_size=n, max_size=n))
    if shape == "rising":
        prices.sort()
    elif shape == "falling":
        prices.sort(reverse=True)
    elif shape in ("rise-fall", "fall-rise"):
        prices.sort(reverse=shape == "fall-rise")
        prices = prices[::2] + prices[1::2][::-1]  # up then down (or down then up)
    elif shape == "flat":
        prices = [prices[0]] * n
    bounds: list[int | None] = []
    acc = 0
    for w in widths:
        acc += w
        bounds.append(acc)
    if not capped:
        bounds[-1] = None
    return BlockCharge("b", tuple(Band(u, p) for u, p in zip(bounds, prices, strict=True)), 8)


@pytest.mark.parametrize(
    ("prices", "capped"),
    [
        ([200, 50, 150], False),  # falls then rises: both bounds checked
        ([50, 200, 10], True),  # rises then falls, capped
        ([100, 150, 210], False),  # inclining: the upper bound only
        ([300, 150, 0], False),  # declining to zero: the lower bound only
        ([-40, 0, -90, 30], True),  # negative and zero
    ],
)
def test_no_cheaper_band_is_accepted(prices: list[int], capped: bool) -> None:
    bounds: list[int | None] = [100 * (j + 1) for j in range(len(prices))]
    if not capped:
        bounds[-1] = None
    component = BlockCharge("b", tuple(Band(u, p) for u, p in zip(bounds, prices, strict=True)), 8)
    table = band_table(component)
    values = [99, 100, 250, table.ceiling - 1]
    submitted = attack_bands(
        "block", "block", table, values, _verifier(component), PATH, random.Random(len(prices))
    )
    cheaper = any(
        evaluate(table.polys[j], c) < evaluate(table.polys[table.band_of(c)], c)
        for c in values
        for j in range(table.bands)
    )
    # every table here has a reading with a cheaper band, or a band proof to shift
    assert submitted > 0 and (cheaper or table.band_proof)


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(block_tables(), st.data())
def test_random_tables_refuse_every_forgery(component: BlockCharge, data: st.DataObject) -> None:
    table = band_table(component)
    values = data.draw(st.lists(st.integers(0, table.ceiling - 1), min_size=1, max_size=3))
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    attack_bands("block", "block", table, values, _verifier(component), PATH, rng)


# --- whole bills ---------------------------------------------------------------------------

FALL_RISE = {
    "kind": "block",
    "name": "falls then rises",
    "bits": 8,
    "bands": [
        {"up_to_wh": "200", "price": "0.20"},
        {"up_to_wh": "400", "price": "0.05"},
        {"up_to_wh": None, "price": "0.15"},
    ],
}
CHEAP_TWIN = {**FALL_RISE, "name": "the same bands, cheaper", "bands": [
    {"up_to_wh": "200", "price": "0.02"},
    {"up_to_wh": "400", "price": "-0.03"},
    {"up_to_wh": None, "price": "0.01"},
]}  # fmt: skip


def _reading(k: int, m: int) -> int:
    return (k * 311 + 57 * m) % 650  # below the last bound + 2^8


@pytest.fixture(scope="module")
def case(provider: Provider) -> Any:
    return bill_case(
        provider,
        description(["0.10", "0", "-0.02"], [FALL_RISE, CHEAP_TWIN]),
        "2026-04-01/2026-04-02",
        _reading,
    )


def test_cheapest_band_in_a_bill(case: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The honest prover told to claim the cheapest band of every reading (and to prove the
    low bits of whatever the range proof gets): the bill is lower and refused."""

    def cheapest(self: BandTable, c: int) -> int:
        fees = [evaluate(p, c) for p in self.polys]
        return fees.index(min(fees))

    monkeypatch.setattr(BandTable, "band_of", cheapest)
    with lenient_range_prover():
        forged = case.prove()
    case.refuse("block", forged, ComponentProofError, field=r"components\[0\]\.ranges")


def _block_forger(
    claims: Callable[[BandTable, list[int]], list[BandClaim]] | None = None,
    values: Callable[[list[int]], list[int]] | None = None,
    context: bytes | None = None,
    ranges: bytes | None = None,
) -> Callable[..., Any]:
    """A block prover for :meth:`BillCase.forge`: :func:`forge_bands` on the cheater's claims
    (default honest), for other readings (default the true ones), under another context
    (default the component's own), with ``ranges`` sent instead of a range proof if given."""

    def make(
        c: BlockCharge, vals: list[int], blindings: list[int], ctx: bytes, **kw: Any
    ) -> tuple[BlockProof, int, int]:
        table = band_table(c)
        used = values(vals) if values else vals
        cl = claims(table, used) if claims else true_claims(table, used)
        iv, rg, fee, blind = forge_bands(
            "block", table, used, blindings, context or ctx, cl, ranges
        )
        return BlockProof(iv, rg), fee, blind

    return make


def _first(name: str) -> Callable[[Any], bool]:
    return lambda c: getattr(c, "name", None) == name


def _fee(table: BandTable, c: int) -> int:
    return evaluate(table.polys[table.band_of(c)], c)


def test_shifted_and_cancelling_fees_in_a_bill(case: Any) -> None:
    def shifted(table: BandTable, vals: list[int]) -> list[BandClaim]:
        cl = true_claims(table, vals)
        cl[3] = BandClaim(cl[3].band, fee=_fee(table, vals[3]) - 10**6)
        return cl

    def cancelling(table: BandTable, vals: list[int]) -> list[BandClaim]:
        cl = true_claims(table, vals)
        cl[3] = BandClaim(cl[3].band, fee=_fee(table, vals[3]) + 12345)
        cl[5] = BandClaim(cl[5].band, fee=_fee(table, vals[5]) - 12345 - 1)
        return cl

    ranges = case.honest.components[0].ranges  # the Sigma proofs fail first
    for claims in (shifted, cancelling):
        forger = _block_forger(claims, ranges=ranges)
        forged = case.forge(block, "prove", forger, _first(FALL_RISE["name"]))
        case.refuse(
            "block", forged, ComponentProofError, field=r"components\[0\]\.intervals\[3\]\.band"
        )
    # the opened total moved down, with every blinding the cheater could try
    for blinding in (0, 1, -1, 10**6, -(10**6)):
        case.refuse("block", shift_total(case.honest, -(10**6), blinding), FeeMismatchError)


def test_proofs_replayed_in_a_bill(case: Any) -> None:
    """The cheap twin's proof at the dear component's position; a quieter day's proof (another
    bill) in place of today's; both under the context they were made for."""
    twin = case.honest.components[1]
    body = case.tariff.body
    values = case.values[0]
    gain = body.components[1].fee(values) - body.components[0].fee(values)
    case.refuse(
        "block", shift_total(with_component(case.honest, 0, twin), gain, 0), ComponentProofError
    )
    ids = [i.sealed.certificate.meter_id for i in case.inputs]
    other_position = context(case.tariff.hash(), "acct", case.period, ids, 1)
    forger = _block_forger(context=other_position, ranges=case.honest.components[0].ranges)
    forged = case.forge(block, "prove", forger, _first(FALL_RISE["name"]))
    forged = shift_total(forged, -1, 0)  # the same fee: replaying gains only with a change
    case.refuse(
        "block", forged, ComponentProofError, field=r"components\[0\]\.intervals\[0\]\.band"
    )
    day2 = BillingPeriod.parse("2026-04-02/2026-04-03", body.tz)
    other_bill = context(case.tariff.hash(), "acct", day2, ids, 0)
    quiet = _block_forger(values=lambda vals: [v // 3 for v in vals], context=other_bill)
    case.refuse(
        "block", case.forge(block, "prove", quiet, _first(FALL_RISE["name"])), ComponentProofError
    )
