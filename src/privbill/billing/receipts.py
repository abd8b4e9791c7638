"""Receipts for accepted bills: issued by the provider, checkable by anyone."""

from __future__ import annotations

import time

from privbill.billing.verifier import VerifiedBill
from privbill.crypto.signatures import SigningKey, VerifyingKey
from privbill.model.bills import PaymentMessage
from privbill.model.receipts import Receipt


def issue_receipt(
    provider: SigningKey, bill: VerifiedBill, *, issued_at: int | None = None
) -> Receipt:
    """Sign a receipt for a bill that :func:`~privbill.billing.verifier.verify_bill` accepted."""
    return Receipt.issue(
        provider,
        bill_hash=bill.bill_hash,
        account=bill.account,
        period=bill.period,
        tariff_hash=bill.tariff_hash,
        meters=tuple(m.meter_id for m in bill.meters),
        total_fee=bill.total_fee,
        currency=bill.currency,
        issued_at=int(time.time()) if issued_at is None else issued_at,
    )


def verify_receipt(receipt: Receipt, provider: VerifyingKey, bill: bytes | None = None) -> None:
    """Raise unless ``provider`` issued ``receipt`` (for the encoded payment message ``bill``,
    when given)."""
    receipt.verify(provider, PaymentMessage.hash_of(bill) if bill is not None else None)
