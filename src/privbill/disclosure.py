"""Selective disclosure: answer a provider's request from sealed readings, and verify the answer.

The customer side, :func:`answer`, checks the request (provider signature, lifetime), the consent
(bound to the request, a subset of it), the meter's evidence (certificate, seal chain, seal
signatures) and that every opening it uses matches its sealed commitment; then it answers each
consented statement. The provider side, :func:`verify`, re-derives everything from the request,
the response and public keys, and checks that the response holds exactly what was requested and
consented — no more answers, meters, sealed runs or fields.

Each statement kind has its prover and verifier side by side below (``docs/disclosure.md``):

* ``sum``, ``weighted-sum``, ``open`` — reveal the value(s) and prove knowledge of the blinding
  factor of ``P − V·G``, where ``P`` is what the verifier derives from the sealed commitments:
  ``Σ C_i`` (one point sum), ``Σ w_i·C_i`` (one MSM) or, for opened readings ``c_i``,
  ``Σ ρ_i·C_i`` with ``V = Σ ρ_i·c_i`` and 128-bit weights ``ρ_i`` derived from the statement
  context and the revealed values (one MSM); a compact Sigma proof of 64 bytes;
* ``threshold`` — an aggregated range proof on commitments the verifier derives itself:
  ``X·G − Σ C_i`` (sum at most X), ``Σ C_i − X·G`` (sum at least X) or ``Y·G − C_i`` for every
  interval (no interval above Y).

Every proof is made under a context that binds the request hash, the consent hash, the statement's
index and encoding, the meter id and the request period: an answer cannot be moved to another
statement, meter, period, request or consent.

Before answering, :func:`answer` checks the consented statements against the customer's
:class:`~privbill.model.ledger.DisclosureLedger` and :class:`~privbill.model.ledger.DisclosurePolicy`
and refuses (:class:`~privbill.model.disclosures.DisclosurePolicyError`) what would reveal a
single reading or a stretch shorter than the policy allows; :func:`record_bill` adds a submitted
bill's figures to the ledger.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from privbill.billing import coverage, energy
from privbill.billing.cleartext import demand_windows, tiered_indices
from privbill.billing.components import common_interval
from privbill.billing.prover import check_openings
from privbill.crypto import bulletproofs, gadgets, group, pedersen
from privbill.crypto.group import Point
from privbill.crypto.hashing import digest
from privbill.crypto.pedersen import Opening
from privbill.crypto.sigma import Flavor, SigmaError
from privbill.crypto.signatures import VerifyingKey
from privbill.errors import (
    CertificateError,
    CommitmentError,
    CoverageError,
    OpeningError,
    SealChainError,
    TariffMismatchError,
    UsageError,
)
from privbill.model import codec
from privbill.model.bills import PaymentMessage
from privbill.model.certificates import MeterCertificate
from privbill.model.components import Demand, HoursUse, TieredEnergy
from privbill.model.disclosures import (
    CLOCK_SKEW_S,
    RESPONSE_OBJ,
    Answer,
    BillReferenceError,
    Consent,
    ConsentError,
    DisclosureProofError,
    DisclosureRequest,
    DisclosureResponse,
    DisclosureScopeError,
    MeterEvidence,
    OpenedReadings,
    OpenReadings,
    RangeAnswer,
    Register,
    RequestMismatchError,
    RevealedSum,
    SealedEvidence,
    SealReferences,
    Statement,
    Sum,
    Threshold,
    WeightedSum,
    Window,
    describe_span,
    describe_statement,
    statement_bytes,
)
from privbill.model.ledger import (
    DEFAULT_POLICY,
    DisclosureLedger,
    DisclosurePolicy,
    LedgerEntry,
    Run,
    Term,
    runs_of,
)
from privbill.model.periods import BillingPeriod, interval_time, local_time
from privbill.model.readings import Openings, derive_blinding
from privbill.model.register_bills import Bill, RegisterBill, RegisterSection, decode_bill
from privbill.model.sealed import SealedReadings
from privbill.model.seals import SealedRun
from privbill.model.tariffs import SignedTariff, TimeOfUse

CONTEXT_PURPOSE = "disclosure-statement-context"
#: Seed of the weights ``ρ_i`` that combine opened readings (``_open_weights``).
OPEN_WEIGHTS_PURPOSE = "disclosure-open-weights"
_Q = group.ORDER


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatementResult:
    """What the verifier learned from one answered statement."""

    index: int  # position in the request
    kind: str
    meter_id: str
    intervals: int  # how many readings the statement is about
    value: int | None = None  # sum and weighted-sum
    readings: tuple[tuple[int, int], ...] | None = None  # open: (interval index, Wh)
    holds: bool | None = None  # threshold: True (a false threshold cannot be answered)


@dataclass(frozen=True, slots=True)
class VerifiedDisclosure:
    """A verified response: the request, the consent, and one result per consented statement."""

    request_hash: bytes
    request_id: bytes
    requester: str
    account: str
    period: BillingPeriod
    consent_hash: bytes
    consented_at: int
    customer_key_id: bytes | None
    declined: tuple[int, ...]  # statements requested but not consented
    results: tuple[StatementResult, ...]
    response_hash: bytes
    bill_hash: bytes | None
    seconds: float = field(compare=False)

    def to_json(self) -> dict[str, Any]:
        """The one JSON view of a verified disclosure (hashes in hex; values as integers)."""
        return {
            "request_id": self.request_id.hex(),
            "request_hash": self.request_hash.hex(),
            "requester": self.requester,
            "account": self.account,
            "period": {"start": self.period.start, "end": self.period.end},
            "consent_hash": self.consent_hash.hex(),
            "consented_at": self.consented_at,
            "customer_key_id": self.customer_key_id.hex() if self.customer_key_id else None,
            "declined": list(self.declined),
            "results": [
                {
                    "statement": r.index,
                    "kind": r.kind,
                    "meter": r.meter_id,
                    "intervals": r.intervals,
                    "value": r.value,
                    "readings": [list(p) for p in r.readings] if r.readings is not None else None,
                    "holds": r.holds,
                }
                for r in self.results
            ],
            "response_hash": self.response_hash.hex(),
            "bill_hash": self.bill_hash.hex() if self.bill_hash else None,
        }


# --- shared by prover and verifier -----------------------------------------------------------


def statement_context(
    request_hash: bytes,
    consent_hash: bytes,
    index: int,
    statement: Statement,
    period: BillingPeriod,
) -> bytes:
    """Context of a statement's proof: request, consent, statement index and encoding, meter and
    period, each framed by the domain-separated hash."""
    return digest(
        CONTEXT_PURPOSE,
        request_hash,
        consent_hash,
        index.to_bytes(4, "big"),
        statement.meter.encode(),
        period.start.to_bytes(8, "big"),
        period.end.to_bytes(8, "big"),
        statement_bytes(statement),
    )


def _find_tariff(
    tariffs: Sequence[SignedTariff], sel: Register, provider: VerifyingKey, where: str
) -> tuple[SignedTariff, TimeOfUse]:
    """The provider-signed time-of-use tariff a register selector names."""
    for t in tariffs:
        if t.hash() == sel.tariff_hash:
            t.verify(provider)
            if not isinstance(t.body.energy, TimeOfUse):
                raise TariffMismatchError(
                    "a register is a period of a time-of-use tariff; this tariff has dynamic prices",
                    obj="tariff",
                    field="energy",
                )
            return t, t.body.energy
    raise UsageError(
        f"{where} needs the tariff {sel.tariff_hash.hex()[:16]}…: supply it", obj="tariff"
    )


def statement_intervals(
    request: DisclosureRequest,
    statement: Statement,
    tariffs: Sequence[SignedTariff],
    provider: VerifyingKey,
    where: str = "statement",
) -> Sequence[int]:
    """The interval indices a statement is about, in increasing order."""
    s = statement
    length = request.meter(s.meter).interval_s
    if isinstance(s, OpenReadings):
        return s.indices
    sel = s.select
    if isinstance(sel, Window):
        return range(sel.start // length, sel.end // length)
    first, count = request.period.intervals(length)
    if not isinstance(sel, Register):
        return range(first, first + count)
    tariff, tou = _find_tariff(tariffs, sel, provider, where)
    # The same schedule with "prices" 0..n-1 gives each interval's period number, computed by
    # the tariff model itself (local time, weekends, holidays, DST) rather than a second copy.
    numbered = dataclasses.replace(tou, period_prices=tuple(range(len(tou.period_prices))))
    labels = numbered.prices(tariff.body.tz, first, count, length)
    out = [first + k for k, p in enumerate(labels) if p == sel.register]
    if not out:
        raise TariffMismatchError(
            f"register {sel.register} has no interval in the request's period",
            obj="tariff",
            field="energy",
        )
    return out


def _expanded_weights(request: DisclosureRequest, s: WeightedSum) -> list[int]:
    """One weight per meter interval of the statement's window."""
    length = request.meter(s.meter).interval_s
    per = s.step // length
    return [w for w in s.weights for _ in range(per)]


