"""The verifier's checks of a bill's meter sections: one section per meter, each for the bill's
account (both bill formats share them: ``coverage.check_certificate``)."""

from __future__ import annotations

import dataclasses
import random

import pytest

from helpers import demo_description
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.verifier import verify_bill
from privbill.crypto.signatures import SigningKey
from privbill.errors import CertificateError
from privbill.meter import Meter
from privbill.model.bills import PaymentMessage
from privbill.model.periods import BillingPeriod
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import TariffBody
from privbill.provider import Provider


def _bill(provider: Provider, account: str, meter_id: str):  # type: ignore[no-untyped-def]
    tariff = provider.sign_tariff(TariffBody.from_description(demo_description()))
    period = BillingPeriod.parse("2026-01", tariff.body.tz)
    key = SigningKey.generate()
    cert = provider.certify_meter(meter_id, account, key.public_key())
    first, count = period.intervals(cert.interval_s)
    rng = random.Random(3)
    rec = Meter(cert, key, "day", tariff.body.timezone).record(
        [(first + i, rng.randrange(0, 900)) for i in range(count)]
    )
    msg = prove_bill(
        tariff, [MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])], period
    )
    return tariff, msg


def test_a_meter_twice_and_a_meter_of_another_account_are_refused() -> None:
    provider = Provider.generate()
    tariff, msg = _bill(provider, "acct-a", "m-a")
    assert verify_bill(msg.encode(), tariff, provider.public_key).total_fee == msg.total_fee
    twice = dataclasses.replace(msg, meters=(msg.meters[0], msg.meters[0]))
    with pytest.raises(CertificateError) as e:
        verify_bill(twice.encode(), tariff, provider.public_key)
    assert e.value.field == "meters[1].certificate.meter_id" and "twice" in str(e.value)
    other = dataclasses.replace(msg, account="acct-b")
    with pytest.raises(CertificateError) as e:
        verify_bill(PaymentMessage.decode(other.encode()).encode(), tariff, provider.public_key)
    assert e.value.field == "meters[0].certificate.account" and "acct-a" in str(e.value)
