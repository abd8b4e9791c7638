"""Conformance of real URDB v8 records (``tests/data/urdb/real``, sources in its README) with NREL's
System Advisor Model: every month of a year billed by privbill equals PySAM Utilityrate5 to the
cent, or the import is refused with an error naming the field.

The year is 2029 in a fixed UTC-7 zone: it starts on a Monday and has no daylight-saving shift,
as SAM's year does. SAM bills a ``$/day`` fixed charge as 365/12 days a month where privbill bills
the actual days of the month; the comparison adds the difference, ``per_day × (days − 365/12)``.
The cleartext bill is the verified bill (``tests/test_bill_property.py``); one month of the
largest customer goes through the meter, the prover and the verifier as well.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from privbill.billing.cleartext import MeterReadings, cleartext_bill
from privbill.errors import TariffError
from privbill.interop.loadprofile import synthetic_wh
from privbill.interop.urdb import FIELDS, load_rate, urdb_to_description
from privbill.model.periods import BillingPeriod, zone
from privbill.model.tariffs import TariffBody
from samref import DAYS_PER_MONTH, sam_monthly_bills

REAL = Path(__file__).parent / "data" / "urdb" / "real"
TZ = "Etc/GMT+7"
YEAR = 2029
INTERVAL = 900
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Case:
    """``refused``: the field the import must name; otherwise the simulated customer (a
    ``household`` or a ``business`` of ``annual_kwh``)."""

    profile: str = "household"
    annual_kwh: int | None = None
    refused: str | None = None


CASES: dict[str, Case] = {
    "fpl-rs1.json": Case(),
    "sce-gs2-tou-b.json": Case("business", 400_000),
    "pge-a10-secondary.json": Case("business", 1_000_000),
    "ladwp-a3-subtransmission.json": Case("business", 2_000_000),
    "fpl-gsld1.json": Case("business", 3_300_000),
    "fpl-gsldt1.json": Case("business", 3_300_000),
    "wallingford-primary-northford.json": Case(refused="demandratchetpercentage"),
    "entergy-la-lips-l.json": Case(refused="demandreactivepowercharge"),
    "dominion-va-gs3.json": Case(refused="demandreactivepowercharge"),
    "coned-sc9-zone-j.json": Case("business", 1_500_000),
    "sce-tou-ev-9-below-2kv.json": Case(refused="demandreactivepowercharge"),
    "sce-tou-8-option-d-under-2kv.json": Case(refused="demandreactivepowercharge"),
    "sce-tou-8-option-b-under-2kv-2016.json": Case(refused="demandreactivepowercharge"),
    "georgia-power-tou-gsd-10.json": Case("business", 1_500_000),
    "nipsco-rate-724.json": Case("business", 20_000_000),
    "peco-gs-ht-procurement-3.json": Case(refused="coincidentratestructure"),
    "sdge-tou-a-primary.json": Case("business", 60_000),
    # URDB's database export names fields differently (sourceReference, demandReactPwrCharge,
    # dgRules …): refused as unknown, never read with a charge silently dropped.
    "sdge-al-tou-secondary-export.json": Case(refused="sourceReference"),
    "smud-ci-tod3-export.json": Case(refused="sourceReference"),
}


def test_every_record_has_a_case() -> None:
    assert sorted(p.name for p in REAL.glob("*.json")) == sorted(CASES)
    readme = (REAL / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in CASES)  # every record's source is recorded


def _rate(name: str) -> dict[str, Any]:
    return load_rate((REAL / name).read_text())


def _import(rate: dict[str, Any]) -> dict[str, Any]:
    desc, _ = urdb_to_description(
        rate, timezone=TZ, valid_from=f"{YEAR}-01-01", valid_until=f"{YEAR + 1}-01-01"
    )
    return desc


@cache
def _year_load(profile: str, annual_kwh: int | None, seed: int) -> tuple[int, ...]:
    tz = zone(TZ)
    start = BillingPeriod.month(YEAR, 1, tz).start
    return tuple(
        synthetic_wh(start, 35040, INTERVAL, tz, profile=profile, seed=seed, annual_kwh=annual_kwh)
    )


def _months(body: TariffBody, wh: tuple[int, ...]) -> list[tuple[int, int]]:
    """(exact fee in 10⁻¹² USD, days) of each month."""
    out = []
    offset = 0
    for month in range(1, 13):
        period = BillingPeriod.month(YEAR, month, body.tz)
        first, count = period.intervals(INTERVAL)
        values = list(wh[offset : offset + count])
        offset += count
        fee = cleartext_bill(body, [MeterReadings(INTERVAL, first, values)], period).total
        out.append((fee, len(period.local_days(body.tz))))
    return out


def _sam(rate_text: str, wh: tuple[int, ...]) -> list[float]:
    raw = json.loads(rate_text)
    raw = raw["items"][0] if isinstance(raw, dict) and "items" in raw else raw
    return sam_monthly_bills(raw, [v * 3600 / INTERVAL / 1000 for v in wh])


def _assert_months_equal(
    rate: dict[str, Any], ours: list[tuple[int, int]], sam: list[float]
) -> None:
    per_day = Decimal(0)
    if rate.get("fixedchargeunits") == "$/day":
        per_day = Decimal(str(rate["fixedchargefirstmeter"]))
    for month, ((fee, days), theirs) in enumerate(zip(ours, sam, strict=True), start=1):
        exact = Decimal(fee) / 10**12
        # SAM's $/day charge is 365/12 days' worth every month; privbill's the actual days.
        expected = Decimal(repr(theirs)) + per_day * days - per_day * Decimal(repr(DAYS_PER_MONTH))
        assert abs(exact - expected) < Decimal("0.000001"), (month, exact, expected)
        assert exact.quantize(CENT) == expected.quantize(CENT), (month, exact, expected)


@pytest.mark.parametrize("name", sorted(CASES))
def test_year_of_monthly_bills_equals_sam_or_refused_by_name(name: str) -> None:
    case = CASES[name]
    rate = _rate(name)
    if case.refused is not None:
        with pytest.raises(TariffError) as ei:
            _import(rate)
        assert ei.value.field == case.refused, str(ei.value)
        if case.refused in FIELDS:
            assert FIELDS[case.refused][0] == "refused"
            assert FIELDS[case.refused][1] in str(ei.value)
        else:
            assert "not a URDB v8 field" in str(ei.value)
        return
    body = TariffBody.from_description(_import(rate))
    wh = _year_load(case.profile, case.annual_kwh, seed=len(name))
    _assert_months_equal(rate, _months(body, wh), _sam((REAL / name).read_text(), wh))


def test_reports_fields_it_ignores_and_why() -> None:
    _, report = urdb_to_description(
        _rate("sce-gs2-tou-b.json"), timezone=TZ, valid_from="2029-01-01", valid_until="2030-01-01"
    )
    ignored = {line.split(":")[0]: line for line in report.ignored}
    assert set(ignored) == {
        "energyattrs", "demandattrs", "peakkwcapacitymin", "peakkwcapacitymax",
        "peakkwcapacityhistory", "voltageminimum", "voltagemaximum",
    }  # fmt: skip
    assert "California Climate credit" in ignored["energyattrs"]  # the text is shown
    assert "not machine-readable" in ignored["energyattrs"]
    _, report = urdb_to_description(
        _rate("pge-a10-secondary.json"), timezone=TZ, valid_until="2030-01-01"
    )
    assert any(line.startswith("dgrules: ") and "exports" in line for line in report.ignored)


def test_legacy_fixed_monthly_charge_and_daily_fixed_charge() -> None:
    fpl = TariffBody.from_description(_import(_rate("fpl-rs1.json")))
    assert (fpl.per_month, fpl.per_day) == (7_570_000_000_000, 0)
    pge = TariffBody.from_description(_import(_rate("pge-a10-secondary.json")))
    assert (pge.per_month, pge.per_day) == (0, 11_510_680_000_000)
    jan = BillingPeriod.month(YEAR, 1, pge.tz)
    feb = BillingPeriod.month(YEAR, 2, pge.tz)
    assert pge.fixed_charges(jan) == 31 * 11_510_680_000_000  # the actual days billed
    assert pge.fixed_charges(feb) == 28 * 11_510_680_000_000


def test_period_names_come_from_urdb_labels() -> None:
    rate = _rate("fpl-gsldt1.json")
    rate["energytoulabels"] = ["off-peak", "on-peak"]
    assert [p["name"] for p in _import(rate)["energy"]["periods"]] == ["off-peak", "on-peak"]
    rate["energytoulabels"] = ["same", "same"]  # unusable labels fall back to numbers
    assert [p["name"] for p in _import(rate)["energy"]["periods"]] == ["period 0", "period 1"]


def test_two_megawatt_customer_imports_with_defaults() -> None:
    """FPL GSLD-1 is for 500–2000 kW: its customers' 15-minute readings exceed 2^16 Wh, and the
    imported tariff's demand proofs take them without any option."""
    body = TariffBody.from_description(_import(_rate("fpl-gsld1.json")))
    wh = _year_load("business", 3_300_000, seed=len("fpl-gsld1.json"))
    assert max(wh) >= 1 << 16
    demand = [c for c in body.components if c.kind == "demand"]
    assert demand and all(c.bits == 32 for c in demand)  # type: ignore[union-attr]


