"""Road tolling end to end: the synthetic road network and trips, the on-board unit's segments,
the toll tariff (a lookup keyed by the hidden cell, 10 × zone + road class, and the public time
band), bills proven and verified through the library and the command line, checked against an
independent ``Decimal`` computation, and cheaters who hide a segment's class or zone."""

from __future__ import annotations

import copy
import json
import random
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import cbor2
import pytest

from cheaters import RowClaim, bill_case, forge_lookup, refused
from cleartext import reference_total
from privbill.billing import lookup
from privbill.billing.cleartext import MeterReadings, cleartext_bill
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.verifier import verify_bill
from privbill.cli import main
from privbill.crypto import group, pedersen
from privbill.crypto.group import Point
from privbill.crypto.signatures import SigningKey
from privbill.demo import demo_tariff_description
from privbill.errors import (
    CommitmentError,
    ComponentProofError,
    OpeningError,
    PrivbillError,
)
from privbill.interop import roads
from privbill.meter import Meter
from privbill.model import codec
from privbill.model.components import Lookup
from privbill.model.periods import BillingPeriod
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider

TZ = ZoneInfo("Europe/Berlin")
#: Where a refused lookup forgery is named: the batched check of all proofs, or one proof.
PROOFS = r"components\[0\]\.meters\[0\]\.proofs(\[\d+\])?"
INTERVAL = 900


def _start(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp())


# --- the network, the trips, the on-board unit -------------------------------------------------


