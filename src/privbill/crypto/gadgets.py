"""Zero-knowledge statements about Pedersen commitments ``C = v·G + r·H``.

Each gadget is a linear relation (or an OR of linear relations) written with
:class:`~privbill.crypto.sigma.LinearRelation`, proven and verified with the Sigma-protocol and
Fiat–Shamir modules under its own tag::

    privbill/v1/gadget/<name>-<flavor>-with-sigma-proofs_Shake128_BLS12381/ctx:<hex(context)>

(the table gadget is an OR proof, tagged ``privbill/v1/or-proof/table-membership-CDS-...``). The
powers gadget instead runs on a transcript the caller has started (its statement absorbed), in
batchable form, and its verifier returns weighted equations for the caller's own multi-scalar
multiplication: it serves proofs that check many statements at once.

``context`` is caller data bound into the session identifier (a meter, a billing period, a tariff
version, already encoded unambiguously by the caller): a proof made for one context does not
verify for another.

=====================  =====================================================================
gadget                 relation (witness on the right)
=====================  =====================================================================
opening                ``C = v·G + r·H``
equal                  ``C1 = v·G + r1·H``,  ``C2 = v·G + r2·H``
linear (committed)     ``Σ a_i·C_i - C_t = ρ·H``          (ρ = Σ a_i·r_i - r_t)
linear (public t)      ``Σ a_i·C_i - t·G = ρ·H``          (ρ = Σ a_i·r_i)
powers (batchable)     ``P_1 = v·G + r_1·H``, ``P_k = v·P_{k-1} + ρ_k·H`` for k = 2..d
                       (ρ_k = r_k - v·r_{k-1}: ``P_k`` holds ``v^k``)
table membership       OR over rows ``t``: ``C_i - t_i·G = r_i·H`` for every column ``i``
=====================  =====================================================================

The linear gadget proves that ``Σ a_i·C_i - C_t`` is a commitment to zero; by the binding property
of Pedersen commitments the committed values then satisfy ``Σ a_i·v_i = v_t`` modulo the group
order (callers bound their values so that no sum wraps around). Provers check their witness and
raise :class:`~privbill.crypto.sigma.SigmaError` on a false statement; verifiers return a bool.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Final

from privbill.crypto import group, oror, pedersen, sigma, transcript
from privbill.crypto.group import Point
from privbill.crypto.pedersen import Opening
from privbill.crypto.sigma import (
    SYSTEM_RNG,
    Flavor,
    Instance,
    LinearRelation,
    ScalarRng,
    SigmaError,
)
from privbill.crypto.transcript import Transcript

#: Protocol names under ``privbill/v1/``.
OPENING: Final = "gadget/opening"
EQUAL: Final = "gadget/equal"
LINEAR: Final = "gadget/linear"
#: OR label of the table gadget: its tag is ``privbill/v1/or-proof/table-membership-CDS-...``.
TABLE_OR_LABEL: Final = "table-membership"

_Q: Final = group.ORDER


@dataclass(frozen=True, slots=True)
class Statement:
    """A gadget statement ready for the Sigma-protocol layer: the tag (session), the compiled
    relation and the NARG flavor."""

    tag: bytes
    instance: Instance
    flavor: Flavor

    def prove(self, witness: Sequence[int], rng: ScalarRng = SYSTEM_RNG) -> bytes:
        return sigma.prove(self.tag, self.instance, witness, self.flavor, rng)

    def verify(self, proof: bytes) -> bool:
        return sigma.verify(self.tag, self.instance, proof, self.flavor)


def batch_verify(items: Iterable[tuple[Statement, bytes]]) -> bool:
    """Batch verification of batchable gadget proofs (one multi-scalar multiplication)."""
    claims: list[tuple[bytes, Instance, bytes]] = []
    for statement, proof in items:
        if statement.flavor is not Flavor.BATCHABLE:
            raise SigmaError("only batchable proofs can be batch-verified")
        claims.append((statement.tag, statement.instance, proof))
    return sigma.batch_verify(claims)


def _statement(name: str, instance: Instance, context: bytes, flavor: Flavor) -> Statement:
    return Statement(sigma.application_tag(name, flavor, context), instance, flavor)


# --- knowledge of an opening ---------------------------------------------------------------


@cache
def _opening_relation() -> LinearRelation:
    rel = LinearRelation()
    v, r = rel.scalars("v", "r")
    H = rel.element("H", pedersen.generator_h())
    C = rel.element("C")
    rel.equation(C, v * rel.G + r * H)
    return rel


def opening_statement(
    commitment: Point, *, context: bytes = b"", flavor: Flavor = Flavor.BATCHABLE
) -> Statement:
    """``C = v·G + r·H``, witness ``(v, r)``."""
    return _statement(OPENING, _opening_relation().instance({"C": commitment}), context, flavor)


def prove_opening(
    commitment: Point,
    opening: Opening,
    *,
    context: bytes = b"",
    flavor: Flavor = Flavor.BATCHABLE,
    rng: ScalarRng = SYSTEM_RNG,
) -> bytes:
    """Prove knowledge of ``opening`` of ``commitment``."""
    st = opening_statement(commitment, context=context, flavor=flavor)
    return st.prove([opening.value % _Q, opening.blinding % _Q], rng)


def verify_opening(
    commitment: Point, proof: bytes, *, context: bytes = b"", flavor: Flavor = Flavor.BATCHABLE
) -> bool:
    return opening_statement(commitment, context=context, flavor=flavor).verify(proof)


def verify_openings_batch(items: Iterable[tuple[Point, bytes]], *, context: bytes = b"") -> bool:
    """Batch verification of batchable opening proofs ``(commitment, proof)`` under one
    context."""
    return batch_verify((opening_statement(c, context=context), p) for c, p in items)


# --- equality of committed values ----------------------------------------------------------


@cache
def _equal_relation() -> LinearRelation:
    rel = LinearRelation()
    v, r1, r2 = rel.scalars("v", "r1", "r2")
    H = rel.element("H", pedersen.generator_h())
    C1, C2 = rel.elements("C1", "C2")
    rel.equation(C1, v * rel.G + r1 * H)
    rel.equation(C2, v * rel.G + r2 * H)
    return rel


def equal_statement(
    c1: Point, c2: Point, *, context: bytes = b"", flavor: Flavor = Flavor.BATCHABLE
) -> Statement:
    """``C1 = v·G + r1·H`` and ``C2 = v·G + r2·H``, witness ``(v, r1, r2)``."""
    instance = _equal_relation().instance({"C1": c1, "C2": c2})
    return _statement(EQUAL, instance, context, flavor)


def prove_equal(
    c1: Point,
    c2: Point,
    opening1: Opening,
    opening2: Opening,
    *,
    context: bytes = b"",
    flavor: Flavor = Flavor.BATCHABLE,
    rng: ScalarRng = SYSTEM_RNG,
) -> bytes:
    """Prove that ``c1`` and ``c2`` commit to the same value."""
    if (opening1.value - opening2.value) % _Q:
        raise SigmaError("the two commitments hold different values")
    st = equal_statement(c1, c2, context=context, flavor=flavor)
    return st.prove([opening1.value % _Q, opening1.blinding % _Q, opening2.blinding % _Q], rng)


def verify_equal(
    c1: Point,
    c2: Point,
    proof: bytes,
    *,
    context: bytes = b"",
    flavor: Flavor = Flavor.BATCHABLE,
) -> bool:
    return equal_statement(c1, c2, context=context, flavor=flavor).verify(proof)


# --- public linear combination -------------------------------------------------------------


def linear_statement(
    coefficients: Sequence[int],
    commitments: Sequence[Point],
    target: Point | int,
    *,
    context: bytes = b"",
    flavor: Flavor = Flavor.BATCHABLE,
) -> Statement:
    """``Σ a_i·C_i - C_t = ρ·H`` (``target`` a commitment ``C_t``) or ``Σ a_i·C_i - t·G = ρ·H``
    (``target`` a public integer ``t``), witness ``ρ``.

    The coefficients and, for a public target, ``t`` enter the serialised statement as scalars.
    A committed target that *equals* ``Σ a_i·C_i`` makes the statement trivial (its image is the
    identity) and is refused: compare the points instead.
    """
    if len(coefficients) != len(commitments) or not commitments:
        raise SigmaError("one coefficient per commitment, at least one commitment")
    rel = LinearRelation()
    rho = rel.scalar("rho")
    H = rel.element("H", pedersen.generator_h())
    cs = rel.element_vector("C", commitments)
    lhs = sum((a * c for a, c in zip(coefficients, cs, strict=True)), sigma.Expr(rel))
    subtrahend = target * rel.G if isinstance(target, int) else rel.element("T", target)._expr()
    rel.equation(lhs - subtrahend, rho * H)
    return _statement(LINEAR, rel.compile(), context, flavor)


def prove_linear(
    coefficients: Sequence[int],
    commitments: Sequence[Point],
    openings: Sequence[Opening],
    target: Point | int,
    target_opening: Opening | None = None,
    *,
    context: bytes = b"",
    flavor: Flavor = Flavor.BATCHABLE,
    rng: ScalarRng = SYSTEM_RNG,
) -> bytes:
    """Prove ``Σ a_i·v_i = v_t`` (committed target, with ``target_opening``) or ``= t``."""
    if len(openings) != len(commitments) or len(coefficients) != len(commitments):
        raise SigmaError("one coefficient and one opening per commitment")
    combined_value = sum(a * o.value for a, o in zip(coefficients, openings, strict=True))
    rho = sum(a * o.blinding for a, o in zip(coefficients, openings, strict=True))
    if isinstance(target, int):
        if target_opening is not None:
            raise SigmaError("a public target has no opening")
        if (combined_value - target) % _Q:
            raise SigmaError("the linear combination does not equal the target")
    else:
        if target_opening is None:
            raise SigmaError("a committed target needs its opening")
        if (combined_value - target_opening.value) % _Q:
            raise SigmaError("the linear combination does not equal the target")
        rho -= target_opening.blinding
    st = linear_statement(coefficients, commitments, target, context=context, flavor=flavor)
    return st.prove([rho % _Q], rng)


def verify_linear(
    coefficients: Sequence[int],
    commitments: Sequence[Point],
    target: Point | int,
    proof: bytes,
    *,
    context: bytes = b"",
    flavor: Flavor = Flavor.BATCHABLE,
) -> bool:
    st = linear_statement(coefficients, commitments, target, context=context, flavor=flavor)
    return st.verify(proof)


# --- powers of a committed value ------------------------------------------------------------
#
# ``P_1 = C = v·G + r_1·H`` and ``P_k = v^k·G + r_k·H``: the product statement ``P_k = v·P_{k-1}
# + ρ_k·H`` (``ρ_k = r_k − v·r_{k-1}``) chained from ``C`` with the witness ``v`` shared, so ``d``
# powers take ``d`` equations and ``d + 1`` scalars ``(v, r_1, ρ_2..ρ_d)``. The proof is in
# batchable form, ``T_1..T_d ‖ z_v ‖ z_1 ‖ z_2..z_d``, on the caller's transcript: the caller
# absorbs the statement (the ``P_k`` among it), the prover absorbs the ``T`` bytes and draws the
# challenge. Knowing the openings of the ``P_k``, the prover computes every ``T_k`` with the
# fixed-base tables of ``G`` and ``H``; the verifier returns the equations, weighted, for one
# multi-scalar multiplication with the caller's other equations.


def powers_length(d: int) -> tuple[int, int]:
    """``(points, scalars)`` of a powers proof for ``P_1..P_d``."""
    return d, d + 1


def prove_powers(t: Transcript, value: int, blindings: Sequence[int]) -> bytes:
    """Prove that ``P_k = value^k·G + blindings[k-1]·H`` (``k = 1..d``) hold the powers of the
    value of ``P_1``."""
    d = len(blindings)
    powers = [value**k for k in range(1, d + 1)]
    nonces = [group.random_scalar() for _ in range(d + 1)]
    witness = [value, blindings[0], *(blindings[k] - value * blindings[k - 1] for k in range(1, d))]
    # T_1 = k_v·G + k_1·H;  T_k = k_v·P_{k-1} + k_k·H, from the opening of P_{k-1}
    commitments = [pedersen.commit_bytes(nonces[0], nonces[1])]
    for k in range(1, d):
        commitments.append(
            pedersen.commit_bytes(
                nonces[0] * powers[k - 1], nonces[0] * blindings[k - 1] + nonces[k + 1]
            )
        )
    t.absorb_bytes(b"".join(commitments))
    e = t.challenge()
    responses = [(k + e * w) % _Q for k, w in zip(nonces, witness, strict=True)]
    return b"".join(commitments) + transcript.encode_scalars(responses)


def powers_terms(
    t: Transcript,
    commitment_bytes: bytes,
    commitments: Sequence[Point],
    responses: Sequence[int],
    chain: Sequence[Point],
) -> oror.Terms:
    """The weighted equations of a powers proof (decoded into ``commitments``, the ``T_k`` as
    sent in ``commitment_bytes``, and ``responses``) for ``chain = (P_1..P_d)``:
    ``z_v·G + z_1·H = T_1 + e·P_1`` and ``z_v·P_{k-1} + z_k·H = T_k + e·P_k``."""
    t.absorb_bytes(commitment_bytes)
    e = t.challenge()
    z_v = responses[0]
    weights = [secrets.randbits(128) for _ in commitments]
    coef_p = [0] * len(chain)
    coef_p[0] -= weights[0] * e
    coef_h = weights[0] * responses[1]
    for k in range(1, len(commitments)):
        coef_p[k - 1] += weights[k] * z_v
        coef_p[k] -= weights[k] * e
        coef_h += weights[k] * responses[k + 1]
    scalars = [*(-w for w in weights), *coef_p]
    return [*commitments, *chain], scalars, weights[0] * z_v, coef_h


# --- membership in a public table ----------------------------------------------------------


def table_clauses(commitments: Sequence[Point], table: Sequence[Sequence[int]]) -> list[Instance]:
    """One clause per row ``t``: ``C_i - t_i·G = r_i·H`` for every column ``i``."""
    if not commitments:
        raise SigmaError("at least one commitment")
    if not table:
        raise SigmaError("the table has no rows")
    h = pedersen.generator_h()
    clauses: list[Instance] = []
    for row in table:
        if len(row) != len(commitments):
            raise SigmaError("every table row has one entry per commitment")
        rel = LinearRelation()
        rs = [rel.scalar(f"r_{i}") for i in range(len(commitments))]
        H = rel.element("H", h)
        cs = rel.element_vector("C", commitments)
        for r, c, t in zip(rs, cs, row, strict=True):
            rel.equation(c - t * rel.G, r * H)
        clauses.append(rel.compile())
    return clauses


def prove_membership(
    commitments: Sequence[Point],
    openings: Sequence[Opening],
    table: Sequence[Sequence[int]],
    *,
    context: bytes = b"",
    row: int | None = None,
    rng: ScalarRng = SYSTEM_RNG,
) -> bytes:
    """Prove that the committed tuple equals one row of ``table`` without revealing which.

    ``row`` selects the row when values repeat; by default the first matching row is used.
    """
    if len(openings) != len(commitments):
        raise SigmaError("one opening per commitment")
    values = [o.value % _Q for o in openings]
    if row is None:
        matches = [k for k, t in enumerate(table) if [x % _Q for x in t] == values]
        if not matches:
            raise SigmaError("the committed values are not a row of the table")
        row = matches[0]
    clauses = table_clauses(commitments, table)
    return oror.prove_or(
        clauses,
        row,
        [o.blinding % _Q for o in openings],
        label=TABLE_OR_LABEL,
        context=context,
        rng=rng,
    )


def verify_membership(
    commitments: Sequence[Point],
    table: Sequence[Sequence[int]],
    proof: bytes,
    *,
    context: bytes = b"",
) -> bool:
    clauses = table_clauses(commitments, table)
    return oror.verify_or(clauses, proof, label=TABLE_OR_LABEL, context=context)


def prove_in_set(
    commitment: Point,
    opening: Opening,
    values: Sequence[int],
    *,
    context: bytes = b"",
    rng: ScalarRng = SYSTEM_RNG,
) -> bytes:
    """Single-column :func:`prove_membership`: the committed value is one of ``values``."""
    return prove_membership(
        [commitment], [opening], [[v] for v in values], context=context, rng=rng
    )


def verify_in_set(
    commitment: Point, values: Sequence[int], proof: bytes, *, context: bytes = b""
) -> bool:
    return verify_membership([commitment], [[v] for v in values], proof, context=context)
