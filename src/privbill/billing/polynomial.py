"""Polynomial (spline) charge on bands of each interval's consumption, the consumption hidden;
also the engine of the block charge (:mod:`privbill.billing.block`, the degree-1 case).

Statement. Interval ``i`` has the commitment ``C_i = c_i·G + r_i·H`` (all meters added). Band
``b`` is ``[l_b, u_b)`` with fee polynomial ``f_b(c) = Σ_k a_{b,k}·c^k`` (degree ``d ≤ 3``); the
interval's fee is ``f_b(c_i)`` for the band containing ``c_i``. The verifier learns only a
commitment to ``Σ_i f_{b(i)}(c_i)``.

Proof, per interval (``docs/interval_components.md`` has the soundness argument):

* powers (``d ≥ 2``): ``S_i`` (and ``K_i``) commit to ``c²`` (and ``c³``), with one Sigma proof
  of ``C = v·G + r·H``, ``S = v·C + ρ₂·H`` (and ``K = v·S + ρ₃·H``): the powers gadget of
  :mod:`privbill.crypto.gadgets`, the product statement chained from ``C_i`` with ``v`` shared;
* band (when the bands' fees differ, or there is a cap): ``F_i`` commits to the fee and ``Lo_i`` /
  ``Hi_i`` to the band's bounds (only those the table needs, :func:`band_table`), and a CDS OR
  over the bands (:func:`privbill.crypto.oror.prove_zero_or`) whose clause ``b`` is the relation
  ``X_b = F − a_{b,0}·G − Σ_k a_{b,k}·P_k + ζ·(Lo − l_b·G) + ζ'·(Hi − u_b·G) = w·H``
  (``P = (C, S, K)``; ``ζ, ζ'`` the powers of a challenge drawn after ``F, Lo, Hi, S, K``);
* one aggregated range proof for all intervals: ``C − Lo ∈ [0, 2^n)``, ``Hi − G − C ∈ [0, 2^n)``.

The fee commitment is ``Σ F_i`` (or, without a band proof, ``Σ_k a_k·Σ_i P_{i,k}``).

Each interval's band proof and power proof have their own Fiat–Shamir transcripts (a statement
digest, the interval's index, the proof's label and ``C_i ‖ S_i ‖ K_i`` absorbed first), so a
change to one interval fails that interval only, and a change to its band proof does not fail
its power proof. The Sigma proofs
are sent in batchable form (their commitments ``T``); the verifier re-derives every challenge by
hashing and checks every equation of every interval with independent 128-bit weights in one
multi-scalar multiplication, then, only if that fails, interval by interval to name the culprit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from privbill.billing.bands import BandTable, band_table
from privbill.crypto import bulletproofs, gadgets, group, oror, pedersen, sigma, transcript
from privbill.crypto.group import Point
from privbill.crypto.hashing import digest
from privbill.crypto.transcript import CodecError, Transcript
from privbill.errors import ComponentProofError, DecodeError, UsageError
from privbill.model.interval_components import (
    PROOF_OBJ,
    IntervalProof,
    PolynomialCharge,
    PolynomialProof,
)

#: Flavor marker of the transcript tag (batchable CDS OR and Sigma proofs).
MARKER: Final = "BCDS"
#: Labels of an interval's two proofs in their transcripts.
BAND_LABEL: Final = b"band"
POWERS_LABEL: Final = b"powr"
PB: Final = group.POINT_BYTES
SB: Final = group.SCALAR_BYTES
_Q: Final = group.ORDER


def _random() -> int:
    return group.random_scalar()


# --- shapes --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layout:
    """What every interval of a component's proof carries."""

    table: BandTable

    @property
    def powers(self) -> int:
        """Power commitments per interval (``c²``, ``c³``)."""
        return max(0, self.table.degree - 1)

    @property
    def power_equations(self) -> int:
        return self.table.degree if self.table.degree >= 2 else 0

    @property
    def fields(self) -> frozenset[str]:
        out: set[str] = set()
        if self.table.band_proof:
            out |= {"fee", "band"}
            if self.table.lower_check:
                out.add("lower")
            if self.table.upper_check:
                out.add("upper")
        if self.powers:
            out |= {"powers", "power_proof"}
        return frozenset(out)