@dataclass(slots=True)
class _MeterView:
    """The decoded sealed commitments of one meter for intervals ``[lo, hi)``."""

    certificate: MeterCertificate
    runs: tuple[SealedRun, ...]
    lo: int
    hi: int
    points: list[Point]

    def select(self, indices: Sequence[int]) -> list[Point]:
        if isinstance(indices, range):
            return self.points[indices.start - self.lo : indices.stop - self.lo]
        lo, pts = self.lo, self.points
        return [pts[i - lo] for i in indices]


def _rebadge(exc: CoverageError | SealChainError, obj: str) -> CoverageError | SealChainError:
    return type(exc)(exc.detail, obj=obj, field=exc.field)


def _check_evidence(
    cert: MeterCertificate,
    runs: Sequence[SealedRun],
    request: DisclosureRequest,
    provider: VerifyingKey,
    lo: int,
    hi: int,
    path: str,
    obj: str,
    check_subgroup: bool,
) -> _MeterView:
    """Certificate, seal chain, minimal coverage of ``[lo, hi)``, seal signatures, commitment
    hashes; then decode the commitments of ``[lo, hi)``."""
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
    cert.check_covers(lo * length, hi * length, f"{path}.certificate")
    if not runs:
        raise CoverageError("no sealed run covers the disclosed intervals", obj=obj, field=path)
    first = runs[0].seal.first
    try:
        coverage.check_runs(
            runs,
            cert.meter_id,
            length,
            first,
            max(runs[-1].seal.end - first, 0),
            path,
            len(cert.attributes),
            request.tz,
        )
    except (CoverageError, SealChainError) as exc:
        raise _rebadge(exc, obj) from None
    if first > lo:
        raise CoverageError(
            f"the sealed runs start at {interval_time(first, length, request.tz)}, after the "
            f"first disclosed interval, at {interval_time(lo, length, request.tz)}",
            obj=obj,
            field=f"{path}.runs[0].seal.first",
        )
    if runs[-1].seal.end < hi:
        raise CoverageError(
            f"the sealed runs end at {local_time(runs[-1].seal.end * length, request.tz)}, "
            f"before the last disclosed interval, at {interval_time(hi - 1, length, request.tz)}",
            obj=obj,
            field=f"{path}.runs",
        )
    if runs[0].seal.end <= lo or runs[-1].seal.first >= hi:
        k = 0 if runs[0].seal.end <= lo else len(runs) - 1
        raise DisclosureScopeError(
            "sealed run covers no disclosed interval", obj=obj, field=f"{path}.runs[{k}]"
        )
    for k, run in enumerate(runs):
        run.seal.verify_signature(cert.public_key, f"{path}.runs[{k}].seal")
        run.check_commitments(f"{path}.runs[{k}]")
    data = b"".join(r.commitments for r in runs)
    pb = group.POINT_BYTES
    chunk = data[(lo - first) * pb : (hi - first) * pb]
    decode = group.decode_points if check_subgroup else group.decode_points_on_curve
    try:
        points = decode(chunk, hi - lo)
    except group.GroupError as exc:
        raise CommitmentError(str(exc), obj=obj, field=f"{path}.runs") from None
    return _MeterView(cert, tuple(runs), lo, hi, points)


