from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from privbill.billing.cleartext import MeterReadings, cleartext_bill
from privbill.cli import main
from privbill.errors import TariffError
from privbill.interop.agile import agile_to_description
from privbill.model.periods import BillingPeriod
from privbill.model.tariffs import TariffBody


def _feed(start: datetime, slots: int, skip: int | None = None, newest_first: bool = True) -> str:
    results = []
    for k in range(slots):
        if k == skip:
            continue
        t = start + timedelta(minutes=30 * k)
        pence = Decimal((k * 7919) % 4000 - 500) / 100  # -5.00 .. 34.99 p/kWh
        results.append(
            {
                "value_exc_vat": pence,
                "value_inc_vat": pence * Decimal("1.05"),
                "valid_from": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "valid_to": (t + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "payment_method": None,
            }
        )
    if newest_first:
        results.reverse()
    return json.dumps(
        {"count": len(results), "next": None, "previous": None, "results": results}, default=float
    )


def test_agile_feed_to_tariff_and_bill() -> None:
    # 1-30 June 2026 in London (BST = UTC+1): the first slot starts at 23:00 UTC on 31 May.
    start = datetime(2026, 5, 31, 23, 0, tzinfo=UTC)
    pages = [_feed(start, 15 * 48), _feed(start + timedelta(days=15), 15 * 48)]
    desc, rounded = agile_to_description(pages, standing_charge="0.4798")
    assert (
        rounded == [] and desc["valid_from"] == "2026-06-01" and desc["valid_until"] == "2026-07-01"
    )
    body = TariffBody.from_description(desc)
    period = BillingPeriod.parse("2026-06", body.tz)
    first, count = period.intervals(900)
    values = [(k * 31) % 700 for k in range(count)]
    bill = cleartext_bill(body, [MeterReadings(900, first, values)], period)
    # Independent: slot k's price (pence inc. VAT / 100) for both quarter hours of the slot.
    expected = Decimal(0)
    for q, wh in enumerate(values):
        k = q // 2
        pence = Decimal((k % (15 * 48) * 7919) % 4000 - 500) / 100 * Decimal("1.05")
        expected += pence / 100 * Decimal(wh) / 1000
    expected += Decimal("0.4798") * 30
    assert Decimal(bill.total) / 10**12 == expected


def test_exc_vat_and_rounding() -> None:
    start = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    feed = json.loads(_feed(start, 48))
    feed["results"][0]["value_inc_vat"] = Decimal("12.34567891")
    with pytest.raises(TariffError, match="more than 9 decimals"):
        agile_to_description([json.dumps(feed, default=float)])
    _desc, rounded = agile_to_description([json.dumps(feed, default=float)], allow_rounding=True)
    assert len(rounded) == 1
    _, rounded = agile_to_description([json.dumps(feed, default=float)], vat=False)
    assert rounded == []


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda r: r.pop(5), "no price for the slot"),
        (lambda r: r[3].__setitem__("valid_to", r[3]["valid_from"]), "30 minutes"),
        (lambda r: r[3].__setitem__("valid_from", "yesterday"), "ISO 8601"),
        (lambda r: r[3].__setitem__("value_inc_vat", "x"), "expected a number"),
        (lambda r: r.append({**r[2], "value_inc_vat": 99}), "two different prices"),
        (lambda r: r.clear(), "no price slots"),
    ],
)
def test_bad_feeds(mutate: object, match: str) -> None:
    feed = json.loads(_feed(datetime(2026, 3, 1, tzinfo=UTC), 96))
    mutate(feed["results"])  # type: ignore[operator]
    with pytest.raises(TariffError, match=match):
        agile_to_description([json.dumps(feed)])


def test_import_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    feed = tmp_path / "agile.json"
    feed.write_text(_feed(datetime(2026, 3, 1, tzinfo=UTC), 48 * 3))
    out = tmp_path / "agile-tariff.json"
    assert (
        main(["tariff", "import-agile", str(feed), "--standing-charge", "0.5", "--out", str(out)])
        == 0
    )
    assert TariffBody.from_json(out.read_text()).per_day == 500_000_000_000
    urdb = Path(__file__).parent / "data" / "urdb" / "commercial-tou-demand.json"
    out2 = tmp_path / "com.json"
    assert (
        main(
            [
                "tariff",
                "import-urdb",
                str(urdb),
                "--timezone",
                "America/Chicago",
                "--out",
                str(out2),
            ]
        )
        == 0
    )
    body = TariffBody.from_json(out2.read_text())
    assert [c.kind for c in body.components] == ["demand", "demand", "minimum"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"energyratestructure": [[{"rate": 0.1}]], "ratchet": 1}))
    assert (
        main(
            [
                "tariff",
                "import-urdb",
                str(bad),
                "--timezone",
                "UTC",
                "--out",
                str(tmp_path / "x.json"),
            ]
        )
        == 2
    )
    assert "ratchet" in capsys.readouterr().err and not (tmp_path / "x.json").exists()
    assert date(2026, 3, 1)  # the feed's first day is a whole local day in London (GMT in March)
