"""The provider: certifies meters, signs tariffs, verifies bills and issues receipts."""

from __future__ import annotations

from dataclasses import dataclass

from privbill.billing.receipts import issue_receipt
from privbill.billing.verifier import VerifiedBill, verify_bill
from privbill.crypto.signatures import Algorithm, SigningKey, VerifyingKey
from privbill.model.certificates import MeterCertificate
from privbill.model.receipts import Receipt
from privbill.model.tariffs import SignedTariff, TariffBody

#: Default certificate validity: 2000-01-01 to 2100-01-01 (UTC).
DEFAULT_VALID_FROM = 946684800
DEFAULT_VALID_UNTIL = 4102444800


@dataclass(frozen=True, slots=True)
class Provider:
    key: SigningKey

    @classmethod
    def generate(cls, algorithm: Algorithm = "ed25519") -> Provider:
        return cls(SigningKey.generate(algorithm))

    @property
    def public_key(self) -> VerifyingKey:
        return self.key.public_key()

    def certify_meter(
        self,
        meter_id: str,
        account: str,
        meter_key: VerifyingKey,
        *,
        interval_s: int = 900,
        valid_from: int = DEFAULT_VALID_FROM,
        valid_until: int = DEFAULT_VALID_UNTIL,
        attributes: tuple[str, ...] = (),
        channel: str | None = None,
        rating_w: int | None = None,
    ) -> MeterCertificate:
        """The certificate of a meter for an account; ``rating_w``, the meter's rated power in W,
        bounds what it signs and lets demand proofs use narrower ranges (``None``: no rating)."""
        return MeterCertificate.issue(
            self.key,
            meter_id=meter_id,
            account=account,
            public_key=meter_key,
            interval_s=interval_s,
            valid_from=valid_from,
            valid_until=valid_until,
            attributes=attributes,
            channel=channel,
            rating_w=rating_w,
        )

    def sign_tariff(self, body: TariffBody) -> SignedTariff:
        return body.sign(self.key)

    def verify(self, bill: bytes, tariff: SignedTariff) -> VerifiedBill:
        return verify_bill(bill, tariff, self.public_key)

    def receipt(self, bill: VerifiedBill) -> Receipt:
        return issue_receipt(self.key, bill)
