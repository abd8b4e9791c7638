"""Receipts: the provider's signature over an accepted bill's hash and total."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from privbill.crypto.hashing import DIGEST_BYTES
from privbill.crypto.signatures import SIGNATURE_BYTES, SigningKey, VerifyingKey
from privbill.errors import ReceiptError, SignatureError
from privbill.model import codec
from privbill.model.ids import is_identifier
from privbill.model.periods import BillingPeriod

FORMAT: Final = "privbill/receipt/1"
PURPOSE: Final = "receipt"
OBJ: Final = "receipt"
MAX_METERS: Final = 1024  # the meters of one bill (model/bills.py)
#: Decoding bounds: a flat map (the period a map of two) and the bill's meter ids.
LIMITS: Final = codec.Limits(depth=2, items=2 * MAX_METERS, container=MAX_METERS)


@dataclass(frozen=True, slots=True)
class Receipt:
    bill_hash: bytes
    account: str
    period: BillingPeriod
    tariff_hash: bytes
    meters: tuple[str, ...]
    total_fee: int
    currency: str
    issued_at: int
    issuer: bytes
    signature: bytes

    def body(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "bill_hash": self.bill_hash,
            "account": self.account,
            "period": self.period.to_obj(),
            "tariff_hash": self.tariff_hash,
            "meters": list(self.meters),
            "total_fee": self.total_fee,
            "currency": self.currency,
            "issued_at": self.issued_at,
            "issuer": self.issuer,
        }

    def encode(self) -> bytes:
        return codec.encode({**self.body(), "signature": self.signature})

    @classmethod
    def issue(cls, key: SigningKey, **fields: Any) -> Receipt:
        unsigned = cls(**fields, issuer=key.public_key().key_id, signature=b"")
        sig = key.sign(PURPOSE, codec.encode(unsigned.body()))
        return cls(**fields, issuer=unsigned.issuer, signature=sig)

    @classmethod
    def decode(cls, data: bytes) -> Receipt:
        f = codec.Fields(
            codec.decode(data, OBJ, FORMAT, LIMITS),
            OBJ,
            {"format", "bill_hash", "account", "period", "tariff_hash", "meters", "total_fee",
             "currency", "issued_at", "issuer", "signature"},
        )  # fmt: skip
        p = f.sub("period", {"start", "end"})
        start, end = p.time("start"), p.time("end")
        if end <= start:
            raise p.error("end", "period ends before it starts")
        meters = f.array("meters", 1, MAX_METERS)
        for i, m in enumerate(meters):
            if not isinstance(m, str) or not is_identifier(m):
                raise f.error(f"meters[{i}]", "expected a meter id")
        return cls(
            bill_hash=f.octets("bill_hash", DIGEST_BYTES),
            account=f.text("account", 64, is_identifier),
            period=BillingPeriod(start, end),
            tariff_hash=f.octets("tariff_hash", DIGEST_BYTES),
            meters=tuple(meters),
            total_fee=f.integer("total_fee"),
            currency=f.text("currency", 3),
            issued_at=f.time("issued_at"),
            issuer=f.octets("issuer", DIGEST_BYTES),
            signature=f.octets("signature", SIGNATURE_BYTES),
        )

    def verify(self, provider: VerifyingKey, bill_hash: bytes | None = None) -> None:
        """Raise unless ``provider`` signed this receipt (and, if given, it is for ``bill_hash``)."""
        if self.issuer != provider.key_id:
            raise SignatureError("receipt issued by another provider key", obj=OBJ, field="issuer")
        if not provider.verify(PURPOSE, codec.encode(self.body()), self.signature):
            raise SignatureError("provider signature does not verify", obj=OBJ, field="signature")
        if bill_hash is not None and bill_hash != self.bill_hash:
            raise ReceiptError("receipt is for another bill", obj=OBJ, field="bill_hash")
