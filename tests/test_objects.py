"""Every field of every standalone object: dropped, mistyped, or added → DecodeError naming it;
every object round-trips through its one canonical encoding."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import cbor2
import pytest

from helpers import MeterSetup
from privbill.billing.receipts import issue_receipt
from privbill.billing.verifier import verify_bill
from privbill.errors import DecodeError
from privbill.model import codec
from privbill.model.bills import PaymentMessage
from privbill.model.certificates import MeterCertificate
from privbill.model.readings import Openings
from privbill.model.receipts import Receipt
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff
from privbill.provider import Provider


@pytest.fixture(scope="module")
def objects(
    provider: Provider, tariff: SignedTariff, meter_a: MeterSetup, bill_bytes: bytes
) -> dict[str, tuple[bytes, Callable[[bytes], Any]]]:
    receipt = issue_receipt(provider.key, verify_bill(bill_bytes, tariff, provider.public_key))
    return {
        "meter certificate": (meter_a.cert.encode(), MeterCertificate.decode),
        "tariff": (tariff.encode(), SignedTariff.decode),
        "sealed readings": (meter_a.sealed.encode(), SealedReadings.decode),
        "openings": (meter_a.openings.encode(), Openings.decode),
        "payment message": (bill_bytes, PaymentMessage.decode),
        "receipt": (receipt.encode(), Receipt.decode),
    }


#: Fields whose absence is meaningful (blinding factors derived from the opening key).
OPTIONAL = {("openings", "blindings")}

KINDS = ["meter certificate", "tariff", "sealed readings", "openings", "payment message", "receipt"]


def _wrong_type(v: object) -> object:
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, str):
        return b"x"
    if isinstance(v, (bool, int)):
        return str(v)
    if isinstance(v, list):
        return {"x": 1}
    return [1]


@pytest.mark.parametrize("kind", KINDS)
def test_roundtrip_is_canonical(
    kind: str, objects: dict[str, tuple[bytes, Callable[[bytes], Any]]]
) -> None:
    data, decode = objects[kind]
    obj = decode(data)
    assert obj.encode() == data


@pytest.mark.parametrize("kind", KINDS)
def test_every_field_dropped_or_mistyped(
    kind: str, objects: dict[str, tuple[bytes, Callable[[bytes], Any]]]
) -> None:
    data, decode = objects[kind]
    obj = cbor2.loads(data)
    for field in obj:
        dropped = copy.deepcopy(obj)
        del dropped[field]
        if (kind, field) in OPTIONAL:
            assert decode(codec.encode(dropped)) is not None
        else:
            with pytest.raises(DecodeError) as ei:
                decode(codec.encode(dropped))
            assert field in str(ei.value), (kind, field, str(ei.value))
        mistyped = copy.deepcopy(obj)
        mistyped[field] = _wrong_type(obj[field])
        with pytest.raises(DecodeError) as ei:
            decode(codec.encode(mistyped))
        assert field in str(ei.value), (kind, field, str(ei.value))
    extra = copy.deepcopy(obj)
    extra["zz_extra"] = 1
    with pytest.raises(DecodeError, match="zz_extra"):
        decode(codec.encode(extra))


@pytest.mark.parametrize("kind", KINDS)
def test_objects_are_not_interchangeable(
    kind: str, objects: dict[str, tuple[bytes, Callable[[bytes], Any]]]
) -> None:
    data, _ = objects[kind]
    for other, (_, decode) in objects.items():
        if other != kind:
            with pytest.raises(DecodeError, match="format"):
                decode(data)