def _session(kind: str, context: bytes) -> bytes:
    tag = sigma.application_tag(f"interval-charge/{kind}", MARKER, context)
    return transcript.derive_session_id(tag)


def statement_digest(kind: str, table: BandTable, count: int, context: bytes) -> bytes:
    """Everything public about the statement except the commitments, hashed once."""
    rows = b"".join(
        lo.to_bytes(8, "big")
        + up.to_bytes(8, "big")
        + b"".join(a.to_bytes(16, "big", signed=True) for a in poly)
        for lo, up, poly in zip(table.lowers, table.uppers, table.polys, strict=True)
    )
    flags = bytes([table.bits, table.degree, table.lower_check, table.upper_check])
    return digest(
        "interval-charge-statement",
        kind.encode(),
        context,
        flags,
        count.to_bytes(4, "big"),
        rows,
    )


def _transcript(session: bytes, prefix: bytes, i: int, label: bytes, points: bytes) -> Transcript:
    """Interval ``i``'s transcript of the band proof or the power proof: the statement digest,
    the index, the proof's label and the interval's commitments ``C ‖ S ‖ K``."""
    t = Transcript(session)
    t.absorb_instance(prefix + transcript.le(i, 4) + label + points)
    return t


def _zetas(table: BandTable, zeta: int) -> tuple[int, int]:
    """Multipliers of the lower- and upper-bound equations in the combined clause (0: absent)."""
    lo = zeta if table.lower_check else 0
    up = (zeta * zeta % _Q if table.lower_check else zeta) if table.upper_check else 0
    return lo, up


def _enc(p: Point) -> bytes:
    return group.encode_point(p)


# --- prover --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Totals:
    """What the intervals' proofs add up to: the fee, its blinding, and the values and blindings
    of the range proof (``c − l_b`` and ``u_b − 1 − c``, interval by interval)."""

    fee: int = 0
    blinding: int = 0
    range_values: list[int] = field(default_factory=list)
    range_blinds: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Opened:
    """One interval's secrets: the opening ``(c, r)`` of ``C``, those of ``P = (C, S, K)`` up to
    the degree, its band and its fee."""

    c: int
    r: int
    values: list[int]
    blindings: list[int]
    band: int
    fee: int


def prove_bands(
    kind: str,
    table: BandTable,
    values: Sequence[int],
    blindings: Sequence[int],
    context: bytes,
    points: Sequence[Point] | None = None,
) -> tuple[tuple[IntervalProof, ...], bytes, int, int]:
    """``(interval proofs, range proof, fee, fee blinding)`` for the consumption ``values``
    committed with ``blindings`` (``points``, if given, are those commitments)."""
    n = len(values)
    if len(blindings) != n or (points is not None and len(points) != n):
        raise UsageError("one blinding (and commitment) per value", obj="polynomial charge")
    pedersen.precompute()
    layout = Layout(table)
    if not table.band_proof and not layout.powers:
        return _prove_without_proof(table, values, blindings)
    session = _session(kind, context)
    prefix = statement_digest(kind, table, n, context)
    totals = _Totals()
    out: list[IntervalProof] = []
    for i, (c, r) in enumerate(zip(values, blindings, strict=True)):
        _check_provable(table, c, i)
        c_bytes = _enc(points[i]) if points is not None else pedersen.commit_bytes(c, r % _Q)
        opened = _open(layout, c, r % _Q)
        out.append(_prove_interval(layout, session, prefix, i, c_bytes, opened, totals))
    ranges = b""
    if totals.range_values:
        ranges = bulletproofs.prove(
            totals.range_values, totals.range_blinds, table.bits, context=context
        ).encode()
    return tuple(out), ranges, totals.fee, totals.blinding % _Q


def _prove_without_proof(
    table: BandTable, values: Sequence[int], blindings: Sequence[int]
) -> tuple[tuple[IntervalProof, ...], bytes, int, int]:
    """One fee polynomial of degree ≤ 1: the fee commitment is ``Σ a_0·G + a_1·C_i``."""
    poly = (*table.polys[0], 0)
    fee = poly[0] * len(values) + poly[1] * sum(values)
    return (), b"", fee, poly[1] * sum(blindings) % _Q


