"""Seal structure: one meter's sealed runs must cover an interval range exactly, in order, as one
unbroken hash chain of that meter's seals. Shared by the prover (to fail early with a clear
message) and the verifier. Messages name local times in the tariff's timezone (the interval index
only as a detail)."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from privbill.crypto.signatures import VerifyingKey
from privbill.errors import CertificateError, CoverageError, SealChainError
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
) -> None:
    """Raise a :class:`CoverageError` or :class:`SealChainError` naming the run at fault and,
    in ``tz``, the local times concerned."""

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
                obj=OBJ,
                field=f"{where}.meter_id",
            )
        if s.interval_s != interval_s:
            raise SealChainError(
                f"seal interval {s.interval_s} s differs from the certificate's {interval_s} s",
                obj=OBJ,
                field=f"{where}.interval_s",
            )
        if s.attributes != attributes:
            raise SealChainError(
                f"seal carries {s.attributes} attribute(s) per interval, the certificate {attributes}",
                obj=OBJ,
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
            raise CoverageError(msg, obj=OBJ, field=f"{where}.first")
        if s.first > expected:
            what = "gap before this run" if k else "the billing period starts before the first run"
            raise CoverageError(
                f"{what}: no sealed readings from {at(expected)} until {until(s.first)}",
                obj=OBJ,
                field=f"{where}.first",
            )
        if s.end > end:
            raise CoverageError(
                f"run ends at {until(s.end)}, after the billing period ends at {until(end)}",
                obj=OBJ,
                field=f"{where}.count",
            )
        if prev is not None:
            if s.seq != prev.seq + 1:
                raise SealChainError(
                    f"sequence number {s.seq} does not follow {prev.seq}",
                    obj=OBJ,
                    field=f"{where}.seq",
                )
            if s.prev != prev.chain_hash():
                raise SealChainError(
                    "hash chain broken: prev is not the previous seal's hash",
                    obj=OBJ,
                    field=f"{where}.prev",
                )
        prev = s
        expected = s.end
    if expected != end:
        raise CoverageError(
            f"the sealed runs end at {until(expected)}, before the billing period ends at "
            f"{until(end)}: no sealed readings from {at(expected)}",
            obj=OBJ,
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
