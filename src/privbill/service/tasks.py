"""The verification task: one stored payment message → its result and, if valid, its receipt.

The same function runs under procrastinate (PostgreSQL) and in the local process pool (SQLite).
It is idempotent: the result is written by one transaction guarded by ``status = 'pending'``,
together with the receipt and the seal-chain records, so a job that runs twice (a worker killed
after the commit, a stalled job retried) leaves exactly one result and one receipt.

Checks beyond :func:`privbill.verify_bill`, all raising typed errors stored with the bill:

* every meter certificate in the bill is one the provider registered and has not revoked
  (:class:`CertificateError`);
* the bill covers every meter of the account: each meter with an unrevoked certificate for the
  account that covers the whole period is in the bill (:class:`CoverageError`);
* seal chains continue across consecutive bills of a meter: the first seal's ``prev`` equals the
  last seal's chain hash of the meter's accepted bill that ends where this one starts, and this
  bill's last chain hash equals the ``prev`` of an accepted bill that starts where it ends
  (:class:`SealChainError`). The check is repeated inside the writing transaction, under a
  per-meter lock on PostgreSQL (SQLite serialises writers), so two neighbouring bills verified at
  once cannot both slip through.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, text, update

from privbill.billing.receipts import issue_receipt
from privbill.billing.verifier import VerifiedBill, verify_bill
from privbill.crypto.signatures import SigningKey
from privbill.errors import (
    CertificateError,
    CoverageError,
    PrivbillError,
    SealChainError,
    TariffMismatchError,
)
from privbill.model.register_bills import Bill, decode_bill
from privbill.model.tariffs import SignedTariff
from privbill.service import core, db

log = logging.getLogger("privbill.service.worker")

_TARIFFS: dict[str, SignedTariff] = {}
_TARIFF_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Outcome:
    bill_id: int
    status: str  # valid | invalid | done-before | missing
    error_type: str | None
    seconds: float


def _tariff(engine: Engine, tariff_hash: str) -> SignedTariff | None:
    """Signed tariffs never change: keep them decoded per process."""
    with _TARIFF_LOCK:
        t = _TARIFFS.get(tariff_hash)
    if t is not None:
        return t
    with engine.connect() as conn:
        row = conn.execute(
            select(db.tariffs.c.tariff).where(db.tariffs.c.tariff_hash == tariff_hash)
        ).first()
    if row is None:
        return None
    t = SignedTariff.decode(row.tariff)
    with _TARIFF_LOCK:
        _TARIFFS[tariff_hash] = t
    return t


def _check_certificates(conn: Connection, msg: Bill) -> None:
    certificates = [section.certificate for section in msg.meters]
    for m, certificate in enumerate(certificates):
        h = core.cert_hash(certificate)
        row = conn.execute(
            select(db.certificates.c.revoked_at).where(db.certificates.c.cert_hash == h)
        ).first()
        field = f"meters[{m}].certificate"
        if row is None:
            raise CertificateError(
                "certificate is not enrolled with this provider", obj="payment message", field=field
            )
        if row.revoked_at is not None:
            raise CertificateError("certificate is revoked", obj="payment message", field=field)


def _check_account_meters(conn: Connection, v: VerifiedBill) -> None:
    """A bill covers every meter of its account: each meter whose unrevoked certificate for this
    account covers the whole period must be in it. Otherwise an account with two meters could
    bill them separately (or bill one and never the other) and pay less where the tariff's
    charges are not additive across meters (tiers, demand, minimum bill)."""
    c = db.certificates
    rows = conn.execute(
        select(c.c.meter_id).where(
            c.c.account == v.account,
            c.c.revoked_at.is_(None),
            c.c.valid_from <= v.period.start,
            c.c.valid_until >= v.period.end,
        )
    ).all()
    missing = sorted({r.meter_id for r in rows} - {s.meter_id for s in v.meters})
    if missing:
        names = ", ".join(repr(m) for m in missing)
        raise CoverageError(
            f"the bill leaves out meter(s) {names} enrolled for account {v.account!r} over the "
            "whole period: one bill must cover every meter of the account",
            obj="payment message",
            field="meters",
        )


def _check_chains(conn: Connection, bill_id: int, v: VerifiedBill) -> None:
    for m, s in enumerate(v.meters):
        bm = db.bill_meters
        live = select(db.bills.c.id).where(
            db.bills.c.status == db.VALID, db.bills.c.current == 1, db.bills.c.id != bill_id
        )
        before = conn.execute(
            select(bm.c.chain_end, bm.c.bill_id).where(
                bm.c.meter_id == s.meter_id,
                bm.c.period_end == v.period.start,
                bm.c.bill_id.in_(live),
            )
        ).first()
        if before is not None and before.chain_end != s.chain_start.hex():
            raise SealChainError(
                f"meter {s.meter_id!r}: the first seal does not continue the seal chain of the "
                "accepted bill for the previous period",
                obj="payment message",
                field=f"meters[{m}].runs[0].seal.prev",
            )
        after = conn.execute(
            select(bm.c.chain_start).where(
                bm.c.meter_id == s.meter_id,
                bm.c.period_start == v.period.end,
                bm.c.bill_id.in_(live),
            )
        ).first()
        if after is not None and after.chain_start != s.chain_end.hex():
            raise SealChainError(
                f"meter {s.meter_id!r}: the accepted bill for the next period does not continue "
                "this bill's seal chain",
                obj="payment message",
                field=f"meters[{m}].runs[-1].seal",
            )


def _lock_meters(conn: Connection, meter_ids: list[str]) -> None:
    if conn.dialect.name == "postgresql":
        for mid in sorted(meter_ids):
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:m))"), {"m": "meter:" + mid})


class _DoneBefore(Exception):
    """Another run of the job recorded the outcome first."""


def run_verification(engine: Engine, key: SigningKey, bill_id: int) -> Outcome:
    """Verify stored bill ``bill_id`` and record the outcome (idempotent)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(
                db.bills.c.status, db.bills.c.message, db.bills.c.tariff_hash, db.bills.c.bill_hash
            ).where(db.bills.c.id == bill_id)
        ).first()
    if row is None:
        return Outcome(bill_id, "missing", None, 0.0)
    if row.status != db.PENDING:
        return Outcome(bill_id, "done-before", None, 0.0)
    t0 = time.perf_counter()
    verified: VerifiedBill | None = None
    error: PrivbillError | None = None
    msg = decode_bill(row.message)  # stored only after a strict decode
    tariff = _tariff(engine, row.tariff_hash)
    try:
        if tariff is None:
            raise TariffMismatchError(
                "tariff is not published", obj="payment message", field="tariff_hash"
            )
        verified = verify_bill(row.message, tariff, key.public_key())
    except PrivbillError as exc:
        error = exc
    seconds = time.perf_counter() - t0
    try:
        with db.transaction(engine) as conn:
            if verified is not None:
                _lock_meters(conn, [m.meter_id for m in verified.meters])
                try:
                    _check_certificates(conn, msg)
                    _check_account_meters(conn, verified)
                    _check_chains(conn, bill_id, verified)
                except PrivbillError as exc:
                    error, verified = exc, None
            _record(conn, bill_id, row.bill_hash, key, verified, error, seconds)
    except _DoneBefore:
        return Outcome(bill_id, "done-before", None, seconds)
    status = db.VALID if verified is not None else db.INVALID
    etype = type(error).__name__ if verified is None and error is not None else None
    log.info(
        "bill verified",
        extra={
            "bill_id": bill_id,
            "status": status,
            "error_type": etype,
            "seconds": round(seconds, 4),
        },
    )
    return Outcome(bill_id, status, etype, seconds)


