"""Tiered, demand and minimum-bill components: proven totals equal the cleartext bill exactly,
and every part of every component proof is checked."""

from __future__ import annotations

import copy
import random
import re
from pathlib import Path
from typing import Any

import cbor2
import pytest

from privbill.billing.cleartext import MeterReadings, cleartext_bill
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.verifier import verify_bill
from privbill.crypto import group, pedersen
from privbill.crypto.signatures import SigningKey
from privbill.errors import (
    ComponentProofError,
    DecodeError,
    FeeMismatchError,
    PrivbillError,
    TariffError,
    TariffMismatchError,
)
from privbill.interop.urdb import load_rate, urdb_to_description
from privbill.meter import Meter
from privbill.model import codec
from privbill.model.periods import BillingPeriod
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider

DATA = Path(__file__).parent / "data" / "urdb"
TZ = "America/Denver"
HOUR = 3600


def _tariff(provider: Provider, name: str, **edit: Any) -> SignedTariff:
    rate = load_rate((DATA / name).read_text())
    desc, _ = urdb_to_description(
        rate, timezone=TZ, valid_from="2026-01-01", valid_until="2027-01-01"
    )
    for key, value in edit.items():
        desc[key] = value
    return provider.sign_tariff(TariffBody.from_description(desc))


def _bill(
    provider: Provider,
    tariff: SignedTariff,
    month: str,
    values_fn: Any,
    *,
    meters: int = 1,
    interval: int = HOUR,
) -> tuple[bytes, list[list[int]], BillingPeriod]:
    period = BillingPeriod.parse(month, tariff.body.tz)
    first, count = period.intervals(interval)
    inputs, all_values = [], []
    for m in range(meters):
        key = SigningKey.generate()
        cert = provider.certify_meter(f"m-{m}", "acct", key.public_key(), interval_s=interval)
        meter = Meter(cert, key, "day", TZ)
        values = [values_fn(k, m) for k in range(count)]
        rec = meter.record([(first + k, v) for k, v in enumerate(values)])
        inputs.append(MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings]))
        all_values.append(values)
    return prove_bill(tariff, inputs, period).encode(), all_values, period


def _check_against_cleartext(
    provider: Provider,
    tariff: SignedTariff,
    data: bytes,
    values: list[list[int]],
    period: BillingPeriod,
    interval: int = HOUR,
) -> int:
    v = verify_bill(data, tariff, provider.public_key)
    first, _ = period.intervals(interval)
    expected = cleartext_bill(
        tariff.body, [MeterReadings(interval, first, vs) for vs in values], period
    )
    assert v.total_fee == expected.total
    return v.total_fee


@pytest.mark.parametrize(
    ("scale", "tier"),
    [(0.2, 0), (0.8, 1), (3.0, 2)],  # monthly totals in the first, second and third tier
)
def test_tiered_hidden_total(provider: Provider, scale: float, tier: int) -> None:
    tariff = _tariff(provider, "tiered-residential.json")
    rng = random.Random(tier)
    data, values, period = _bill(
        provider, tariff, "2026-03", lambda k, m: int(rng.randrange(0, 1500) * scale)
    )
    total_kwh = sum(values[0]) / 1000
    bounds = [0, 400, 900, float("inf")]
    assert bounds[tier] <= total_kwh < bounds[tier + 1]
    _check_against_cleartext(provider, tariff, data, values, period)
    # The message reveals the total fee but not the consumption: no component field holds it.
    obj = cbor2.loads(data)
    assert sum(values[0]) not in [obj["total_fee"], *obj["components"][0]["tiers"].values()]


def test_daily_tiers_and_minimum(provider: Provider) -> None:
    tariff = _tariff(provider, "tou-tiers-residential.json")
    # A busy month: tiers in use; the minimum does not apply.
    data, values, period = _bill(provider, tariff, "2026-07", lambda k, m: 300 + (k * 37) % 900)
    total = _check_against_cleartext(provider, tariff, data, values, period)
    assert total > 10 * 10**12 and not cbor2.loads(data)["components"][1]["applied"]
    # An almost empty month: raised to the 10.00 minimum without revealing the real total.
    data, values, period = _bill(provider, tariff, "2026-02", lambda k, m: 1 if k % 24 == 0 else 0)
    assert _check_against_cleartext(provider, tariff, data, values, period) == 10 * 10**12
    obj = cbor2.loads(data)
    assert obj["components"][1]["applied"] and obj["blinding"] == bytes(32)


