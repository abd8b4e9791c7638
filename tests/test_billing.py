from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cleartext import cleartext_total
from helpers import MeterSetup, demo_description, make_meter, with_cycle
from privbill.billing import energy
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.receipts import issue_receipt, verify_receipt
from privbill.billing.verifier import verify_bill
from privbill.crypto import group, pedersen
from privbill.crypto.signatures import SigningKey
from privbill.errors import (
    CertificateError,
    CoverageError,
    OpeningError,
    ReceiptError,
    SignatureError,
    TariffMismatchError,
    UsageError,
)
from privbill.meter import Meter
from privbill.model.bills import PaymentMessage
from privbill.model.periods import BillingPeriod, zone
from privbill.model.readings import Openings
from privbill.model.receipts import Receipt
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider


def _cleartext(setups: list[MeterSetup], desc: dict, period: BillingPeriod, tz: str) -> Decimal:
    readings = []
    for s in setups:
        first, _ = period.intervals(s.cert.interval_s)
        readings += [((first + k) * s.cert.interval_s, v) for k, v in enumerate(s.values)]
    start = datetime.fromtimestamp(period.start, zone(tz)).date()
    end = datetime.fromtimestamp(period.end, zone(tz)).date()
    return cleartext_total(desc, readings, start, (end - start).days)


def test_month_bill_matches_cleartext(
    provider: Provider,
    tariff: SignedTariff,
    meter_a: MeterSetup,
    bill_bytes: bytes,
    january: BillingPeriod,
) -> None:
    v = verify_bill(bill_bytes, tariff, provider.public_key, account="acct-1", period=january)
    expected = _cleartext([meter_a], demo_description(), january, tariff.body.timezone)
    assert Decimal(v.total_fee) / 10**12 == expected
    assert v.readings == 2976 and v.period_label == "2026-01" and v.currency == "USD"
    assert v.amount == str(expected.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"))
    assert v.meters[0].first_seq == 0 and v.meters[0].seals == 31
    strict = verify_bill(bill_bytes, tariff, provider.public_key, check_subgroup=True)
    assert strict.total_fee == v.total_fee


def test_two_meters_one_account(
    provider: Provider,
    tariff: SignedTariff,
    meter_a: MeterSetup,
    meter_b: MeterSetup,
    january: BillingPeriod,
) -> None:
    msg = prove_bill(tariff, [meter_a.input(), meter_b.input()], january)
    v = verify_bill(msg.encode(), tariff, provider.public_key)
    expected = _cleartext([meter_a, meter_b], demo_description(), january, tariff.body.timezone)
    assert Decimal(v.total_fee) / 10**12 == expected
    assert [m.meter_id for m in v.meters] == ["m-a", "m-b"]


def test_dynamic_tariff_bill_with_negative_prices(provider: Provider) -> None:
    prices = [str(Decimal((k * 37) % 61 - 15) / 100) for k in range(14 * 48)]
    desc = {
        "name": "half-hourly",
        "currency": "GBP",
        "timezone": "Europe/London",
        "valid_from": "2026-06-01",
        "valid_until": "2026-06-15",
        "energy": {
            "kind": "dynamic",
            "interval_minutes": 30,
            "start": "2026-05-31T23:00:00+00:00",
            "prices": prices,
        },
        "fixed": {"per_day": "0.4798"},
        "billing_cycle": {"every_days": 14, "starting": "2026-06-01"},
    }
    tariff = provider.sign_tariff(TariffBody.from_description(desc))
    period = BillingPeriod.for_dates(date(2026, 6, 1), date(2026, 6, 15), tariff.body.tz)
    setup = make_meter(provider, "uk-1", "acct-uk", tariff, period, seed=5)
    msg = prove_bill(tariff, [setup.input()], period)
    v = verify_bill(msg.encode(), tariff, provider.public_key)
    assert Decimal(v.total_fee) / 10**12 == _cleartext([setup], desc, period, "Europe/London")


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(st.integers(0, 2**32 - 1), min_size=96, max_size=96),
    prices=st.lists(st.integers(-(2**40), 2**40), min_size=96, max_size=96),
)
def test_energy_component_property(values: list[int], prices: list[int]) -> None:
    blindings = [group.random_scalar() for _ in values]
    points = [pedersen.commit(v, r) for v, r in zip(values, blindings, strict=True)]
    fee, r = energy.prove(prices, values, blindings)
    assert fee == sum(p * v for p, v in zip(prices, values, strict=True))
    c = energy.fee_commitment(prices, points)
    assert energy.verify(fee, r, c)
    assert not energy.verify(fee + 1, r, c)
    # The bucketed path (few distinct prices) agrees with the plain MSM.
    few = [prices[k % 3] for k in range(96)]
    assert energy.fee_commitment(few, points) == group.msm(points, few)


