"""Range proofs of a whole bill checked as one batch, and the checks that must wait for them.

The demand components of a bill each carry Bulletproof range proofs over the same vector
generators. Verified one by one, a bill with two demand components pays two multi-scalar
multiplications whose generator halves overlap; verified as one batch
(:func:`privbill.crypto.bulletproofs.batch_verify`) the shared generators' coefficients add up and
the bill pays one MSM the size of its largest proof.

A component that hands its range proofs to a :class:`RangeBatch` also hands it the checks that
rely on them (a demand window's tier parts are checked only once its peak is known to bound the
window's load), so errors are named in the same order as when each component settles its own
proofs: first a range proof that fails (by component and window), then what came after it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from privbill.crypto import bulletproofs
from privbill.crypto.group import Point
from privbill.errors import ComponentProofError


@dataclass(slots=True)
class _Pending:
    statement: bulletproofs.RangeStatement
    proof: bytes
    obj: str
    field: str
    message: str


@dataclass(slots=True)
class RangeBatch:
    """Range proofs collected from several components, verified together by :meth:`settle`."""

    _ranges: list[_Pending] = field(default_factory=list)
    _after: list[Callable[[], Point]] = field(default_factory=list)

    def add(
        self,
        statement: bulletproofs.RangeStatement,
        proof: bytes,
        *,
        obj: str,
        field: str,
        message: str,
    ) -> None:
        """Queue a range proof; if it fails, :meth:`settle` raises ``ComponentProofError(message)``
        naming ``obj`` and ``field``."""
        self._ranges.append(_Pending(statement, proof, obj, field, message))

    def add_chunked(
        self,
        statements: Sequence[bulletproofs.RangeStatement],
        proof: bytes,
        *,
        obj: str,
        field: str,
        message: str,
    ) -> None:
        """Queue the chunks of a :func:`~privbill.crypto.bulletproofs.prove_chunked_values`
        proof; a proof of the wrong length fails like a proof that does not verify."""
        parts = bulletproofs.split_chunked_proof(statements, proof)
        if parts is None:
            raise ComponentProofError(
                f"{message} (it is not {len(statements)} chunk proof(s) of the statement's sizes)",
                obj=obj,
                field=field,
            )
        for st, part in zip(statements, parts, strict=True):
            self.add(st, part, obj=obj, field=field, message=message)

    def after(self, check: Callable[[], Point]) -> None:
        """Queue a check that may run only once every queued range proof holds; the point it
        returns (a fee commitment) is among those :meth:`settle` returns."""
        self._after.append(check)

    def settle(self) -> list[Point]:
        """Verify every queued range proof (one MSM; a failing batch is re-checked proof by proof
        to name the first that fails), then run the queued checks in order and return their
        points. The batch is empty afterwards."""
        ranges, after = self._ranges, self._after
        self._ranges, self._after = [], []
        _check(ranges)
        return [check() for check in after]


def _check(pending: list[_Pending]) -> None:
    if not pending:
        return
    if len(pending) > 1 and bulletproofs.batch_verify((p.statement, p.proof) for p in pending):
        return
    for p in pending:
        if not bulletproofs.verify_statement(p.statement, p.proof):
            raise ComponentProofError(p.message, obj=p.obj, field=p.field)
    if len(pending) > 1:  # every proof verifies alone: the batch cannot have failed
        raise ComponentProofError(
            "range proofs do not verify together", obj=pending[0].obj, field=pending[0].field
        )