def test_declining_tiers_need_order_proofs(provider: Provider) -> None:
    desc_tiers = [
        {"up_to_kwh": "100", "price": "0.20"},
        {"up_to_kwh": "300", "price": "0.10"},
        {"up_to_kwh": None, "price": "0.15"},
    ]
    base = _tariff(provider, "tiered-residential.json")
    body = base.body
    desc = {
        "name": "declining block",
        "currency": "USD",
        "timezone": TZ,
        "valid_from": "2026-01-01",
        "valid_until": "2027-01-01",
        "energy": {
            "kind": "time-of-use",
            "periods": [{"name": "all", "price": "0"}],
            "weekday_schedule": [[0] * 24] * 12,
        },
        "components": [{"kind": "tiered", "name": "declining", "tiers": desc_tiers}],
    }
    tariff = provider.sign_tariff(TariffBody.from_description(desc))
    assert body  # the URDB-based tariff is unrelated; this one is written by hand
    for per_hour in (50, 300, 700):  # first, second and third tier
        data, values, period = _bill(provider, tariff, "2026-04", lambda k, m, p=per_hour: p)
        _check_against_cleartext(provider, tariff, data, values, period)
        obj = cbor2.loads(data)
        # 0.20 is dearer than both later tiers and 0.15 comes after the cheaper 0.10: both
        # boundaries need an order proof (with one at the drop only, tiers 1 and 2 left empty
        # and everything in tier 3 at 0.15 would pass and undercut the 0.20 tier).
        assert len(obj["components"][0]["tiers"]["order"]) == 2


def test_demand_charges_two_meters(provider: Provider) -> None:
    tariff = _tariff(provider, "commercial-tou-demand.json")
    rng = random.Random(9)
    data, values, period = _bill(
        provider, tariff, "2026-08", lambda k, m: rng.randrange(1000, 30000), meters=2
    )
    _check_against_cleartext(provider, tariff, data, values, period)
    obj = cbor2.loads(data)
    flat = obj["components"][0]["windows"]
    assert flat[0] is None and flat[1] is not None  # August is in the summer flat period
    assert flat[1]["tiers"] is not None  # two demand tiers in summer: tier parts
    tou = obj["components"][1]["windows"]
    assert tou[0] is None  # the off-peak demand window has no price: no proof


def test_demand_value_too_large_for_bits(provider: Provider) -> None:
    """A tariff that declares 16-bit demand proofs cannot bill a 70 kWh interval; the imported
    default (32 bits) can."""
    rate = load_rate((DATA / "commercial-tou-demand.json").read_text())
    desc, _ = urdb_to_description(
        rate, timezone=TZ, valid_from="2026-01-01", valid_until="2027-01-01"
    )
    assert all("bits" not in c for c in desc["components"])
    for c in desc["components"]:
        if c["kind"] == "demand":
            c["bits"] = 16
    tariff = provider.sign_tariff(TariffBody.from_description(desc))
    with pytest.raises(PrivbillError, match="does not fit"):
        _bill(provider, tariff, "2026-08", lambda k, m: 70000 if k == 5 else 10)


def test_components_need_calendar_month(provider: Provider) -> None:
    tariff = _tariff(provider, "commercial-tou-demand.json")
    with pytest.raises(TariffMismatchError, match="not one cycle"):
        _bill(provider, tariff, "2026-08-01/2026-08-15", lambda k, m: 10)
    with pytest.raises(TariffError, match="need a monthly billing cycle"):
        _tariff(
            provider,
            "commercial-tou-demand.json",
            billing_cycle={"every_days": 14, "starting": "2026-08-01"},
        )


# --- tampering with component proofs ---------------------------------------------------------