def _bill_runs(
    bill: Bill, meter_id: str, obj: str, path: str
) -> tuple[MeterCertificate, tuple[SealedRun, ...]]:
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


def _decode_bill(bill: bytes | Bill) -> tuple[Bill, bytes]:
    if isinstance(bill, PaymentMessage | RegisterBill):
        return bill, bill.encode()
    return decode_bill(bill), bytes(bill)


def _check_consent(
    consent: Consent,
    request: DisclosureRequest,
    request_hash: bytes,
    path: str,
    obj: str,
    customer_key: VerifyingKey | None = None,
) -> None:
    where = f"{path}." if path else ""
    if consent.request_hash != request_hash:
        raise ConsentError(
            "consent was given to another request", obj=obj, field=f"{where}request_hash"
        )
    n = len(request.statements)
    for j, i in enumerate(consent.statements):
        if i >= n:
            raise ConsentError(
                f"consent to statement {i}, but the request has {n}",
                obj=obj,
                field=f"{where}statements[{j}]",
            )
    if not request.issued_at - CLOCK_SKEW_S <= consent.at < request.expires:
        raise ConsentError(
            "consent given outside the request's lifetime", obj=obj, field=f"{where}at"
        )
    consent.verify_signature(path, obj)
    if customer_key is not None and consent.customer_key != customer_key:
        raise ConsentError(
            "consent is not signed by the expected customer key",
            obj=obj,
            field=f"{where}customer_key",
        )


