"""Hours-use tiers (kWh per kW of billing demand): the proven fee equals the cleartext bill and an
independent Decimal computation; an understated billing demand or a cheaper split is refused."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import cbor2
import pytest

from cheaters import lenient_range_prover, prove_or_anyway, split_blinding
from privbill.billing import hours_use
from privbill.billing import tiers as tier_proofs
from privbill.billing.cleartext import MeterReadings, cleartext_bill
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.verifier import verify_bill
from privbill.crypto import bulletproofs, group, pedersen
from privbill.crypto.signatures import SigningKey
from privbill.errors import ComponentProofError, DecodeError, TariffError
from privbill.meter import Meter
from privbill.model import codec
from privbill.model.component_proofs import HoursUseProof, PartsProof
from privbill.model.components import HoursUse, Tier, tier_parts
from privbill.model.periods import BillingPeriod
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider

TZ = "America/Chicago"
HOUR = 3600
TIERS = [("200", "0.0612"), ("400", "0.0418"), (None, "0.0297")]


def description(tiers: list[tuple[str | None, str]] = TIERS, **extra: Any) -> dict[str, Any]:
    return {
        "name": "co-op general service, hours-use",
        "currency": "USD",
        "timezone": TZ,
        "valid_from": "2026-01-01",
        "valid_until": "2027-01-01",
        "energy": {
            "kind": "time-of-use",
            "periods": [{"name": "all", "price": "0"}],
            "weekday_schedule": [[0] * 24] * 12,
        },
        "fixed": {"per_month": "35.00"},
        "components": [
            {
                "kind": "hours-use",
                "name": "energy by hours use",
                "tiers": [{"up_to_kwh_per_kw": u, "price": p} for u, p in tiers],
                "bits": 16,  # hourly readings below 65.5 kWh: half the range proof's work
                **extra,
            },
            {
                "kind": "demand",
                "name": "demand",
                "windows": [{"name": "all", "tiers": [{"up_to_kw": None, "price_per_kw": "9.50"}]}],
                "bits": 16,
            },
        ],
    }


def _load(count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(20_000, 40_000) if rng.random() < 0.95 else 0 for _ in range(count)]


@pytest.fixture(scope="module")
def setup(provider: Provider) -> Any:
    tariff = provider.sign_tariff(TariffBody.from_description(description()))
    period = BillingPeriod.parse("2026-07", tariff.body.tz)
    first, count = period.intervals(HOUR)
    key = SigningKey.generate()
    cert = provider.certify_meter("gs-1", "acct-gs", key.public_key(), interval_s=HOUR)
    values = _load(count, 4)
    rec = Meter(cert, key, "day", TZ).record([(first + k, v) for k, v in enumerate(values)])
    inp = MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])
    return tariff, period, first, values, inp, rec


def _independent_fee(values: list[int], tiers: list[tuple[str | None, str]]) -> Decimal:
    """From the description with Decimal: kWh in tiers of hours × billing demand (kW)."""
    kwh = Decimal(sum(values)) / 1000
    demand_kw = Decimal(max(values)) / 1000  # hourly intervals: Wh per hour = W
    fee, lower = Decimal(0), Decimal(0)
    for up, price in tiers:
        upper = kwh if up is None else min(kwh, Decimal(up) * demand_kw)
        fee += max(Decimal(0), upper - lower) * Decimal(price)
        lower = max(lower, upper)
    return fee


@pytest.fixture(scope="module")
def proved(setup: Any) -> bytes:
    """The month's bill, proved once for the tests that read it."""
    tariff, period, _, _, inp, _ = setup
    return prove_bill(tariff, [inp], period).encode()


def test_hours_use_bill_equals_cleartext_and_independent(
    provider: Provider, setup: Any, proved: bytes
) -> None:
    tariff, period, first, values, _, _ = setup
    v = verify_bill(proved, tariff, provider.public_key)
    clear = cleartext_bill(tariff.body, [MeterReadings(HOUR, first, values)], period)
    assert v.total_fee == clear.total
    expected = (
        _independent_fee(values, TIERS)
        + Decimal("9.50") * Decimal(max(values)) / 1000
        + Decimal("35.00")
    )
    assert Decimal(v.total_fee) / 10**12 == expected
    # the consumption reaches the third tier: widths of 200 and 400 hours of demand are in use
    assert sum(values) > 400 * max(values)
    obj = cbor2.loads(proved)["components"][0]
    assert obj["kind"] == "hours-use" and len(obj["tiers"]["order"]) == 2


