"""The sealed evidence a disclosure answer stands on, for both sides: which meters it is about,
where their sealed runs come from (the customer's sealed readings, the response itself, or the
payment message it is attached to), and the check of that evidence — the disclosure's own
certificate and minimal-coverage rules, then the one evidence check of
:func:`privbill.billing.coverage.check_evidence`."""

from __future__ import annotations

from collections.abc import Sequence

from privbill.billing import coverage
from privbill.billing.coverage import PointCheck, SealedPoints
from privbill.crypto.signatures import VerifyingKey
from privbill.disclosure.model import (
    RESPONSE_OBJ,
    BillReferenceError,
    DisclosureRequest,
    DisclosureScopeError,
    SealReferences,
    Statement,
)
from privbill.errors import CertificateError, CoverageError
from privbill.model.bills import PaymentMessage
from privbill.model.certificates import MeterCertificate
from privbill.model.periods import interval_time, local_time
from privbill.model.register_bills import Bill, RegisterBill, decode_bill
from privbill.model.seals import SealedRun


def check_meter_evidence(
    cert: MeterCertificate,
    runs: Sequence[SealedRun],
    request: DisclosureRequest,
    provider: VerifyingKey,
    lo: int,
    hi: int,
    path: str,
    obj: str,
    points: PointCheck,
) -> SealedPoints:
    """The provider's certificate of a meter the request names, for the request's account and
    interval length; sealed runs that cover the disclosed intervals ``[lo, hi)`` and no run that
    holds none of them; then the evidence check; the commitments of ``[lo, hi)``."""
    cert.verify(provider, f"{path}.certificate")
    ref = request.meter(cert.meter_id)
    if cert.account != request.account:
        raise CertificateError(
            f"meter {cert.meter_id!r} belongs to account {cert.account!r}, not {request.account!r}",
            obj=obj,
            field=f"{path}.certificate.account",
        )
    if cert.interval_s != ref.interval_s:
        raise CertificateError(
            f"meter interval is {cert.interval_s} s; the request assumed {ref.interval_s} s",
            obj=obj,
            field=f"{path}.certificate.interval_s",
        )
    length = cert.interval_s
    if not runs:
        raise CoverageError("no sealed run covers the disclosed intervals", obj=obj, field=path)
    first, end = runs[0].seal.first, runs[-1].seal.end
    if first > lo:
        raise CoverageError(
            f"the sealed runs start at {interval_time(first, length, request.tz)}, after the "
            f"first disclosed interval, at {interval_time(lo, length, request.tz)}",
            obj=obj,
            field=f"{path}.runs[0].seal.first",
        )
    if end < hi:
        raise CoverageError(
            f"the sealed runs end at {local_time(end * length, request.tz)}, before the last "
            f"disclosed interval, at {interval_time(hi - 1, length, request.tz)}",
            obj=obj,
            field=f"{path}.runs",
        )
    if runs[0].seal.end <= lo or runs[-1].seal.first >= hi:
        k = 0 if runs[0].seal.end <= lo else len(runs) - 1
        raise DisclosureScopeError(
            "sealed run covers no disclosed interval", obj=obj, field=f"{path}.runs[{k}]"
        )
    return coverage.check_evidence(
        cert,
        runs,
        first,
        max(end - first, 0),
        path=path,
        obj=obj,
        tz=request.tz,
        points=points,
        window=(lo, hi),
    )


def bill_runs(
    bill: Bill, meter_id: str, obj: str, path: str
) -> tuple[MeterCertificate, tuple[SealedRun, ...]]:
    """The certificate and sealed runs of ``meter_id`` in a payment message."""
    for section in bill.meters:
        if section.certificate.meter_id == meter_id:
            if not section.runs:
                raise BillReferenceError(
                    f"the register bill carries no sealed readings of meter {meter_id!r}",
                    obj=obj,
                    field=path,
                )
            return section.certificate, section.runs
    raise BillReferenceError(
        f"the payment message has no section for meter {meter_id!r}", obj=obj, field=path
    )


def referenced_runs(
    ref: SealReferences, bill: Bill, path: str
) -> tuple[MeterCertificate, tuple[SealedRun, ...]]:
    """The runs of the payment message a response's seal references name, in their order."""
    cert, runs = bill_runs(bill, ref.meter_id, RESPONSE_OBJ, f"{path}.meter_id")
    by_hash = {r.seal.chain_hash(): r for r in runs}
    out: list[SealedRun] = []
    for j, h in enumerate(ref.seals):
        run = by_hash.get(h)
        if run is None:
            raise BillReferenceError(
                "no seal of the payment message has this chain hash",
                obj=RESPONSE_OBJ,
                field=f"{path}.seals[{j}]",
            )
        out.append(run)
    return cert, tuple(out)


def bill_and_bytes(bill: bytes | Bill) -> tuple[Bill, bytes]:
    """A payment message (either format) and its encoding."""
    if isinstance(bill, PaymentMessage | RegisterBill):
        return bill, bill.encode()
    return decode_bill(bill), bytes(bill)


def meters_in_order(request: DisclosureRequest, statements: Sequence[Statement]) -> list[str]:
    """The meters ``statements`` are about, in the request's order."""
    used = {s.meter for s in statements}
    return [m.meter_id for m in request.meters if m.meter_id in used]


def range_of(indices: Sequence[int]) -> tuple[int, int]:
    return indices[0], indices[-1] + 1