def test_prover_rejects_bad_opening(
    tariff: SignedTariff, meter_a: MeterSetup, january: BillingPeriod
) -> None:
    bad = dataclasses.replace(meter_a.openings, values=list(meter_a.values))
    bad.values[100] += 1
    first, _ = january.intervals(900)
    with pytest.raises(OpeningError, match=f"interval {first + 100}\\)"):
        prove_bill(tariff, [MeterInput(meter_a.sealed, [bad])], january)
    swapped = dataclasses.replace(
        meter_a.openings, blindings=list(meter_a.openings.blindings or [])
    )
    assert swapped.blindings is not None
    swapped.blindings[7], swapped.blindings[8] = swapped.blindings[8], swapped.blindings[7]
    with pytest.raises(OpeningError, match=f"interval {first + 7}\\)"):
        prove_bill(tariff, [MeterInput(meter_a.sealed, [swapped])], january)
    short = dataclasses.replace(
        meter_a.openings, values=meter_a.values[:50], blindings=meter_a.openings.blindings[:50]
    )  # type: ignore[index]
    with pytest.raises(OpeningError, match="no opening"):
        prove_bill(tariff, [MeterInput(meter_a.sealed, [short])], january)
    foreign = dataclasses.replace(meter_a.openings, meter_id="m-z")
    with pytest.raises(OpeningError, match="m-z"):
        prove_bill(tariff, [MeterInput(meter_a.sealed, [foreign])], january)


def test_prover_input_errors(
    provider: Provider,
    tariff: SignedTariff,
    meter_a: MeterSetup,
    february: BillingPeriod,
    january: BillingPeriod,
) -> None:
    with pytest.raises(CoverageError, match="no sealed readings"):
        prove_bill(tariff, [meter_a.input()], february)
    with pytest.raises(UsageError):
        prove_bill(tariff, [], january)
    with pytest.raises(UsageError, match="twice"):
        prove_bill(tariff, [meter_a.input(), meter_a.input()], january)
    with pytest.raises(CertificateError):
        prove_bill(tariff, [meter_a.input()], january, account="someone-else")
    other = make_meter(provider, "m-x", "acct-2", tariff, january, seed=3)
    with pytest.raises(CertificateError, match="several accounts"):
        prove_bill(tariff, [meter_a.input(), other.input()], january)
    partial = SealedReadings(meter_a.sealed.certificate, meter_a.sealed.runs[:-1])
    with pytest.raises(
        CoverageError,
        match="end at 2026-01-31 00:00 MST, before the billing period ends at 2026-02-01 00:00 MST",
    ):
        prove_bill(tariff, [MeterInput(partial, [meter_a.openings])], january)
    with pytest.raises(TariffMismatchError):
        prove_bill(tariff, [meter_a.input()], "2031-01")


def test_bills_cover_exactly_one_billing_cycle(
    provider: Provider, tariff: SignedTariff, meter_a: MeterSetup
) -> None:
    """The signed tariff fixes the billing cycle: a month's readings cannot be billed in pieces
    that each verify and chain (with per-day tiers or prorated charges they could cost less)."""
    tz = tariff.body.tz
    assert tariff.body.cycle.describe() == "calendar months"
    half = BillingPeriod.for_dates(date(2026, 1, 1), date(2026, 1, 16), tz)
    with pytest.raises(TariffMismatchError, match="not one cycle") as err:
        prove_bill(tariff, [meter_a.input()], half)
    assert err.value.field == "billing_cycle"
    # A cheating prover that skips the check makes a message for half a month (signed seals of
    # the first half, the right fee for them); the verifier refuses it.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(TariffBody, "check_period", lambda self, period: None)
        msg = prove_bill(tariff, [meter_a.input()], half)
    with pytest.raises(TariffMismatchError, match="not one cycle"):
        verify_bill(msg.encode(), tariff, provider.public_key)
    fifteen = provider.sign_tariff(
        TariffBody.from_description(with_cycle(demo_description(), 15, "2026-01-01"))
    )
    # Under 15-day cycles from 1 January both halves are cycles.
    for a, b in [(date(2026, 1, 1), date(2026, 1, 16)), (date(2026, 1, 16), date(2026, 1, 31))]:
        per = BillingPeriod.for_dates(a, b, tz)
        v = verify_bill(
            prove_bill(fifteen, [meter_a.input()], per).encode(), fifteen, provider.public_key
        )
        assert v.readings == (b - a).days * 96


