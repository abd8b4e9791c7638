"""1-of-n OR composition of linear relations (Cramer–Damgård–Schoenmakers).

The prover knows a witness for one clause (a :class:`~privbill.crypto.sigma.Instance`) out of
``n`` and proves that *some* clause holds without revealing which:

* every clause ``j`` gets a commitment ``T_j = map_j(k_j) - e_j * image_j`` from fresh nonces
  ``k_j`` and a pre-chosen challenge ``e_j``, which is random for the other clauses and zero for
  the real one. For the other clauses this is the Sigma-protocol simulator
  (``SimulateCommitment`` with response ``k_j``), for the real clause the honest commitment;
* the Fiat–Shamir challenge ``c`` is squeezed from a duplex sponge (:mod:`transcript`) that has
  absorbed all clauses and all commitments;
* the real clause takes the challenge ``c - sum(e_j)``, so that the clause challenges
  ``c_j = e_j + [j real] * (c - sum(e))`` sum to ``c`` modulo q, and every response is
  ``z_j = k_j + c_j * w_j`` with ``w_j`` the real witness or the zero vector.

Real and simulated clauses run through the same operations in the same order; only the values
differ (a pre-chosen challenge multiplied by zero, a witness replaced by zeros). Python integers
are not constant-time, so this removes the branch on the secret index but not every timing
difference.

The NARG string is compact: ``c_0 || ... || c_{n-1} || z_0 || ... || z_{n-1}`` (32-byte
big-endian scalars). The verifier recomputes every ``T_j = map_j(z_j) - c_j * image_j``, rejects
an identity element, re-derives ``c`` and checks ``sum(c_j) == c``.

The session identifier is derived from the tag
``privbill/v1/or-proof/<label>-CDS-with-sigma-proofs_Shake128_BLS12381/ctx:<hex(context)>``;
the statement absorbed first is ``LE(n, 4)`` followed by each clause's
``SerializeVarLenString(SerializeLinearRelation(clause))``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Final

from privbill.crypto import group, pedersen, sigma, transcript
from privbill.crypto.group import Point
from privbill.crypto.sigma import (
    SYSTEM_RNG,
    Instance,
    RelationLike,
    ScalarRng,
    SigmaError,
    as_instance,
)
from privbill.crypto.transcript import NS, CodecError, Transcript

#: Protocol name under ``privbill/v1/``.
OR_PROTOCOL: Final = "or-proof"
#: Flavor marker of the OR composition's NARG strings.
OR_MARKER: Final = "CDS"

_Q: Final = group.ORDER


def or_tag(label: str, context: bytes = b"") -> bytes:
    """The tag of an OR proof over clauses of kind ``label`` (lower-case, e.g. ``"table"``)."""
    return sigma.application_tag(f"{OR_PROTOCOL}/{label}", OR_MARKER, context)


def _instances(clauses: Sequence[RelationLike]) -> list[Instance]:
    if not clauses:
        raise SigmaError("an OR statement needs at least one clause")
    if len(clauses) >= 2**32:
        raise SigmaError("too many clauses")
    return [as_instance(c) for c in clauses]


def statement_bytes(clauses: Sequence[RelationLike]) -> bytes:
    """The encoded OR statement: ``LE(n, 4) || SerializeVarLenString(clause_j)...``."""
    instances = _instances(clauses)
    parts = [transcript.le(len(instances), 4)]
    parts.extend(transcript.serialize_varlen(inst.to_bytes()) for inst in instances)
    return b"".join(parts)


def derive_or_challenge(
    tag: bytes, clauses: Sequence[RelationLike], commitment_bytes: bytes
) -> int:
    """The Fiat–Shamir challenge of an OR proof."""
    t = Transcript.from_tag(tag)
    t.absorb_instance(statement_bytes(clauses))
    t.absorb_bytes(commitment_bytes)
    return t.challenge()


# --- interactive ---------------------------------------------------------------------------


class OrProverState:
    """Secret state between the OR commitment and response (single use)."""

    __slots__ = ("_bits", "_nonces", "_pre_challenges", "_used", "_witnesses")

    def __init__(
        self,
        bits: list[int],
        nonces: list[list[int]],
        pre_challenges: list[int],
        witnesses: list[list[int]],
    ) -> None:
        self._bits = bits
        self._nonces = nonces
        self._pre_challenges = pre_challenges
        self._witnesses = witnesses
        self._used = False

    def __repr__(self) -> str:
        return "OrProverState(<secret>)"

    def respond(self, challenge: int) -> tuple[list[int], list[list[int]]]:
        if self._used:
            raise SigmaError("OR prover state already used")
        self._used = True
        real_challenge = (challenge - sum(self._pre_challenges)) % _Q
        challenges: list[int] = []
        responses: list[list[int]] = []
        for bit, nonces, pre, witness in zip(
            self._bits, self._nonces, self._pre_challenges, self._witnesses, strict=True
        ):
            c_j = (pre + bit * real_challenge) % _Q
            challenges.append(c_j)
            responses.append([(k + c_j * w) % _Q for k, w in zip(nonces, witness, strict=True)])
        self._nonces, self._witnesses = [], []
        return challenges, responses


def or_commit(
    clauses: Sequence[RelationLike],
    index: int,
    witness: Sequence[int],
    rng: ScalarRng = SYSTEM_RNG,
    *,
    check_witness: bool = True,
) -> tuple[list[list[Point]], OrProverState]:
    """First move: one commitment vector per clause; ``witness`` satisfies clause ``index``."""
    instances = _instances(clauses)
    if not 0 <= index < len(instances):
        raise SigmaError("clause index out of range")
    for inst in instances:
        inst.validate()
    if len(witness) != instances[index].num_scalars:
        raise SigmaError("witness length does not match the chosen clause")
    real_witness = [w % _Q for w in witness]

    bits: list[int] = []
    witnesses: list[list[int]] = []
    nonces: list[list[int]] = []
    pre_challenges: list[int] = []
    commitments: list[list[Point]] = []
    for j, inst in enumerate(instances):
        bit = int(j == index)
        w_j = real_witness if bit else [0] * inst.num_scalars
        if check_witness and not all(
            group.is_identity(p) for p in sigma.simulate_commitment(inst, w_j, bit)
        ):  # map(w_j) == bit * image: the real clause holds, the zero vector is trivial
            raise SigmaError("the witness does not satisfy the chosen clause")
        k_j = [rng.random_scalar() for _ in range(inst.num_scalars)]
        e_j = rng.random_scalar() * (1 - bit)
        commitments.append(sigma.simulate_commitment(inst, k_j, e_j))
        bits.append(bit)
        witnesses.append(w_j)
        nonces.append(k_j)
        pre_challenges.append(e_j)
    return commitments, OrProverState(bits, nonces, pre_challenges, witnesses)


def or_respond(state: OrProverState, challenge: int) -> tuple[list[int], list[list[int]]]:
    """Third move: the clause challenges (summing to ``challenge``) and responses."""
    return state.respond(challenge)


def or_verifier(
    clauses: Sequence[RelationLike],
    commitments: Sequence[Sequence[Point]],
    challenge: int,
    challenges: Sequence[int],
    responses: Sequence[Sequence[int]],
) -> bool:
    """The interactive verifier: every clause transcript accepts and the challenges sum to
    ``challenge``."""
    try:
        instances = _instances(clauses)
    except SigmaError:
        return False
    n = len(instances)
    if len(commitments) != n or len(challenges) != n or len(responses) != n:
        return False
    if sum(challenges) % _Q != challenge % _Q:
        return False
    return all(
        sigma.verifier(inst, commitments[j], challenges[j], responses[j])
        for j, inst in enumerate(instances)
    )


def or_simulate(
    clauses: Sequence[RelationLike], challenge: int, rng: ScalarRng = SYSTEM_RNG
) -> tuple[list[list[Point]], list[int], list[list[int]]]:
    """Honest-verifier simulator: an accepting transcript for ``challenge`` without a witness."""
    instances = _instances(clauses)
    challenges = [rng.random_scalar() for _ in instances[1:]]
    challenges.insert(0, (challenge - sum(challenges)) % _Q)
    responses = [sigma.simulate_response(inst, rng) for inst in instances]
    commitments = [
        sigma.simulate_commitment(inst, z, c)
        for inst, z, c in zip(instances, responses, challenges, strict=True)
    ]
    return commitments, challenges, responses


# --- non-interactive -----------------------------------------------------------------------


def proof_length(clauses: Sequence[RelationLike]) -> int:
    """Bytes of an OR proof: ``32 * (n + sum(num_scalars))``."""
    instances = _instances(clauses)
    return NS * (len(instances) + sum(inst.num_scalars for inst in instances))


def prove_or(
    clauses: Sequence[RelationLike],
    index: int,
    witness: Sequence[int],
    *,
    label: str = "generic",
    context: bytes = b"",
    rng: ScalarRng = SYSTEM_RNG,
) -> bytes:
    """A non-interactive proof that one of ``clauses`` holds (the one at ``index``)."""
    instances = _instances(clauses)
    tag = or_tag(label, context)
    commitments, state = or_commit(instances, index, witness, rng)
    try:
        commitment_bytes = b"".join(transcript.encode_points(t) for t in commitments)
    except CodecError:  # probability about 2^-255
        raise SigmaError("degenerate commitment; prove again") from None
    challenge = derive_or_challenge(tag, instances, commitment_bytes)
    challenges, responses = or_respond(state, challenge)
    flat = [z for resp in responses for z in resp]
    return transcript.encode_scalars([*challenges, *flat])


def verify_or(
    clauses: Sequence[RelationLike],
    proof: bytes,
    *,
    label: str = "generic",
    context: bytes = b"",
) -> bool:
    """Verify an OR proof; ``False`` for any invalid clause or malformed proof."""
    try:
        instances = _instances(clauses)
    except SigmaError:
        return False
    if not all(inst.is_valid() for inst in instances):
        return False
    n = len(instances)
    if len(proof) != proof_length(instances):
        return False
    try:
        scalars = transcript.decode_scalars(proof, len(proof) // NS)
    except CodecError:
        return False
    challenges = scalars[:n]
    pos = n
    encoded: list[bytes] = []
    for inst, c_j in zip(instances, challenges, strict=True):
        z_j = scalars[pos : pos + inst.num_scalars]
        pos += inst.num_scalars
        for point in sigma.simulate_commitment(inst, z_j, c_j):
            if group.is_identity(point):
                return False
            encoded.append(group.encode_point(point))
    challenge = derive_or_challenge(or_tag(label, context), instances, b"".join(encoded))
    return sum(challenges) % _Q == challenge


# --- batchable OR: one of several commitments is to zero ------------------------------------
#
# The clauses are ``X_j = w_j·H`` for points ``X_j`` whose openings ``X_j = v_j·G + w_j·H`` the
# prover knows for every ``j`` (as when each ``X_j`` is a public linear combination of the
# prover's own commitments); the real clause has ``v_j = 0``. The proof is in batchable form,
# ``T_0..T_{n-1} ‖ c_0..c_{n-2} ‖ z_0..z_{n-1}`` (``c_{n-1}`` is the challenge minus the others),
# on the caller's transcript: the caller absorbs the statement, the prover absorbs the ``T``
# bytes and draws the challenge. Knowing the openings, the prover computes every
# ``T_j = −e_j·v_j·G + k_j·H`` with the fixed-base tables of ``G`` and ``H`` alone; the
# verifier never forms an ``X_j``: it returns the clause equations ``z_j·H = T_j + c_j·X_j``,
# weighted, as coefficients of the bases ``X_j`` is made of, for one multi-scalar
# multiplication with the caller's other equations.

#: Terms of a weighted equation ``Σ s_k·B_k + g·G + h·H = 0``: ``(bases, scalars, g, h)``.
Terms = tuple[list[Point], list[int], int, int]


def zero_or_length(n: int) -> tuple[int, int]:
    """``(points, scalars)`` of a batchable OR proof over ``n`` clauses."""
    return n, 2 * n - 1


def prove_zero_or(t: Transcript, openings: Sequence[tuple[int, int]], index: int) -> bytes:
    """A batchable OR proof that ``X_index = w·H``, given the opening ``(v_j, w_j)`` of every
    clause point ``X_j`` (``v_index`` is 0)."""
    commitments: list[bytes] = []
    pre: list[int] = []
    nonces: list[int] = []
    for j, (v, _) in enumerate(openings):
        e_j = group.random_scalar() * (j != index)
        k_j = group.random_scalar()
        commitments.append(pedersen.commit_bytes(-e_j * v, k_j))
        pre.append(e_j)
        nonces.append(k_j)
    t.absorb_bytes(b"".join(commitments))
    e = t.challenge()
    challenges = [(e - sum(pre) + p) % _Q if j == index else p for j, p in enumerate(pre)]
    responses = [
        (k + c * w) % _Q for k, c, (_, w) in zip(nonces, challenges, openings, strict=True)
    ]
    return b"".join(commitments) + transcript.encode_scalars([*challenges[:-1], *responses])


def zero_or_terms(
    t: Transcript,
    commitment_bytes: bytes,
    commitments: Sequence[Point],
    scalars: Sequence[int],
    bases: Sequence[Point],
    images: Sequence[tuple[Sequence[int], int]],
) -> Terms:
    """The weighted clause equations of a batchable OR proof (decoded into ``commitments``, the
    ``T_j`` as sent in ``commitment_bytes``, and ``scalars``, ``c_0..c_{n-2} ‖ z_0..z_{n-1}``)
    whose clause ``j`` is ``X_j = Σ_m a_{j,m}·bases[m] + g_j·G``, ``images[j] = (a_j, g_j)``.

    With random 128-bit weights they hold when every clause transcript accepts and otherwise
    only with probability about 2^-128; the challenges add up to the transcript's by
    construction."""
    n = len(images)
    t.absorb_bytes(commitment_bytes)
    e = t.challenge()
    challenges = list(scalars[: n - 1])
    challenges.append((e - sum(challenges)) % _Q)
    responses = scalars[n - 1 :]
    coef_b = [0] * len(bases)
    coef_g = coef_h = 0
    out_scalars: list[int] = []
    for c, z, (row, g) in zip(challenges, responses, images, strict=True):
        rho = secrets.randbits(128)
        rc = rho * c
        coef_h += rho * z
        coef_g -= rc * g
        for m, a in enumerate(row):
            coef_b[m] -= rc * a
        out_scalars.append(-rho)
    return [*commitments, *bases], [*out_scalars, *coef_b], coef_g, coef_h