def test_network_cells_and_connectivity() -> None:
    net = roads.network()
    cells = {lk.cell for lk in net.links}
    assert cells == set(roads.CELLS)  # every cell of the tariff is on the map, and no other
    for lk in net.links:
        (xa, ya), (xb, yb) = net.nodes[lk.a], net.nodes[lk.b]
        assert lk.zone == roads.zone_of((xa + xb) / 2, (ya + yb) / 2)
        assert lk.metres >= 50
    # every place reaches every other place kind (a few routes, both ways)
    places = sorted(net.places)
    rng = random.Random(1)
    for _ in range(20):
        a, b = rng.sample(places, 2)
        there, back = (
            net.route(net.places[a], net.places[b]),
            net.route(net.places[b], net.places[a]),
        )
        assert there and back
        # the fastest way there is as fast as the way back
        assert sum(lk.metres / lk.free_speed() for lk in there) == pytest.approx(
            sum(lk.metres / lk.free_speed() for lk in back)
        )
    # a commute from a suburb to the centre uses the centre's cells, one to a town the motorway
    route = net.route(net.places["suburb-3"], net.places["office-centre-2"])
    assert {lk.cell // 10 for lk in route} >= {1, 2}
    route = net.route(net.places["suburb-3"], net.places["town-east"])
    assert any(lk.road_class == roads.MOTORWAY for lk in route)


def test_a_month_of_driving_is_deterministic_and_realistic() -> None:
    start = _start(date(2026, 3, 1))
    count = (_start(date(2026, 4, 1)) - start) // INTERVAL
    a = roads.drive(start, count, INTERVAL, TZ, seed=4)
    assert a == roads.drive(start, count, INTERVAL, TZ, seed=4)  # seeded: the same month again
    assert a.readings != roads.drive(start, count, INTERVAL, TZ, seed=5).readings
    assert len(a.readings) == count == 2972  # March has a 23-hour day in Berlin
    assert all(cell in roads.CELLS and metres >= 0 for metres, cell in a.readings)
    assert 300_000 < a.metres < 3_000_000  # a car's month: a few hundred to a few thousand km
    assert 30 <= a.trips <= 150
    # intervals with driving: commutes and errands, a small share of the month
    driving = [k for k, (m, _) in enumerate(a.readings) if m]
    assert 0.02 < len(driving) / count < 0.25
    # no interval faster than 130 km/h on average: metres per quarter hour
    assert max(m for m, _ in a.readings) <= 130_000 * INTERVAL // 3600
    # weekday rush hours carry much of the weekday driving; weekends have trips too
    by_kind: Counter[str] = Counter()
    for k, (m, _) in enumerate(a.readings):
        local = datetime.fromtimestamp(start + k * INTERVAL, TZ)
        if local.weekday() >= 5:
            by_kind["weekend"] += m
        elif local.hour in (6, 7, 8, 9, 15, 16, 17, 18, 19):
            by_kind["rush"] += m
        else:
            by_kind["weekday other"] += m
    # (9 of 24 hours; a commuter drives most weekday kilometres in them)
    assert roads.household(4).work is not None
    assert by_kind["weekend"] > 0
    assert by_kind["rush"] / (by_kind["rush"] + by_kind["weekday other"]) > 9 / 24


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_on_board_unit_commits_every_metre_in_its_own_cell(seed: int) -> None:
    """Segments: the metres add up to the drive's (an odometer, nothing lost to rounding), and
    each cell gets exactly the metres driven in it — only the interval may be a little later."""
    start = _start(date(2026, 5, 4))
    count = 7 * 96
    h = roads.household(seed)
    segments = roads.trips(h, start, start + count * INTERVAL, TZ, seed)
    d = roads.drive(start, count, INTERVAL, TZ, seed=seed)
    end = start + count * INTERVAL
    driven = sum(  # the metres of the segments inside the week
        s.metres * (min(s.end, end) - max(s.start, start)) / (s.end - s.start) for s in segments
    )
    assert abs(d.metres - driven) <= 1
    committed: Counter[int] = Counter()
    for m, cell in d.readings:
        committed[cell] += m
    segments_count = len(segments)
    for cell in roads.CELLS:  # whole metres per segment: at most one metre off per segment
        assert abs(committed[cell] - d.metres_by_cell[cell]) <= segments_count
    assert sum(d.metres_by_cell.values()) == pytest.approx(driven, abs=len(roads.CELLS))
    # a segment is committed at most a few intervals after it was driven
    assert max(d.delayed, default=0) <= 4


def test_on_board_unit_queue_by_hand() -> None:
    """Two cells in one interval: the second waits for the next one; parked intervals keep the
    last cell; metres come from an odometer."""
    segments = [
        roads.Segment(0.0, 600.0, 5000, 22),  # 10 minutes in cell 22
        roads.Segment(600.0, 900.0, 1200, 12),  # then 5 minutes in the centre
        roads.Segment(900.0, 1200.0, 800, 13),  # then 5 minutes on a local street
    ]
    d = roads.on_board_unit(segments, 0, 4, 900, parked_cell=23)
    assert d.readings == [(5000, 22), (1200, 12), (800, 13), (0, 13)]
    assert d.delayed == {1: 1200 + 800}  # both later segments wait one interval
    assert d.metres_by_cell[22] == 5000 and d.metres_by_cell[31] == 0
    parked = roads.on_board_unit([], 0, 2, 900, parked_cell=23)
    assert parked.readings == [(0, 23), (0, 23)] and parked.trips == 0


# --- the tariff and bills ------------------------------------------------------------------


def _desc(days: int, first: date) -> dict[str, Any]:
    desc = demo_tariff_description("road-tolling")
    desc["billing_cycle"] = {"every_days": days, "starting": first.isoformat()}
    return desc


def test_toll_tariff_shape() -> None:
    body = TariffBody.from_description(demo_tariff_description("road-tolling"))
    (toll,) = body.components
    assert isinstance(toll, Lookup) and toll.attribute == "toll_cell"
    assert toll.values == roads.CELLS
    day, rush, night = toll.bands
    assert len(set(night.prices)) == 1  # one flat rate at night: no proof needed then
    assert all(r >= d for r, d in zip(rush.prices, day.prices, strict=True))
    # the centre is dearest, the region's local roads cheapest, in every band but the night
    for band in (day, rush):
        assert max(band.prices) == band.prices[toll.values.index(12)]
        assert min(band.prices) == band.prices[toll.values.index(33)]


@pytest.fixture(scope="module")
def week(provider: Provider) -> dict[str, Any]:
    first = date(2026, 5, 4)
    days = 3
    desc = _desc(days, first)
    tariff = provider.sign_tariff(TariffBody.from_description(desc))
    period = BillingPeriod.for_dates(first, date(2026, 5, 4 + days), tariff.body.tz)
    start, count = period.intervals(INTERVAL)
    car = roads.drive(start * INTERVAL, count, INTERVAL, TZ, seed=7)
    key = SigningKey.generate()
    cert = provider.certify_meter(
        "obu-7", "vehicle-7", key.public_key(), interval_s=INTERVAL, attributes=("toll_cell",)
    )
    rec = Meter(cert, key, "day", "Europe/Berlin").record(
        [(start + k, m, (cell,)) for k, (m, cell) in enumerate(car.readings)]
    )
    inp = MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])
    msg = prove_bill(tariff, [inp], period)
    return {
        "desc": desc,
        "tariff": tariff,
        "period": period,
        "first": start,
        "car": car,
        "input": inp,
        "bill": msg,
        "days": days,
        "day": first,
    }