def _meters_in_order(request: DisclosureRequest, statements: Sequence[Statement]) -> list[str]:
    used = {s.meter for s in statements}
    return [m.meter_id for m in request.meters if m.meter_id in used]


def _range_of(indices: Sequence[int]) -> tuple[int, int]:
    return indices[0], indices[-1] + 1


# --- range proofs (aggregated Bulletproofs) --------------------------------------------------


def range_bits(s: Threshold) -> int:
    """Bit length ``n`` of the range proofs of a threshold statement: the smallest allowed one
    that holds every honest difference. ``X − S ≤ X`` and ``Y − c_i ≤ Y``, so ``bound < 2^n``
    suffices; ``S − X`` can reach ``2^52`` (2^20 readings below 2^32), so ``sum-at-least`` uses
    64 bits. A false statement makes a difference negative, ``≥ q − 2^63`` modulo ``q``, outside
    ``[0, 2^n)`` for every allowed ``n``."""
    if s.test == "sum-at-least":
        return 64
    return next(n for n in bulletproofs.BIT_SIZES if s.bound < 1 << n)


def range_groups(m: int) -> list[tuple[int, int]]:
    """``(offset, size)`` of the groups of ``m`` derived commitments, one proof each: the binary
    decomposition of ``m``, largest first (96 = 64 + 32). Aggregation pads a proof to a power of
    two; groups avoid the padding, and since their proofs share the vector generators, verifying
    them together costs one multi-scalar multiplication over the largest group's generators."""
    out: list[tuple[int, int]] = []
    offset = 0
    for k in reversed(range(m.bit_length())):
        if m >> k & 1:
            out.append((offset, 1 << k))
            offset += 1 << k
    return out


def _group_context(context: bytes, j: int) -> bytes:
    return context + j.to_bytes(2, "big")  # the statement context has a fixed length


def _prove_ranges(
    values: list[int], blindings: list[int], points: list[Point], bits: int, context: bytes
) -> tuple[bytes, ...]:
    proofs = []
    for j, (a, size) in enumerate(range_groups(len(points))):
        b = a + size
        proof = bulletproofs.prove(
            values[a:b],
            blindings[a:b],
            bits,
            context=_group_context(context, j),
            commitments=points[a:b],
        )
        proofs.append(proof.encode())
    return tuple(proofs)


def _verify_ranges(points: list[Point], bits: int, proofs: Sequence[bytes], context: bytes) -> bool:
    groups = range_groups(len(points))
    if len(proofs) != len(groups):
        return False
    items = [
        (
            bulletproofs.values_statement(
                points[a : a + size], bits, context=_group_context(context, j)
            ),
            proof,
        )
        for j, ((a, size), proof) in enumerate(zip(groups, proofs, strict=True))
    ]
    return bulletproofs.batch_verify(items)


# --- revealed values: a proof of knowledge bound to the statement ---------------------------


def _prove_reveal(value: int, blinding: int, context: bytes) -> bytes:
    """Prove knowledge of ``ρ`` with ``P − value·G = ρ·H`` for ``P = value·G + blinding·H``
    (equal to the combination of sealed commitments the verifier derives), under ``context``.

    Soundness: a prover who knows the openings of the sealed commitments and can prove this for
    a value other than the committed one can compute a discrete-log relation between ``G`` and
    ``H`` (two openings of ``P``). Binding: the challenge hashes the context (request, consent,
    statement, meter, period), and the proof reveals nothing about ``ρ``; whoever sees the
    answer cannot make a proof for another context without ``ρ``, which only the holder of the
    openings knows (``docs/disclosure.md`` §3.4)."""
    point = pedersen.commit(value, blinding)
    try:
        return gadgets.prove_linear(
            [1], [point], [Opening(value % _Q, blinding)], value, context=context,
            flavor=Flavor.COMPACT,
        )  # fmt: skip
    except SigmaError as exc:  # P − V·G the identity: probability about 2^-255
        raise UsageError(f"cannot prove a revealed value: {exc}", obj="disclosure") from None


def _verify_reveal(point: Point, value: int, proof: bytes, context: bytes) -> bool:
    try:
        return gadgets.verify_linear(
            [1], [point], value, proof, context=context, flavor=Flavor.COMPACT
        )
    except SigmaError:
        return False


# --- open: reveal c_i ------------------------------------------------------------------------