def _check_provable(table: BandTable, c: int, i: int) -> None:
    """A band proof covers consumption below the table's ceiling only."""
    if (table.lower_check or table.upper_check) and c >= table.ceiling:
        raise ComponentProofError(
            f"an interval of {c} Wh is beyond what the tariff's {table.bits}-bit band proof "
            f"covers (below {table.ceiling} Wh)",
            obj="readings",
            field=f"values[{i}]",
        )


def _open(layout: Layout, c: int, r: int) -> _Opened:
    """The openings of ``P = (C, S, K)`` (fresh blindings for the powers), band and fee."""
    table = layout.table
    pv = [c, c * c, c * c * c][: table.degree]
    pr = ([r] + [_random() for _ in range(layout.powers)])[: table.degree]
    b = table.band_of(c)
    poly = table.polys[b]
    fee = sum(a * v for a, v in zip(poly[1:], pv, strict=True)) + poly[0]
    return _Opened(c, r, pv, pr, b, fee)


def _prove_interval(
    layout: Layout,
    session: bytes,
    prefix: bytes,
    i: int,
    c_bytes: bytes,
    opened: _Opened,
    totals: _Totals,
) -> IntervalProof:
    """Interval ``i``'s power commitments, power proof and band proof."""
    table = layout.table
    powers = b"".join(
        pedersen.commit_bytes(v, s)
        for v, s in zip(opened.values[1:], opened.blindings[1:], strict=True)
    )
    statement = c_bytes + powers
    power_proof = None
    if layout.powers:
        t = _transcript(session, prefix, i, POWERS_LABEL, statement)
        power_proof = gadgets.prove_powers(t, opened.c, opened.blindings)
    if not table.band_proof:
        totals.fee += opened.fee
        totals.blinding += sum(
            a * s for a, s in zip(table.polys[0][1:], opened.blindings, strict=True)
        )
        return IntervalProof(powers=powers or None, power_proof=power_proof)
    t = _transcript(session, prefix, i, BAND_LABEL, statement)
    fee, lower, upper, band = _prove_band(table, t, opened, totals)
    return IntervalProof(fee, lower, upper, band, powers or None, power_proof)


def _prove_band(
    table: BandTable, t: Transcript, opened: _Opened, totals: _Totals
) -> tuple[bytes, bytes | None, bytes | None, bytes]:
    """``(F, Lo, Hi, band proof)``: the fee and band-bound commitments, then the OR over the
    bands on the transcript ``t``."""
    c, r, b = opened.c, opened.r, opened.band
    fee_b, lo_b, hi_b = _random(), _random(), _random()
    fee_bytes = pedersen.commit_bytes(opened.fee, fee_b)
    lo_bytes = hi_bytes = None
    if table.lower_check:
        lo_bytes = pedersen.commit_bytes(table.lowers[b], lo_b)
        totals.range_values.append(c - table.lowers[b])
        totals.range_blinds.append((r - lo_b) % _Q)
    if table.upper_check:
        hi_bytes = pedersen.commit_bytes(table.uppers[b], hi_b)
        totals.range_values.append(table.uppers[b] - 1 - c)
        totals.range_blinds.append((hi_b - r) % _Q)
    t.absorb_bytes(fee_bytes + (lo_bytes or b"") + (hi_bytes or b""))
    z_lo, z_up = _zetas(table, t.challenge())
    # clause j's point X_j opens to (v_j, w_j); the real clause has v_b = 0
    openings: list[tuple[int, int]] = []
    for j, poly in enumerate(table.polys):
        v_j = (
            opened.fee
            - poly[0]
            - sum(a * v for a, v in zip(poly[1:], opened.values, strict=True))
            + z_lo * (table.lowers[b] - table.lowers[j])
            + z_up * (table.uppers[b] - table.uppers[j])
        )
        w_j = (
            fee_b
            - sum(a * s for a, s in zip(poly[1:], opened.blindings, strict=True))
            + z_lo * lo_b
            + z_up * hi_b
        )
        openings.append((v_j, w_j))
    band = oror.prove_zero_or(t, openings, b)
    totals.fee += opened.fee
    totals.blinding += fee_b
    return fee_bytes, lo_bytes, hi_bytes, band