def test_toll_bill_equals_cleartext_and_independent_decimal(
    provider: Provider, week: dict[str, Any]
) -> None:
    tariff: SignedTariff = week["tariff"]
    car: roads.Drive = week["car"]
    first = week["first"]
    v = verify_bill(week["bill"].encode(), tariff, provider.public_key)
    readings = MeterReadings(
        INTERVAL,
        first,
        [m for m, _ in car.readings],
        {"toll_cell": [c for _, c in car.readings]},
    )
    assert v.total_fee == cleartext_bill(tariff.body, [readings], week["period"]).total
    expected = reference_total(
        week["desc"],
        [[((first + k) * INTERVAL, m) for k, (m, _) in enumerate(car.readings)]],
        week["day"],
        week["days"],
        INTERVAL,
        [[c for _, c in car.readings]],
    )
    assert Decimal(v.total_fee).scaleb(-12) == expected
    # ... and by hand, straight from the JSON: km × the price of the cell in the hour's band
    desc = week["desc"]
    comp = desc["components"][0]
    toll = Decimal(0)
    for k, (m, cell) in enumerate(car.readings):
        local = datetime.fromtimestamp((first + k) * INTERVAL, TZ)
        table = comp["weekend_schedule"] if local.weekday() >= 5 else comp["weekday_schedule"]
        band = comp["bands"][table[local.month - 1][local.hour]]
        toll += Decimal(band["prices"][comp["values"].index(cell)]) * m / 1000
    fixed = Decimal(desc["fixed"]["per_month"]) * week["days"] / 31
    assert expected == toll + fixed.quantize(Decimal("1e-12"))
    assert toll > 0


def test_only_the_day_and_rush_hour_intervals_carry_proofs(week: dict[str, Any]) -> None:
    obj = cbor2.loads(week["bill"].encode())
    proofs = obj["components"][0]["meters"][0]["proofs"]
    per_day = 16 * 4  # 06:00-22:00 in quarter hours; the flat night rate needs no proof
    assert len(proofs) == week["days"] * per_day
    # nothing about a segment in the clear: every proof has the same size
    assert len({len(p) for p in proofs}) == 1


# --- cheaters ------------------------------------------------------------------------------


def _forger(claim: Any) -> Any:
    """A lookup prover that makes ``claim(interval, band, cell)`` for some intervals."""

    def make(
        c: Lookup,
        bands: list[int],
        points: list[Point],
        attributes: list[Point],
        values: list[int],
        blindings: list[int],
        attribute_values: list[int],
        attribute_blindings: list[int],
        ctx: bytes,
    ) -> Any:
        claims = {}
        for i, (b, a) in enumerate(zip(bands, attribute_values, strict=True)):
            made = claim(i, b, a, values[i])
            if made is not None:
                claims[i] = made
        return forge_lookup(
            c, bands, points, attributes, values, blindings, attribute_blindings, ctx, claims
        )

    return make


