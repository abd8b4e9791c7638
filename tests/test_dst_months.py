"""Months whose first local day starts at 01:00 (daylight saving starting at local midnight, as in
America/Asuncion on 1 October 2023) bill like any other calendar month."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from privbill.billing.cleartext import MeterReadings, cleartext_bill
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.verifier import verify_bill
from privbill.crypto.signatures import SigningKey
from privbill.meter import Meter
from privbill.model.periods import BillingPeriod
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import TariffBody
from privbill.provider import Provider

TZ = "America/Asuncion"


def _description() -> dict[str, object]:
    return {
        "name": "monthly tiers",
        "currency": "PYG",
        "timezone": TZ,
        "valid_from": "2023-01-01",
        "valid_until": "2024-01-01",
        "energy": {
            "kind": "time-of-use",
            "periods": [{"name": "all", "price": "0.10"}],
            "weekday_schedule": [[0] * 24] * 12,
        },
        "fixed": {"per_month": "5.00"},
        "components": [
            {
                "kind": "tiered",
                "name": "inclining",
                "unit": "month",
                "tiers": [
                    {"up_to_kwh": "100", "price": "0"},
                    {"up_to_kwh": None, "price": "0.05"},
                ],
            }
        ],
    }


def test_the_month_starts_at_one_in_the_morning() -> None:
    tz = ZoneInfo(TZ)
    october = BillingPeriod.parse("2023-10", tz)
    start = datetime.fromtimestamp(october.start, tz)
    assert (start.day, start.hour) == (1, 1)  # 00:00 does not exist that day
    september = BillingPeriod.parse("2023-09", tz)
    assert september.end == october.start
    assert september.is_calendar_month(tz) and october.is_calendar_month(tz)
    assert (september.label(tz), october.label(tz)) == ("2023-09", "2023-10")
    assert len(october.local_days(tz)) == 31


@pytest.mark.parametrize("span", ["day", "month"])
def test_months_around_the_midnight_jump_bill(provider: Provider, span: str) -> None:
    tariff = provider.sign_tariff(TariffBody.from_description(_description()))
    key = SigningKey.generate()
    cert = provider.certify_meter("m-asu", "acct-asu", key.public_key(), interval_s=3600)
    meter = Meter(cert, key, span, TZ)  # type: ignore[arg-type]
    for month in ("2023-09", "2023-10"):
        period = BillingPeriod.parse(month, tariff.body.tz)
        first, count = period.intervals(3600)
        values = [200 + (k * 37) % 700 for k in range(count)]
        rec = meter.record([(first + k, v) for k, v in enumerate(values)])
        bill = prove_bill(
            tariff, [MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])], period
        )
        verified = verify_bill(bill.encode(), tariff, provider.public_key)
        expected = cleartext_bill(tariff.body, [MeterReadings(3600, first, values)], period)
        assert verified.total_fee == expected.total
        assert verified.period == period
