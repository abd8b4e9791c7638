"""Private-attribute lookup (pay-as-you-drive, tolling): a price table row chosen by a hidden
attribute the meter commits to, proven per interval, verified in one MSM."""

from __future__ import annotations

import copy
import random
from typing import Any

import cbor2
import pytest

from privbill.billing.cleartext import MeterReadings, cleartext_bill
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.verifier import verify_bill
from privbill.crypto import group, pedersen
from privbill.crypto.signatures import SigningKey
from privbill.errors import (
    CommitmentError,
    ComponentProofError,
    DecodeError,
    OpeningError,
    PrivbillError,
    ReadingError,
    SealChainError,
    TariffMismatchError,
)
from privbill.meter import Meter
from privbill.model import codec
from privbill.model.periods import BillingPeriod
from privbill.model.readings import Openings
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider

TZ = "Europe/Berlin"
NIGHT = [[1] * 6 + [0] * 16 + [1] * 2 for _ in range(12)]


def payd_description(uniform_night: bool = False, cycle_days: int = 1) -> dict[str, Any]:
    return {
        "name": "pay as you drive",
        "billing_cycle": {"every_days": cycle_days, "starting": "2026-05-04"},
        "currency": "EUR",
        "timezone": TZ,
        "valid_from": "2026-01-01",
        "valid_until": "2027-01-01",
        "energy": {
            "kind": "time-of-use",
            "periods": [{"name": "none", "price": "0"}],
            "weekday_schedule": [[0] * 24] * 12,
        },
        "fixed": {"per_month": "4.50"},
        "components": [
            {
                "kind": "lookup",
                "name": "per-km premium",
                "attribute": "road_class",
                "values": [0, 1, 2],
                "bands": [
                    {"name": "day", "prices": ["0.031", "0.024", "0.052"]},
                    {
                        "name": "night",
                        "prices": ["0.09", "0.09", "0.09"]
                        if uniform_night
                        else ["0.045", "0.038", "0.081"],
                    },
                ],
                "weekday_schedule": NIGHT,
                "weekend_schedule": NIGHT,
            }
        ],
    }


def _drive(n: int, seed: int) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        driving = rng.random() < 0.3
        out.append((rng.randrange(500, 9000) if driving else 0, rng.randrange(0, 3)))
    return out


def _setup(
    provider: Provider,
    tariff: SignedTariff,
    days: str,
    seed: int = 1,
    attrs: tuple[str, ...] = ("road_class",),
):
    key = SigningKey.generate()
    cert = provider.certify_meter(
        "car-1", "policy-9", key.public_key(), interval_s=900, attributes=attrs
    )
    meter = Meter(cert, key, "day", TZ)
    period = BillingPeriod.parse(days, tariff.body.tz)
    first, count = period.intervals(900)
    drive = _drive(count, seed)
    rec = meter.record([(first + k, q, (a,) if attrs else ()) for k, (q, a) in enumerate(drive)])
    return cert, key, period, first, drive, rec


@pytest.fixture(scope="module")
def payd(
    provider: Provider,
) -> tuple[SignedTariff, bytes, list[tuple[int, int]], BillingPeriod, int]:
    tariff = provider.sign_tariff(TariffBody.from_description(payd_description(cycle_days=2)))
    cert, _, period, first, drive, rec = _setup(provider, tariff, "2026-05-04/2026-05-06")
    msg = prove_bill(
        tariff, [MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])], period
    )
    return tariff, msg.encode(), drive, period, first


def test_lookup_bill_equals_cleartext(provider: Provider, payd: Any) -> None:
    tariff, data, drive, period, first = payd
    v = verify_bill(data, tariff, provider.public_key)
    expected = cleartext_bill(
        tariff.body,
        [MeterReadings(900, first, [q for q, _ in drive], {"road_class": [a for _, a in drive]})],
        period,
    )
    assert v.total_fee == expected.total
    independent = 0
    prices = {0: [31_000_000, 24_000_000, 52_000_000], 1: [45_000_000, 38_000_000, 81_000_000]}
    from datetime import datetime
    from zoneinfo import ZoneInfo

    for k, (q, a) in enumerate(drive):
        hour = datetime.fromtimestamp((first + k) * 900, ZoneInfo(TZ)).hour
        band = 1 if hour < 6 or hour >= 22 else 0
        independent += prices[band][a] * q
    days = 2
    assert v.total_fee == independent + 4_500_000_000_000 * days // 31 + (
        4_500_000_000_000 * days % 31 * 2 >= 31
    )


