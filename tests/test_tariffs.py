from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from typing import Any

import cbor2
import pytest

from cleartext import price_at
from helpers import demo_description, with_cycle
from privbill.errors import DecodeError, SignatureError, TariffError, TariffMismatchError
from privbill.model import codec
from privbill.model.periods import BillingPeriod, zone
from privbill.model.tariffs import SignedTariff, TariffBody, describe
from privbill.provider import Provider


def _dynamic_description(prices: list[str]) -> dict[str, Any]:
    return {
        "name": "Agile-like",
        "currency": "GBP",
        "timezone": "Europe/London",
        "valid_from": "2026-03-01",
        "valid_until": "2026-04-01",
        "energy": {
            "kind": "dynamic",
            "interval_minutes": 30,
            "start": "2026-03-01T00:00:00+00:00",
            "prices": prices,
        },
        "fixed": {"per_day": "0.4798"},
    }


@pytest.mark.parametrize("month", ["2026-01", "2026-03", "2026-07", "2026-11"])
def test_tou_prices_match_independent_lookup(month: str) -> None:
    """March and November contain the DST switches in America/Denver."""
    desc = demo_description()
    body = TariffBody.from_description(desc)
    period = BillingPeriod.parse(month, body.tz)
    first, count = period.intervals(900)
    prices = body.prices(first, count, 900)
    for k in range(count):
        expected = price_at(desc, (first + k) * 900)
        assert Decimal(prices[k]) / 10**9 == expected, k


def test_holiday_is_priced_as_weekend() -> None:
    desc = demo_description()
    body = TariffBody.from_description(desc)
    # 2026-01-01 is a Thursday and a listed holiday: 16:00 local is off-peak, not on-peak.
    period = BillingPeriod.for_dates(date(2026, 1, 1), date(2026, 1, 3), body.tz)
    first, _ = period.intervals(3600)
    assert body.prices(first + 16, 1, 3600) == [99_060_000]
    assert body.prices(first + 24 + 16, 1, 3600) == [220_010_000]  # Friday 2 January


def test_tou_refuses_intervals_longer_than_an_hour() -> None:
    body = TariffBody.from_description(demo_description())
    with pytest.raises(TariffMismatchError):
        body.prices(0, 1, 7200)


def test_dynamic_prices_with_negative_values() -> None:
    prices = [str(Decimal(k % 48 - 10) / 100) for k in range(31 * 48)]
    desc = _dynamic_description(prices)
    body = TariffBody.from_description(desc)
    period = BillingPeriod.parse("2026-03", body.tz)
    first, count = period.intervals(900)
    got = body.prices(first, count, 900)
    assert min(got) < 0
    for k in range(0, count, 7):
        assert Decimal(got[k]) / 10**9 == price_at(desc, (first + k) * 900)
    with pytest.raises(TariffMismatchError, match="does not divide"):
        body.prices(first, 1, 3600)
    with pytest.raises(TariffMismatchError, match="no price"):
        body.prices(first - 1, 2, 900)


def test_fixed_charges_prorated() -> None:
    body = TariffBody.from_description(with_cycle(demo_description(), 21, "2026-01-20"))
    tz = body.tz
    full = BillingPeriod.month(2026, 2, tz)
    assert body.fixed_charges(full) == 28 * 100_000_000_000 + 5_710_000_000_000
    part = BillingPeriod.for_dates(date(2026, 1, 20), date(2026, 2, 10), tz)
    body.check_period(part)
    # 12 days of January (12/31 of 5.71) + 9 days of February (9/28 of 5.71), half-up to 1e-12.
    jan = (Decimal("5.71") * 12 / 31).quantize(Decimal("1e-12"))
    feb = (Decimal("5.71") * 9 / 28).quantize(Decimal("1e-12"))
    expected = Decimal("0.10") * 21 + jan + feb
    assert Decimal(body.fixed_charges(part)) / 10**12 == expected


def test_monthly_cycles_from_a_day_of_the_month() -> None:
    desc = {**demo_description(), "billing_cycle": {"monthly_from_day": 15}}
    body = TariffBody.from_description(desc)
    tz = body.tz
    assert body.cycle.describe() == "months from day 15"
    cycle = BillingPeriod.for_dates(date(2026, 1, 15), date(2026, 2, 15), tz)
    body.check_period(cycle)
    assert body.cycle.period_of(date(2026, 2, 14), tz) == cycle
    assert body.cycle.period_of(date(2026, 1, 3), tz) == BillingPeriod.for_dates(
        date(2025, 12, 15), date(2026, 1, 15), tz
    )
    # the monthly charge once per cycle, the daily one per day
    assert body.fixed_charges(cycle) == 31 * 100_000_000_000 + 5_710_000_000_000
    for wrong in ("2026-01", "2026-01-15/2026-02-14", "2026-01-16/2026-02-16"):
        with pytest.raises(TariffMismatchError, match="not one cycle") as err:
            body.check_period(BillingPeriod.parse(wrong, tz))
        assert err.value.field == "billing_cycle"


@pytest.mark.parametrize(
    ("cycle", "message"),
    [
        ("monthly", "expected"),
        ({"monthly_from_day": 29}, "day 1..28"),
        ({"monthly_from_day": "1"}, "expected a day"),
        ({"every_days": 0, "starting": "2026-01-01"}, "1..366 days"),
        ({"every_days": 400, "starting": "2026-01-01"}, "1..366 days"),
        ({"every_days": 7}, "expected"),
        ({"every_days": 7, "starting": "January"}, "not a date"),
        ({"every_days": 7, "starting": "2026-01-01", "x": 1}, "expected"),
    ],
)
def test_bad_billing_cycles(cycle: object, message: str) -> None:
    with pytest.raises(TariffError, match=message) as err:
        TariffBody.from_description({**demo_description(), "billing_cycle": cycle})
    assert (err.value.field or "").startswith("billing_cycle")