def _open_weights(context: bytes, values: Sequence[int]) -> list[int]:
    """Weights ``ρ_i ∈ [1, 2^128]`` derived from the statement context and the revealed values:
    fixed only after the values are, so a wrong value survives ``Σ ρ_i·(c_i − c_i*) = 0`` with
    probability at most ``2^-128`` per attempt."""
    seed = digest(OPEN_WEIGHTS_PURPOSE, context, b"".join(v.to_bytes(4, "big") for v in values))
    stream = hashlib.shake_256(seed).digest(16 * len(values))
    return [1 + int.from_bytes(stream[16 * k : 16 * k + 16], "big") for k in range(len(values))]


def _prove_open(k: int, values: list[int], blindings: list[int], context: bytes) -> OpenedReadings:
    rho = _open_weights(context, values)
    value = sum(w * c for w, c in zip(rho, values, strict=True))
    blinding = sum(w * r for w, r in zip(rho, blindings, strict=True)) % _Q
    return OpenedReadings(k, tuple(values), _prove_reveal(value, blinding, context))


def _verify_open(a: OpenedReadings, points: list[Point], context: bytes, path: str) -> None:
    """``Σ ρ_i·C_i`` opens to ``Σ ρ_i·c_i``: one MSM and the proof."""
    rho = _open_weights(context, a.values)
    value = sum(w * c for w, c in zip(rho, a.values, strict=True))
    if not _verify_reveal(group.msm(points, rho), value, a.proof, context):
        raise DisclosureProofError(
            "opened readings do not match their sealed commitments, or the proof is not for "
            "this statement",
            obj=RESPONSE_OBJ,
            field=f"{path}.proof",
        )


# --- sum: reveal Σ c_i -----------------------------------------------------------------------


def _prove_sum(k: int, values: list[int], blindings: list[int], context: bytes) -> RevealedSum:
    value = sum(values)
    return RevealedSum("sum", k, value, _prove_reveal(value, sum(blindings) % _Q, context))


def _verify_sum(a: RevealedSum, points: list[Point], context: bytes, path: str) -> None:
    # 0 ≤ S < 2^52 (2^20 readings below 2^32) and the value is a 64-bit integer: both ≪ q/2,
    # so equality in the group is equality of integers.
    if not _verify_reveal(group.point_sum(points), a.value, a.proof, context):
        raise DisclosureProofError(
            "revealed sum is not what the sealed commitments hold, or the proof is not for "
            "this statement",
            obj=RESPONSE_OBJ,
            field=f"{path}.value",
        )


# --- weighted sum: reveal Σ w_i·c_i ----------------------------------------------------------


def _prove_weighted(
    k: int, weights: list[int], values: list[int], blindings: list[int], context: bytes
) -> RevealedSum:
    value, blinding = energy.prove(weights, values, blindings)
    if not codec.INT_MIN <= value <= codec.INT_MAX:
        raise UsageError(
            f"statement {k}: the weighted sum does not fit in 64 bits and cannot be disclosed",
            obj="disclosure request",
            field=f"statements[{k}].weights",
        )
    return RevealedSum("weighted-sum", k, value, _prove_reveal(value, blinding, context))


def _verify_weighted(
    a: RevealedSum, weights: list[int], points: list[Point], context: bytes, path: str
) -> None:
    # |w_i| ≤ 2^40, c_i < 2^32, at most 2^20 intervals: |Σ w_i·c_i| < 2^92 ≪ q/2, and the revealed
    # value is a 64-bit integer, so equality in the group is equality of integers.
    point = energy.fee_commitment(weights, points)
    if not _verify_reveal(point, a.value, a.proof, context):
        raise DisclosureProofError(
            "revealed weighted sum is not what the sealed commitments hold, or the proof is not "
            "for this statement",
            obj=RESPONSE_OBJ,
            field=f"{path}.value",
        )


# --- threshold: range proofs on derived commitments -----------------------------------------


def _threshold_holds(s: Threshold, values: list[int]) -> bool:
    if s.test == "sum-at-most":
        return sum(values) <= s.bound
    if s.test == "sum-at-least":
        return sum(values) >= s.bound
    return max(values) <= s.bound


def _threshold_points(s: Threshold, points: list[Point]) -> list[Point]:
    """The derived commitments: ``X·G − Σ C_i``, ``Σ C_i − X·G`` or ``Y·G − C_i`` for every
    ``i``. Prover and verifier compute them alike from the sealed commitments."""
    bound = pedersen.commit(s.bound, 0)
    if s.test == "sum-at-most":
        return [bound - group.point_sum(points)]
    if s.test == "sum-at-least":
        return [group.point_sum(points) - bound]
    return [bound - p for p in points]