def test_uniform_band_needs_no_proof(provider: Provider) -> None:
    tariff = provider.sign_tariff(TariffBody.from_description(payd_description(uniform_night=True)))
    cert, _, period, first, drive, rec = _setup(provider, tariff, "2026-05-04/2026-05-05", seed=3)
    msg = prove_bill(
        tariff, [MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])], period
    )
    obj = cbor2.loads(msg.encode())
    day_intervals = 16 * 4  # 06:00-22:00
    assert len(obj["components"][0]["meters"][0]["proofs"]) == day_intervals
    assert (
        verify_bill(msg.encode(), tariff, provider.public_key).total_fee
        == cleartext_bill(
            tariff.body,
            [
                MeterReadings(
                    900, first, [q for q, _ in drive], {"road_class": [a for _, a in drive]}
                )
            ],
            period,
        ).total
    )


def _flip(b: bytes, i: int) -> bytes:
    return b[:i] + bytes([b[i] ^ 1]) + b[i + 1 :]


def _proofs(o: dict[str, Any]) -> list[bytes]:
    return o["components"][0]["meters"][0]["proofs"]


TAMPER = [
    (
        "clause commitment altered",
        lambda o: _proofs(o).__setitem__(3, _flip(_proofs(o)[3], 10)),
        DecodeError,
    ),
    (
        "clause commitments swapped",
        lambda o: _proofs(o).__setitem__(
            3, _proofs(o)[3][48:96] + _proofs(o)[3][:48] + _proofs(o)[3][96:]
        ),
        ComponentProofError,
    ),
    (
        "challenge altered",
        lambda o: _proofs(o).__setitem__(3, _flip(_proofs(o)[3], 6 * 48 + 31)),
        ComponentProofError,
    ),
    (
        "response altered",
        lambda o: _proofs(o).__setitem__(3, _flip(_proofs(o)[3], 6 * 48 + 3 * 32 + 31)),
        ComponentProofError,
    ),
    ("proof truncated", lambda o: _proofs(o).__setitem__(3, _proofs(o)[3][:-1]), DecodeError),
    ("proofs swapped between intervals", lambda o: _proofs(o).reverse(), ComponentProofError),
    ("proof dropped", lambda o: _proofs(o).pop(), DecodeError),
    (
        "fee commitment replaced",
        lambda o: o["components"][0]["meters"][0].__setitem__(
            "fees",
            group.encode_point(pedersen.commit(1, 1))
            + o["components"][0]["meters"][0]["fees"][48:],
        ),
        ComponentProofError,
    ),
    (
        "attribute commitments altered",
        lambda o: o["meters"][0]["runs"][0].__setitem__(
            "attributes", _flip(o["meters"][0]["runs"][0]["attributes"], 60)
        ),
        CommitmentError,
    ),
    (
        "attribute count in seal",
        lambda o: o["meters"][0]["runs"][0]["seal"].__setitem__("attributes", 2),
        DecodeError,
    ),
    (
        "attributes dropped from a run",
        lambda o: o["meters"][0]["runs"][0].pop("attributes"),
        DecodeError,
    ),
]


@pytest.mark.parametrize(("name", "mutate", "error"), TAMPER, ids=[t[0] for t in TAMPER])
def test_lookup_tamper(
    name: str, mutate: Any, error: type[PrivbillError], payd: Any, provider: Provider
) -> None:
    tariff, data, *_ = payd
    obj = copy.deepcopy(cbor2.loads(data))
    mutate(obj)
    with pytest.raises(error) as ei:
        verify_bill(codec.encode(obj), tariff, provider.public_key)
    assert type(ei.value) is error, f"{name}: {type(ei.value).__name__}: {ei.value}"