# --- verifier ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Check:
    """One interval's equations ``Σ scalar·point + g·G + h·H = 0`` (already weighted)."""

    bases: list[Point]
    scalars: list[int]
    g: int
    h: int
    where: str

    def holds(self) -> bool:
        pts = [*self.bases, pedersen.generator_g(), pedersen.generator_h()]
        return group.is_identity(group.msm(pts, [*self.scalars, self.g, self.h]))


@dataclass(slots=True)
class _Interval:
    """One interval's proof, decoded: ``chain`` is ``P = (C, S, K)`` up to the degree; ``band``
    and ``power_proof`` are the proofs' points and scalars."""

    proof: IntervalProof
    c: Point
    statement: bytes
    powers: list[Point]
    chain: list[Point]
    fee: Point | None = None
    lower: Point | None = None
    upper: Point | None = None
    band: tuple[list[Point], list[int]] | None = None
    power_proof: tuple[list[Point], list[int]] | None = None


def _point(data: bytes, where: str) -> Point:
    try:
        return group.decode_point(data)
    except group.GroupError as exc:
        raise DecodeError(str(exc), obj=PROOF_OBJ, field=where) from None


def _split(data: bytes, n_points: int, n_scalars: int, where: str) -> tuple[list[Point], list[int]]:
    if len(data) != n_points * PB + n_scalars * SB:
        raise DecodeError(
            f"expected {n_points * PB + n_scalars * SB} bytes, got {len(data)}",
            obj=PROOF_OBJ,
            field=where,
        )
    try:
        pts = group.decode_points(data[: n_points * PB], n_points)
        scs = transcript.decode_scalars(data[n_points * PB :], n_scalars)
    except (group.GroupError, CodecError) as exc:
        raise DecodeError(str(exc), obj=PROOF_OBJ, field=where) from None
    return pts, scs


def verify_bands(
    kind: str,
    table: BandTable,
    points: Sequence[Point],
    context: bytes,
    intervals: Sequence[IntervalProof],
    ranges: bytes,
    path: str,
) -> Point:
    """The fee commitment of a block or polynomial charge, or a typed error naming what fails."""
    n = len(points)
    layout = Layout(table)
    if not table.band_proof and not layout.powers:
        return _verify_without_proof(table, points, intervals, ranges, path)
    _check_counts(table, n, intervals, ranges, path)
    session = _session(kind, context)
    prefix = statement_digest(kind, table, n, context)
    decoded: list[_Interval] = []
    band_checks: list[_Check] = []
    power_checks: list[_Check] = []
    for i, (c_point, ip) in enumerate(zip(points, intervals, strict=True)):
        where = f"{path}.intervals[{i}]"
        d = _decode_interval(layout, c_point, ip, where)
        if table.band_proof:
            t = _transcript(session, prefix, i, BAND_LABEL, d.statement)
            band_checks.append(_band_check(table, t, d, f"{where}.band"))
        if layout.powers:
            t = _transcript(session, prefix, i, POWERS_LABEL, d.statement)
            power_checks.append(_power_check(t, d, f"{where}.power_proof"))
        decoded.append(d)
    _check_equations(n, band_checks, power_checks, path)
    _check_ranges(table, decoded, ranges, context, path)
    return _fee_commitment(layout, points, decoded)


def _verify_without_proof(
    table: BandTable,
    points: Sequence[Point],
    intervals: Sequence[IntervalProof],
    ranges: bytes,
    path: str,
) -> Point:
    """One fee polynomial of degree ≤ 1: nothing to check, the fee commitment is
    ``Σ a_0·G + a_1·C_i``."""
    if intervals:
        raise DecodeError(
            "this charge needs no per-interval proof", obj=PROOF_OBJ, field=f"{path}.intervals"
        )
    if ranges:
        raise DecodeError("this charge needs no range proof", obj=PROOF_OBJ, field=f"{path}.ranges")
    poly = table.polys[0]
    n = len(points)
    parts = [group.mul(pedersen.generator_g(), poly[0] * n)] if poly[0] and n else []
    if table.degree and poly[1]:
        parts.append(group.mul(group.point_sum(points), poly[1]))
    return group.point_sum(parts)