def _prove_threshold(
    k: int,
    s: Threshold,
    values: list[int],
    blindings: list[int],
    points: list[Point],
    context: bytes,
) -> RangeAnswer:
    """The derived commitments open to ``X − S`` (blinding ``−R``), ``S − X`` (``R``) or
    ``Y − c_i`` (``−r_i``): non-negative exactly when the statement holds."""
    if not _threshold_holds(s, values):
        raise UsageError(
            f"statement {k} is not true for your readings, so it cannot be answered; "
            "leave it out of the consent",
            obj="consent",
            field="statements",
        )
    if s.test == "sum-at-most":
        diffs, blinds = [s.bound - sum(values)], [-sum(blindings) % _Q]
    elif s.test == "sum-at-least":
        diffs, blinds = [sum(values) - s.bound], [sum(blindings) % _Q]
    else:
        diffs = [s.bound - c for c in values]
        blinds = [-r % _Q for r in blindings]
    derived = _threshold_points(s, points)
    return RangeAnswer(k, _prove_ranges(diffs, blinds, derived, range_bits(s), context))


def _verify_threshold(
    a: RangeAnswer, s: Threshold, points: list[Point], context: bytes, path: str
) -> None:
    derived = _threshold_points(s, points)
    if any(group.is_identity(p) for p in derived) or not _verify_ranges(
        derived, range_bits(s), a.proofs, context
    ):
        raise DisclosureProofError(
            "range proof does not verify", obj=RESPONSE_OBJ, field=f"{path}.proofs"
        )


# --- the ledger: what each statement, and each bill, discloses -------------------------------


def statement_entry(
    request: DisclosureRequest,
    index: int,
    statement: Statement,
    intervals: Sequence[int],
    tariffs: Sequence[SignedTariff] = (),
    *,
    at: int,
) -> LedgerEntry:
    """The ledger entry of one answered statement: opened readings, a disclosed functional
    (sum, weighted sum), a bound on a functional (sum thresholds — counted as disclosed, since
    repeated thresholds can find the value) or a bound on every reading of a set
    (``each-at-most``)."""
    s = statement
    if isinstance(s, WeightedSum):
        kind = "value"
        runs = runs_of(zip(intervals, _expanded_weights(request, s), strict=True))
    else:
        if isinstance(s, OpenReadings):
            kind = "readings"
        elif isinstance(s, Sum):
            kind = "value"
        elif s.test == "each-at-most":
            kind = "peak"
        else:
            kind = "bound"
        runs = runs_of((i, 1) for i in intervals)
    terms = (Term(s.meter, runs),) if runs else ()
    return LedgerEntry(
        kind,  # type: ignore[arg-type]
        terms,
        describe_statement(request, s, tariffs),
        request.requester,
        "request",
        request.hash(),
        index,
        at,
    )