def test_attribute_outside_table_refused(provider: Provider) -> None:
    tariff = provider.sign_tariff(TariffBody.from_description(payd_description()))
    key = SigningKey.generate()
    cert = provider.certify_meter("car-2", "policy-9", key.public_key(), attributes=("road_class",))
    period = BillingPeriod.parse("2026-05-04/2026-05-05", tariff.body.tz)
    first, count = period.intervals(900)
    rec = Meter(cert, key, "day", TZ).record([(first + k, 100, (7,)) for k in range(count)])
    with pytest.raises(ComponentProofError, match="not in the tariff's table"):
        prove_bill(
            tariff, [MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])], period
        )


def test_meter_without_the_attribute(provider: Provider) -> None:
    tariff = provider.sign_tariff(TariffBody.from_description(payd_description()))
    cert, _, period, _, _, rec = _setup(provider, tariff, "2026-05-04/2026-05-05", attrs=())
    with pytest.raises(TariffMismatchError, match="road_class"):
        prove_bill(
            tariff, [MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])], period
        )


def test_meter_attributes_recorded_and_checked(provider: Provider) -> None:
    tariff = provider.sign_tariff(TariffBody.from_description(payd_description()))
    cert, key, period, first, drive, rec = _setup(provider, tariff, "2026-05-04/2026-05-05")
    assert rec.runs[0].seal.attributes == 1 and len(rec.runs[0].attributes) == 96 * 48
    decoded = Openings.decode(rec.openings.encode())
    assert decoded.attribute_values == [a for _, a in drive]
    bad = copy.deepcopy(decoded)
    bad.attribute_values[10] = (bad.attribute_values[10] + 1) % 3
    with pytest.raises(OpeningError, match="road_class"):
        prove_bill(tariff, [MeterInput(SealedReadings(cert, tuple(rec.runs)), [bad])], period)
    meter = Meter(cert, key, "day", TZ)
    with pytest.raises(ReadingError, match="attribute"):
        meter.record([(first, 5)])
    # A seal from a meter certified without attributes cannot carry them, and vice versa.
    plain = provider.certify_meter("car-1", "policy-9", key.public_key())
    with pytest.raises(SealChainError, match="attribute"):
        verify_bill(
            prove_bill(
                provider.sign_tariff(
                    TariffBody.from_description({**payd_description(), "components": []})
                ),
                [MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])],
                period,
            )
            .encode()
            .replace(cert.encode(), plain.encode()),
            provider.sign_tariff(
                TariffBody.from_description({**payd_description(), "components": []})
            ),
            provider.public_key,
        )


@pytest.mark.parametrize("count", [24, 64])
def test_large_tables_decode(provider: Provider, count: int) -> None:
    """Proof size caps follow from the tariff's limits: a signed table with 22 or more values
    (a 4096-byte cap per interval proof used to refuse those) bills and verifies, up to the most
    values a tariff may have."""
    desc = payd_description(uniform_night=True)
    comp = desc["components"][0]
    comp["values"] = list(range(count))
    comp["bands"][0]["prices"] = [f"0.{10 + j:03d}" for j in range(count)]
    comp["bands"][1]["prices"] = ["0.09"] * count
    # night all day but 08:00-09:00: four proven intervals a day keep the test quick
    comp["weekday_schedule"] = comp["weekend_schedule"] = [[1] * 8 + [0] + [1] * 15] * 12
    tariff = provider.sign_tariff(TariffBody.from_description(desc))
    key = SigningKey.generate()
    cert = provider.certify_meter(
        "car-1", "policy-9", key.public_key(), interval_s=900, attributes=("road_class",)
    )
    period = BillingPeriod.parse("2026-05-04/2026-05-05", tariff.body.tz)
    first, n = period.intervals(900)
    rng = random.Random(count)
    drive = [(rng.randrange(0, 9000), rng.randrange(0, count)) for _ in range(n)]
    rec = Meter(cert, key, "day", TZ).record(
        [(first + k, q, (a,)) for k, (q, a) in enumerate(drive)]
    )
    msg = prove_bill(
        tariff, [MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings])], period
    )
    proofs = cbor2.loads(msg.encode())["components"][0]["meters"][0]["proofs"]
    assert len(proofs) == 4 and len(proofs[0]) == count * 192 > 4096
    expected = cleartext_bill(
        tariff.body,
        [MeterReadings(900, first, [q for q, _ in drive], {"road_class": [a for _, a in drive]})],
        period,
    )
    assert verify_bill(msg.encode(), tariff, provider.public_key).total_fee == expected.total