def test_key_derived_openings_bill(
    provider: Provider, tariff: SignedTariff, january: BillingPeriod
) -> None:
    key = SigningKey.generate()
    cert = provider.certify_meter("m-k", "acct-k", key.public_key())
    okey = Meter.new_opening_key()
    meter = Meter(cert, key, "day", tariff.body.timezone, okey)
    first, count = january.intervals(900)
    rec = meter.record([(first + k, 200) for k in range(count)])
    sealed = SealedReadings(cert, tuple(rec.runs))
    msg = prove_bill(
        tariff, [MeterInput(sealed, [Openings.decode(rec.openings.encode())], okey)], january
    )
    assert verify_bill(msg.encode(), tariff, provider.public_key).readings == count
    with pytest.raises(Exception, match="opening key"):
        prove_bill(tariff, [MeterInput(sealed, [rec.openings], None)], january)


def test_receipts(
    provider: Provider, other_provider: Provider, tariff: SignedTariff, bill_bytes: bytes
) -> None:
    v = verify_bill(bill_bytes, tariff, provider.public_key)
    receipt = issue_receipt(provider.key, v, issued_at=1_800_000_000)
    again = Receipt.decode(receipt.encode())
    verify_receipt(again, provider.public_key, bill_bytes)
    assert again.total_fee == v.total_fee and again.meters == ("m-a",)
    with pytest.raises(SignatureError):
        verify_receipt(again, other_provider.public_key)
    with pytest.raises(ReceiptError, match="another bill"):
        verify_receipt(again, provider.public_key, bill_bytes + b"x")
    forged = dataclasses.replace(again, total_fee=again.total_fee - 1)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_receipt(forged, provider.public_key)


def test_bill_repr_hides_blinding(bill: PaymentMessage) -> None:
    assert str(bill.blinding) not in repr(bill)


def test_meter_input_with_several_batches(
    provider: Provider, tariff: SignedTariff, meter_a: MeterSetup, january: BillingPeriod
) -> None:
    o = meter_a.openings
    assert o.blindings is not None
    cut = 1000
    a = Openings(o.meter_id, o.interval_s, o.first, o.values[:cut], o.blindings[:cut])
    b = Openings(o.meter_id, o.interval_s, o.first + cut, o.values[cut:], o.blindings[cut:])
    msg = prove_bill(tariff, [MeterInput(meter_a.sealed, [b, a])], january)
    assert (
        verify_bill(msg.encode(), tariff, provider.public_key).total_fee
        == prove_bill(tariff, [meter_a.input()], january).total_fee
    )


def test_a_total_beyond_a_payment_message_is_refused_by_name(provider: Provider) -> None:
    desc = with_cycle(demo_description(), 1, "2026-01-01")
    desc["energy"]["periods"] = [
        {"name": p["name"], "price": "1000000"} for p in desc["energy"]["periods"]
    ]
    tariff = provider.sign_tariff(TariffBody.from_description(desc))
    period = BillingPeriod.parse("2026-01-05/2026-01-06", tariff.body.tz)
    setup = make_meter(provider, "m-big", "acct-big", tariff, period, seed=2)
    assert sum(setup.values) > 10_000  # over 10 MWh at a million per kWh
    with pytest.raises(UsageError, match="beyond what a payment message carries") as ei:
        prove_bill(tariff, [setup.input()], period)
    assert ei.value.field == "total_fee"