def record_bill(
    ledger: DisclosureLedger,
    bill: bytes | Bill,
    tariff: SignedTariff,
    *,
    at: int | None = None,
) -> list[LedgerEntry]:
    """Record what a submitted bill discloses, and return the entries.

    A bill reveals its total: the energy charge ``Σ p_i·c_i`` under the tariff's per-interval
    prices (one linear functional over all the bill's meters) plus the other components' fees.
    Conservatively, each tiered component's counted consumption (a window or register total) is
    recorded as disclosed, and each demand window as a bound on every reading in it. Block,
    polynomial and lookup charges and the minimum bill are not linear and are not recorded
    (``docs/disclosure.md`` §7 says what they reveal).
    """
    paid, encoded = _decode_bill(bill)
    if paid.tariff_hash != tariff.hash():
        raise TariffMismatchError(
            "the bill was made under another tariff", obj="payment message", field="tariff_hash"
        )
    body = tariff.body
    reference = PaymentMessage.hash_of(encoded)
    when = int(time.time()) if at is None else at
    period = paid.period
    shown = describe_span(period.start, period.end, body.tz)
    recipient = body.utility
    lengths = {m.certificate.meter_id: m.certificate.interval_s for m in paid.meters}
    # Each meter's part of the period: the whole period, or for a register bill the intervals
    # its registers cover (a meter replaced during the period has only part of it).
    parts: dict[str, tuple[int, int]] = {}
    for section in paid.meters:
        mid = section.certificate.meter_id
        if isinstance(section, RegisterSection):
            parts[mid] = (section.statement.first, section.statement.end)
        else:
            a, n = period.intervals(section.certificate.interval_s)
            parts[mid] = (a, a + n)

    def mine(m: str, pairs: Iterable[tuple[int, int]]) -> tuple[Run, ...]:
        lo, hi = parts[m]
        return runs_of((i, w) for i, w in pairs if lo <= i < hi)

    entries: list[LedgerEntry] = []

    def entry(kind: str, terms: list[Term], what: str, position: int) -> None:
        if terms:
            entries.append(
                LedgerEntry(kind, tuple(terms), what, recipient, "bill", reference, position, when)  # type: ignore[arg-type]
            )

    energy_terms = []
    for mid, step in lengths.items():
        first, end = parts[mid]
        runs = runs_of((first + k, p) for k, p in enumerate(body.prices(first, end - first, step)))
        if runs:
            energy_terms.append(Term(mid, runs))
    entry("value", energy_terms, f"the energy charge {shown}: every interval at its price", 0)
    channels = {m.certificate.meter_id: m.certificate.channel for m in paid.meters}
    for j, c in enumerate(body.components):
        if isinstance(c, TieredEnergy):  # all meters, or those of the tiers' channel
            counted = [m for m in lengths if c.channel is None or channels[m] == c.channel]
            if not counted:  # such a bill does not verify
                continue
            step = common_interval([lengths[m] for m in counted])
            first, count = period.intervals(step)
            idx = tiered_indices(body, c, first, count, step)
            terms = [Term(m, mine(m, ((first + k, 1) for k in idx))) for m in counted]
            entry("value", terms, f'the consumption the tiers "{c.name}" count {shown}', j + 1)
        elif isinstance(c, HoursUse):
            step = common_interval(list(lengths.values()))
            first, count = period.intervals(step)
            idx = tiered_indices(body, c, first, count, step)
            terms = [Term(m, mine(m, ((first + k, 1) for k in idx))) for m in lengths]
            entry("value", terms, f'the consumption the tiers "{c.name}" count {shown}', j + 1)
            every = [Term(m, mine(m, ((first + k, 1) for k in range(count)))) for m in lengths]
            entry("peak", every, f'the billing demand of "{c.name}" {shown}', j + 1)
        elif isinstance(c, Demand):
            step = common_interval(list(lengths.values()))
            first, count = period.intervals(step)
            for w, idx in enumerate(demand_windows(body, c, first, count, step)):
                terms = [Term(m, mine(m, ((first + k, 1) for k in idx))) for m in lengths]
                name = c.windows[w].name
                entry(
                    "peak",
                    terms if idx else [],
                    f'the largest demand in the window "{name}" of "{c.name}" {shown}',
                    j + 1,
                )
    ledger.record(entries, lengths)
    return entries


# --- the customer side -----------------------------------------------------------------------


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
    _check_consent(consent, req, rh, "", "consent")
    chosen = [(k, req.statements[k]) for k in consent.statements]
    intervals = {
        k: statement_intervals(req, s, tariffs, provider, f"statement {k}") for k, s in chosen
    }
    entries = [statement_entry(req, k, s, intervals[k], tariffs, at=consent.at) for k, s in chosen]
    lengths = {m.meter_id: m.interval_s for m in req.meters}
    ledger.check(entries, lengths, policy, req.tz)
    paid: Bill | None = None
    bill_hash: bytes | None = None
    if bill is not None:
        paid, encoded = _decode_bill(bill)
        bill_hash = PaymentMessage.hash_of(encoded)
        if isinstance(paid, RegisterBill) and not paid.carries_readings:
            # A register bill has no seals to name: the answer carries the sealed readings and
            # stands on its own.
            paid, bill_hash = None, None
    by_meter = {s.certificate.meter_id: s for s in sealed}
    if len(by_meter) != len(sealed):
        raise UsageError("sealed readings of the same meter given twice", obj="sealed readings")

    evidence: list[MeterEvidence] = []
    views: dict[str, _MeterView] = {}
    opened: dict[str, tuple[dict[int, int], dict[int, int]]] = {}
    for m, mid in enumerate(_meters_in_order(req, [s for _, s in chosen])):
        path = f"meters[{m}]"
        needed = sorted({i for k, s in chosen if s.meter == mid for i in intervals[k]})
        lo, hi = needed[0], needed[-1] + 1
        if paid is not None:
            cert, all_runs = _bill_runs(paid, mid, "payment message", path)
        else:
            if mid not in by_meter:
                raise UsageError(f"no sealed readings for meter {mid!r}", obj="sealed readings")
            cert, all_runs = by_meter[mid].certificate, by_meter[mid].runs
        runs = tuple(r for r in all_runs if r.seal.first < hi and r.seal.end > lo)
        view = _check_evidence(cert, runs, req, provider, lo, hi, path, "sealed readings", False)
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
        if isinstance(s, OpenReadings):
            answers.append(_prove_open(k, values, blindings, ctx))
        elif isinstance(s, Sum):
            answers.append(_prove_sum(k, values, blindings, ctx))
        elif isinstance(s, WeightedSum):
            answers.append(_prove_weighted(k, _expanded_weights(req, s), values, blindings, ctx))
        else:
            points = views[s.meter].select(idx)
            answers.append(_prove_threshold(k, s, values, blindings, points, ctx))
    response = DisclosureResponse(rh, consent, tuple(evidence), tuple(answers), bill_hash)
    ledger.record([e for e in entries if e.terms], lengths)  # all-zero weights reveal nothing
    return response


