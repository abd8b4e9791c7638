"""Private-attribute lookup: the price of each interval comes from a public table row chosen by
a hidden attribute (road class, toll zone) and the interval's public time band.

Statement per interval ``i`` of band ``b``, with quantity commitment ``C_i``, attribute
commitment ``A_i`` (both sealed by the meter) and the prover's fee commitment ``F_i``: for some
allowed value ``v_j``,

    A_i − v_j·G = α·H   and   F_i − p[b][j]·C_i = β·H,

a CDS OR proof over ``j`` — the fee is the table price of the hidden attribute times the hidden
quantity, and nobody learns which row. The fee commitment is ``Σ F_i``. Intervals whose band
has one price for every value need no OR: their fee commitment is ``p·C_i`` and they carry no
proof (the attribute cannot change the fee).

The OR proofs are in batchable form (the clause commitments ``T`` are sent, as in the Sigma draft's
batchable NARG strings): per interval ``T_{j,e}`` for every clause and equation, the clause
challenges and the responses, under the tag of :func:`privbill.crypto.oror.or_tag` with label
``lookup`` and the interval's context. The verifier re-derives each challenge from the statement
and the ``T`` bytes (hashing only), checks that the clause challenges add up to it, and checks
every equation ``T = z·H − c·D`` of every interval at once with independent 128-bit weights in
one multi-scalar multiplication: the full-size scalar multiplications that verifying each OR
proof on its own would need become coefficients of that one MSM.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from functools import cache

from privbill.billing.components import ChargeContext, LoadView, attribute_column
from privbill.crypto import group, oror, pedersen
from privbill.crypto.group import Point
from privbill.crypto.sigma import Instance, LinearRelation
from privbill.errors import ComponentProofError, DecodeError
from privbill.model.component_proofs import (
    OBJ,
    LookupMeterProof,
    LookupProof,
    lookup_proof_bytes,
)
from privbill.model.components import Lookup

LABEL = "lookup"


@cache
def _h() -> Point:
    return pedersen.generator_h()


def _clauses(
    component: Lookup, band: int, attribute: Point, quantity: Point, fee: Point
) -> list[Instance]:
    g, h = group.generator(), _h()
    out = []
    for v, p in zip(component.values, component.bands[band].prices, strict=True):
        rel = LinearRelation()
        alpha, beta = rel.scalars("alpha", "beta")
        big_h = rel.element("H", h)
        rel.equation(rel.element("D1", attribute - group.mul(g, v)), alpha * big_h)
        rel.equation(rel.element("D2", fee - group.mul(quantity, p)), beta * big_h)
        out.append(rel.compile())
    return out


def _check_clauses(clauses: Sequence[Instance], i: int, path: str, n: int) -> None:
    """Refuse clauses that are not valid Sigma statements (draft, ``ValidateInstance``): an
    element ``A − v_j·G`` or ``F − p_j·C`` that is the identity makes a clause provable by
    anyone, and cannot be hashed into the challenge."""
    for j, inst in enumerate(clauses):
        problem = inst.problem()
        if problem is None:
            continue
        elements = inst.encoded_elements()
        if elements[2] is None:  # D1 = A − v_j·G: the sealed attribute commitment
            field, whose = f"{path}.proofs[{n}]", "attribute commitment"
        else:  # D2 = F − p_j·C: the prover's fee commitment
            field, whose = f"{path}.fees", "fee commitment"
        raise ComponentProofError(
            f"lookup proof of interval {i}: the {whose} makes clause {j} degenerate ({problem})",
            obj=OBJ,
            field=field,
        )


def _uniform(component: Lookup, band: int) -> bool:
    return len(set(component.bands[band].prices)) == 1


def _context(context: bytes, i: int) -> bytes:
    return context + b"/interval/" + i.to_bytes(4, "big")


def _encode_proof(
    commitments: Sequence[Sequence[Point]],
    challenges: Sequence[int],
    responses: Sequence[Sequence[int]],
) -> bytes:
    return b"".join(
        [
            *(group.encode_point(t) for ts in commitments for t in ts),
            *(group.encode_scalar(c % group.ORDER) for c in challenges),
            *(group.encode_scalar(z % group.ORDER) for zs in responses for z in zs),
        ]
    )


def prove(
    component: Lookup,
    bands: Sequence[int],
    points: Sequence[Point],
    attributes: Sequence[Point],
    values: Sequence[int],
    blindings: Sequence[int],
    attribute_values: Sequence[int],
    attribute_blindings: Sequence[int],
    context: bytes,
) -> tuple[LookupMeterProof, int, int]:
    fee_total, blind_total = 0, 0
    fees = bytearray()
    ors: list[bytes] = []
    for i, band in enumerate(bands):
        prices = component.bands[band].prices
        try:
            j = component.values.index(attribute_values[i])
        except ValueError:
            raise ComponentProofError(
                f"attribute value {attribute_values[i]} is not in the tariff's table",
                obj="readings",
                field=component.attribute,
            ) from None
        price = prices[j]
        fee = price * values[i]
        if _uniform(component, band):
            fee_total += fee
            blind_total += price * blindings[i]
            continue
        f_blind = group.random_scalar()
        f_point = pedersen.commit(fee, f_blind)
        fees += group.encode_point(f_point)
        witness = [attribute_blindings[i], (f_blind - price * blindings[i]) % group.ORDER]
        clauses = _clauses(component, band, attributes[i], points[i], f_point)
        commitments, state = oror.or_commit(clauses, j, witness)
        tag = oror.or_tag(LABEL, _context(context, i))
        t_bytes = b"".join(group.encode_point(t) for ts in commitments for t in ts)
        challenge = oror.derive_or_challenge(tag, clauses, t_bytes)
        challenges, responses = oror.or_respond(state, challenge)
        ors.append(_encode_proof(commitments, challenges, responses))
        fee_total += fee
        blind_total += f_blind
    return LookupMeterProof(bytes(fees), tuple(ors)), fee_total, blind_total % group.ORDER


def verify(
    component: Lookup,
    bands: Sequence[int],
    points: Sequence[Point],
    attributes: Sequence[Point],
    context: bytes,
    proof: LookupMeterProof,
    path: str,
) -> Point:
    pedersen.precompute()
    proven = [i for i, b in enumerate(bands) if not _uniform(component, b)]
    if len(proof.fees) != len(proven) * group.POINT_BYTES or len(proof.proofs) != len(proven):
        raise DecodeError(
            f"expected {len(proven)} fee commitments and proofs", obj=OBJ, field=f"{path}.fees"
        )
    try:
        fee_points = group.decode_points(proof.fees, len(proven))
    except group.GroupError as exc:
        raise DecodeError(str(exc), obj=OBJ, field=f"{path}.fees") from None
    n_values = len(component.values)
    size = lookup_proof_bytes(n_values)
    pb, sb = group.POINT_BYTES, group.SCALAR_BYTES
    q = group.ORDER
    g, h = group.generator(), _h()
    coeff_g = coeff_h = 0
    bases: list[Point] = []
    scalars: list[int] = []
    for n, i in enumerate(proven):
        where = f"{path}.proofs[{n}]"
        data = proof.proofs[n]
        if len(data) != size:
            raise DecodeError(f"expected {size} bytes", obj=OBJ, field=where)
        t_bytes = data[: 2 * n_values * pb]
        try:
            ts = group.decode_points(t_bytes, 2 * n_values)
            rest = data[len(t_bytes) :]
            cs = [group.decode_scalar(rest[k * sb : (k + 1) * sb]) for k in range(n_values)]
            zs = [
                group.decode_scalar(rest[(n_values + k) * sb : (n_values + k + 1) * sb])
                for k in range(2 * n_values)
            ]
        except group.GroupError as exc:
            raise DecodeError(str(exc), obj=OBJ, field=where) from None
        band = bands[i]
        clauses = _clauses(component, band, attributes[i], points[i], fee_points[n])
        _check_clauses(clauses, i, path, n)
        challenge = oror.derive_or_challenge(
            oror.or_tag(LABEL, _context(context, i)), clauses, t_bytes
        )
        if sum(cs) % q != challenge:
            raise ComponentProofError(
                f"lookup proof of interval {i} does not verify", obj=OBJ, field=where
            )
        # T_{j,1} = z_{j,1}·H − c_j·(A − v_j·G);  T_{j,2} = z_{j,2}·H − c_j·(F − p_j·C)
        coef_a = coef_f = coef_c = 0
        for j, (v, p) in enumerate(
            zip(component.values, component.bands[band].prices, strict=True)
        ):
            r1, r2 = secrets.randbits(128), secrets.randbits(128)
            c = cs[j]
            coeff_h += r1 * zs[2 * j] + r2 * zs[2 * j + 1]
            coef_a -= r1 * c
            coeff_g += r1 * c * v
            coef_f -= r2 * c
            coef_c += r2 * c * p
            bases += (ts[2 * j], ts[2 * j + 1])
            scalars += (-r1, -r2)
        bases += (attributes[i], fee_points[n], points[i])
        scalars += (coef_a, coef_f, coef_c)
    if proven:
        check = group.msm([*bases, g, h], [*scalars, coeff_g, coeff_h])
        if not group.is_identity(check):
            raise ComponentProofError(
                "a lookup proof does not verify", obj=OBJ, field=f"{path}.proofs"
            )
    uniform = [i for i, b in enumerate(bands) if _uniform(component, b)]
    derived = group.msm(
        [points[i] for i in uniform], [component.bands[bands[i]].prices[0] for i in uniform]
    )
    return group.point_sum([*fee_points, derived])


def prove_charge(
    component: Lookup, load: LoadView, ctx: ChargeContext
) -> tuple[LookupProof, int, int]:
    """:func:`prove` for each meter on its own (context: the component's and the meter's
    position)."""
    parts = []
    fee, blinding = 0, 0
    for n, m in enumerate(load.meters):
        col = attribute_column(component, m)
        bands = load.bands(component, m)
        part, f, b = prove(
            component,
            bands,
            m.points,
            m.attribute_points[col],
            m.values,
            m.blindings,
            m.attribute_values[col],
            m.attribute_blindings[col],
            ctx.context + n.to_bytes(2, "big"),
        )
        parts.append(part)
        fee += f
        blinding += b
    return LookupProof(tuple(parts)), fee, blinding


def verify_charge(
    component: Lookup, proof: LookupProof, load: LoadView, ctx: ChargeContext
) -> list[Point]:
    """:func:`verify` for each meter: one fee commitment each."""
    if len(proof.meters) != len(load.meters):
        raise DecodeError(
            f"expected {len(load.meters)} meters", obj=OBJ, field=f"{ctx.path}.meters"
        )
    fees = []
    for n, (m, mp) in enumerate(zip(load.meters, proof.meters, strict=True)):
        col = attribute_column(component, m)
        bands = load.bands(component, m)
        fees.append(
            verify(
                component,
                bands,
                m.points,
                m.attribute_points[col],
                ctx.context + n.to_bytes(2, "big"),
                mp,
                f"{ctx.path}.meters[{n}]",
            )
        )
    return fees


def needs_readings(component: Lookup, proof: LookupProof) -> bool:
    """Always: each interval is priced by its own attribute."""
    return True
