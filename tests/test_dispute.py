"""Dispute bundles: an honest bundle verifies offline; every way of cheating is refused with a
typed error naming the field."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from privbill.billing.receipts import issue_receipt
from privbill.billing.verifier import verify_bill
from privbill.cli import main
from privbill.crypto.signatures import SigningKey
from privbill.dispute import DisputeBundle, verify_bundle
from privbill.errors import (
    CertificateError,
    DecodeError,
    FeeMismatchError,
    ReceiptError,
    SignatureError,
    TariffMismatchError,
)
from privbill.model import codec
from privbill.model.receipts import Receipt
from privbill.provider import Provider
from service_helpers import World, build_world, prove_again


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(2, months=("2026-01",), seed=5)


def _bundle(w: World, k: int = 0) -> DisputeBundle:
    c = w.customers[k]
    bill = c.months["2026-01"].bill
    v = verify_bill(bill, w.tariff, w.provider.public_key)
    return DisputeBundle.assemble(
        bill, w.tariff, (c.cert,), w.provider.public_key, issue_receipt(w.provider.key, v)
    )


def test_honest_bundle_round_trips_and_verifies(world: World) -> None:
    b = _bundle(world)
    again = DisputeBundle.decode(b.encode())
    assert again == b
    v = verify_bundle(b.encode(), world.provider.public_key)
    assert v.account == world.customers[0].account


def test_another_bills_receipt(world: World) -> None:
    b = _bundle(world)
    other = _bundle(world, 1).receipt
    with pytest.raises(ReceiptError) as e:
        verify_bundle(dataclasses.replace(b, receipt=other))
    assert e.value.field == "bill_hash"


@pytest.mark.parametrize("field", ["total_fee", "account", "currency", "meters"])
def test_receipt_that_misstates_the_bill(world: World, field: str) -> None:
    b = _bundle(world)
    r = b.receipt
    changed = {
        "total_fee": r.total_fee + 1,
        "account": "someone-else",
        "currency": "EUR",
        "meters": ("m9999",),
    }[field]
    fields = {f.name: getattr(r, f.name) for f in dataclasses.fields(r)}
    fields.pop("issuer")
    fields.pop("signature")
    fields[field] = changed
    forged = Receipt.issue(world.provider.key, **fields)  # signed, but not what the bill says
    with pytest.raises(ReceiptError) as e:
        verify_bundle(dataclasses.replace(b, receipt=forged))
    assert e.value.field == field


def test_receipt_signed_by_someone_else(world: World) -> None:
    b = _bundle(world)
    v = verify_bill(b.bill, world.tariff, world.provider.public_key)
    stranger = issue_receipt(SigningKey.generate("ed25519"), v)
    with pytest.raises(SignatureError):
        verify_bundle(dataclasses.replace(b, receipt=stranger))


def test_certificate_checks(world: World) -> None:
    b = _bundle(world)
    with pytest.raises(CertificateError) as e:
        verify_bundle(dataclasses.replace(b, certificates=(world.customers[1].cert,)))
    assert e.value.field == "certificates[0]"
    both = (world.customers[0].cert, world.customers[1].cert)
    with pytest.raises(CertificateError):
        verify_bundle(dataclasses.replace(b, certificates=both))
    other = Provider.generate()
    foreign = other.certify_meter(
        world.customers[0].meter_id,
        world.customers[0].account,
        world.customers[0].meter_key.public_key(),
    )
    with pytest.raises(SignatureError):
        verify_bundle(dataclasses.replace(b, certificates=(foreign,)))
    obj = codec.decode(b.encode(), "bundle")
    obj["certificates"] = []
    with pytest.raises(DecodeError) as d:
        DisputeBundle.decode(codec.encode(obj))
    assert d.value.field == "certificates"


def test_untrusted_provider_key(world: World) -> None:
    b = _bundle(world)
    with pytest.raises(SignatureError) as e:
        verify_bundle(b, SigningKey.generate("ed25519").public_key())
    assert e.value.field == "provider_key"
    # A bundle whose key is swapped: nothing the provider signed verifies under it.
    with pytest.raises(SignatureError):
        verify_bundle(dataclasses.replace(b, provider_key=SigningKey.generate().public_key()))


def test_bill_and_tariff_tampering(world: World) -> None:
    b = _bundle(world)
    obj = codec.decode(b.bill, "bill")
    obj["total_fee"] -= 1
    with pytest.raises(FeeMismatchError):
        verify_bundle(dataclasses.replace(b, bill=codec.encode(obj)))
    with pytest.raises(TariffMismatchError):
        verify_bundle(dataclasses.replace(b, tariff=world.other_tariff))
    # A bill proven under the other tariff with this bill's receipt.
    other_bill = prove_again(world.customers[0], world.other_tariff, "2026-01")
    with pytest.raises(ReceiptError):
        verify_bundle(dataclasses.replace(b, bill=other_bill, tariff=world.other_tariff))


@pytest.mark.parametrize("damage", ["unknown-field", "non-canonical", "nested", "truncated"])
def test_malformed_bundles(world: World, damage: str) -> None:
    data = _bundle(world).encode()
    obj = codec.decode(data, "bundle")
    if damage == "unknown-field":
        data = codec.encode({**obj, "extra": 1})
        field = "extra"
    elif damage == "non-canonical":
        import cbor2

        data = cbor2.dumps(dict(reversed(list(obj.items()))))
        field = None
    elif damage == "nested":
        data = codec.encode({**obj, "receipt": obj["receipt"][:-1]})
        field = "receipt"
    else:
        data = data[:-3]
        field = "provider_key"  # the last field (keys in canonical order): where it ends early
    with pytest.raises(DecodeError) as e:
        DisputeBundle.decode(data)
    assert e.value.field == field


def test_cli_dispute_verify(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bundle.pbx"
    path.write_bytes(_bundle(world).encode())
    assert main(["dispute", "verify", str(path), "--json"]) == 0
    assert '"valid": true' in capsys.readouterr().out
    bad = dataclasses.replace(_bundle(world), receipt=_bundle(world, 1).receipt)
    path.write_bytes(bad.encode())
    assert main(["dispute", "verify", str(path)]) == 1
    assert "INVALID" in capsys.readouterr().out
    path.write_bytes(b"junk")
    assert main(["dispute", "verify", str(path)]) == 2