# --- the verifier ----------------------------------------------------------------------------


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
        kind = a.kind if isinstance(a, RevealedSum) else a.KIND
        if kind != s.KIND:
            raise DisclosureScopeError(
                f"statement {k} asks for {s.KIND!r}, the answer is {kind!r}",
                obj=obj,
                field=f"answers[{j}].kind",
            )
        if (
            isinstance(a, OpenedReadings)
            and isinstance(s, OpenReadings)
            and len(a.values) != len(s.indices)
        ):
            raise DisclosureScopeError(
                f"{len(a.values)} readings opened, {len(s.indices)} requested",
                obj=obj,
                field=f"answers[{j}].values",
            )
    if len(resp.answers) < len(chosen):
        raise DisclosureScopeError(
            f"statement {chosen[len(resp.answers)][0]} was consented but not answered",
            obj=obj,
            field="answers",
        )
    expected = _meters_in_order(req, [s for _, s in chosen])
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


def _referenced_runs(
    ref: SealReferences, bill: Bill, path: str
) -> tuple[MeterCertificate, tuple[SealedRun, ...]]:
    cert, runs = _bill_runs(bill, ref.meter_id, RESPONSE_OBJ, f"{path}.meter_id")
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
    _check_consent(consent, req, rh, "consent", RESPONSE_OBJ, customer_key)
    chosen = [(k, req.statements[k]) for k in consent.statements]
    _check_scope(resp, req, chosen)
    intervals = {
        k: statement_intervals(req, s, tariffs, provider, f"statement {k}") for k, s in chosen
    }

    paid: Bill | None = None
    if resp.bill_hash is not None:
        if bill is None:
            raise UsageError(
                "the response refers to a payment message: supply the bill", obj=RESPONSE_OBJ
            )
        paid, bill_bytes = _decode_bill(bill)
        if PaymentMessage.hash_of(bill_bytes) != resp.bill_hash:
            raise BillReferenceError(
                "response refers to another payment message", obj=RESPONSE_OBJ, field="bill_hash"
            )

    views: dict[str, _MeterView] = {}
    for m, ev in enumerate(resp.meters):
        path = f"meters[{m}]"
        mid = ev.meter_id
        spans = [_range_of(intervals[k]) for k, s in chosen if s.meter == mid]
        lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
        if isinstance(ev, SealedEvidence):
            cert, runs = ev.certificate, ev.runs
        else:
            assert paid is not None  # the decoder allows references only with a bill hash
            cert, runs = _referenced_runs(ev, paid, path)
        views[mid] = _check_evidence(
            cert, runs, req, provider, lo, hi, path, RESPONSE_OBJ, check_subgroup
        )

    ch = consent.hash()
    results: list[StatementResult] = []
    for j, (a, (k, s)) in enumerate(zip(resp.answers, chosen, strict=True)):
        path = f"answers[{j}]"
        idx = intervals[k]
        points = views[s.meter].select(idx)
        ctx = statement_context(rh, ch, k, s, req.period)
        if isinstance(a, OpenedReadings):
            _verify_open(a, points, ctx, path)
            pairs = tuple(zip(idx, a.values, strict=True))
            results.append(StatementResult(k, s.KIND, s.meter, len(idx), readings=pairs))
        elif isinstance(a, RevealedSum) and isinstance(s, WeightedSum):
            _verify_weighted(a, _expanded_weights(req, s), points, ctx, path)
            results.append(StatementResult(k, s.KIND, s.meter, len(idx), value=a.value))
        elif isinstance(a, RevealedSum):
            _verify_sum(a, points, ctx, path)
            results.append(StatementResult(k, s.KIND, s.meter, len(idx), value=a.value))
        else:
            assert isinstance(a, RangeAnswer) and isinstance(s, Threshold)
            _verify_threshold(a, s, points, ctx, path)
            results.append(StatementResult(k, s.KIND, s.meter, len(idx), holds=True))

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