def _forge(
    component: HoursUse,
    values: list[int],
    blindings: list[int],
    claimed_peak: int,
    parts: list[int] | None,
    context: bytes,
    days: int = 1,
) -> tuple[HoursUseProof, int]:
    """A cheating prover: any claimed peak, any split (the in-order one for the claimed peak if
    ``parts`` is None), any day multiplier; sub-proofs made whether or not their statements
    hold."""
    f = 3600 // HOUR * days
    r_peak = group.random_scalar()
    c_peak = pedersen.commit(claimed_peak % group.ORDER, r_peak)
    with lenient_range_prover():
        ranges = bulletproofs.prove_chunked_values(
            [(claimed_peak - v) % group.ORDER for v in values],
            [(r_peak - r) % group.ORDER for r in blindings],
            component.bits,
            context=context + b"/billing-demand",
        )
    amount = sum(values)
    blinding = sum(blindings) % group.ORDER
    d_value, d_blind = f * claimed_peak, f * r_peak % group.ORDER
    if parts is None:
        parts = tier_parts(component.tiers, amount, d_value)
    rs = split_blinding(blinding, len(parts))
    points = [pedersen.commit(v % group.ORDER, r) for v, r in zip(parts, rs, strict=True)]
    scale = tier_proofs.HiddenScale(group.mul(c_peak, f), d_value, d_blind)
    mults = tier_proofs._multipliers(component.tiers)
    gaps = [(m * d_value - v) % group.ORDER for m, v in zip(mults, parts, strict=False)]
    gap_blinds = [(m * d_blind - r) % group.ORDER for m, r in zip(mults, rs, strict=False)]
    tctx = context + b"/tiers"
    with lenient_range_prover():
        tranges = bulletproofs.prove(
            [v % group.ORDER for v in parts] + gaps,
            rs + gap_blinds,
            tier_proofs.BITS,
            context=tctx,
            commitments=tier_proofs._range_statement_points(component.tiers, points, scale),
        )
    fulls = tier_proofs._full_points(component.tiers, scale)
    order = []
    for j in tier_proofs.ordered_boundaries(component.tiers):
        full = parts[j] == mults[j] * d_value
        order.append(
            prove_or_anyway(
                tier_proofs._order_clauses(points, j, fulls[j]),
                0 if full else 1,
                [(rs[j] - mults[j] * d_blind) % group.ORDER] if full else [rs[j + 1]],
                label=tier_proofs.OR_LABEL,
                context=tctx,
            )
        )
    proof = HoursUseProof(
        group.encode_point(c_peak),
        ranges,
        PartsProof(b"".join(group.encode_point(p) for p in points), tranges.encode(), tuple(order)),
    )
    fee = sum(t.price * v for t, v in zip(component.tiers, parts, strict=True))
    return proof, fee


def _verify(
    component: HoursUse, points: list[Any], proof: HoursUseProof, ctx: bytes, days: int = 1
) -> None:
    hours_use.verify(component, points, list(range(len(points))), HOUR, ctx, proof, "c", days)


