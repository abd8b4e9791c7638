"""URDB import: bills cross-checked to the cent against NREL's System Advisor Model, and every
field the importer cannot honour refused by name."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from helpers import shared_path
from privbill.billing.cleartext import MeterReadings, cleartext_bill
from privbill.errors import TariffError
from privbill.interop.loadprofile import household_wh
from privbill.interop.urdb import load_rate, urdb_to_description
from privbill.model.periods import BillingPeriod, zone
from privbill.model.tariffs import TariffBody
from samref import sam_monthly_bills

DATA = Path(__file__).parent / "data" / "urdb"
TZ = "Etc/GMT+7"  # fixed UTC-7: SAM's year has no daylight-saving shifts
YEAR = 2029  # starts on a Monday and has 365 days, as SAM's year does


def _year_load(scale: int, seed: int) -> list[int]:
    tz = zone(TZ)
    start = BillingPeriod.month(YEAR, 1, tz).start
    return [v * scale for v in household_wh(start, 35040, 900, tz, seed=seed)]


def _our_monthly(desc: dict[str, Any], wh: list[int]) -> list[int]:
    body = TariffBody.from_description(desc)
    tz = body.tz
    out = []
    offset = 0
    for month in range(1, 13):
        period = BillingPeriod.month(YEAR, month, tz)
        first, count = period.intervals(900)
        values = wh[offset : offset + count]
        offset += count
        out.append(cleartext_bill(body, [MeterReadings(900, first, values)], period).total)
    return out


def _import(rate: dict[str, Any], rounding: bool = False) -> dict[str, Any]:
    desc, _ = urdb_to_description(
        rate,
        timezone=TZ,
        valid_from=f"{YEAR}-01-01",
        valid_until=f"{YEAR + 1}-01-01",
        allow_rounding=rounding,
    )
    return desc


@pytest.mark.parametrize(
    ("name", "scale"),
    [
        ("tiered-residential.json", 1),
        ("tou-tiers-residential.json", 1),
        ("commercial-tou-demand.json", 12),
    ],
)
def test_own_urdb_tariffs_match_sam_to_the_cent(name: str, scale: int) -> None:
    rate = load_rate((DATA / name).read_text())
    wh = _year_load(scale, seed=len(name))
    ours = _our_monthly(_import(rate), wh)
    sam = sam_monthly_bills(json.loads((DATA / name).read_text()), [v * 4 / 1000 for v in wh])
    for month, (a, b) in enumerate(zip(ours, sam, strict=True), start=1):
        exact = Decimal(a) / 10**12
        assert abs(exact - Decimal(repr(b))) < Decimal("0.000001"), (month, exact, b)
        assert exact.quantize(Decimal("0.01")) == Decimal(repr(b)).quantize(Decimal("0.01"))


def test_shared_urdb_sample_matches_sam() -> None:
    path = shared_path("data", "urdb", "psco_re_tou.json")
    rate = load_rate(path.read_text())
    # PSCo publishes 0.0947412 USD/kWh (7 decimals): imported exactly, nothing rounded.
    desc, report = urdb_to_description(
        rate, timezone=TZ, valid_from=f"{YEAR}-01-01", valid_until=f"{YEAR + 1}-01-01"
    )
    assert report.rounded == []
    prices = {p["price"] for p in desc["energy"]["periods"]}
    assert any(len(p.split(".")[1]) == 7 for p in prices if "." in p)
    wh = _year_load(1, seed=3)
    ours = _our_monthly(desc, wh)
    sam = sam_monthly_bills(json.loads(path.read_text()), [v * 4 / 1000 for v in wh])
    for month, (a, b) in enumerate(zip(ours, sam, strict=True), start=1):
        exact = Decimal(a) / 10**12
        assert abs(exact - Decimal(repr(b))) < Decimal("0.000001"), month  # SAM's doubles
        assert exact.quantize(Decimal("0.01")) == Decimal(repr(b)).quantize(Decimal("0.01"))


def test_sample_imports_as_time_of_use() -> None:
    rate = load_rate(shared_path("data", "urdb", "psco_re_tou.json").read_text())
    desc = _import(rate, rounding=True)
    body = TariffBody.from_description(desc)
    assert body.per_month == 5_710_000_000_000
    assert not body.components
    assert desc["energy"]["periods"][0]["price"] == "0.099057"


def _tiered() -> dict[str, Any]:
    return load_rate((DATA / "tiered-residential.json").read_text())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r.__setitem__("demandratchetpercentage", [0.8] * 12), "demandratchetpercentage"),
        (lambda r: r.__setitem__("annualmincharge", 120), "annualmincharge"),
        (lambda r: r.__setitem__("fixedchargeeaaddl", 3), "fixedchargeeaaddl"),
        (
            lambda r: r.__setitem__("coincidentratestructure", [[{"rate": 1}]]),
            "coincidentratestructure",
        ),
        (lambda r: r.__setitem__("somethingnew", 1), "somethingnew"),
        (
            lambda r: r["energyratestructure"][0][1].__setitem__("unit", "kWh/kVA"),
            "energyratestructure[0][1].unit",
        ),
        (
            lambda r: r["energyratestructure"][0][0].__setitem__("unit", "kWh/kW"),
            "energyratestructure",
        ),
        (lambda r: r.__setitem__("demandreactivepowercharge", 0.52), "demandreactivepowercharge"),
        (lambda r: r.__setitem__("lookbackpercent", 0.5), "lookbackpercent"),
        (lambda r: r.__setitem__("fixedmonthlycharge", 99), "fixedmonthlycharge"),
        (
            lambda r: r.__setitem__("mincharge", 5) or r.__setitem__("minmonthlycharge", 6),
            "minmonthlycharge",
        ),
        (lambda r: r.__setitem__("mincharge", -5), "mincharge"),
        (
            lambda r: r["energyratestructure"][0][0].__setitem__("extra", 1),
            "energyratestructure[0][0].extra",
        ),
        (lambda r: r["energyratestructure"][0][0].pop("max"), "energyratestructure[0][0].max"),
        (lambda r: r.__setitem__("fixedchargeunits", "$/year"), "fixedchargeunits"),
        (
            lambda r: r.__setitem__("minchargeunits", "$/day") or r.__setitem__("mincharge", 5),
            "minchargeunits",
        ),
        (lambda r: r["energyweekdayschedule"][2].__setitem__(5, 3), "energyweekdayschedule[2][5]"),
        (
            lambda r: r.__setitem__("energyweekendschedule", [[0] * 24] * 11),
            "energyweekendschedule",
        ),
        (lambda r: r.__setitem__("energyratestructure", []), "energyratestructure"),
        (lambda r: r.pop("startdate"), "startdate"),
    ],
)
def test_unsupported_fields_are_refused_by_name(change: Any, field: str) -> None:
    rate = copy.deepcopy(_tiered())
    change(rate)
    with pytest.raises(TariffError) as ei:
        if field == "startdate":
            urdb_to_description(rate, timezone=TZ)
        else:
            _import(rate)
    assert ei.value.field == field, str(ei.value)


def test_non_separable_tiers_refused() -> None:
    rate = load_rate((DATA / "tou-tiers-residential.json").read_text())
    rate["energyratestructure"][1][1]["rate"] = Decimal("0.50")
    with pytest.raises(TariffError, match="different amounts") as ei:
        _import(rate)
    assert ei.value.field == "energyratestructure[1]"
    rate = load_rate((DATA / "tou-tiers-residential.json").read_text())
    rate["energyratestructure"][2][0]["max"] = 20
    with pytest.raises(TariffError, match="bounds differ"):
        _import(rate)


def test_demand_window_must_match_meter_interval() -> None:
    rate = load_rate((DATA / "commercial-tou-demand.json").read_text())
    rate["demandwindow"] = 30
    with pytest.raises(TariffError) as ei:
        _import(rate)
    assert ei.value.field == "demandwindow"


def test_load_rate_shapes() -> None:
    text = (DATA / "tiered-residential.json").read_text()
    one = load_rate(text)
    assert load_rate(json.dumps({"items": [json.loads(text)]}))["label"] == one["label"]
    with pytest.raises(TariffError, match="exactly one"):
        load_rate(json.dumps({"items": []}))
    with pytest.raises(TariffError, match="JSON"):
        load_rate("{")


@pytest.mark.parametrize(
    ("name", "scale", "month"),
    [
        ("tiered-residential.json", 1, 3),
        ("tou-tiers-residential.json", 1, 7),
        pytest.param("commercial-tou-demand.json", 12, 8, marks=pytest.mark.slow),
    ],
)
def test_proven_bill_matches_sam(name: str, scale: int, month: int) -> None:
    """End to end: meter, prover and verifier on an imported URDB tariff give SAM's bill."""
    from privbill.billing.prover import MeterInput, prove_bill
    from privbill.billing.verifier import verify_bill
    from privbill.crypto.signatures import SigningKey
    from privbill.meter import Meter
    from privbill.model.sealed import SealedReadings
    from privbill.provider import Provider

    rate = load_rate((DATA / name).read_text())
    wh = _year_load(scale, seed=len(name))
    sam = sam_monthly_bills(json.loads((DATA / name).read_text()), [v * 4 / 1000 for v in wh])
    provider = Provider.generate()
    tariff = provider.sign_tariff(TariffBody.from_description(_import(rate)))
    key = SigningKey.generate()
    cert = provider.certify_meter("m", "a", key.public_key())
    period = BillingPeriod.month(YEAR, month, zone(TZ))
    first, count = period.intervals(900)
    offset = first - BillingPeriod.month(YEAR, 1, zone(TZ)).start // 900
    rec = Meter(cert, key, "day", TZ).record([(first + k, wh[offset + k]) for k in range(count)])
    msg = prove_bill(
        tariff, [MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])], period
    )
    v = verify_bill(msg.encode(), tariff, provider.public_key)
    assert abs(Decimal(v.total_fee) / 10**12 - Decimal(repr(sam[month - 1]))) < Decimal("0.000001")
    assert v.amount == str(
        Decimal(repr(sam[month - 1])).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    )


def test_prices_finer_than_nine_decimals_name_the_flag() -> None:
    rate = load_rate((DATA / "tiered-residential.json").read_text())
    rate["energyratestructure"][0][0]["rate"] = Decimal("0.0853123456")
    with pytest.raises(TariffError, match="--round-prices") as ei:
        _import(rate)
    assert (ei.value.field or "").startswith("energyratestructure")
    assert "more than 9 decimals" in str(ei.value)
    desc, report = urdb_to_description(
        rate, timezone=TZ, valid_from=f"{YEAR}-01-01", valid_until=f"{YEAR + 1}-01-01",
        allow_rounding=True,
    )  # fmt: skip
    assert report.rounded and all("->" in r for r in report.rounded)
    TariffBody.from_description(desc)
