"""Meter certificates: the provider's signed binding of a meter id to its key and account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from privbill.crypto.hashing import DIGEST_BYTES
from privbill.crypto.signatures import SIGNATURE_BYTES, KeyError_, SigningKey, VerifyingKey
from privbill.errors import CertificateError, SignatureError
from privbill.model import codec
from privbill.model.ids import is_identifier
from privbill.model.periods import MAX_INTERVAL_S, MIN_INTERVAL_S

FORMAT: Final = "privbill/meter-certificate/1"
PURPOSE: Final = "meter-certificate"
OBJ: Final = "meter certificate"
_FIELDS: Final = frozenset(
    {"format", "meter_id", "account", "public_key", "interval_s", "valid_from", "valid_until",
     "issuer", "signature"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class MeterCertificate:
    meter_id: str
    account: str
    public_key: VerifyingKey
    interval_s: int
    valid_from: int  # UTC seconds, inclusive
    valid_until: int  # UTC seconds, exclusive
    issuer: bytes  # key id of the provider key that signed it
    signature: bytes

    def body(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "meter_id": self.meter_id,
            "account": self.account,
            "public_key": self.public_key.spki,
            "interval_s": self.interval_s,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "issuer": self.issuer,
        }

    def to_obj(self) -> dict[str, Any]:
        return {**self.body(), "signature": self.signature}

    def encode(self) -> bytes:
        return codec.encode(self.to_obj())

    @classmethod
    def issue(
        cls,
        provider: SigningKey,
        *,
        meter_id: str,
        account: str,
        public_key: VerifyingKey,
        interval_s: int,
        valid_from: int,
        valid_until: int,
    ) -> MeterCertificate:
        if not is_identifier(meter_id):
            raise CertificateError(f"invalid meter id {meter_id!r}", obj=OBJ, field="meter_id")
        if not is_identifier(account):
            raise CertificateError(f"invalid account {account!r}", obj=OBJ, field="account")
        if valid_until <= valid_from:
            raise CertificateError("validity window is empty", obj=OBJ, field="valid_until")
        unsigned = cls(meter_id, account, public_key, interval_s, valid_from, valid_until,
                       provider.public_key().key_id, b"")  # fmt: skip
        sig = provider.sign(PURPOSE, codec.encode(unsigned.body()))
        return cls(meter_id, account, public_key, interval_s, valid_from, valid_until,
                   unsigned.issuer, sig)  # fmt: skip

    @classmethod
    def from_obj(cls, value: object, path: str = "") -> MeterCertificate:
        f = codec.Fields(value, OBJ, _FIELDS, path=path)
        if f.raw("format") != FORMAT:
            raise f.error("format", f"expected {FORMAT!r}")
        try:
            key = VerifyingKey.from_spki(f.octets("public_key", max_len=512))
        except KeyError_ as exc:
            raise f.error("public_key", str(exc)) from None
        interval = f.integer("interval_s", MIN_INTERVAL_S, MAX_INTERVAL_S)
        if 86400 % interval:
            raise f.error("interval_s", "interval length must divide a day")
        valid_from = f.integer("valid_from", 0)
        valid_until = f.integer("valid_until", 0)
        if valid_until <= valid_from:
            raise f.error("valid_until", "validity window is empty")
        return cls(
            meter_id=f.text("meter_id", 64, is_identifier),
            account=f.text("account", 64, is_identifier),
            public_key=key,
            interval_s=interval,
            valid_from=valid_from,
            valid_until=valid_until,
            issuer=f.octets("issuer", DIGEST_BYTES),
            signature=f.octets("signature", SIGNATURE_BYTES),
        )

    @classmethod
    def decode(cls, data: bytes) -> MeterCertificate:
        return cls.from_obj(codec.decode(data, OBJ, FORMAT))

    def verify(self, provider: VerifyingKey, path: str = "") -> None:
        """Raise unless the provider signed this certificate."""
        where = f"{path}.signature" if path else "signature"
        if self.issuer != provider.key_id:
            raise SignatureError(
                "certificate issued by another provider key",
                obj=OBJ,
                field=f"{path}.issuer" if path else "issuer",
            )
        if not provider.verify(PURPOSE, codec.encode(self.body()), self.signature):
            raise SignatureError("provider signature does not verify", obj=OBJ, field=where)

    def check_covers(self, start: int, end: int, path: str = "") -> None:
        if start < self.valid_from or end > self.valid_until:
            raise CertificateError(
                "certificate is not valid for the whole billing period",
                obj=OBJ,
                field=f"{path}.valid_until" if path else "valid_until",
            )