def test_cheating_billing_demand_and_splits() -> None:
    """An understated billing demand (narrower dear tiers) and cheaper splits under the true
    demand are refused; the honest proof and an overstated demand (which only costs the
    cheater more) pass."""
    component = HoursUse(
        "hours use", None, (Tier(2, 61_200_000), Tier(4, 41_800_000), Tier(None, 29_700_000)), 16
    )
    rng = random.Random(7)
    values = [rng.randrange(0, 5000) for _ in range(48)]
    values[17] = 6000
    blindings = [group.random_scalar() for _ in values]
    points = [pedersen.commit(v, r) for v, r in zip(values, blindings, strict=True)]
    ctx = b"hours-use-cheating"
    honest_fee = component.fee(sum(values), max(values), HOUR)

    proof, fee = _forge(component, values, blindings, max(values), None, ctx)
    assert fee == honest_fee
    _verify(component, points, proof, ctx)

    # Overstating the demand widens the dear first tier: accepted, and it costs more.
    proof, fee = _forge(component, values, blindings, max(values) + 500, None, ctx)
    _verify(component, points, proof, ctx)
    assert fee > honest_fee

    tried = 0
    # Understating it narrows the dear tiers: cheaper, and the range proof fails.
    for peak in (max(values) - 1, max(values) // 2, 0, -5):
        proof, fee = _forge(component, values, blindings, peak, None, ctx)
        assert fee < honest_fee
        with pytest.raises(ComponentProofError, match="billing-demand range proof"):
            _verify(component, points, proof, ctx)
        tried += 1
    # Cheaper splits of the counted consumption under the true demand: order proofs fail.
    d = max(values)
    total = sum(values)
    assert total > 4 * d  # every tier in use
    for split in ([0, 0, total], [0, 2 * d, total - 2 * d], [100, 2 * d, total - 100 - 2 * d]):
        assert sum(split) == total
        proof, fee = _forge(component, values, blindings, d, split, ctx)
        assert fee < honest_fee
        with pytest.raises(ComponentProofError, match="tier order proof"):
            _verify(component, points, proof, ctx)
        tried += 1
    # A tier part above its hidden width: the range proof over the gaps fails.
    over = [2 * d + 10, 2 * d - 10, total - 4 * d]
    proof, _ = _forge(component, values, blindings, d, over, ctx)
    with pytest.raises(ComponentProofError, match="tier range proof"):
        _verify(component, points, proof, ctx)
    assert tried == 7


def test_proof_fields_altered(provider: Provider, setup: Any, proved: bytes) -> None:
    tariff = setup[0]
    good = cbor2.loads(proved)

    def check(mutate: Any, error: type[Exception]) -> None:
        obj = cbor2.loads(cbor2.dumps(good))
        mutate(obj["components"][0])
        with pytest.raises(error):
            verify_bill(codec.encode(obj), tariff, provider.public_key)

    other = pedersen.commit(5, 7)
    check(lambda c: c.__setitem__("peak", group.encode_point(other)), ComponentProofError)
    check(lambda c: c.__setitem__("peak", b"\x00" * 48), DecodeError)
    check(lambda c: c.__setitem__("ranges", c["ranges"][:-32]), ComponentProofError)
    check(lambda c: c["tiers"].__setitem__("order", c["tiers"]["order"][:1]), DecodeError)
    check(lambda c: c.__delitem__("peak"), DecodeError)
    check(lambda c: c.__setitem__("kind", "tiered"), DecodeError)


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([("200", "0.04"), (None, "0.06")], "must not increase"),
        ([("200.5", "0.06"), (None, "0.04")], "200.5"),
        ([("2000000", "0.06"), (None, "0.04")], "at most"),
        ([("400", "0.06"), ("200", "0.05"), (None, "0.04")], "increase"),
    ],
)
def test_tariffs_refused(tiers: list[tuple[str | None, str]], message: str) -> None:
    with pytest.raises(TariffError, match=message):
        TariffBody.from_description(description(tiers))


def test_signed_round_trip(provider: Provider) -> None:
    signed = provider.sign_tariff(TariffBody.from_description(description(bits=32)))
    back = SignedTariff.decode(signed.encode())
    assert back.body.components[0] == signed.body.components[0]
    assert back.body.components[0].bits == 32  # type: ignore[union-attr]


# --- per-day tiers ("kWh/kW daily") -------------------------------------------------------------

DAILY = [("7", "0.0612"), ("14", "0.0418"), (None, "0.0297")]


def test_per_day_tiers_bill_equals_cleartext_and_independent(provider: Provider) -> None:
    """Widths of 7 and 14 hours of billing demand per day billed: 217 and 434 hours in July."""
    tariff = provider.sign_tariff(TariffBody.from_description(description(DAILY, unit="day")))
    comp = tariff.body.components[0]
    assert isinstance(comp, HoursUse) and comp.per_day
    period = BillingPeriod.parse("2026-07", tariff.body.tz)
    first, count = period.intervals(HOUR)
    key = SigningKey.generate()
    cert = provider.certify_meter("gs-2", "acct-gs2", key.public_key(), interval_s=HOUR)
    values = _load(count, 9)
    rec = Meter(cert, key, "day", TZ).record([(first + k, v) for k, v in enumerate(values)])
    inp = MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])
    v = verify_bill(prove_bill(tariff, [inp], period).encode(), tariff, provider.public_key)
    clear = cleartext_bill(tariff.body, [MeterReadings(HOUR, first, values)], period)
    assert v.total_fee == clear.total
    monthly = [(None if u is None else str(int(u) * 31), p) for u, p in DAILY]
    expected = (
        _independent_fee(values, monthly)
        + Decimal("9.50") * Decimal(max(values)) / 1000
        + Decimal("35.00")
    )
    assert Decimal(v.total_fee) / 10**12 == expected
    assert sum(values) > 434 * max(values)  # the third tier is in use