def _check_counts(
    table: BandTable, n: int, intervals: Sequence[IntervalProof], ranges: bytes, path: str
) -> None:
    """One interval proof per interval; a range proof only if the table checks band bounds."""
    if len(intervals) != n:
        raise DecodeError(
            f"expected {n} interval proofs, got {len(intervals)}",
            obj=PROOF_OBJ,
            field=f"{path}.intervals",
        )
    if not (table.lower_check or table.upper_check) and ranges:
        raise DecodeError("this charge needs no range proof", obj=PROOF_OBJ, field=f"{path}.ranges")


def _check_fields(ip: IntervalProof, expected: frozenset[str], where: str) -> None:
    """The interval carries exactly the fields the table needs (the first difference named)."""
    present = ip.present()
    if present != expected:
        missing = sorted(expected - present)
        extra = sorted(present - expected)
        name = missing[0] if missing else extra[0]
        raise DecodeError(
            "missing field" if missing else "this charge carries no such field",
            obj=PROOF_OBJ,
            field=f"{where}.{name}",
        )


def _decode_powers(layout: Layout, ip: IntervalProof, where: str) -> list[Point]:
    if not layout.powers:
        return []
    assert ip.powers is not None
    if len(ip.powers) != layout.powers * PB:
        raise DecodeError(
            f"expected {layout.powers} commitments", obj=PROOF_OBJ, field=f"{where}.powers"
        )
    try:
        return group.decode_points(ip.powers, layout.powers)
    except group.GroupError as exc:
        raise DecodeError(str(exc), obj=PROOF_OBJ, field=f"{where}.powers") from None


def _decode_interval(layout: Layout, c_point: Point, ip: IntervalProof, where: str) -> _Interval:
    """Interval ``i``'s proof decoded, field by field in the order of the encoding (every
    decoding error names its field)."""
    table = layout.table
    _check_fields(ip, layout.fields, where)
    powers = _decode_powers(layout, ip, where)
    statement = _enc(c_point) + (ip.powers or b"")
    d = _Interval(ip, c_point, statement, powers, [c_point, *powers][: table.degree])
    if table.band_proof:
        assert ip.fee is not None and ip.band is not None
        d.fee = _point(ip.fee, f"{where}.fee")
        if ip.lower is not None:
            d.lower = _point(ip.lower, f"{where}.lower")
        if ip.upper is not None:
            d.upper = _point(ip.upper, f"{where}.upper")
        d.band = _split(ip.band, *oror.zero_or_length(table.bands), f"{where}.band")
    if layout.powers:
        assert ip.power_proof is not None
        shape = gadgets.powers_length(layout.power_equations)
        d.power_proof = _split(ip.power_proof, *shape, f"{where}.power_proof")
    return d


def _band_check(table: BandTable, t: Transcript, d: _Interval, where: str) -> _Check:
    """The band proof's clause equations: clause ``j``'s point is
    ``X_j = F − a_{j,0}·G − Σ_k a_{j,k}·P_k + ζ·(Lo − l_j·G) + ζ'·(Hi − u_j·G)``."""
    ip = d.proof
    assert ip.fee is not None and ip.band is not None and d.fee is not None and d.band is not None
    t.absorb_bytes(ip.fee + (ip.lower or b"") + (ip.upper or b""))
    z_lo, z_up = _zetas(table, t.challenge())
    bases = [d.fee, *d.chain]
    bound_coefficients: list[int] = []
    if d.lower is not None:
        bases.append(d.lower)
        bound_coefficients.append(z_lo)
    if d.upper is not None:
        bases.append(d.upper)
        bound_coefficients.append(z_up)
    images = [
        (
            [1, *(-a for a in poly[1:]), *bound_coefficients],
            -(poly[0] + z_lo * table.lowers[j] + z_up * table.uppers[j]),
        )
        for j, poly in enumerate(table.polys)
    ]
    ts, scalars = d.band
    terms = oror.zero_or_terms(t, ip.band[: len(ts) * PB], ts, scalars, bases, images)
    return _Check(*terms, where)


