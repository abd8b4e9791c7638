"""Dispute bundles: everything an arbiter needs to re-check a bill and its receipt offline.

A bundle (``privbill/dispute-bundle/1``, canonical CBOR) carries the encoded payment message, the
signed tariff it was made under, the meter certificates the provider holds for its meters, the
provider's public key and the receipt the provider issued. :func:`verify_bundle` checks, with no
service and no database:

1. the bundle decodes strictly (:class:`DecodeError`);
2. if the arbiter supplies the provider key it trusts (published out of band), the bundle's key is
   that key (:class:`SignatureError`, field ``provider_key``);
3. the bill verifies under the tariff and the key (:func:`privbill.verify_bill`, every typed
   error of the verifier);
4. each certificate of the bundle is provider-signed and is the certificate the bill's section of
   that meter carries (:class:`CertificateError`, field ``certificates[i]``), and every meter of
   the bill has one;
5. the receipt is the provider's signature over this bill's hash and its figures — account,
   period, tariff hash, meters, total and currency equal the verified bill's
   (:class:`ReceiptError` naming the field).

The bundle is only as trustworthy as the provider key it is checked under: without
``trusted_provider``, an arbiter compares the printed key id with the provider's published one.

A register bill (``privbill/register-bill/1``) is verified the same way. When the dispute is
about the registers themselves, :func:`check_registers` takes the household's full sealed
readings and shows whether each register is the sum of the sealed commitments of its period —
no opening needed — so that a meter whose signed registers contradict its own seals is exposed
by its own signatures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from privbill.billing import coverage
from privbill.billing.register_bill import check_chain
from privbill.billing.verifier import VerifiedBill, verify_bill
from privbill.crypto.signatures import KeyError_, VerifyingKey
from privbill.errors import (
    CertificateError,
    CoverageError,
    DecodeError,
    ReceiptError,
    SignatureError,
    TariffMismatchError,
)
from privbill.model import codec
from privbill.model.certificates import MeterCertificate
from privbill.model.energy_registers import calendar_of, check_against_runs
from privbill.model.receipts import Receipt
from privbill.model.register_bills import RegisterBill, decode_bill
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff

FORMAT: Final = "privbill/dispute-bundle/1"
OBJ: Final = "dispute bundle"
MAX_CERTIFICATES: Final = 1024
#: Decoding bounds: a flat map and the encoded objects (byte strings, each decoded later within
#: its own kind's bounds); a string counts one item per 64 bytes, and the bill may be as large
#: as any input.
LIMITS: Final = codec.Limits(depth=2, items=codec.MAX_ITEMS, container=MAX_CERTIFICATES)


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DisputeBundle:
    bill: bytes  # the encoded payment message, exactly as submitted
    tariff: SignedTariff
    certificates: tuple[MeterCertificate, ...]
    provider_key: VerifyingKey
    receipt: Receipt

    def to_obj(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "bill": self.bill,
            "tariff": self.tariff.encode(),
            "certificates": [c.encode() for c in self.certificates],
            "provider_key": self.provider_key.spki,
            "receipt": self.receipt.encode(),
        }

    def encode(self) -> bytes:
        return codec.encode(self.to_obj())

    @classmethod
    def decode(cls, data: bytes) -> DisputeBundle:
        f = codec.Fields(
            codec.decode(data, OBJ, FORMAT, LIMITS),
            OBJ,
            {"format", "bill", "tariff", "certificates", "provider_key", "receipt"},
        )
        try:
            key = VerifyingKey.from_spki(f.octets("provider_key", max_len=512))
        except KeyError_ as exc:
            raise f.error("provider_key", str(exc)) from None
        certs: list[MeterCertificate] = []
        for i, raw in enumerate(f.array("certificates", 1, MAX_CERTIFICATES)):
            if not isinstance(raw, bytes):
                raise f.error(f"certificates[{i}]", "expected an encoded certificate")
            certs.append(_nested(MeterCertificate.decode, raw, f"certificates[{i}]"))
        return cls(
            bill=f.octets("bill"),
            tariff=_nested(SignedTariff.decode, f.octets("tariff"), "tariff"),
            certificates=tuple(certs),
            provider_key=key,
            receipt=_nested(Receipt.decode, f.octets("receipt"), "receipt"),
        )

    @classmethod
    def assemble(
        cls,
        bill: bytes,
        tariff: SignedTariff,
        certificates: tuple[MeterCertificate, ...],
        provider_key: VerifyingKey,
        receipt: Receipt,
    ) -> DisputeBundle:
        """A bundle from its parts; :func:`verify_bundle` is what makes it evidence."""
        return cls(bill, tariff, certificates, provider_key, receipt)


def _nested(decode: Callable[[bytes], T], data: bytes, field: str) -> T:
    """Decode an embedded object, naming the bundle field in the error."""
    try:
        result = decode(data)
    except DecodeError as exc:
        inner = ".".join(p for p in (exc.obj, exc.field) if p)
        raise DecodeError(f"{inner}: {exc.detail}", obj=OBJ, field=field) from None
    return result


def verify_bundle(
    bundle: bytes | DisputeBundle, trusted_provider: VerifyingKey | None = None
) -> VerifiedBill:
    """Check a dispute bundle offline; return the verified bill or raise a typed error."""
    b = DisputeBundle.decode(bundle) if isinstance(bundle, bytes) else bundle
    if trusted_provider is not None and b.provider_key != trusted_provider:
        raise SignatureError(
            "the bundle's provider key is not the trusted one", obj=OBJ, field="provider_key"
        )
    verified = verify_bill(b.bill, b.tariff, b.provider_key)
    msg = decode_bill(b.bill)
    in_bill = {s.certificate.meter_id: s.certificate for s in msg.meters}
    covered: set[str] = set()
    for i, cert in enumerate(b.certificates):
        cert.verify(b.provider_key, f"certificates[{i}]")
        if in_bill.get(cert.meter_id) != cert:
            raise CertificateError(
                f"certificate of meter {cert.meter_id!r} is not the one the bill carries",
                obj=OBJ,
                field=f"certificates[{i}]",
            )
        covered.add(cert.meter_id)
    missing = sorted(set(in_bill) - covered)
    if missing:
        raise CertificateError(
            f"no certificate for meter {missing[0]!r}", obj=OBJ, field="certificates"
        )
    r = b.receipt
    r.verify(b.provider_key, verified.bill_hash)
    expected = {
        "account": verified.account,
        "period": verified.period,
        "tariff_hash": verified.tariff_hash,
        "meters": tuple(m.meter_id for m in verified.meters),
        "total_fee": verified.total_fee,
        "currency": verified.currency,
    }
    for name, value in expected.items():
        if getattr(r, name) != value:
            raise ReceiptError(
                "receipt does not state what the bill proves", obj="receipt", field=name
            )
    return verified


def check_registers(
    bill: bytes | RegisterBill, tariff: SignedTariff, sealed: Sequence[SealedReadings]
) -> int:
    """Check a register bill's energy registers against the meters' full sealed readings (the
    household's ``sealed.pbs``): for each meter, the sealed runs over the registers' intervals
    must be signed by the meter and chain exactly from the statement's first seal to its last
    (:class:`SignatureError`, :class:`CoverageError`, :class:`SealChainError`), and each
    register must be the sum of its period's sealed commitments (:class:`CommitmentError`).
    Returns the number of registers checked. Verify the bill itself with :func:`verify_bill`."""
    msg = bill if isinstance(bill, RegisterBill) else decode_bill(bill)
    if not isinstance(msg, RegisterBill):
        raise DecodeError("not a register bill", obj="payment message", field="format")
    calendar = calendar_of(tariff.body)
    if calendar is None:
        raise TariffMismatchError("the tariff has no time-of-use calendar", obj="tariff")
    by_meter = {s.certificate.meter_id: s for s in sealed}
    checked = 0
    for m, section in enumerate(msg.meters):
        cert, st = section.certificate, section.statement
        path = f"meters[{m}]"
        readings = by_meter.get(cert.meter_id)
        if readings is None or readings.certificate != cert:
            raise CoverageError(
                f"no sealed readings of meter {cert.meter_id!r} under the bill's certificate",
                obj="sealed readings",
                field=path,
            )
        runs = tuple(r for r in readings.runs if r.seal.first < st.end and r.seal.end > st.first)
        coverage.check_runs(
            runs,
            cert.meter_id,
            cert.interval_s,
            st.first,
            st.count,
            path,
            len(cert.attributes),
            tariff.body.tz,
        )
        for k, run in enumerate(runs):
            run.seal.verify_signature(cert.public_key, f"{path}.runs[{k}].seal")
            run.check_commitments(f"{path}.runs[{k}]")
        check_chain(st, runs, path)
        check_against_runs(st, runs, calendar, tariff.body.timezone, f"{path}.energy_registers")
        checked += len(st.periods)
    return checked