def test_cheating_per_day_scale() -> None:
    """Per-day widths are the billing demand times the days billed. A prover that takes fewer
    days (narrower dear tiers: cheaper) or a smaller demand is refused; the honest proof and
    more days (costlier) pass."""
    tiers = (Tier(1, 61_200_000), Tier(2, 41_800_000), Tier(None, 29_700_000))
    component = HoursUse("hours use per day", None, tiers, 16, per_day=True)
    rng = random.Random(11)
    values = [rng.randrange(0, 5000) for _ in range(96)]
    values[40] = 6000
    blindings = [group.random_scalar() for _ in values]
    points = [pedersen.commit(v, r) for v, r in zip(values, blindings, strict=True)]
    ctx = b"hours-use-per-day-cheating"
    days = 4
    honest = component.fee(sum(values), max(values), HOUR, days)
    assert honest < component.fee(sum(values), max(values), HOUR, days + 1)
    assert sum(values) > 2 * days * max(values)  # every tier in use

    proof, fee = _forge(component, values, blindings, max(values), None, ctx, days)
    assert fee == honest
    _verify(component, points, proof, ctx, days)
    proof, fee = _forge(component, values, blindings, max(values), None, ctx, days + 1)
    assert fee > honest  # more days only widen the dear tiers
    with pytest.raises(ComponentProofError):  # …and the verifier's scale differs
        _verify(component, points, proof, ctx, days)
    for cheat_days, peak in ((days - 1, max(values)), (1, max(values)), (days, max(values) - 1)):
        proof, fee = _forge(component, values, blindings, peak, None, ctx, cheat_days)
        assert fee < honest
        with pytest.raises(ComponentProofError):
            _verify(component, points, proof, ctx, days)
    # The same proof against a monthly reading of the tariff (scale 1): refused as well.
    proof, _ = _forge(component, values, blindings, max(values), None, ctx, days)
    monthly = HoursUse("hours use per day", None, tiers, 16)
    with pytest.raises(ComponentProofError):
        _verify(monthly, points, proof, ctx, days)


def test_per_day_encoding_is_written_only_when_true(provider: Provider) -> None:
    daily = provider.sign_tariff(TariffBody.from_description(description(DAILY, unit="day")))
    back = SignedTariff.decode(daily.encode())
    assert back.body.components[0] == daily.body.components[0]
    monthly = provider.sign_tariff(TariffBody.from_description(description()))
    assert SignedTariff.decode(monthly.encode()) == monthly
    obj = cbor2.loads(monthly.encode())
    assert "per_day" not in obj["components"][0]  # monthly tariffs keep their encoding
    obj["components"][0]["per_day"] = False
    with pytest.raises(DecodeError, match="per_day"):
        SignedTariff.from_obj(obj)
    with pytest.raises(TariffError, match="unit"):
        TariffBody.from_description(description(DAILY, unit="week"))


def test_tariff_show_lists_hours_use_tiers_in_words(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """``privbill tariff show`` words every component, hours-use tiers included: their widths in
    kWh per kW of the billing demand and their prices."""
    import json

    from privbill.cli import main

    path = tmp_path / "hours-use.json"
    path.write_text(json.dumps(description(DAILY, unit="day")))
    assert main(["tariff", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1. hours-use tiers 'energy by hours use'" in out
    assert "kWh per kW of the month's billing demand (its largest interval demand) per day" in out
    for line in ("0..7 kWh/kW", "7..14 kWh/kW", "above 14 kWh/kW"):
        assert line in out
    assert "0.0612 USD/kWh" in out and "0.0297 USD/kWh" in out
