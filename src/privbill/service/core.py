"""What the service does, independent of HTTP: publish, enrol, accept bills, answer queries.

Every function takes the SQLAlchemy engine and returns plain values; :mod:`privbill.service.app`
maps them to endpoints, and the verification task (:mod:`privbill.service.tasks`) finishes what
:func:`submit_bill` starts. The cryptography is the library's: this module decodes objects with
their strict decoders and leaves every proof to :func:`privbill.verify_bill` in the worker.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from privbill.crypto.hashing import digest
from privbill.crypto.signatures import SigningKey, VerifyingKey
from privbill.errors import (
    ConflictError,
    DecodeError,
    NotFoundError,
    UnprocessableError,
    UsageError,
)
from privbill.model.bills import PaymentMessage
from privbill.model.certificates import MeterCertificate
from privbill.model.ids import is_identifier
from privbill.model.receipts import Receipt
from privbill.model.register_bills import decode_bill
from privbill.model.tariffs import SignedTariff, describe
from privbill.service import auth, db

#: Enqueue hook: called with the open connection and the new bill's id, inside the transaction
#: that inserts the bill (procrastinate defers its job there; the local queue needs nothing).
Enqueue = Callable[[Connection, int], None]


def cert_hash(cert: MeterCertificate) -> str:
    return digest("service-certificate", cert.encode()).hex()


# --- provider key ------------------------------------------------------------------------------


def provider_view(key: VerifyingKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id.hex(),
        "algorithm": key.algorithm,
        "public_key_pem": key.to_pem().decode("ascii"),
    }


# --- tariffs -------------------------------------------------------------------------------------


def publish_tariff(engine: Engine, provider: VerifyingKey, data: bytes) -> dict[str, Any]:
    tariff = SignedTariff.decode(data)
    tariff.verify(provider)  # SignatureError (422): not this provider's tariff
    h = tariff.hash().hex()
    body = tariff.body
    with db.transaction(engine) as conn:
        exists = conn.execute(
            select(db.tariffs.c.tariff_hash).where(db.tariffs.c.tariff_hash == h)
        ).first()
        if exists is None:
            conn.execute(
                insert(db.tariffs).values(
                    tariff_hash=h,
                    name=body.name,
                    tariff=tariff.encode(),
                    valid_from=body.valid_from,
                    valid_until=body.valid_until,
                    published_at=db.now(),
                )
            )
    return {"tariff_hash": h, "created": exists is None, **tariff_summary(tariff)}


def tariff_summary(tariff: SignedTariff) -> dict[str, Any]:
    b = tariff.body
    return {
        "tariff_hash": tariff.hash().hex(),
        "name": b.name,
        "utility": b.utility,
        "currency": b.currency,
        "timezone": b.timezone,
        "valid_from": b.valid_from,
        "valid_until": b.valid_until,
    }


def list_tariffs(engine: Engine, valid_at: int | None) -> list[dict[str, Any]]:
    q = select(db.tariffs.c.tariff).order_by(db.tariffs.c.valid_from, db.tariffs.c.tariff_hash)
    if valid_at is not None:
        q = q.where(and_(db.tariffs.c.valid_from <= valid_at, db.tariffs.c.valid_until > valid_at))
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    return [tariff_summary(SignedTariff.decode(r.tariff)) for r in rows]


def get_tariff(engine: Engine, tariff_hash: str) -> SignedTariff:
    with engine.connect() as conn:
        row = conn.execute(
            select(db.tariffs.c.tariff).where(db.tariffs.c.tariff_hash == tariff_hash)
        ).first()
    if row is None:
        raise NotFoundError("no such tariff", obj="tariff", field="hash")
    return SignedTariff.decode(row.tariff)


def tariff_json(tariff: SignedTariff) -> dict[str, Any]:
    return describe(tariff)


# --- accounts and meters ----------------------------------------------------------------------


def _ensure_account(conn: Connection, account: str) -> None:
    row = conn.execute(
        select(db.accounts.c.account).where(db.accounts.c.account == account)
    ).first()
    if row is None:
        t = db.now()
        conn.execute(
            insert(db.accounts).values(
                account=account, customer_key=None, created_at=t, updated_at=t
            )
        )


def check_account_name(account: str) -> None:
    if not is_identifier(account):
        raise UsageError(f"invalid account {account!r}", obj="account")


def enrol_account(engine: Engine, account: str, customer_key_pem: bytes) -> dict[str, Any]:
    check_account_name(account)
    try:
        key = VerifyingKey.from_pem(customer_key_pem)
    except Exception as exc:
        raise UsageError(
            f"not a PEM public key: {exc}", obj="account", field="customer_key"
        ) from None
    with db.transaction(engine) as conn:
        _ensure_account(conn, account)
        conn.execute(
            update(db.accounts)
            .where(db.accounts.c.account == account)
            .values(customer_key=key.spki, updated_at=db.now())
        )
    return {"account": account, "customer_key_id": key.key_id.hex()}


def register_certificate(
    engine: Engine, provider: VerifyingKey, cert: MeterCertificate
) -> dict[str, Any]:
    cert.verify(provider)  # SignatureError (422): not this provider's certificate
    h = cert_hash(cert)
    with db.transaction(engine) as conn:
        _ensure_account(conn, cert.account)
        exists = conn.execute(
            select(db.certificates.c.id).where(db.certificates.c.cert_hash == h)
        ).first()
        if exists is None:
            conn.execute(
                insert(db.certificates).values(
                    cert_hash=h,
                    meter_id=cert.meter_id,
                    account=cert.account,
                    certificate=cert.encode(),
                    valid_from=cert.valid_from,
                    valid_until=cert.valid_until,
                    created_at=db.now(),
                )
            )
    return certificate_view(cert, h, None)


def issue_certificate(
    engine: Engine, provider_key: SigningKey, spec: dict[str, Any]
) -> tuple[MeterCertificate, dict[str, Any]]:
    from privbill.provider import DEFAULT_VALID_FROM, DEFAULT_VALID_UNTIL, Provider

    try:
        meter_key = VerifyingKey.from_pem(str(spec["public_key_pem"]).encode())
    except Exception as exc:
        raise UsageError(
            f"not a PEM public key: {exc}", obj="meter", field="public_key_pem"
        ) from None
    cert = Provider(provider_key).certify_meter(
        str(spec["meter_id"]),
        str(spec["account"]),
        meter_key,
        interval_s=int(spec.get("interval_s") or 900),
        valid_from=int(spec.get("valid_from") or DEFAULT_VALID_FROM),
        valid_until=int(spec.get("valid_until") or DEFAULT_VALID_UNTIL),
        attributes=tuple(spec.get("attributes") or ()),
        channel=spec.get("channel"),
        rating_w=spec.get("rating_w"),
    )
    return cert, register_certificate(engine, provider_key.public_key(), cert)


def certificate_view(
    cert: MeterCertificate, h: str, revoked_at: int | None, reason: str | None = None
) -> dict[str, Any]:
    return {
        "cert_hash": h,
        "meter_id": cert.meter_id,
        "account": cert.account,
        "interval_s": cert.interval_s,
        "valid_from": cert.valid_from,
        "valid_until": cert.valid_until,
        "attributes": list(cert.attributes),
        "channel": cert.channel,
        "rating_w": cert.rating_w,
        "meter_key_id": cert.public_key.key_id.hex(),
        "revoked_at": revoked_at,
        "revoke_reason": reason,
        "certificate_hex": cert.encode().hex(),
    }


def meter_certificates(engine: Engine, meter_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(db.certificates)
            .where(db.certificates.c.meter_id == meter_id)
            .order_by(db.certificates.c.id)
        ).all()
    if not rows:
        raise NotFoundError("no such meter", obj="meter", field="meter_id")
    return [
        certificate_view(
            MeterCertificate.decode(r.certificate), r.cert_hash, r.revoked_at, r.revoke_reason
        )
        for r in rows
    ]


def revoke_meter(engine: Engine, meter_id: str, reason: str, cert_hash_: str | None) -> list[str]:
    with db.transaction(engine) as conn:
        q = select(db.certificates.c.cert_hash).where(
            db.certificates.c.meter_id == meter_id, db.certificates.c.revoked_at.is_(None)
        )
        if cert_hash_:
            q = q.where(db.certificates.c.cert_hash == cert_hash_)
        hashes = [r.cert_hash for r in conn.execute(q).all()]
        if not hashes:
            raise NotFoundError(
                "no unrevoked certificate of this meter", obj="meter", field="meter_id"
            )
        conn.execute(
            update(db.certificates)
            .where(db.certificates.c.cert_hash.in_(hashes))
            .values(revoked_at=db.now(), revoke_reason=reason)
        )
    return hashes


def account_certificates(conn: Connection, account: str) -> list[MeterCertificate]:
    rows = conn.execute(
        select(db.certificates.c.certificate).where(
            db.certificates.c.account == account, db.certificates.c.revoked_at.is_(None)
        )
    ).all()
    return [MeterCertificate.decode(r.certificate) for r in rows]


# --- bills -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Submitted:
    bill_hash: str
    status: str
    created: bool
    token: str


def submit_bill(
    engine: Engine,
    message: bytes,
    enqueue: Enqueue,
    *,
    supersedes: str | None = None,
    reason: str | None = None,
) -> Submitted:
    """Store a payment message and queue its verification, or return the stored one.

    Decoding is strict (:class:`DecodeError` → 400). The bill's tariff must be published. A bill
    for an account and period that already has a pending or valid bill is refused
    (:class:`ConflictError`) unless ``supersedes`` names that bill and ``reason`` says why (the
    caller has checked that it may supersede).
    """
    msg = decode_bill(message)
    bill_hash = PaymentMessage.hash_of(message).hex()
    token = auth.bill_token(message)
    if (supersedes is None) != (reason is None):
        raise UsageError("supersedes and reason come together", obj="submission")
    with db.transaction(engine) as conn:
        row = conn.execute(
            select(db.bills.c.status).where(db.bills.c.bill_hash == bill_hash)
        ).first()
        if row is not None:
            return Submitted(bill_hash, row.status, False, token)
        tariff = conn.execute(
            select(db.tariffs.c.tariff_hash).where(
                db.tariffs.c.tariff_hash == msg.tariff_hash.hex()
            )
        ).first()
        if tariff is None:
            raise UnprocessableError(
                "the bill's tariff is not published by this provider",
                obj="payment message",
                field="tariff_hash",
            )
        current = conn.execute(
            select(db.bills.c.bill_hash, db.bills.c.status).where(
                db.bills.c.account == msg.account,
                db.bills.c.period_start == msg.period.start,
                db.bills.c.period_end == msg.period.end,
                db.bills.c.current == 1,
            )
        ).first()
        if current is not None:
            if supersedes != current.bill_hash:
                raise ConflictError(
                    f"account {msg.account!r} already has a {current.status} bill "
                    f"{current.bill_hash} for this period; supersede it with a reason",
                    obj="payment message",
                    field="period",
                )
            conn.execute(
                update(db.bills)
                .where(db.bills.c.bill_hash == current.bill_hash)
                .values(current=None, superseded_by=bill_hash)
            )
        elif supersedes is not None:
            raise ConflictError(
                "the bill to supersede is not the current bill of this account and period",
                obj="submission",
                field="supersedes",
            )
        try:
            result = conn.execute(
                insert(db.bills).values(
                    bill_hash=bill_hash,
                    account=msg.account,
                    period_start=msg.period.start,
                    period_end=msg.period.end,
                    tariff_hash=msg.tariff_hash.hex(),
                    message=message,
                    size=len(message),
                    status=db.PENDING,
                    current=1,
                    capability=auth.sha256_hex(token),
                    supersedes=supersedes,
                    supersede_reason=reason,
                    submitted_at=db.now(),
                    attempts=0,
                )
            )
        except IntegrityError:
            raise ConflictError(
                "another bill for this account and period was accepted concurrently",
                obj="payment message",
                field="period",
            ) from None
        pk = result.inserted_primary_key
        assert pk is not None
        enqueue(conn, int(pk[0]))
    return Submitted(bill_hash, db.PENDING, True, token)


def bill_row(engine: Engine, bill_hash: str) -> Any:
    with engine.connect() as conn:
        row = conn.execute(select(db.bills).where(db.bills.c.bill_hash == bill_hash)).first()
    if row is None:
        raise NotFoundError("no such bill", obj="bill", field="hash")
    return row


def bill_status(row: Any) -> dict[str, Any]:
    return {
        "bill_hash": row.bill_hash,
        "account": row.account,
        "period": {"start": row.period_start, "end": row.period_end},
        "tariff_hash": row.tariff_hash,
        "status": row.status,
        "submitted_at": row.submitted_at,
        "verified_at": row.verified_at,
        "error_type": row.error_type,
        "error": row.error,
        "result": json.loads(row.result) if row.result else None,
        "supersedes": row.supersedes,
        "supersede_reason": row.supersede_reason,
        "superseded_by": row.superseded_by,
        "size": row.size,
    }


def receipt_of(engine: Engine, bill_id: int) -> Receipt:
    with engine.connect() as conn:
        row = conn.execute(
            select(db.receipts.c.receipt).where(db.receipts.c.bill_id == bill_id)
        ).first()
    if row is None:
        raise NotFoundError("the bill has no receipt (not verified, or invalid)", obj="receipt")
    return Receipt.decode(row.receipt)


def account_bills(engine: Engine, account: str, limit: int, after: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(db.bills)
            .where(db.bills.c.account == account, db.bills.c.id > after)
            .order_by(db.bills.c.id)
            .limit(limit)
        ).all()
    return [{"id": r.id, **bill_status(r)} for r in rows]


def check_bill_bytes(data: bytes) -> None:
    if not data:
        raise DecodeError("empty body", obj="payment message")
