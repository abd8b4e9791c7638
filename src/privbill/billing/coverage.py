"""Seal structure: one meter's sealed runs must cover an interval range exactly, in order, as one
unbroken hash chain of that meter's seals. Shared by the prover (to fail early with a clear
message) and the verifier."""

from __future__ import annotations

from collections.abc import Sequence

from privbill.errors import CoverageError, SealChainError
from privbill.model.seals import SealedRun

OBJ = "payment message"


def check_runs(
    runs: Sequence[SealedRun],
    meter_id: str,
    interval_s: int,
    first: int,
    count: int,
    path: str,
    attributes: int = 0,
) -> None:
    """Raise a :class:`CoverageError` or :class:`SealChainError` naming the run at fault."""
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
            what = "overlaps the previous run" if k else "starts before the billing period"
            raise CoverageError(
                f"run {what} (interval {s.first}, expected {expected})",
                obj=OBJ,
                field=f"{where}.first",
            )
        if s.first > expected:
            what = "gap before this run" if k else "the billing period starts before the first run"
            raise CoverageError(
                f"{what} (interval {s.first}, expected {expected})", obj=OBJ, field=f"{where}.first"
            )
        if s.end > end:
            raise CoverageError(
                "run extends past the end of the billing period", obj=OBJ, field=f"{where}.count"
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
            f"runs end at interval {expected}, the billing period at {end}",
            obj=OBJ,
            field=f"{path}.runs",
        )