@pytest.mark.slow
def test_two_megawatt_month_proven_and_verified_equals_sam() -> None:
    """End to end for the largest customer: meter, prover and verifier on the imported FPL
    GSLD-1 tariff (32-bit demand proof over 2880 quarter hours of up to 2 MW) give SAM's bill."""
    from privbill.billing.prover import MeterInput, prove_bill
    from privbill.billing.verifier import verify_bill
    from privbill.crypto.signatures import SigningKey
    from privbill.meter import Meter
    from privbill.model.sealed import SealedReadings
    from privbill.provider import Provider

    name = "fpl-gsld1.json"
    wh = _year_load("business", 3_300_000, seed=len(name))
    sam = _sam((REAL / name).read_text(), wh)
    provider = Provider.generate()
    tariff = provider.sign_tariff(TariffBody.from_description(_import(_rate(name))))
    key = SigningKey.generate()
    cert = provider.certify_meter("m", "a", key.public_key())
    month = 4
    period = BillingPeriod.month(YEAR, month, zone(TZ))
    first, count = period.intervals(INTERVAL)
    offset = first - BillingPeriod.month(YEAR, 1, zone(TZ)).start // INTERVAL
    values = wh[offset : offset + count]
    assert max(values) >= 1 << 16
    rec = Meter(cert, key, "day", TZ).record([(first + k, values[k]) for k in range(count)])
    msg = prove_bill(
        tariff, [MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])], period
    )
    v = verify_bill(msg.encode(), tariff, provider.public_key)
    expected = Decimal(repr(sam[month - 1]))
    assert abs(Decimal(v.total_fee) / 10**12 - expected) < Decimal("0.000001")
    assert v.amount == str(expected.quantize(CENT))


