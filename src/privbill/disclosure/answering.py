"""The customer's side of selective disclosure: answer a provider's request from sealed
readings (``docs/disclosure.md``).

:func:`answer` checks the request (provider signature, lifetime), the consent (bound to the
request, a subset of it), the meter's evidence (certificate, seal chain, seal signatures) and
that every opening it uses matches its sealed commitment; then each consented statement proves
its answer (:mod:`privbill.disclosure.statements`). Every proof is made under a context that
binds the request hash, the consent hash, the statement's index and encoding, the meter id and
the request period: an answer cannot be moved to another statement, meter, period, request or
consent.

Before answering, :func:`answer` checks the consented statements against the customer's
:class:`~privbill.disclosure.ledger.DisclosureLedger` and
:class:`~privbill.disclosure.ledger.DisclosurePolicy` and refuses
(:class:`~privbill.disclosure.model.DisclosurePolicyError`) what would reveal a single reading or
a stretch shorter than the policy allows.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from privbill.billing.coverage import SealedPoints
from privbill.billing.prover import check_openings
from privbill.crypto.signatures import VerifyingKey
from privbill.disclosure.evidence import (
    bill_and_bytes,
    bill_runs,
    check_meter_evidence,
    meters_in_order,
)
from privbill.disclosure.figures import statement_entry
from privbill.disclosure.ledger import DEFAULT_POLICY, DisclosureLedger, DisclosurePolicy
from privbill.disclosure.model import (
    Answer,
    Consent,
    DisclosureRequest,
    DisclosureResponse,
    MeterEvidence,
    SealedEvidence,
    SealReferences,
)
from privbill.disclosure.proofs import statement_context
from privbill.errors import OpeningError, UsageError
from privbill.model.bills import PaymentMessage
from privbill.model.periods import interval_time
from privbill.model.readings import Openings, derive_blinding
from privbill.model.register_bills import Bill, RegisterBill
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff


def _collect_openings(
    meter_id: str,
    interval_s: int,
    indices: Sequence[int],
    batches: Sequence[Openings],
    opening_key: bytes | None,
    tz: ZoneInfo,
) -> tuple[list[int], list[int]]:
    mine = sorted((b for b in batches if b.meter_id == meter_id), key=lambda b: b.first)
    for b in mine:
        if b.interval_s != interval_s:
            raise OpeningError(
                f"openings of meter {meter_id!r} have {b.interval_s}-second intervals, "
                f"the certificate {interval_s}",
                obj="openings",
                field="interval_s",
            )
    firsts = [b.first for b in mine]
    values: list[int] = []
    blindings: list[int] = []
    for i in indices:
        j = bisect.bisect_right(firsts, i) - 1
        if j < 0 or i >= mine[j].end:
            raise OpeningError(
                f"no opening for the reading at {interval_time(i, interval_s, tz)} of meter "
                f"{meter_id!r}",
                obj="openings",
                field="values",
            )
        b = mine[j]
        values.append(b.values[i - b.first])
        if b.blindings is not None:
            blindings.append(b.blindings[i - b.first])
        elif opening_key is None:
            raise OpeningError(
                f"blinding factors of meter {meter_id!r} are key-derived; the opening key is needed",
                obj="openings",
                field="blindings",
            )
        else:
            blindings.append(derive_blinding(opening_key, meter_id, i))
    return values, blindings


def answer(
    request: bytes | DisclosureRequest,
    consent: Consent,
    sealed: Sequence[SealedReadings],
    openings: Sequence[Openings],
    *,
    provider: VerifyingKey,
    ledger: DisclosureLedger,
    policy: DisclosurePolicy = DEFAULT_POLICY,
    opening_key: bytes | Mapping[str, bytes] | None = None,
    tariffs: Sequence[SignedTariff] = (),
    bill: bytes | Bill | None = None,
    now: int | None = None,
) -> DisclosureResponse:
    """Answer the consented statements of ``request``.

    ``sealed`` holds each meter's public output and ``openings`` the customer's openings (a
    shared ``opening_key``, or one per meter id, when the meter derives its blinding factors).
    With ``bill`` (a payment message of the same meters) the response names the bill's seals
    instead of carrying them. ``tariffs`` supplies the signed tariffs of register statements.

    ``ledger`` holds everything the customer disclosed before: the consented statements are
    checked against it and ``policy`` before anything is computed, and recorded in it once the
    response is made (save the ledger before sending the response). Raises
    :class:`DisclosurePolicyError` (naming the statements and the reading or stretch they would
    reveal) if the policy forbids the answer, another typed error if the request, consent or
    inputs are not in order, and :class:`UsageError` for a threshold statement that is not true.
    """
    req = DisclosureRequest.decode(request) if isinstance(request, bytes) else request
    req.verify(provider)
    req.check_time(int(time.time()) if now is None else now)
    rh = req.hash()
    consent.check(req, rh, "", "consent")
    chosen = [(k, req.statements[k]) for k in consent.statements]
    intervals = {k: s.intervals(req, tariffs, provider, f"statement {k}") for k, s in chosen}
    entries = [statement_entry(req, k, s, intervals[k], tariffs, at=consent.at) for k, s in chosen]
    lengths = {m.meter_id: m.interval_s for m in req.meters}
    ledger.check(entries, lengths, policy, req.tz)
    paid: Bill | None = None
    bill_hash: bytes | None = None
    if bill is not None:
        paid, encoded = bill_and_bytes(bill)
        bill_hash = PaymentMessage.hash_of(encoded)
        if isinstance(paid, RegisterBill) and not paid.carries_readings:
            # A register bill has no seals to name: the answer carries the sealed readings and
            # stands on its own.
            paid, bill_hash = None, None
    by_meter = {s.certificate.meter_id: s for s in sealed}
    if len(by_meter) != len(sealed):
        raise UsageError("sealed readings of the same meter given twice", obj="sealed readings")

    evidence: list[MeterEvidence] = []
    views: dict[str, SealedPoints] = {}
    opened: dict[str, tuple[dict[int, int], dict[int, int]]] = {}
    for m, mid in enumerate(meters_in_order(req, [s for _, s in chosen])):
        path = f"meters[{m}]"
        needed = sorted({i for k, s in chosen if s.meter == mid for i in intervals[k]})
        lo, hi = needed[0], needed[-1] + 1
        if paid is not None:
            cert, all_runs = bill_runs(paid, mid, "payment message", path)
        else:
            if mid not in by_meter:
                raise UsageError(f"no sealed readings for meter {mid!r}", obj="sealed readings")
            cert, all_runs = by_meter[mid].certificate, by_meter[mid].runs
        runs = tuple(r for r in all_runs if r.seal.first < hi and r.seal.end > lo)
        view = check_meter_evidence(
            cert, runs, req, provider, lo, hi, path, "sealed readings", "curve"
        )
        key = opening_key.get(mid) if isinstance(opening_key, Mapping) else opening_key
        values, blindings = _collect_openings(mid, cert.interval_s, needed, openings, key, req.tz)
        bad = check_openings(view.select(needed), values, blindings)
        if bad is not None:
            raise OpeningError(
                f"opening of meter {mid!r} at {interval_time(needed[bad], cert.interval_s, req.tz)} "
                "does not match its sealed commitment",
                obj="openings",
                field="values",
            )
        views[mid] = view
        opened[mid] = (
            dict(zip(needed, values, strict=True)),
            dict(zip(needed, blindings, strict=True)),
        )
        if paid is not None:
            evidence.append(SealReferences(mid, tuple(r.seal.chain_hash() for r in runs)))
        else:
            evidence.append(SealedEvidence(cert, runs))

    ch = consent.hash()
    answers: list[Answer] = []
    for k, s in chosen:
        vals_of, blinds_of = opened[s.meter]
        idx = intervals[k]
        values = [vals_of[i] for i in idx]
        blindings = [blinds_of[i] for i in idx]
        ctx = statement_context(rh, ch, k, s, req.period)
        points = views[s.meter].select(idx)
        answers.append(s.prove(k, req, values, blindings, points, ctx))
    response = DisclosureResponse(rh, consent, tuple(evidence), tuple(answers), bill_hash)
    ledger.record([e for e in entries if e.terms], lengths)  # all-zero weights reveal nothing
    return response