def test_billing_cycle_is_signed_and_decoded(provider: Provider) -> None:
    desc = with_cycle(demo_description(), 7, "2026-01-05")
    signed = provider.sign_tariff(TariffBody.from_description(desc))
    back = SignedTariff.decode(signed.encode())
    assert back.body.cycle == signed.body.cycle and back.hash() == signed.hash()
    back.verify(provider.public_key)
    obj = cbor2.loads(signed.encode())
    assert obj["billing_cycle"] == {"kind": "days", "days": 7, "anchor": "2026-01-05"}
    for bad in (
        {"kind": "days", "days": 7},
        {"kind": "days", "days": 0, "anchor": "2026-01-05"},
        {"kind": "monthly", "day": 31},
        {"kind": "weekly"},
        "monthly",
    ):
        with pytest.raises(DecodeError) as err:
            SignedTariff.decode(codec.encode({**obj, "billing_cycle": bad}))
        assert (err.value.field or "").startswith("billing_cycle")


def test_period_alignment_checked_against_tariff_timezone(tariff: SignedTariff) -> None:
    utc_month = BillingPeriod.parse("2026-01", zone("UTC"))
    with pytest.raises(TariffMismatchError, match="midnight"):
        tariff.body.check_period(utc_month)
    with pytest.raises(TariffMismatchError, match="not valid"):
        tariff.body.check_period(BillingPeriod.parse("2030-01", tariff.body.tz))


def _mutate(desc: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    d = copy.deepcopy(desc)
    node = d
    for p in path[:-1]:
        node = node[p]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return d


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["currency"], "usd", "currency"),
        (["currency"], KeyError, "currency"),
        (["timezone"], "Mars/Olympus", "timezone"),
        (["valid_until"], "2024-01-01", "valid_until"),
        (["valid_from"], "2025-13-01", "valid_from"),
        (["energy", "kind"], "flat", "energy.kind"),
        (["energy", "periods", 2, "price"], "0.1234567891", "energy.periods[2].price"),
        (["energy", "periods", 2, "price"], 0.22, "energy.periods[2].price"),
        (["energy", "weekday_schedule", 3, 7], 9, "energy.weekday_schedule[3][7]"),
        (["energy", "weekday_schedule", 3], [0] * 23, "energy.weekday_schedule[3]"),
        (["energy", "weekend_schedule"], [[0] * 24] * 11, "energy.weekend_schedule"),
        (["energy", "holidays", 0], "someday", "energy.holidays[0]"),
        (["energy", "surprise"], 1, "energy.surprise"),
        (["fixed", "per_day"], "0.1234567891234", "fixed.per_day"),
        (["fixed", "per_week"], "1", "fixed.per_week"),
        (["extra"], 1, "extra"),
    ],
)
def test_description_errors_name_the_field(path: list[Any], value: Any, field: str) -> None:
    desc = _mutate(demo_description(), path, value)
    with pytest.raises(TariffError) as ei:
        TariffBody.from_description(desc)
    assert ei.value.field == field


def test_description_json_errors() -> None:
    with pytest.raises(TariffError, match="JSON"):
        TariffBody.from_json("{not json")
    with pytest.raises(TariffError, match="object"):
        TariffBody.from_json("[]")
    body = TariffBody.from_json(json.dumps(demo_description()))
    assert body.currency == "USD"


def test_dynamic_description_errors() -> None:
    d = _dynamic_description(["0.1"] * 10)
    d["energy"]["interval_minutes"] = 7
    with pytest.raises(TariffError, match="divide"):
        TariffBody.from_description(d)
    d = _dynamic_description(["0.1"] * 10)
    d["energy"]["start"] = "2026-03-01T00:00:00"
    with pytest.raises(TariffError, match="UTC offset"):
        TariffBody.from_description(d)
    d = _dynamic_description([])
    with pytest.raises(TariffError, match="at least one"):
        TariffBody.from_description(d)


def test_signed_roundtrip_and_signature(provider: Provider, other_provider: Provider) -> None:
    signed = provider.sign_tariff(TariffBody.from_description(demo_description()))
    again = SignedTariff.decode(signed.encode())
    assert again.hash() == signed.hash()
    again.verify(provider.public_key)
    with pytest.raises(SignatureError, match="another provider"):
        again.verify(other_provider.public_key)
    dyn = provider.sign_tariff(TariffBody.from_description(_dynamic_description(["-0.01", "0.3"])))
    assert SignedTariff.decode(dyn.encode()).body == dyn.body
    view = describe(dyn)
    assert view["energy"]["min_price_per_kwh"] == "-0.01"


def test_signed_tariff_tamper(provider: Provider) -> None:
    signed = provider.sign_tariff(TariffBody.from_description(demo_description()))
    body = signed.body
    forged = SignedTariff(
        TariffBody(**{**{f: getattr(body, f) for f in body.__slots__}, "per_month": 0}),  # type: ignore[attr-defined]
        signed.issuer,
        signed.signature,
    )
    with pytest.raises(SignatureError, match="does not verify"):
        forged.verify(provider.public_key)
    assert forged.hash() != signed.hash()
    data = bytearray(signed.encode())
    with pytest.raises(DecodeError):
        SignedTariff.decode(bytes(data[:-5]))
