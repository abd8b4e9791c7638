"""The provider's side of selective disclosure: verify a response against the request it
answers (``docs/disclosure.md``).

:func:`verify` re-derives everything from the request, the response and public keys, and checks
that the response holds exactly what was requested and consented — no more answers, meters,
sealed runs or fields; then each answered statement verifies its answer against the sealed
commitments (:mod:`privbill.disclosure.statements`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from privbill.billing.coverage import PointCheck, SealedPoints
from privbill.crypto.signatures import VerifyingKey
from privbill.disclosure.evidence import (
    bill_and_bytes,
    check_meter_evidence,
    meters_in_order,
    range_of,
    referenced_runs,
)
from privbill.disclosure.model import (
    RESPONSE_OBJ,
    BillReferenceError,
    DisclosureRequest,
    DisclosureResponse,
    DisclosureScopeError,
    RequestMismatchError,
    SealedEvidence,
    Statement,
)
from privbill.disclosure.proofs import statement_context
from privbill.disclosure.verified import StatementResult, VerifiedDisclosure
from privbill.errors import UsageError
from privbill.model.bills import PaymentMessage
from privbill.model.register_bills import Bill
from privbill.model.tariffs import SignedTariff


def _check_scope(
    resp: DisclosureResponse, req: DisclosureRequest, chosen: list[tuple[int, Statement]]
) -> None:
    """The answers are exactly the consented statements, in order, each of its own kind; the
    meter sections are exactly the meters those statements are about, in request order."""
    obj = RESPONSE_OBJ
    for j, a in enumerate(resp.answers):
        if j >= len(chosen):
            raise DisclosureScopeError(
                "answer to a statement without consent", obj=obj, field=f"answers[{j}]"
            )
        k, s = chosen[j]
        if a.statement != k:
            raise DisclosureScopeError(
                f"answer to statement {a.statement} where the consent's next is {k}",
                obj=obj,
                field=f"answers[{j}].statement",
            )
        s.check_answer(k, a, f"answers[{j}]")
    if len(resp.answers) < len(chosen):
        raise DisclosureScopeError(
            f"statement {chosen[len(resp.answers)][0]} was consented but not answered",
            obj=obj,
            field="answers",
        )
    expected = meters_in_order(req, [s for _, s in chosen])
    got = [m.meter_id for m in resp.meters]
    for m, mid in enumerate(got):
        if m >= len(expected) or mid != expected[m]:
            raise DisclosureScopeError(
                f"meter {mid!r} is not the next meter of the answered statements",
                obj=obj,
                field=f"meters[{m}]",
            )
    if len(got) < len(expected):
        raise DisclosureScopeError(
            f"no evidence for meter {expected[len(got)]!r}", obj=obj, field="meters"
        )


def verify(
    response: bytes | DisclosureResponse,
    request: bytes | DisclosureRequest,
    provider: VerifyingKey,
    *,
    tariffs: Sequence[SignedTariff] = (),
    bill: bytes | Bill | None = None,
    customer_key: VerifyingKey | None = None,
    now: int | None = None,
    check_subgroup: bool = False,
) -> VerifiedDisclosure:
    """Verify a disclosure response against the request it answers; return what it discloses.

    ``bill`` is the payment message a response attached to a bill refers to. ``customer_key``,
    if given, must have signed the consent. ``now`` (Unix seconds, default the clock) must lie in
    the request's lifetime. Raises :class:`DecodeError` for malformed input and a subclass of
    :class:`VerificationError` naming the field for anything that does not verify.
    """
    t0 = time.perf_counter()
    req = DisclosureRequest.decode(request) if isinstance(request, bytes) else request
    req.verify(provider)
    req.check_time(int(time.time()) if now is None else now)
    encoded = response if isinstance(response, bytes) else response.encode()
    resp = DisclosureResponse.decode(encoded) if isinstance(response, bytes) else response
    rh = req.hash()
    if resp.request_hash != rh:
        raise RequestMismatchError(
            "response answers another request", obj=RESPONSE_OBJ, field="request_hash"
        )
    consent = resp.consent
    consent.check(req, rh, "consent", RESPONSE_OBJ, customer_key)
    chosen = [(k, req.statements[k]) for k in consent.statements]
    _check_scope(resp, req, chosen)
    intervals = {k: s.intervals(req, tariffs, provider, f"statement {k}") for k, s in chosen}

    paid: Bill | None = None
    if resp.bill_hash is not None:
        if bill is None:
            raise UsageError(
                "the response refers to a payment message: supply the bill", obj=RESPONSE_OBJ
            )
        paid, bill_bytes = bill_and_bytes(bill)
        if PaymentMessage.hash_of(bill_bytes) != resp.bill_hash:
            raise BillReferenceError(
                "response refers to another payment message", obj=RESPONSE_OBJ, field="bill_hash"
            )

    views: dict[str, SealedPoints] = {}
    for m, ev in enumerate(resp.meters):
        path = f"meters[{m}]"
        mid = ev.meter_id
        spans = [range_of(intervals[k]) for k, s in chosen if s.meter == mid]
        lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
        if isinstance(ev, SealedEvidence):
            cert, runs = ev.certificate, ev.runs
        else:
            assert paid is not None  # the decoder allows references only with a bill hash
            cert, runs = referenced_runs(ev, paid, path)
        decode: PointCheck = "subgroup" if check_subgroup else "curve"
        views[mid] = check_meter_evidence(
            cert, runs, req, provider, lo, hi, path, RESPONSE_OBJ, decode
        )

    ch = consent.hash()
    results: list[StatementResult] = []
    for j, (a, (k, s)) in enumerate(zip(resp.answers, chosen, strict=True)):
        path = f"answers[{j}]"
        idx = intervals[k]
        points = views[s.meter].select(idx)
        ctx = statement_context(rh, ch, k, s, req.period)
        results.append(s.verify(k, a, req, points, ctx, path))

    declined = tuple(k for k in range(len(req.statements)) if k not in set(consent.statements))
    return VerifiedDisclosure(
        request_hash=rh,
        request_id=req.request_id,
        requester=req.requester,
        account=req.account,
        period=req.period,
        consent_hash=ch,
        consented_at=consent.at,
        customer_key_id=consent.customer_key.key_id if consent.customer_key else None,
        declined=declined,
        results=tuple(results),
        response_hash=DisclosureResponse.hash_of(encoded),
        bill_hash=resp.bill_hash,
        seconds=time.perf_counter() - t0,
    )