def _power_check(t: Transcript, d: _Interval, where: str) -> _Check:
    """The power proof's equations: ``S`` (and ``K``) hold the powers of ``C``'s value."""
    assert d.proof.power_proof is not None and d.power_proof is not None
    ts, responses = d.power_proof
    data = d.proof.power_proof[: len(ts) * PB]
    return _Check(*gadgets.powers_terms(t, data, ts, responses, d.chain), where)


def _check_equations(
    n: int, band_checks: list[_Check], power_checks: list[_Check], path: str
) -> None:
    """Every equation of every interval in one multi-scalar multiplication; if that fails,
    interval by interval (power proof, then band proof) to name the first that fails."""
    all_checks = band_checks + power_checks
    bases = [c for ch in all_checks for c in ch.bases]
    scalars = [s for ch in all_checks for s in ch.scalars]
    coef_g = sum(ch.g for ch in all_checks)
    coef_h = sum(ch.h for ch in all_checks)
    g, h = pedersen.generator_g(), pedersen.generator_h()
    total = group.msm_split(
        [*bases, g, h], [*scalars, coef_g, coef_h], bulletproofs.DEFAULT_WORKERS
    )
    if group.is_identity(total):
        return
    for i in range(n):
        for group_checks in (power_checks, band_checks):
            if group_checks and not group_checks[i].holds():
                raise ComponentProofError(
                    "interval proof does not verify", obj=PROOF_OBJ, field=group_checks[i].where
                )
    raise ComponentProofError(
        "interval proofs do not verify", obj=PROOF_OBJ, field=f"{path}.intervals"
    )


def _check_ranges(
    table: BandTable, decoded: Sequence[_Interval], ranges: bytes, context: bytes, path: str
) -> None:
    """The aggregated range proof over ``C − Lo`` and ``Hi − G − C``, interval by interval."""
    if not (table.lower_check or table.upper_check):
        return
    g = pedersen.generator_g()
    diffs: list[Point] = []
    for d in decoded:
        if d.lower is not None:
            diffs.append(d.c - d.lower)
        if d.upper is not None:
            diffs.append(d.upper - g - d.c)
    if not bulletproofs.verify(diffs, table.bits, ranges, context=context):
        raise ComponentProofError(
            "band range proof does not verify", obj=PROOF_OBJ, field=f"{path}.ranges"
        )


def _fee_commitment(layout: Layout, points: Sequence[Point], decoded: Sequence[_Interval]) -> Point:
    """``Σ F_i``, or without a band proof ``a_0·n·G + Σ_k a_k·Σ_i P_{i,k}``."""
    table = layout.table
    if table.band_proof:
        return group.point_sum([d.fee for d in decoded if d.fee is not None])
    poly = table.polys[0]
    parts = [group.mul(pedersen.generator_g(), poly[0] * len(points))] if poly[0] else []
    sums = [group.point_sum(points)]
    sums += [group.point_sum([d.powers[k] for d in decoded]) for k in range(layout.powers)]
    parts.append(group.msm(sums, list(poly[1:])))
    return group.point_sum(parts)


# --- the polynomial charge -----------------------------------------------------------------


def prove(
    component: PolynomialCharge,
    values: Sequence[int],
    blindings: Sequence[int],
    context: bytes,
    *,
    points: Sequence[Point] | None = None,
) -> tuple[PolynomialProof, int, int]:
    """``(proof, fee, fee blinding)`` for the per-interval consumption ``values`` committed with
    ``blindings`` (``points``: those commitments, if at hand)."""
    intervals, ranges, fee, blind = prove_bands(
        component.kind, band_table(component), values, blindings, context, points
    )
    return PolynomialProof(intervals, ranges), fee, blind


def verify(
    component: PolynomialCharge,
    points: Sequence[Point],
    context: bytes,
    proof: PolynomialProof,
    path: str,
) -> Point:
    """The fee commitment, or a typed error naming the part that fails."""
    return verify_bands(
        component.kind, band_table(component), points, context, proof.intervals, proof.ranges, path
    )
