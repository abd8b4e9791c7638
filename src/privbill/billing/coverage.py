"""The evidence of sealed readings, checked in one place for every party: one meter's sealed runs
must cover an interval range exactly, in order, as one unbroken hash chain of that meter's seals
(:func:`check_runs`); each seal's signature verifies under the certified meter key, each run's
commitments are those its seal hashes, and the commitments decode to group points
(:func:`check_evidence`). Shared by the prover (to fail early with a clear message), the bill
verifiers (both payment message formats) and disclosure answers and their verifier; each names
its own object in the errors. Messages name local times in the tariff's timezone (the interval
index only as a detail)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from privbill.crypto import group
from privbill.crypto.group import Point
from privbill.crypto.signatures import VerifyingKey
from privbill.errors import CertificateError, CommitmentError, CoverageError, SealChainError
from privbill.model.certificates import MeterCertificate
from privbill.model.periods import interval_time, local_time
from privbill.model.seals import SealedRun

UTC = ZoneInfo("UTC")

OBJ = "payment message"


def check_runs(
    runs: Sequence[SealedRun],
    meter_id: str,
    interval_s: int,
    first: int,
    count: int,
    path: str,
    attributes: int = 0,
    tz: ZoneInfo = UTC,
    obj: str = OBJ,
) -> None:
    """Raise a :class:`CoverageError` or :class:`SealChainError` naming ``obj``, the run at
    fault and, in ``tz``, the local times concerned."""

    def at(index: int) -> str:  # the start of interval ``index``
        return interval_time(index, interval_s, tz)

    def until(index: int) -> str:  # the end of the interval before ``index``
        return local_time(index * interval_s, tz)

    expected = first
    end = first + count
    prev = None
    for k, run in enumerate(runs):
        s = run.seal
        where = f"{path}.runs[{k}].seal"
        if s.meter_id != meter_id:
            raise SealChainError(
                f"seal of meter {s.meter_id!r}, not {meter_id!r}",
                obj=obj,
                field=f"{where}.meter_id",
            )
        if s.interval_s != interval_s:
            raise SealChainError(
                f"seal interval {s.interval_s} s differs from the certificate's {interval_s} s",
                obj=obj,
                field=f"{where}.interval_s",
            )
        if s.attributes != attributes:
            raise SealChainError(
                f"seal carries {s.attributes} attribute(s) per interval, the certificate {attributes}",
                obj=obj,
                field=f"{where}.attributes",
            )
        if s.first < expected:
            if k:
                msg = (
                    f"run starts at {at(s.first)}, inside the previous run, "
                    f"which ends at {until(expected)}"
                )
            else:
                msg = (
                    f"the first run starts at {at(s.first)}, before the billing period "
                    f"starts at {until(expected)}"
                )
            raise CoverageError(msg, obj=obj, field=f"{where}.first")
        if s.first > expected:
            what = "gap before this run" if k else "the billing period starts before the first run"
            raise CoverageError(
                f"{what}: no sealed readings from {at(expected)} until {until(s.first)}",
                obj=obj,
                field=f"{where}.first",
            )
        if s.end > end:
            raise CoverageError(
                f"run ends at {until(s.end)}, after the billing period ends at {until(end)}",
                obj=obj,
                field=f"{where}.count",
            )
        if prev is not None:
            if s.seq != prev.seq + 1:
                raise SealChainError(
                    f"sequence number {s.seq} does not follow {prev.seq}",
                    obj=obj,
                    field=f"{where}.seq",
                )
            if s.prev != prev.chain_hash():
                raise SealChainError(
                    "hash chain broken: prev is not the previous seal's hash",
                    obj=obj,
                    field=f"{where}.prev",
                )
        prev = s
        expected = s.end
    if expected != end:
        raise CoverageError(
            f"the sealed runs end at {until(expected)}, before the billing period ends at "
            f"{until(end)}: no sealed readings from {at(expected)}",
            obj=obj,
            field=f"{path}.runs",
        )


def check_certificate(
    cert: MeterCertificate,
    provider: VerifyingKey,
    account: str,
    seen: set[str],
    path: str,
    obj: str,
) -> None:
    """A bill's meter section certificate: a meter at most once per bill (``seen`` collects
    the meter ids), signed by the provider, for the bill's account."""
    if cert.meter_id in seen:
        raise CertificateError(
            f"meter {cert.meter_id!r} appears twice", obj=obj, field=f"{path}.certificate.meter_id"
        )
    seen.add(cert.meter_id)
    cert.verify(provider, f"{path}.certificate")
    if cert.account != account:
        raise CertificateError(
            f"meter {cert.meter_id!r} belongs to account {cert.account!r}",
            obj=obj,
            field=f"{path}.certificate.account",
        )


