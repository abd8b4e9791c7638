"""Regression tests for what fuzzing found: each input once escaped as an untyped exception."""

from __future__ import annotations

import pytest

from fuzz.corpus import corpus
from privbill.crypto.signatures import KeyError_, VerifyingKey
from privbill.disclosure import verify as verify_disclosure
from privbill.disclosure.model import DisclosureRequest
from privbill.errors import DecodeError, PrivbillError, TariffError, UsageError
from privbill.interop.agile import agile_to_description
from privbill.interop.urdb import load_rate
from privbill.meter import MeterState
from privbill.model import codec
from privbill.model.certificates import MeterCertificate
from privbill.model.periods import interval_time, local_time, zone
from privbill.model.tariffs import TariffBody

DEEP_JSON = "[" * 100_000 + "]" * 100_000


def _resign_free(data: bytes, edit: dict[str, object]) -> bytes:
    obj = codec.decode(data, "x")
    obj.update(edit)
    return codec.encode(obj)


def test_an_spki_of_an_unknown_curve_is_a_key_error() -> None:
    """cryptography raised UnsupportedAlgorithm for an SPKI naming an unknown curve or type."""
    spki = corpus().objects["certificate"]
    cert = MeterCertificate.decode(spki)
    der = bytearray(cert.public_key.spki)
    oid = bytes.fromhex("2a8648ce3d030107")  # prime256v1
    at = bytes(der).find(oid)
    if at < 0:  # an Ed25519 key: change its algorithm OID 1.3.101.112 to 1.3.101.80
        at = bytes(der).find(bytes.fromhex("2b6570"))
        der[at + 2] = 80
    else:
        der[at + 7] = 5  # 1.2.840.10045.3.1.5: not a supported curve
    with pytest.raises(KeyError_):
        VerifyingKey.from_spki(bytes(der))
    with pytest.raises(DecodeError) as ei:
        MeterCertificate.decode(_resign_free(spki, {"public_key": bytes(der)}))
    assert ei.value.field == "public_key"


def test_times_beyond_the_calendar_are_refused_or_formatted() -> None:
    """Times up to 2^63 made datetime raise OverflowError, ValueError or OSError while an error
    message or a period check converted them."""
    c = corpus()
    with pytest.raises(DecodeError) as ei:
        DisclosureRequest.decode(_resign_free(c.request, {"period": {"start": 0, "end": 2**62}}))
    assert ei.value.field == "period.end"
    tz = zone("America/Denver")
    assert local_time(2**62, tz) == f"UTC second {2**62}"
    assert "interval" in interval_time(2**55, 3600, tz)
    obj = codec.decode(c.bills["monthly"], "x")
    obj["period"] = {"start": obj["period"]["start"], "end": codec.MAX_TIME + 1}
    from privbill.model.bills import PaymentMessage

    with pytest.raises(DecodeError) as ei:
        PaymentMessage.decode(codec.encode(obj))
    assert ei.value.field == "period.end"


def test_a_request_reading_beyond_the_calendar_is_a_typed_refusal() -> None:
    c = corpus()
    obj = codec.decode(c.request, "x")
    statement = next(s for s in obj["statements"] if s["kind"] == "open")
    statement["indices"] = [2**55]
    with pytest.raises(PrivbillError):
        verify_disclosure(c.response, codec.encode(obj), c.provider.public_key, now=c.now)


def test_deeply_nested_json_is_a_typed_error() -> None:
    """json.loads raises RecursionError on deep nesting; every JSON reader names the input."""
    with pytest.raises(UsageError):
        MeterState.from_json(DEEP_JSON)
    with pytest.raises(TariffError):
        TariffBody.from_json(DEEP_JSON)
    with pytest.raises(TariffError):
        load_rate(DEEP_JSON)
    with pytest.raises(TariffError):
        agile_to_description([DEEP_JSON])