@pytest.fixture(scope="module")
def demand_bill(provider: Provider) -> tuple[SignedTariff, bytes]:
    tariff = _tariff(provider, "commercial-tou-demand.json")
    rng = random.Random(3)
    data, _, _ = _bill(provider, tariff, "2026-08", lambda k, m: rng.randrange(1000, 30000))
    return tariff, data


def _flip(b: bytes, i: int = 5) -> bytes:
    return b[:i] + bytes([b[i] ^ 1]) + b[i + 1 :]


def _lower_peak(w: dict[str, Any]) -> None:
    # A commitment to a smaller peak: the range proof no longer matches it.
    w["peak"] = group.encode_point(pedersen.commit(1, 1))


TAMPER = [
    ("components dropped", lambda o: o.__setitem__("components", []), DecodeError),
    ("components reordered", lambda o: o["components"].reverse(), DecodeError),
    (
        "component duplicated",
        lambda o: o["components"].append(copy.deepcopy(o["components"][0])),
        DecodeError,
    ),
    (
        "window proof dropped",
        lambda o: o["components"][0]["windows"].__setitem__(1, None),
        DecodeError,
    ),
    (
        "window proof for an uncharged window",
        lambda o: o["components"][1]["windows"].__setitem__(0, o["components"][1]["windows"][1]),
        DecodeError,
    ),
    ("peak lowered", lambda o: _lower_peak(o["components"][1]["windows"][1]), ComponentProofError),
    (
        "peak not a point",
        lambda o: o["components"][1]["windows"][1].__setitem__("peak", bytes(48)),
        DecodeError,
    ),
    (
        "peak range proof altered",
        lambda o: o["components"][1]["windows"][1].__setitem__(
            "ranges", _flip(o["components"][1]["windows"][1]["ranges"], 300)
        ),
        ComponentProofError,
    ),
    (
        "peak range proof truncated",
        lambda o: o["components"][1]["windows"][1].__setitem__(
            "ranges", o["components"][1]["windows"][1]["ranges"][:-32]
        ),
        ComponentProofError,
    ),
    (
        "tier parts altered",
        lambda o: o["components"][0]["windows"][1]["tiers"].__setitem__(
            "parts", _flip(o["components"][0]["windows"][1]["tiers"]["parts"], 60)
        ),
        DecodeError,
    ),
    (
        "tier parts swapped",
        lambda o: o["components"][0]["windows"][1]["tiers"].__setitem__(
            "parts",
            o["components"][0]["windows"][1]["tiers"]["parts"][48:]
            + o["components"][0]["windows"][1]["tiers"]["parts"][:48],
        ),
        ComponentProofError,
    ),
    (
        "tier range proof altered",
        lambda o: o["components"][0]["windows"][1]["tiers"].__setitem__(
            "ranges", _flip(o["components"][0]["windows"][1]["tiers"]["ranges"], 500)
        ),
        ComponentProofError,
    ),
    (
        "minimum marked applied",
        lambda o: o["components"][2].__setitem__("applied", True),
        FeeMismatchError,
    ),
    (
        "unknown component kind",
        lambda o: o["components"][2].__setitem__("kind", "discount"),
        DecodeError,
    ),
    ("total lowered", lambda o: o.__setitem__("total_fee", o["total_fee"] - 1), FeeMismatchError),
]


@pytest.mark.parametrize(("name", "mutate", "error"), TAMPER, ids=[t[0] for t in TAMPER])
def test_component_tamper(
    name: str,
    mutate: Any,
    error: type[PrivbillError],
    demand_bill: tuple[SignedTariff, bytes],
    provider: Provider,
) -> None:
    tariff, data = demand_bill
    obj = cbor2.loads(data)
    mutate(obj)
    with pytest.raises(error) as ei:
        verify_bill(codec.encode(obj), tariff, provider.public_key)
    assert type(ei.value) is error, f"{name}: {type(ei.value).__name__}: {ei.value}"


