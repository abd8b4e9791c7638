"""The proofs disclosure answers are made of (``docs/disclosure.md`` §3.4, §4): the statement
context every proof is bound to, the compact Sigma proof that binds a revealed value to the
combination of sealed commitments the verifier derives, the weights that combine opened
readings, and aggregated range proofs in power-of-two groups."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

from privbill.crypto import bulletproofs, gadgets, group, pedersen
from privbill.crypto.group import Point
from privbill.crypto.hashing import digest
from privbill.crypto.pedersen import Opening
from privbill.crypto.sigma import Flavor, SigmaError
from privbill.disclosure.model import Statement, statement_bytes
from privbill.errors import UsageError
from privbill.model.periods import BillingPeriod

CONTEXT_PURPOSE: Final = "disclosure-statement-context"
#: Seed of the weights ``ρ_i`` that combine opened readings (:func:`open_weights`).
OPEN_WEIGHTS_PURPOSE: Final = "disclosure-open-weights"
Q: Final = group.ORDER


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


# --- range proofs (aggregated Bulletproofs) --------------------------------------------------


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


def prove_ranges(
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


def verify_ranges(points: list[Point], bits: int, proofs: Sequence[bytes], context: bytes) -> bool:
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


def prove_reveal(value: int, blinding: int, context: bytes) -> bytes:
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
            [1], [point], [Opening(value % Q, blinding)], value, context=context,
            flavor=Flavor.COMPACT,
        )  # fmt: skip
    except SigmaError as exc:  # P − V·G the identity: probability about 2^-255
        raise UsageError(f"cannot prove a revealed value: {exc}", obj="disclosure") from None


def verify_reveal(point: Point, value: int, proof: bytes, context: bytes) -> bool:
    try:
        return gadgets.verify_linear(
            [1], [point], value, proof, context=context, flavor=Flavor.COMPACT
        )
    except SigmaError:
        return False


def open_weights(context: bytes, values: Sequence[int]) -> list[int]:
    """Weights ``ρ_i ∈ [1, 2^128]`` derived from the statement context and the revealed values:
    fixed only after the values are, so a wrong value survives ``Σ ρ_i·(c_i − c_i*) = 0`` with
    probability at most ``2^-128`` per attempt."""
    seed = digest(OPEN_WEIGHTS_PURPOSE, context, b"".join(v.to_bytes(4, "big") for v in values))
    stream = hashlib.shake_256(seed).digest(16 * len(values))
    return [1 + int.from_bytes(stream[16 * k : 16 * k + 16], "big") for k in range(len(values))]