@pytest.fixture(scope="module")
def toll_case(provider: Provider) -> Any:
    """One weekday of a toll bill with segments in every cell (the forgers' target)."""
    desc = _desc(1, date(2026, 5, 4))
    desc["timezone"] = "UTC"  # bill_case works in UTC hours
    cells = list(roads.CELLS)

    def metres(k: int, m: int) -> int:
        return 0 if k % 5 == 4 else 500 + (k * 1777) % 20_000

    return bill_case(
        provider,
        desc,
        "2026-05-04/2026-05-05",
        metres,
        interval=INTERVAL,
        attributes=("toll_cell",),
        attribute=lambda k, m: cells[(k * 3) % len(cells)],
    )


def _cheaper(c: Lookup, band: int, cell: int, same: str) -> int | None:
    """The cheapest cell of the band that keeps the zone (``same="zone"``) or the road class
    (``same="class"``) and costs less than ``cell``; ``None`` if there is none."""
    prices = c.bands[band].prices
    keep = (lambda v: v // 10 == cell // 10) if same == "zone" else (lambda v: v % 10 == cell % 10)
    options = [
        j for j, v in enumerate(c.values) if keep(v) and prices[j] < prices[c.values.index(cell)]
    ]
    return min(options, key=lambda j: prices[j]) if options else None


@pytest.mark.parametrize("keep", ["zone", "class"])
def test_a_segment_hidden_as_a_cheaper_class_or_zone_is_refused(toll_case: Any, keep: str) -> None:
    """The cheater claims, for one dear segment, a cheaper road class in the same zone (a main
    road as a local street) or the same class in a cheaper zone (the centre as the urban area)."""
    c: Lookup = toll_case.tariff.body.components[0]
    target: list[int] = []

    def claim(i: int, band: int, cell: int, metres: int) -> RowClaim | None:
        j = _cheaper(c, band, cell, keep)
        if j is None or not metres or target:
            return None
        target.append(i)
        return RowClaim(j)

    forged = toll_case.forge(lookup, "prove", _forger(claim))
    assert target
    toll_case.refuse("road-tolling", forged, ComponentProofError, field=PROOFS)


def test_every_segment_as_the_cheapest_cell_is_refused(toll_case: Any) -> None:
    c: Lookup = toll_case.tariff.body.components[0]

    def claim(i: int, band: int, cell: int, metres: int) -> RowClaim | None:
        prices = c.bands[band].prices
        j = min(range(len(prices)), key=lambda r: prices[r])
        return RowClaim(j) if prices[j] < prices[c.values.index(cell)] and metres else None

    forged = toll_case.forge(lookup, "prove", _forger(claim))
    toll_case.refuse("road-tolling", forged, ComponentProofError)


def test_rush_hour_priced_as_the_day_band_is_refused(toll_case: Any) -> None:
    """The true cell, but the cheaper day band's price in a rush hour."""
    c: Lookup = toll_case.tariff.body.components[0]
    names = [b.name for b in c.bands]
    day, rush = names.index("day"), names.index("rush hour")
    done: list[int] = []

    def claim(i: int, band: int, cell: int, metres: int) -> RowClaim | None:
        j = c.values.index(cell)
        if band != rush or done or not metres or c.bands[day].prices[j] >= c.bands[rush].prices[j]:
            return None
        done.append(i)
        return RowClaim(j, band=day)

    forged = toll_case.forge(lookup, "prove", _forger(claim))
    assert done
    toll_case.refuse("road-tolling", forged, ComponentProofError, field=PROOFS)


def test_a_cell_commitment_of_the_cheaters_own_is_refused(toll_case: Any) -> None:
    """The cheater proves the cheapest cell against an attribute commitment it made itself
    (it knows that opening): the verifier uses the meter's sealed commitment."""
    c: Lookup = toll_case.tariff.body.components[0]
    done: list[int] = []

    def claim(i: int, band: int, cell: int, metres: int) -> RowClaim | None:
        prices = c.bands[band].prices
        j = min(range(len(prices)), key=lambda r: prices[r])
        if done or not metres or prices[j] >= prices[c.values.index(cell)]:
            return None
        done.append(i)
        alpha = group.random_scalar()
        return RowClaim(j, attribute=pedersen.commit(c.values[j], alpha), attribute_blinding=alpha)

    forged = toll_case.forge(lookup, "prove", _forger(claim))
    toll_case.refuse("road-tolling", forged, ComponentProofError, field=PROOFS)


def test_the_customer_cannot_change_a_segment_after_the_unit_sealed_it(
    provider: Provider, week: dict[str, Any]
) -> None:
    """Openings with a cheaper cell, sealed cell commitments swapped between two intervals or
    replaced: the prover or the verifier refuses, naming what is wrong."""
    inp: MeterInput = week["input"]
    tariff = week["tariff"]
    period = week["period"]
    car: roads.Drive = week["car"]
    k = next(i for i, (m, cell) in enumerate(car.readings) if m and cell != 33)
    bad = copy.deepcopy(inp.openings[0])
    bad.attribute_values[k] = 33
    with pytest.raises(OpeningError, match="toll_cell"):
        prove_bill(tariff, [MeterInput(inp.sealed, [bad])], period)
    obj = cbor2.loads(week["bill"].encode())
    run = obj["meters"][0]["runs"][0]
    attrs = run["attributes"]
    swapped = attrs[48:96] + attrs[:48] + attrs[96:]
    cases: list[tuple[bytes, type[PrivbillError]]] = [
        (swapped, CommitmentError),
        (group.encode_point(pedersen.commit(33, 5)) + attrs[48:], CommitmentError),
    ]
    for data, error in cases:
        o = copy.deepcopy(obj)
        o["meters"][0]["runs"][0]["attributes"] = data
        refused(
            "road-tolling",
            lambda o=o: verify_bill(codec.encode(o), tariff, provider.public_key),
            error,
            level="bill",
        )


# --- the command line ----------------------------------------------------------------------


def _run(*args: str) -> int:
    return main(list(args))


def test_road_tolling_demo_and_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`demo --scenario road-tolling` writes keys, tariff, the unit's meter directory and the
    bill; `bill prove` / `bill verify` / `bill explain` work on them as for electricity."""
    out = tmp_path / "toll"
    assert (
        _run(
            "demo", "--scenario", "road-tolling", "--days", "2", "--start", "2026-03-02",
            "--seed", "3", "--out", str(out), "--no-progress", "--json",
        )
        == 0
    )  # fmt: skip
    view = json.loads(capsys.readouterr().out)
    assert view["scenario"] == "road-tolling" and view["readings"] == 192
    assert view["customer_view"]["total_fee"] == view["total_fee"]
    assert "toll_cell" in (out / "readings.csv").read_text().splitlines()[0]
    args = [
        "--readings", str(out / "sealed"), "--tariff", str(out / "tariff.pbt"),
        "--period", "2026-03-02/2026-03-04", "--opening-key", str(out / "meter-0001.okey"),
    ]  # fmt: skip
    assert _run("bill", "prove", *args, "--out", str(tmp_path / "again.pbm"), "--json") == 0
    proved = json.loads(capsys.readouterr().out)
    assert proved["total_fee"] == view["total_fee"]
    verify = ["--tariff", str(out / "tariff.pbt"), "--provider", str(out / "provider.pub")]
    assert _run("bill", "verify", str(tmp_path / "again.pbm"), *verify, "--json") == 0
    assert json.loads(capsys.readouterr().out)["total_fee"] == view["total_fee"]
    assert _run("bill", "explain", *args) == 0
    assert "per-km toll" in capsys.readouterr().out
    # the demo's statement of what the operator learns
    monkeypatch.setenv("COLUMNS", "300")
    assert _run("demo", "--scenario", "road-tolling", "--days", "1", "--seed", "3") == 0
    assert "no road class or zone" in capsys.readouterr().out