# --- kWh/kW tiers -------------------------------------------------------------------------------
# No record of the sample has them; these take a real record (FPL GSLD-1) and give it hours-use
# energy tiers in URDB's own shape, to check the mapping against SAM's reading of "kWh/kW".


def _hours_use_rate(
    tiers: list[dict[str, Any]], periods: int = 1, unit: str = "kWh/kW"
) -> dict[str, Any]:
    rate = _rate("fpl-gsld1.json")
    step = Decimal("0.0125")
    rate["energyratestructure"] = [
        [{**t, "rate": Decimal(str(t["rate"])) + p * step, "unit": unit} for t in tiers]
        for p in range(periods)
    ]
    table = [[0] * 9 + [periods - 1] * 10 + [0] * 5 for _ in range(12)]
    rate["energyweekdayschedule"] = table
    rate["energyweekendschedule"] = [[0] * 24 for _ in range(12)]
    return rate


@pytest.mark.parametrize(
    ("periods", "unit", "bounds"),
    [(1, "kWh/kW", (150, 175)), (2, "kWh/kW", (150, 175)), (2, "kWh/kW daily", (5, 6))],
)
def test_kwh_per_kw_tiers_import_as_hours_use_and_equal_sam(
    periods: int, unit: str, bounds: tuple[int, int]
) -> None:
    tiers = [
        {"max": bounds[0], "rate": Decimal("0.0731")},
        {"max": bounds[1], "rate": Decimal("0.0518")},
        {"rate": Decimal("0.0402")},
    ]
    rate = _hours_use_rate(tiers, periods, unit)
    desc = _import(rate)
    hours = [c for c in desc["components"] if c["kind"] == "hours-use"]
    assert [t["up_to_kwh_per_kw"] for t in hours[0]["tiers"]] == [*map(str, bounds), None]
    assert hours[0]["unit"] == ("day" if unit.endswith("daily") else "month")
    body = TariffBody.from_description(desc)
    wh = _year_load("business", 3_300_000, seed=5)
    offset, hours_used = 0, []
    for month in range(1, 13):
        _, count = BillingPeriod.month(YEAR, month, body.tz).intervals(INTERVAL)
        seg = wh[offset : offset + count]
        offset += count
        hours_used.append(sum(seg) / (max(seg) * 3600 / INTERVAL))
        if unit.endswith("daily"):  # in hours of demand per day billed
            hours_used[-1] /= len(BillingPeriod.month(YEAR, month, body.tz).local_days(body.tz))
    # Months end in every tier (kWh per kW of the month's peak: below, between, above the bounds).
    low, high = bounds
    assert min(hours_used) < low < max(hours_used)
    assert any(low < h < high for h in hours_used) and max(hours_used) > high
    raw = json.loads(json.dumps(rate, default=str))
    sam = sam_monthly_bills(raw, [v * 3600 / INTERVAL / 1000 for v in wh])
    _assert_months_equal(rate, _months(body, wh), sam)


@pytest.mark.parametrize(
    ("tiers", "field", "words"),
    [
        ([{"max": 200, "rate": 0.05}, {"rate": 0.07}], "energyratestructure[*][1].rate", "dearer"),
        ([{"max": 200.5, "rate": 0.07}, {"rate": 0.05}], "energyratestructure[*][0].max", "whole"),
    ],
)
def test_kwh_per_kw_tiers_refused_when_not_provable(
    tiers: list[dict[str, Any]], field: str, words: str
) -> None:
    rate = _hours_use_rate([{k: Decimal(str(v)) for k, v in t.items()} for t in tiers])
    with pytest.raises(TariffError, match=words) as ei:
        _import(rate)
    assert ei.value.field == field


def test_every_classified_field_is_documented() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "tariff-format.md").read_text()
    section = docs[docs.index("### How each URDB v8 field is treated") :]
    missing = [f for f in FIELDS if f"`{f}`" not in section and f"`{f}/" not in section]
    # fields documented in a group ("`peakkwcapacitymin/max/history`") count by their prefix
    missing = [f for f in missing if not any(f.startswith(g) for g in ("peakkw", "voltage"))]
    assert missing == []