def _break_ranges(o: dict[str, Any], c: int, w: int) -> None:
    win = o["components"][c]["windows"][w]
    win["ranges"] = _flip(win["ranges"], 300)


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        ([(0, 1)], r"components\[0\]\.windows\[1\]\.ranges"),
        ([(1, 1)], r"components\[1\]\.windows\[1\]\.ranges"),
        ([(1, 1), (0, 1)], r"components\[0\]\.windows\[1\]\.ranges"),
    ],
    ids=["first component", "second component", "both: the first is named"],
)
def test_demand_range_proofs_of_the_bill_checked_as_one_batch(
    broken: list[tuple[int, int]],
    named: str,
    demand_bill: tuple[SignedTariff, bytes],
    provider: Provider,
) -> None:
    """The bill's two demand components share one batched range check: a forgery in either is
    refused, named by its component and window, and a later component's tier parts are not
    looked at before every range proof holds."""
    tariff, data = demand_bill
    assert verify_bill(data, tariff, provider.public_key).total_fee > 0
    obj = cbor2.loads(data)
    for c, w in broken:
        _break_ranges(obj, c, w)
    # tier parts of the first component swapped too: the range error still comes first
    parts = obj["components"][0]["windows"][1]["tiers"]["parts"]
    obj["components"][0]["windows"][1]["tiers"]["parts"] = parts[48:] + parts[:48]
    with pytest.raises(ComponentProofError, match="peak range proof does not verify") as ei:
        verify_bill(codec.encode(obj), tariff, provider.public_key)
    assert re.fullmatch(named, ei.value.field or ""), ei.value.field


def test_component_proofs_bound_to_the_bill(
    provider: Provider, demand_bill: tuple[SignedTariff, bytes]
) -> None:
    """A component proof from another bill (other meter, same tariff) does not transfer."""
    tariff, data = demand_bill
    rng = random.Random(4)
    other, _, _ = _bill(provider, tariff, "2026-08", lambda k, m: rng.randrange(1000, 30000))
    obj, donor = cbor2.loads(data), cbor2.loads(other)
    obj["components"][1] = donor["components"][1]
    with pytest.raises(ComponentProofError):
        verify_bill(codec.encode(obj), tariff, provider.public_key)


@pytest.fixture(scope="module")
def tiered_bill(provider: Provider) -> tuple[SignedTariff, bytes]:
    tariff = _tariff(provider, "tiered-residential.json")
    data, _, _ = _bill(provider, tariff, "2026-03", lambda k, m: 700 + (k * 13) % 900)
    return tariff, data


def _tiers(o: dict[str, Any]) -> dict[str, Any]:
    return o["components"][0]["tiers"]


TIERED_TAMPER = [
    (
        "tier part altered",
        lambda o: _tiers(o).__setitem__("parts", _flip(_tiers(o)["parts"], 60)),
        DecodeError,
    ),
    (
        "tier parts swapped",
        lambda o: _tiers(o).__setitem__(
            "parts", _tiers(o)["parts"][48:96] + _tiers(o)["parts"][:48] + _tiers(o)["parts"][96:]
        ),
        ComponentProofError,
    ),
    (
        "tier part dropped",
        lambda o: _tiers(o).__setitem__("parts", _tiers(o)["parts"][:-48]),
        DecodeError,
    ),
    (
        "tier range proof altered",
        lambda o: _tiers(o).__setitem__("ranges", _flip(_tiers(o)["ranges"], 400)),
        ComponentProofError,
    ),
    (
        "tier range proof from another bill",
        lambda o: _tiers(o).__setitem__("ranges", b""),
        ComponentProofError,
    ),
    ("order proof added", lambda o: _tiers(o).__setitem__("order", [b"\x00" * 96]), DecodeError),
    (
        "component kind changed",
        lambda o: o["components"][0].__setitem__("kind", "demand"),
        DecodeError,
    ),
]


@pytest.mark.parametrize(
    ("name", "mutate", "error"), TIERED_TAMPER, ids=[t[0] for t in TIERED_TAMPER]
)
def test_tiered_tamper(
    name: str,
    mutate: Any,
    error: type[PrivbillError],
    tiered_bill: tuple[SignedTariff, bytes],
    provider: Provider,
) -> None:
    tariff, data = tiered_bill
    obj = cbor2.loads(data)
    mutate(obj)
    with pytest.raises(error) as ei:
        verify_bill(codec.encode(obj), tariff, provider.public_key)
    assert type(ei.value) is error, f"{name}: {type(ei.value).__name__}: {ei.value}"