def _record(
    conn: Connection,
    bill_id: int,
    bill_hash: str,
    key: SigningKey,
    verified: VerifiedBill | None,
    error: PrivbillError | None,
    seconds: float,
) -> None:
    values: dict[str, Any] = {
        "verified_at": db.now(),
        "verify_seconds": int(seconds * 1e6),
        "lease_until": None,
        "lease_owner": None,
    }
    if verified is not None:
        values.update(
            status=db.VALID,
            result=json.dumps(verified.to_json()),
            total_fee=verified.total_fee,
            currency=verified.currency,
        )
    else:
        assert error is not None
        values.update(
            status=db.INVALID, current=None, error_type=type(error).__name__, error=str(error)
        )
    done = conn.execute(
        update(db.bills)
        .where(db.bills.c.id == bill_id, db.bills.c.status == db.PENDING)
        .values(**values)
    )
    if done.rowcount != 1:
        raise _DoneBefore
    bill = conn.execute(select(db.bills.c.supersedes).where(db.bills.c.id == bill_id)).one()
    if verified is not None:
        receipt = issue_receipt(key, verified)
        conn.execute(
            insert(db.receipts).values(
                bill_id=bill_id, receipt=receipt.encode(), issued_at=receipt.issued_at
            )
        )
        conn.execute(
            insert(db.bill_meters),
            [
                {
                    "bill_id": bill_id,
                    "meter_id": s.meter_id,
                    "period_start": verified.period.start,
                    "period_end": verified.period.end,
                    "chain_start": s.chain_start.hex(),
                    "chain_end": s.chain_end.hex(),
                    "first_seq": s.first_seq,
                    "last_seq": s.last_seq,
                }
                for s in verified.meters
            ],
        )
        if bill.supersedes is not None:
            conn.execute(
                update(db.bills)
                .where(db.bills.c.bill_hash == bill.supersedes)
                .values(status=db.SUPERSEDED)
            )
    elif bill.supersedes is not None:
        # The replacement failed: the superseded bill stays the account's bill.
        conn.execute(
            update(db.bills)
            .where(
                db.bills.c.bill_hash == bill.supersedes,
                db.bills.c.superseded_by == bill_hash,
            )
            .values(current=1, superseded_by=None)
        )