#: How sealed commitments are decoded: onto the curve (enough for the prover and by default for
#: verifiers, ``docs/security.md``), also checked to be in the prime-order subgroup, or not at
#: all (a prover whose openings were checked on receipt and whose tariff needs no points).
PointCheck = Literal["curve", "subgroup", "none"]


@dataclass(frozen=True, slots=True)
class SealedPoints:
    """The decoded commitments of the intervals ``[lo, hi)`` of one meter's checked runs, and
    (when asked for) the commitments of their private attributes, ``k`` per interval."""

    lo: int
    hi: int
    points: list[Point]
    attributes: list[Point]

    def select(self, indices: Sequence[int]) -> list[Point]:
        """The commitments of ``indices`` (each in ``[lo, hi)``), in the order given."""
        if isinstance(indices, range):
            return self.points[indices.start - self.lo : indices.stop - self.lo]
        lo, pts = self.lo, self.points
        return [pts[i - lo] for i in indices]


def check_evidence(
    cert: MeterCertificate,
    runs: Sequence[SealedRun],
    first: int,
    count: int,
    *,
    path: str,
    obj: str,
    tz: ZoneInfo = UTC,
    points: PointCheck = "curve",
    attributes: bool = False,
    window: tuple[int, int] | None = None,
) -> SealedPoints:
    """Check one meter's sealed readings of the intervals ``[first, first + count)`` against
    its certificate ``cert`` (whose own signature, account and validity the caller has checked:
    those differ by party): the certificate is valid for those intervals, the runs cover them
    exactly as one hash chain (:func:`check_runs`), every seal's signature verifies under the
    certified meter key, every run's commitments are those its seal hashes; then decode the
    commitments of ``window`` (default: all of them) and, with ``attributes``, their attribute
    commitments. The certificate must be valid for the intervals of ``window``, the runs must
    cover ``[first, first + count)``. Every error names ``obj`` and the field under ``path``."""
    step = cert.interval_s
    lo, hi = window if window is not None else (first, first + count)
    cert.check_covers(lo * step, hi * step, f"{path}.certificate")
    k_attr = len(cert.attributes)
    check_runs(runs, cert.meter_id, step, first, count, path, k_attr, tz, obj)
    for k, run in enumerate(runs):
        run.seal.verify_signature(cert.public_key, f"{path}.runs[{k}].seal")
        run.check_commitments(f"{path}.runs[{k}]")
    if points == "none":
        return SealedPoints(lo, hi, [], [])
    decode = group.decode_points if points == "subgroup" else group.decode_points_on_curve
    pb = group.POINT_BYTES
    size = k_attr * pb if attributes else 0
    commitments: list[tuple[int, bytes]] = []
    attribute_commitments: list[tuple[int, bytes]] = []
    for k, run in enumerate(runs):
        if len(run.commitments) != run.seal.count * pb:
            raise CommitmentError(
                f"expected {run.seal.count} commitments of {pb} bytes",
                obj=obj,
                field=f"{path}.runs[{k}].commitments",
            )
        if size and len(run.attributes) != run.seal.count * size:
            raise CommitmentError(
                f"expected {run.seal.count * k_attr} attribute commitments of {pb} bytes",
                obj=obj,
                field=f"{path}.runs[{k}].attributes",
            )
        a, b = max(run.seal.first, lo) - run.seal.first, min(run.seal.end, hi) - run.seal.first
        if a < b:
            commitments.append((k, run.commitments[a * pb : b * pb]))
            if size:
                attribute_commitments.append((k, run.attributes[a * size : b * size]))
    return SealedPoints(
        lo,
        hi,
        _decode_parts(decode, commitments, path, obj, "commitments"),
        _decode_parts(decode, attribute_commitments, path, obj, "attributes"),
    )


def _decode_parts(
    decode: Callable[[bytes, int], list[Point]],
    parts: Sequence[tuple[int, bytes]],
    path: str,
    obj: str,
    what: str,
) -> list[Point]:
    """Decode the runs' parts in one call (one batch, as for a single run); if that fails,
    name the run at fault."""
    if not parts:
        return []
    pb = group.POINT_BYTES
    data = b"".join(part for _, part in parts)
    try:
        return decode(data, len(data) // pb)
    except group.GroupError as whole:
        for k, part in parts:
            try:
                decode(part, len(part) // pb)
            except group.GroupError as exc:
                raise CommitmentError(str(exc), obj=obj, field=f"{path}.runs[{k}].{what}") from None
        raise CommitmentError(str(whole), obj=obj, field=f"{path}.runs") from None
